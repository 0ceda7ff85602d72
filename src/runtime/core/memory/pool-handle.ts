// One mapping of a pool in this process, shared by every JS object that
// uses it (MemoryPool wrappers, channels, sync objects, allocations and
// zero-copy views), and the per-process cache that finds it again by
// (run-time id, pool id). The mapping goes away only when the last user lets
// go: unmapping under a live view or channel handle would be a
// use-after-free in C.
// Views on pool memory (zero-copy messages, Allocation.bytes) are Buffers
// on ONE external ArrayBuffer over the whole mapping, made on first use:
// an ArrayBuffer per message is external memory that V8 accounts for, and
// made full garbage collections run every few large messages (hundreds of
// microseconds to milliseconds each). Mappings above 4 GiB (the longest
// view koffi makes) are covered by overlapping 4 GiB windows every 2 GiB,
// so any view of up to 2 GiB fits one window.
import { Errors, check } from '../../errors/errors.js';
import { choseRuntimeId, newPoolId, processId, runtimeId } from '../identity.js';
import { DESC_BYTES, MAX_VIEW_BYTES, native, out, outHandle, type Handle, type NativeAlloc, viewMemory } from '../ffi/native.js';
import { Status } from '../../errors/status.js';
import { inspectDescriptor } from '../descriptor.js';
import { removeAtExit } from '../exit-cleanup.js';
import { holdRuntimeLock } from '../rundir/runtime-lock.js';

let forgetInWaiter: ((pool: PoolHandle) => void) | undefined;
// waiter.ts registers how to give back the doorbell slot it holds in a pool
// (a direct import would be a cycle: the waiter watches objects of pools).
export function onPoolClose(fn: (pool: PoolHandle) => void): void {
  forgetInWaiter = fn;
}

const cache = new Map<string, PoolHandle>();
const key = (rtid: bigint, poolId: bigint) => `${rtid.toString(16)}:${poolId.toString(16)}`;
const ptrOut = new BigUint64Array(1);
const lenOut = new BigUint64Array(1);
const WINDOW_STEP = MAX_VIEW_BYTES / 2;
const nameBuf = Buffer.alloc(128);

export class PoolHandle {
  /** Channels and sync objects using the pool: they forbid destroy. */
  private objects = 0;
  /** Every user: MemoryPool wrappers, objects, allocations, views. */
  private refs = 1;
  /** This process's live Allocation handles of the pool, and their sizes (destroy names them). */
  private readonly allocations = new Map<object, number>();
  private destroyRequested = false;
  private closed = false;
  /** Outside a run-time, the segment this process created goes when it ends (cancelled by destroy). */
  private keepAfterExit: (() => void) | undefined;
  /** Set by the waiter while it holds a doorbell slot in this pool. */
  watched = false;
  /** Address and length of the mapping (base -1: not read yet). */
  private mapBase = -1;
  private mapLength = 0;
  /** The views over the mapping: one, or a window per WINDOW_STEP above 4 GiB. */
  private windows: Array<ArrayBuffer | undefined> = [];
  readonly descriptor: Uint8Array;

  private constructor(
    readonly ptr: Handle,
    readonly rtid: bigint,
    readonly poolId: bigint,
  ) {
    check('MemoryPool.serialize', native.poolSerialize(ptr, out.desc, DESC_BYTES, out.len));
    this.descriptor = out.desc.slice(0, Number(out.len[0]));
    cache.set(key(rtid, poolId), this);
  }

  static create(op: string, bytes: number, poolId: bigint | undefined, hostId: number): PoolHandle {
    const rtid = runtimeId();
    holdRuntimeLock(); // standalone use: no segment of ours exists without a held lock
    const attrs = new BigUint64Array(5);
    // An automatic id can collide with a stale segment of a dead process
    // that had our pid: take the next one.
    for (let attempt = 0; ; attempt++) {
      const id = poolId ?? newPoolId();
      attrs.set([rtid, id, BigInt(bytes), processId(), BigInt(hostId)]);
      const rc = native.poolCreate(attrs, out.u64);
      if (rc === Status.EXISTS && poolId === undefined && attempt < 16) continue;
      check(op, rc, `${bytes} bytes, pool id ${id}`);
      const handle = new PoolHandle(outHandle(), rtid, id);
      // No Local Services to remove it: the run-time is this process's own.
      if (choseRuntimeId()) handle.keepAfterExit = removeAtExit(`/dev/shm${handle.segmentName()}`);
      return handle;
    }
  }

