// A block of pool memory that any process of the node can reach through its
// descriptor. `bytes` is the memory itself (no copy): writes are seen by
// every process that attached the allocation.
import { registerTransferable } from '../codec/transferable.js';
import { Errors, check } from '../../errors/errors.js';
import { asDescriptor, expectKind, inspectDescriptor } from '../descriptor.js';
import { DESC_BYTES, native, out, type NativeAlloc } from '../ffi/native.js';
import { PoolHandle } from './pool-handle.js';
import { Status } from '../../errors/status.js';

const allocOut = new BigUint64Array(3);

export class Allocation implements Disposable {
  #pool: PoolHandle | undefined;
  #ref: NativeAlloc;
  #bytes: Buffer | undefined;
  #state: 'live' | 'freed' | 'detached' = 'live';
  readonly size: number;

  /** @internal */
  constructor(pool: PoolHandle, ref: NativeAlloc) {
    this.#pool = pool;
    this.#ref = ref;
    this.size = Number(ref.size);
    pool.trackAllocation(this, this.size);
  }

  /** @internal Allocates `bytes` in `pool`; the new handle owns a pool reference. */
  static allocate(pool: PoolHandle, bytes: number, timeoutUs: number, op: string): Allocation {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw Errors.invalidArgument(op, `bytes must be a positive integer, got ${bytes}`);
    const rc = native.poolAlloc(pool.ptr, bytes, timeoutUs, allocOut);
    if (rc === Status.TIMEOUT) {
      throw Errors.native(op, rc, `no free block of ${bytes} bytes`, 'Free allocations, create a larger pool, or pass { timeout } to wait for space');
    }
    check(op, rc, `${bytes} bytes`);
    pool.retain();
    return new Allocation(pool, readRef());
  }

  /** Attaches an allocation from its descriptor (from serialize(), maybe in another process). */
  static attach(desc: Uint8Array): Allocation {
    const op = 'Allocation.attach';
    expectKind(inspectDescriptor(desc, op), 'allocation', op);
    const pool = PoolHandle.acquire(asDescriptor(desc, op), op);
    try {
      check(op, native.allocAttach(pool.ptr, desc, desc.length, allocOut));
    } catch (err) {
      pool.release();
      throw err;
    }
    return new Allocation(pool, readRef());
  }

  /** The memory, in place. Valid until free() or detach(). */
  get bytes(): Buffer {
    const pool = this.#live('Allocation.bytes');
    if (!this.#bytes) this.#bytes = pool.bytes(this.#ref, this.size, 'Allocation.bytes');
    return this.#bytes;
  }

  get freed(): boolean {
    return this.#state === 'freed';
  }

  serialize(): Uint8Array {
    const pool = this.#live('Allocation.serialize');
    check('Allocation.serialize', native.allocSerialize(pool.ptr, this.#ref, out.desc, DESC_BYTES, out.len));
    return out.desc.slice(0, Number(out.len[0]));
  }

  /** Returns the memory to the pool (from any process). */
  free(): void {
    const pool = this.#live('Allocation.free');
    this.#end('freed');
    try {
      check('Allocation.free', native.poolFree(pool.ptr, this.#ref));
    } finally {
      pool.release();
    }
  }

  /** Forgets this handle and keeps the memory allocated (another process will free it). */
  detach(): void {
    const pool = this.#live('Allocation.detach');
    this.#end('detached');
    pool.release();
  }

  /** Frees the allocation unless it was freed or detached already. */
  [Symbol.dispose](): void {
    if (this.#state === 'live') this.free();
  }

  /** @internal The native reference (for zero-copy sends). */
  get ref(): NativeAlloc {
    this.#live('Allocation');
    return this.#ref;
  }

  /** @internal Hands the memory over (e.g. sent on a channel): no free, no view. */
  handOver(): void {
    const pool = this.#live('Allocation');
    this.#end('detached');
    pool.release();
  }

  #live(op: string): PoolHandle {
    if (this.#state !== 'live' || !this.#pool) throw Errors.closed('allocation', op, this.#state);
    return this.#pool;
  }

  #end(state: 'freed' | 'detached'): void {
    this.#pool?.untrackAllocation(this);
    this.#state = state;
    this.#bytes = undefined;
    this.#pool = undefined;
  }
}

function readRef(): NativeAlloc {
  return { offset: allocOut[0]!, size: allocOut[1]!, gen: allocOut[2]! };
}

registerTransferable(3, Allocation.prototype, (desc) => Allocation.attach(desc));
