// Condition with Python's semantics, across processes. It is bound to a
// Lock or RLock of the same pool (a new RLock when none is given, as in
// Python). wait() releases the lock, waits for a notify, and re-acquires
// the lock before it settles, also on timeout and on abort, so the code
// after `await cond.wait()` always holds the lock.
import { registerTransferable } from '../codec.js';
import { Errors, check } from '../errors.js';
import { native, out, outHandle } from '../native.js';
import type { MemoryPool } from '../pool.js';
import { Status } from '../status.js';
import { BLOCKED, timeoutMs, timeoutUs, type WaitOptions } from '../wait-queue.js';
import { Lock, RLock, type AcquireOptions, type AnyLock } from './lock.js';
import { SyncKind, SyncObject, attachNative, syncKindOf, type NativeSync } from './sync-object.js';

const beginOut = new BigUint64Array(2);

export class Condition extends SyncObject {
  readonly #lock: AnyLock;
  // 'created': the RLock made for this condition (destroyed with it);
  // 'attached': a handle opened for it (detached with it); 'user': the
  // caller's own lock (left alone).
  readonly #lockMode: 'created' | 'attached' | 'user';

  private constructor(n: NativeSync, created: boolean, lock: AnyLock, lockMode: 'created' | 'attached' | 'user') {
    super(n, created);
    this.#lock = lock;
    this.#lockMode = lockMode;
  }

  static create(options: { pool: MemoryPool; lock?: AnyLock }): Condition {
    const op = 'Condition.create';
    const pool = options?.pool;
    if (!pool || typeof pool.serialize !== 'function') throw Errors.invalidArgument(op, 'options.pool must be a MemoryPool');
    const lock = options.lock ?? RLock.create({ pool });
    const handle = pool.handle;
    const rc = native.condCreate(handle.ptr, lockPtr(lock), out.u64);
    if (rc !== Status.OK) {
      if (!options.lock) lock.destroy();
      throw Errors.native(op, rc, undefined, rc === Status.INVALID_ARGUMENT ? 'The lock must live in the same pool as the condition' : undefined);
    }
    const ptr = outHandle();
    handle.retainObject();
    return new Condition({ ptr, pool: handle }, true, lock, options.lock ? 'user' : 'created');
  }

  static attach(desc: Uint8Array): Condition {
    const op = 'Condition.attach';
    const n = attachNative(desc, [SyncKind.CONDITION], op);
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
    return new Condition(n, false, lock, 'attached');
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

  /** Python's wait_for: waits until predicate() is truthy; resolves to its last value. */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
    const ms = timeoutMs('Condition.waitFor', options?.timeout);
    const end = ms === Infinity ? Infinity : performance.now() + ms;
    let result = predicate();
    while (!result) {
      const left = end - performance.now();
      if (left <= 0) break;
      await this.wait({ timeout: left === Infinity ? undefined : left, signal: options?.signal });
      result = predicate();
    }
    return result;
  }

  waitSync(options?: { timeout?: number }): boolean {
    const op = 'Condition.waitSync';
    this.live('waitSync');
    const rc = native.condWait(this.ptr, timeoutUs(op, options?.timeout));
    if (rc === Status.TIMEOUT) return false;
    check(op, rc);
    return true;
  }

  /** Wakes up to n waiters (default 1), in arrival order. The caller must hold the lock. */
  notify(n = 1): void {
    this.live('notify');
    check('Condition.notify', native.condNotify(this.ptr, n));
  }

  notifyAll(): void {
    this.live('notifyAll');
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

function lockPtr(lock: AnyLock): number {
  if (!(lock instanceof Lock) && !(lock instanceof RLock)) throw Errors.invalidArgument('Condition.create', 'options.lock must be a Lock or RLock');
  return (lock as unknown as { ptr: number }).ptr;
}

registerTransferable(10 + SyncKind.CONDITION, Condition.prototype, (d) => Condition.attach(d));
