// A received message read in place: `bytes` is a view on the pool
// allocation that carried it (no copy). The allocation is freed and the
// pool may be unmapped only after release(), so the view must not be used
// after it. On Node 20 such a view cannot be detached (koffi's external
// ArrayBuffers are marked untransferable: structuredClone(..., {transfer})
// copies instead, and ArrayBuffer.prototype.transfer does not exist), so a
// Uint8Array kept past release() would read reused memory: `bytes` and
// `value` throw after release, and the caller must not keep them.
// A FinalizationRegistry frees views that were dropped unreleased; it is a
// safety net, not the way to manage them. Every view of a pool shares one
// ArrayBuffer (pool-handle.ts), so the net watches the objects this view
// hands out (`bytes`, and `value` once decoded) and frees the message when
// all of them are unreachable; arrays the caller derived from them
// (subarray, a typed array inside `value`) do not hold it.
import { Errors, check } from '../../errors/errors.js';
import { native, type NativeAlloc } from '../ffi/native.js';
import type { PoolHandle } from '../memory/pool-handle.js';

interface Lease {
  pool: PoolHandle;
  alloc: NativeAlloc;
  done: boolean;
  /** Objects handed out that the safety net waits for. */
  watched: number;
}

let warned = false;
const registry = new FinalizationRegistry<Lease>((lease) => {
  if (--lease.watched > 0) return;
  if (!warned) {
    warned = true;
    process.emitWarning(
      'dragonhpc: a zero-copy MessageView was garbage-collected without release(); call release() (or use `using`) when done with it',
    );
  }
  endLease(lease);
});

function endLease(lease: Lease): void {
  if (lease.done) return;
  lease.done = true;
  try {
    check('MessageView.release', native.poolFree(lease.pool.ptr, lease.alloc));
  } finally {
    lease.pool.release();
  }
}

export class MessageView<T = unknown> implements Disposable {
  #bytes: Buffer | undefined;
  #lease: Lease | undefined;
  #decode: ((bytes: Buffer) => T) | undefined;
  #value: T | undefined;
  #decoded = false;
  readonly length: number;

  /** @internal A view on pool memory (lease) or on a private copy (no lease). */
  constructor(bytes: Buffer, lease: { pool: PoolHandle; alloc: NativeAlloc } | undefined, decode?: (bytes: Buffer) => T) {
    this.#bytes = bytes;
    this.length = bytes.length;
    this.#decode = decode;
    if (lease) {
      // the pool keeps its mapping until the lease ends
      lease.pool.retain();
      this.#lease = { pool: lease.pool, alloc: lease.alloc, done: false, watched: 1 };
      registry.register(bytes, this.#lease, this.#lease);
    }
  }

  /** True when `bytes` is pool memory (a large message), false for a copy. */
  get zeroCopy(): boolean {
    return this.#lease !== undefined;
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  /** The message bytes (for recv() views: the encoded value, tag first). */
  get bytes(): Buffer {
    if (!this.#bytes) throw Errors.released('MessageView.bytes');
    return this.#bytes;
  }

  /** The decoded value (recv() views); Buffers and typed arrays in it may alias `bytes`. */
  get value(): T {
    if (!this.#bytes) throw Errors.released('MessageView.value');
    if (!this.#decoded) {
      if (!this.#decode) throw Errors.invalidArgument('MessageView.value', 'a recvBytes() view has no value: use .bytes');
      const value = this.#decode(this.#bytes);
      this.#value = value;
      this.#decoded = true;
      const lease = this.#lease;
      if (lease && typeof value === 'object' && value !== null && (value as unknown) !== this.#bytes) {
        lease.watched++;
        registry.register(value, lease, lease);
      }
    }
    return this.#value as T;
  }

  /** Frees the message memory. Idempotent. */
  release(): void {
    this.#bytes = undefined;
    this.#value = undefined;
    const lease = this.#lease;
    if (!lease) return;
    this.#lease = undefined;
    registry.unregister(lease);
    endLease(lease);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
