// Condition with Python's semantics, across processes. It is bound to a
// Lock or RLock of the same pool (a new RLock when none is given, as in
// Python). wait() releases the lock, waits for a notify, and re-acquires
// the lock before it settles, also on timeout and on abort, so the code
// after `await cond.wait()` always holds the lock.
import { registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { native, out, outHandle } from '../ffi/native.js';
import type { PoolHandle } from '../memory/pool-handle.js';
import type { MemoryPool } from '../memory/pool.js';
import { SyncOp } from '../ffi/gateway-wire.js';
import { Status } from '../../errors/status.js';
import { BLOCKED } from '../wait/wait-queue.js';
import { timeoutMs, timeoutUs, type WaitOptions } from '../timeout.js';
import { Lock, RLock, attachAnyLock, type AcquireOptions, type AnyLock } from './lock.js';
import { SyncKind, SyncObject, attachNative, isInternal, poolOf, syncKindOf, viaNative, type NativeSync, type SyncOptions } from './sync-object.js';

const beginOut = new BigUint64Array(2);

// 'created': the RLock made for this condition (destroyed with it);
// 'attached': a handle opened for it (detached with it); 'user': the
// caller's own lock (left alone).
type LockMode = 'created' | 'attached' | 'user';
interface Bound {
  lock: AnyLock;
  mode: LockMode;
}

// Creates the native condition in `pool` bound to `lock` (a new RLock of that pool when none).
function createCond(pool: PoolHandle, userLock: AnyLock | undefined, makeLock: () => AnyLock, op: string): { n: NativeSync; bound: Bound } {
  if (userLock !== undefined) lockPtr(userLock, op);
  const lock = userLock ?? makeLock();
  const rc = native.condCreate(pool.ptr, lockPtr(lock, op), out.u64);
  if (rc !== Status.OK) {
    if (!userLock) lock.destroy();
    throw Errors.native(op, rc, undefined, rc === Status.INVALID_ARGUMENT ? 'The lock must live in the same pool as the condition' : undefined);
  }
  const ptr = outHandle();
  pool.retainObject();
  return { n: { ptr, pool }, bound: { lock, mode: userLock ? 'user' : 'created' } };
}

/**
 * multiprocessing.Condition: `new Condition(lock?, { pool })`. Without a
 * lock it makes an RLock (as Python); with one, the condition goes into
 * the lock's pool (options.pool, if given, must be that pool).
 */
export class Condition extends SyncObject {
  readonly #lock: AnyLock;
  readonly #lockMode: LockMode;

  constructor(lock?: AnyLock | null, options?: SyncOptions) {
    let made: Bound | undefined;
    super(lock, () => {
      const op = 'new Condition';
      const user = lock ?? undefined;
      let pool: PoolHandle;
      if (user !== undefined) {
        lockPtr(user, op);
        pool = options?.pool ? poolOf(options, op).handle : user.poolHandle;
      } else pool = poolOf(options, op).handle;
      const r = createCond(pool, user, () => RLock.wrap(createRLockIn(pool, op), true), op);
      made = r.bound;
      return r.n;
    });
    const bound = isInternal(lock) ? (lock.extra as Bound) : made!;
    this.#lock = bound.lock;
    this.#lockMode = bound.mode;
  }

  static create(options: { pool: MemoryPool; lock?: AnyLock }): Condition {
    const op = 'Condition.create';
    const pool = options?.pool;
    if (!pool || typeof pool.serialize !== 'function') throw Errors.invalidArgument(op, 'options.pool must be a MemoryPool');
    const r = createCond(pool.handle, options.lock, () => RLock.create({ pool }), op);
    return new Condition(viaNative(r.n, true, r.bound));
  }

  static attach(desc: Uint8Array): Condition {
    const op = 'Condition.attach';
    const n = attachNative(desc, [SyncKind.CONDITION], op);
    if (n.remote) {
      // another node's: ask its agent which lock it uses (a remote Lock/RLock too)
      const { desc: lockDesc } = n.remote.condLock(op);
      const lock = attachAnyLock(lockDesc, op);
      return new Condition(viaNative(n, false, { lock, mode: 'attached' } satisfies Bound));
    }
    const rc = native.condLock(n.ptr, out.u64);
    if (rc !== Status.OK) {
      native.syncDetach(n.ptr);
      n.pool.releaseObject();
      throw Errors.native(op, rc);
    }
    const lptr = outHandle();
    n.pool.retainObject();
    const ln = { ptr: lptr, pool: n.pool };
    const lock = syncKindOf(lptr, op) === SyncKind.RLOCK ? RLock.wrap(ln, false) : Lock.wrap(ln, false);
    return new Condition(viaNative(n, false, { lock, mode: 'attached' } satisfies Bound));
  }

  /** The lock this condition uses. */
  get lock(): AnyLock {
    return this.#lock;
  }

  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  acquireSync(options?: { timeout?: number }): boolean {
    return this.#lock.acquireSync(options);
  }

  release(): void {
    this.#lock.release();
  }

  /**
   * Releases the lock, waits until notified (true) or `timeout` ms passed
   * (false), then re-acquires the lock. The caller must hold the lock.
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    const op = 'Condition.wait';
    this.live('wait');
    if (options?.signal?.aborted) throw Errors.aborted(op, options.signal.reason);
    if (this.remote) return this.remote.condWait(op, options, this.#lock.serialize());
    const ptr = this.ptr;
    check(op, native.condWaitBegin(ptr, beginOut.subarray(0, 1), beginOut.subarray(1, 2)));
    const ticket = beginOut[0]!;
    const depth = beginOut[1]!;
    const notified = () => {
      const rc = native.condWaitCheck(ptr, ticket, 0);
      if (rc === Status.OK) return true;
      if (rc === Status.TIMEOUT) return BLOCKED;
      throw Errors.native(op, rc);
    };
    let result: boolean;
    try {
      result = await this.queue.run(
        {
          op,
          attempt: notified,
          onTimeout: () => {
            if (notified() === true) return true; // notified just in time
            native.condWaitCancel(ptr, ticket);
            return false;
          },
          onAbort: () => native.condWaitCancel(ptr, ticket),
        },
        options,
      );
    } catch (err) {
      await this.#reacquire(op, depth);
      throw err;
    }
    await this.#reacquire(op, depth);
    return result;
  }

  /**
   * Python's wait_for: waits (wait() in a loop) until predicate() is truthy
   * or `timeout` ms passed; resolves to the predicate's last value. The
   * caller must hold the lock; it holds it again when this settles.
   */
  async waitFor<T>(predicate: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    if (typeof predicate !== 'function') throw Errors.invalidArgument('Condition.waitFor', 'predicate must be a function');
    const ms = timeoutMs('Condition.waitFor', options?.timeout);
    const end = ms === Infinity ? Infinity : performance.now() + ms;
    let result = await predicate();
    while (!result) {
      const left = end - performance.now();
      if (left <= 0) break;
      await this.wait({ timeout: left === Infinity ? undefined : left, signal: options?.signal });
      result = await predicate();
    }
    return result;
  }

  /** waitFor blocking the thread (waitSync in a loop). */
  waitForSync<T>(predicate: () => T, options?: { timeout?: number }): T {
    if (typeof predicate !== 'function') throw Errors.invalidArgument('Condition.waitForSync', 'predicate must be a function');
    const ms = timeoutMs('Condition.waitForSync', options?.timeout);
    const end = ms === Infinity ? Infinity : performance.now() + ms;
    let result = predicate();
    while (!result) {
      const left = end - performance.now();
      if (left <= 0) break;
      this.waitSync({ timeout: left === Infinity ? undefined : left });
      result = predicate();
    }
    return result;
  }

  /** wait() blocking the thread: true when notified, false on timeout; the lock is held again either way. */
  waitSync(options?: { timeout?: number }): boolean {
    const op = 'Condition.waitSync';
    this.live('waitSync');
    if (this.remote) return this.remote.condWaitSync(op, options?.timeout);
    const rc = native.condWait(this.ptr, timeoutUs(op, options?.timeout));
    if (rc === Status.TIMEOUT) return false;
    check(op, rc);
    return true;
  }

  /** Wakes up to n waiters (default 1), in arrival order. The caller must hold the lock. */
  notify(n = 1): void {
    this.live('notify');
    if (!Number.isSafeInteger(n) || n < 0) throw Errors.invalidArgument('Condition.notify', `n must be a non-negative integer, got ${String(n)}`);
    if (this.remote) return this.remote.simple('Condition.notify', SyncOp.COND_NOTIFY, n);
    check('Condition.notify', native.condNotify(this.ptr, n));
  }

  notifyAll(): void {
    this.live('notifyAll');
    if (this.remote) return this.remote.simple('Condition.notifyAll', SyncOp.COND_NOTIFY_ALL);
    check('Condition.notifyAll', native.condNotifyAll(this.ptr));
  }

  // Waits (queued behind other acquirers of the lock) until the lock is
  // ours again, with the depth an RLock had.
  #reacquire(op: string, depth: bigint): Promise<void> {
    const ptr = this.ptr;
    return this.#lock.queue.run(
      {
        op,
        attempt: () => {
          const rc = native.condWaitEnd(ptr, depth, 0);
          if (rc === Status.OK) return undefined;
          if (rc === Status.TIMEOUT) return BLOCKED;
          throw Errors.native(op, rc);
        },
      },
      undefined,
    );
  }

  protected override close(how: 'detached' | 'destroyed'): void {
    super.close(how);
    if (this.#lockMode === 'user' || this.#lock.closed) return;
    if (how === 'destroyed' && this.#lockMode === 'created') this.#lock.destroy();
    else this.#lock.detach();
  }
}

function lockPtr(lock: AnyLock, op: string): number {
  if (!(lock instanceof Lock) && !(lock instanceof RLock)) throw Errors.invalidArgument(op, 'the lock must be a Lock or RLock');
  if (lock.closed) throw Errors.invalidArgument(op, 'the lock is closed (detached or destroyed)');
  const ptr = (lock as unknown as { ptr: number }).ptr;
  if (!ptr) throw Errors.invalidArgument(op, 'the lock lives on another node: create the Condition on the lock\'s node (a Condition and its lock share a pool)');
  return ptr;
}

// A new RLock record in `pool` (the lock of a Condition made without one).
function createRLockIn(pool: PoolHandle, op: string): NativeSync {
  check(op, native.syncCreate(pool.ptr, SyncKind.RLOCK, 0, -1, out.u64));
  const ptr = outHandle();
  pool.retainObject();
  return { ptr, pool };
}

registerTransferable(10 + SyncKind.CONDITION, Condition.prototype, (d) => Condition.attach(d));