  // The mapping of the pool a descriptor (of a pool, allocation, channel or
  // sync object) lives in, attaching it on first use. The caller owns one
  // reference.
  static acquire(desc: Uint8Array, op: string): PoolHandle {
    const info = inspectDescriptor(desc, op);
    const own = runtimeId();
    if (info.rtid !== own) throw Errors.foreignRuntime(op, info.rtid, own);
    const node = thisNode();
    if (node !== undefined && info.hostId !== BigInt(node)) throw Errors.otherNode(op, info.kind, Number(info.hostId), node);
    const found = cache.get(key(info.rtid, info.poolId));
    if (found) {
      found.refs++;
      return found;
    }
    let poolDesc = desc;
    if (info.kind !== 'pool') {
      const buf = new Uint8Array(DESC_BYTES);
      check(op, native.descPool(desc, desc.length, buf, DESC_BYTES, out.len));
      poolDesc = buf.subarray(0, Number(out.len[0]));
    }
    check(op, native.poolAttach(poolDesc, poolDesc.length, own, processId(), out.u64));
    return new PoolHandle(outHandle(), info.rtid, info.poolId);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isDestroyed(): boolean {
    return this.destroyRequested;
  }

  retain(): void {
    this.refs++;
  }

  /** A channel or sync object starts using the pool. */
  retainObject(): void {
    this.refs++;
    this.objects++;
  }

  /** An Allocation handle of this process starts using the pool (it holds a reference of its own). */
  trackAllocation(owner: object, bytes: number): void {
    this.allocations.set(owner, bytes);
  }

  untrackAllocation(owner: object): void {
    this.allocations.delete(owner);
  }

  releaseObject(): void {
    this.objects--;
    this.release();
  }

  release(): void {
    if (--this.refs > 0 || this.closed) return;
    this.close();
  }

  // Destroys the pool once nothing of this process uses it any more. Live
  // channel, sync or allocation handles make it an error (destroy, free or
  // detach them first); live zero-copy views only defer it, since their
  // memory must stay mapped until they are collected.
  requestDestroy(op: string): void {
    if (this.objects > 0) throw Errors.poolBusy(op, this.objects);
    if (this.allocations.size > 0) throw Errors.poolAllocationsLive(op, [...this.allocations.values()]);
    this.destroyRequested = true;
    // Nobody finds it any more: a later attach maps afresh (and fails with
    // NOT_FOUND once the segment is gone).
    this.uncache();
  }

  /** Bytes of an allocation of this pool, in place (no copy). */
  bytes(alloc: NativeAlloc, length: number, op: string): Buffer {
    check(op, native.allocPtr(this.ptr, alloc, ptrOut));
    return this.bytesAt(Number(ptrOut[0]), length, op);
  }

  /** `length` bytes at `address` inside this pool's mapping, as a Buffer on the pool's view. */
  bytesAt(address: number, length: number, op: string): Buffer {
    if (length > MAX_VIEW_BYTES) throw Errors.viewTooLarge(op, length, MAX_VIEW_BYTES);
    if (this.mapBase < 0) {
      check(op, native.poolMapping(this.ptr, ptrOut, lenOut));
      this.mapBase = Number(ptrOut[0]);
      this.mapLength = Number(lenOut[0]);
    }
    const offset = address - this.mapBase;
    if (offset < 0 || offset + length > this.mapLength) {
      throw Errors.native(op, Status.INTERNAL, `${length} bytes at offset ${offset} lie outside the pool mapping (${this.mapLength} bytes)`);
    }
    let w = 0;
    if (this.mapLength > MAX_VIEW_BYTES) {
      // a view longer than a window's guaranteed reach gets its own
      if (length > WINDOW_STEP) return Buffer.from(viewMemory(address, length), 0, length);
      w = Math.floor(offset / WINDOW_STEP);
    }
    const start = w * WINDOW_STEP;
    const ab = (this.windows[w] ??= viewMemory(this.mapBase + start, Math.min(MAX_VIEW_BYTES, this.mapLength - start)));
    return Buffer.from(ab, offset - start, length);
  }

  /** "/dragon-<user>-<rtid>-p<id>": the segment's name in /dev/shm. */
  segmentName(): string {
    check('MemoryPool.name', native.poolName(this.ptr, nameBuf, nameBuf.length));
    return nameBuf.toString('latin1', 0, nameBuf.indexOf(0));
  }

  private uncache(): void {
    const k = key(this.rtid, this.poolId);
    if (cache.get(k) === this) cache.delete(k);
  }

  private close(): void {
    this.closed = true;
    // views made before stay valid only while the pool is mapped: their
    // users (MessageView, Allocation) hold a reference until released
    this.windows = [];
    this.uncache();
    if (this.watched) forgetInWaiter?.(this);
    const destroy = this.destroyRequested;
    if (destroy) this.keepAfterExit?.();
    const rc = destroy ? native.poolDestroy(this.ptr) : native.poolDetach(this.ptr);
    check(destroy ? 'MemoryPool.destroy' : 'MemoryPool.detach', rc);
  }
}

// The node index the run-time gave this process (DRAGON_NODE_INDEX), if any:
// a descriptor of another node cannot be attached here (no shared memory
// between nodes): Channel.attach makes a remote channel of it
// (remote/channel.ts), a sync object's attach a remote one (remote/sync.ts),
// Value/Array reach their allocation through the transport (gateway op MEM);
// a MemoryPool or a bare Allocation of another node cannot be mapped.
export function thisNode(): number | undefined {
  const v = process.env.DRAGON_NODE_INDEX;
  if (v === undefined || v === '' || process.env.DRAGON_RT_UID === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}
