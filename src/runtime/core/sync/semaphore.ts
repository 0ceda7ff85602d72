// Semaphore and BoundedSemaphore with Python's semantics, across processes.
import { registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { native } from '../ffi/native.js';
import type { MemoryPool } from '../memory/pool.js';
import type { AcquireOptions } from './lock.js';
import { SyncOp } from '../ffi/gateway-wire.js';
import { SyncKind, SyncObject, attachNative, createNative, isInternal, poolOf, viaNative, type NativeSync, type SyncOptions } from './sync-object.js';

export interface SemaphoreOptions {
  pool: MemoryPool;
  /** Initial count (default 1). */
  value?: number;
  /** Maximum count: release() past it fails with DRAGON_ERR_OVERFLOW. */
  bound?: number;
}

const valueOut = new BigInt64Array(1);

/**
 * multiprocessing.Semaphore: `new Semaphore(value = 1, { pool })` (pool
 * default defaultPool()). release() is unbounded (see BoundedSemaphore).
 */
export class Semaphore extends SyncObject {
  constructor(value: number = 1, options?: SyncOptions) {
    super(value, () => createSem({ pool: poolOf(options, 'new Semaphore'), value }, undefined, 'new Semaphore'));
  }

  static create(options: SemaphoreOptions): Semaphore {
    return new Semaphore(viaNative(createSem(options, options?.bound, 'Semaphore.create'), true));
  }

  static attach(desc: Uint8Array): Semaphore {
    return new Semaphore(viaNative(attachNative(desc, [SyncKind.SEMAPHORE], 'Semaphore.attach'), false));
  }

  /** Resolves true once a unit was taken, false if `timeout` (ms) passed first. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.acquireWith('acquire', native.semAcquire, options);
  }

  acquireSync(options?: { timeout?: number }): boolean {
    return this.acquireSyncWith('acquireSync', native.semAcquire, options);
  }

  /** Adds n units (default 1). */
  release(n = 1): void {
    const op = `${this.constructor.name}.release`;
    this.live('release');
    if (!Number.isSafeInteger(n) || n < 1) throw Errors.invalidArgument(op, `n must be a positive integer, got ${n}`);
    if (this.remote) return this.remote.simple(op, SyncOp.SEM_RELEASE, n);
    check(op, native.semRelease(this.ptr, n));
  }

  /** The current count. */
  getValue(): number {
    this.live('getValue');
    if (this.remote) return this.remote.value(`${this.constructor.name}.getValue`, SyncOp.SEM_VALUE);
    check(`${this.constructor.name}.getValue`, native.semValue(this.ptr, valueOut));
    return Number(valueOut[0]);
  }
}

/**
 * multiprocessing.BoundedSemaphore: `new BoundedSemaphore(value = 1, { pool })`;
 * release() past the initial value fails with DRAGON_ERR_OVERFLOW (Python: ValueError).
 */
export class BoundedSemaphore extends Semaphore {
  constructor(value: number = 1, options?: SyncOptions) {
    super(isInternal(value) ? value : viaNative(createSem({ pool: poolOf(options, 'new BoundedSemaphore'), value }, value, 'new BoundedSemaphore'), true));
  }

  /** Python's BoundedSemaphore: the bound is the initial value unless given. */
  static override create(options: SemaphoreOptions): BoundedSemaphore {
    const value = options?.value ?? 1;
    return new BoundedSemaphore(viaNative(createSem(options, options?.bound ?? value, 'BoundedSemaphore.create'), true));
  }

  static override attach(desc: Uint8Array): BoundedSemaphore {
    return new BoundedSemaphore(viaNative(attachNative(desc, [SyncKind.SEMAPHORE], 'BoundedSemaphore.attach'), false));
  }
}

function createSem(options: SemaphoreOptions, bound: number | undefined, op: string): NativeSync {
  const value = options?.value ?? 1;
  if (!Number.isSafeInteger(value) || value < 0) throw Errors.invalidArgument(op, `value must be a non-negative integer, got ${value}`);
  if (bound !== undefined && (!Number.isSafeInteger(bound) || bound < value)) {
    throw Errors.invalidArgument(op, `bound must be an integer >= value (${value}), got ${bound}`);
  }
  return createNative(options?.pool, SyncKind.SEMAPHORE, value, bound ?? -1, op);
}

registerTransferable(10 + SyncKind.SEMAPHORE, Semaphore.prototype, (d) => Semaphore.attach(d));
registerTransferable(20 + SyncKind.SEMAPHORE, BoundedSemaphore.prototype, (d) => BoundedSemaphore.attach(d));
