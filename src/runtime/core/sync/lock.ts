// Lock and RLock with Python's semantics, across processes: acquire()
// resolves true when acquired and false when the timeout passed. A Lock
// may be released by any process; an RLock is recursive and owned by the
// process (its puid) that acquired it.
import { registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { native } from '../ffi/native.js';
import type { MemoryPool } from '../memory/pool.js';
import { timeoutMs, type WaitOptions } from '../timeout.js';
import { SyncOp } from '../ffi/gateway-wire.js';
import { SyncKind, SyncObject, attachNative, createNative, poolOf, viaNative, type NativeSync, type SyncOptions } from './sync-object.js';

export interface AcquireOptions extends WaitOptions {}

const ownerOut = new BigUint64Array(2);

abstract class LockBase extends SyncObject {
  /** Resolves true once acquired, false if `timeout` (ms) passed first. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.acquireWith('acquire', native.lockAcquire, options);
  }

  /** Blocks the thread until acquired (true) or `timeout` ms passed (false). */
  acquireSync(options?: { timeout?: number }): boolean {
    return this.acquireSyncWith('acquireSync', native.lockAcquire, options);
  }

  release(): void {
    this.live('release');
    const op = `${this.constructor.name}.release`;
    if (this.remote) return this.remote.simple(op, SyncOp.LOCK_RELEASE);
    check(op, native.lockRelease(this.ptr));
  }

  /** Whether some process holds it. */
  locked(): boolean {
    return this.owner().count > 0;
  }

  /** Holder's run-time process id (0n = free) and recursion depth. */
  owner(): { puid: bigint; count: number } {
    this.live('owner');
    if (this.remote) return this.remote.owner(`${this.constructor.name}.owner`);
    check(`${this.constructor.name}.owner`, native.lockOwner(this.ptr, ownerOut.subarray(0, 1), ownerOut.subarray(1, 2)));
    return { puid: ownerOut[0]!, count: Number(ownerOut[1]) };
  }

  /** Acquires, runs fn, releases (also when fn throws). */
  async withLock<T>(fn: () => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    if (!(await this.acquire(options))) {
      throw Errors.timeout(`${this.constructor.name}.withLock`, timeoutMs('withLock', options?.timeout));
    }
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/**
 * multiprocessing.Lock: `new Lock()` (in defaultPool()) or `new Lock({ pool })`.
 * Not recursive, not owned: any process may release it (as in Python).
 */
export class Lock extends LockBase {
  constructor(options?: SyncOptions) {
    super(options, () => createNative(poolOf(options, 'new Lock'), SyncKind.LOCK, 0, -1, 'new Lock'));
  }

  static create(options: { pool: MemoryPool }): Lock {
    return new Lock(viaNative(createNative(options?.pool, SyncKind.LOCK, 0, -1, 'Lock.create'), true));
  }

  static attach(desc: Uint8Array): Lock {
    return new Lock(viaNative(attachNative(desc, [SyncKind.LOCK], 'Lock.attach'), false));
  }

  /** @internal Wraps a native handle (a condition's lock). */
  static wrap(n: NativeSync, created: boolean): Lock {
    return new Lock(viaNative(n, created));
  }
}

/**
 * multiprocessing.RLock: recursive, owned by the process that acquired it
 * (release() by another process fails with DRAGON_ERR_NOT_OWNER, of a free
 * one with DRAGON_ERR_NOT_HELD).
 */
export class RLock extends LockBase {
  constructor(options?: SyncOptions) {
    super(options, () => createNative(poolOf(options, 'new RLock'), SyncKind.RLOCK, 0, -1, 'new RLock'));
  }

  static create(options: { pool: MemoryPool }): RLock {
    return new RLock(viaNative(createNative(options?.pool, SyncKind.RLOCK, 0, -1, 'RLock.create'), true));
  }

  static attach(desc: Uint8Array): RLock {
    return new RLock(viaNative(attachNative(desc, [SyncKind.RLOCK], 'RLock.attach'), false));
  }

  /** @internal */
  static wrap(n: NativeSync, created: boolean): RLock {
    return new RLock(viaNative(n, created));
  }
}

/** A Lock or RLock from its descriptor (whichever it is). */
export function attachAnyLock(desc: Uint8Array, op: string): AnyLock {
  const n = attachNative(desc, [SyncKind.LOCK, SyncKind.RLOCK], op);
  return n.kind === SyncKind.RLOCK ? RLock.wrap(n, false) : Lock.wrap(n, false);
}

export type AnyLock = Lock | RLock;

registerTransferable(10 + SyncKind.LOCK, Lock.prototype, (d) => Lock.attach(d));
registerTransferable(10 + SyncKind.RLOCK, RLock.prototype, (d) => RLock.attach(d));
