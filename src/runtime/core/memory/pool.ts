// MemoryPool: a shared-memory segment in /dev/shm with an allocator that
// every process of the node can use. Channels and sync objects live in one.
import { Allocation } from './allocation.js';
import { registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { expectKind, inspectDescriptor } from '../descriptor.js';
import { native } from '../ffi/native.js';
import { PoolHandle } from './pool-handle.js';
import { timeoutUs } from '../timeout.js';

export interface MemoryPoolOptions {
  /** Heap size in bytes (rounded down to 128-byte blocks). */
  bytes: number;
  /** Pool id, unique within the run-time; default: derived from the pid. */
  poolId?: bigint | number;
  /** Node index carried by descriptors; default 0. */
  hostId?: number;
}

export interface PoolStats {
  totalBytes: number;
  freeBytes: number;
  numAllocs: number;
  /** 1 - free/total */
  utilization: number;
  /** The whole segment, metadata included. */
  segmentBytes: number;
}

const statsBuf = new ArrayBuffer(40);
const statsU64 = new BigUint64Array(statsBuf);
const statsF64 = new Float64Array(statsBuf);

export class MemoryPool implements Disposable {
  #handle: PoolHandle | undefined;
  #state: 'open' | 'detached' | 'destroyed' = 'open';
  readonly #created: boolean;

  private constructor(handle: PoolHandle, created: boolean) {
    this.#handle = handle;
    this.#created = created;
  }

  static create(options: MemoryPoolOptions): MemoryPool {
    const op = 'MemoryPool.create';
    const bytes = options?.bytes;
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) {
      throw Errors.invalidArgument(op, `bytes must be a positive integer, got ${String(bytes)}`);
    }
    const poolId = options.poolId === undefined ? undefined : BigInt(options.poolId);
    return new MemoryPool(PoolHandle.create(op, bytes, poolId, options.hostId ?? 0), true);
  }

  /** Maps a pool from its descriptor (in any process of the same run-time on this node). */
  static attach(desc: Uint8Array): MemoryPool {
    const op = 'MemoryPool.attach';
    expectKind(inspectDescriptor(desc, op), 'pool', op);
    return new MemoryPool(PoolHandle.acquire(desc, op), false);
  }

  /** The descriptor: 96 bytes another process passes to MemoryPool.attach(). */
  serialize(): Uint8Array {
    return this.#live('MemoryPool.serialize').descriptor.slice();
  }

  get id(): bigint {
    return this.#live('MemoryPool.id').poolId;
  }

  get runtimeId(): bigint {
    return this.#live('MemoryPool.runtimeId').rtid;
  }

  /** The shared-memory segment's name ("/dragon-<user>-<rtid>-p<id>"). */
  get name(): string {
    return this.#live('MemoryPool.name').segmentName();
  }

  stats(): PoolStats {
    const h = this.#live('MemoryPool.stats');
    check('MemoryPool.stats', native.poolStats(h.ptr, statsBuf));
    return {
      totalBytes: Number(statsU64[0]),
      freeBytes: Number(statsU64[1]),
      numAllocs: Number(statsU64[2]),
      utilization: statsF64[3]!,
      segmentBytes: Number(statsU64[4]),
    };
  }

  /** Allocates `bytes` (64-byte aligned). timeout (ms, default 0) waits for space. */
  alloc(bytes: number, options?: { timeout?: number }): Allocation {
    const op = 'MemoryPool.alloc';
    const h = this.#live(op);
    return Allocation.allocate(h, bytes, timeoutUs(op, options?.timeout ?? 0), op);
  }

  /** Unmaps the pool in this process (deferred while channels, views or allocations of it live here). */
  detach(): void {
    const h = this.#live('MemoryPool.detach');
    this.#state = 'detached';
    this.#handle = undefined;
    h.release();
  }

  /**
   * Destroys the pool for every process: the segment is unlinked. Channel,
   * sync and allocation handles of this process must be destroyed, freed or
   * detached first; live zero-copy views defer it until released.
   */
  destroy(): void {
    const h = this.#live('MemoryPool.destroy');
    h.requestDestroy('MemoryPool.destroy');
    this.#state = 'destroyed';
    this.#handle = undefined;
    h.release();
  }

  /** Destroys a pool this handle created, detaches one it attached. */
  [Symbol.dispose](): void {
    if (this.#state !== 'open') return;
    if (this.#created) this.destroy();
    else this.detach();
  }

  /** @internal */
  get handle(): PoolHandle {
    return this.#live('MemoryPool');
  }

  #live(op: string): PoolHandle {
    if (!this.#handle) throw Errors.closed('pool', op, this.#state);
    return this.#handle;
  }
}

registerTransferable(1, MemoryPool.prototype, (desc) => MemoryPool.attach(desc));
