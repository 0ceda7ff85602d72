// Channel: a bounded multi-producer multi-consumer FIFO of messages in a
// pool, usable from every process of the node. Values keep structured-clone
// semantics (see codec.ts); sendBytes/recvBytes move raw bytes. Async
// methods never block the event loop (see wait-queue.ts); the *Sync
// variants block in C (spin, then futex).
import type { Allocation } from '../memory/allocation.js';
import { decode, encode, encoded, registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { asDescriptor, expectKind, inspectDescriptor } from '../descriptor.js';
import { MessageView } from './message-view.js';
import { DESC_BYTES, addressOf, native, out, outHandle, type Handle, type NativeAlloc } from '../ffi/native.js';
import { PoolHandle, thisNode } from '../memory/pool-handle.js';
import { runtimeId } from '../identity.js';
import type { MemoryPool } from '../memory/pool.js';
import { Status } from '../../errors/status.js';
import { BLOCKED, WaitQueue, type MemoryWatch, type OpSpec, type Watch } from '../wait/wait-queue.js';
import { timeoutMs, timeoutUs, type WaitOptions } from '../timeout.js';
import type { Waiter } from '../wait/waiter.js';
import { bitFor, objectKey, releaseBit } from '../wait/watches.js';

export interface ChannelOptions {
  pool: MemoryPool;
  /** Messages the channel holds before send waits. */
  capacity: number;
  /** Bytes of a message stored inline; larger ones travel as a pool allocation. Default 1024. */
  blockSize?: number;
}

export type SendOptions = WaitOptions;
export interface RecvOptions extends WaitOptions {
  /** Large messages stay in pool memory: resolve to a MessageView to release(). */
  zeroCopy?: boolean;
}
export type PollOptions = WaitOptions;

const WATCH_IN = 1;
const WATCH_OUT = 2;

// dragon_msg_t: len u64, is_alloc u32, pad u32, alloc {offset, size, gen} u64s
const msgBuf = new ArrayBuffer(40);
const msgU32 = new Uint32Array(msgBuf);
const infoOut = new BigUint64Array(2);
const revents = new Uint32Array(1);
const countOut = new BigUint64Array(1);
// a uint64_t out-parameter, read as two halves (no BigInt)
const lenBuf = new ArrayBuffer(8);
const lenOut = new Uint32Array(lenBuf);
// encode() leaves most values in its scratch buffer: send it by address
const scratch = encoded.buf;
// The addresses of those buffers, taken by the first Channel (koffi is
// loaded by then; importing the package must not load it).
let msgAddr = 0;
let lenAddr = 0;
let scratchAddr = 0;
function takeAddresses(): void {
  msgAddr = addressOf(msgBuf);
  lenAddr = addressOf(lenBuf);
  scratchAddr = addressOf(scratch.buffer as ArrayBuffer) + scratch.byteOffset;
}

// Where small messages are received (see #tryRecv): memory of the binding
// that C writes to by address (`new ArrayBuffer` memory never moves). One
// per process, shared by every channel: JS runs one receive at a time.
interface RecvArea {
  ab: ArrayBuffer;
  buf: Buffer;
  addr: number;
  bytes: number;
  /** Where the next message goes (the slab only: a scratch area is reused from 0). */
  off: number;
}
// Received Buffers stay in a 64 KiB slab, like Buffer.allocUnsafe's pool,
// when blocks are at most 8 KiB (8 or more messages per slab); channels
// with bigger blocks receive into a scratch area and copy out.
const SLAB_BYTES = 64 * 1024;
const SLAB_KEEP_MAX = 8 * 1024;
let slab: RecvArea | undefined;
let scratchArea: RecvArea | undefined;

function recvArea(bytes: number): RecvArea {
  const ab = new ArrayBuffer(bytes);
  return { ab, buf: Buffer.from(ab), addr: addressOf(ab), bytes, off: 0 };
}

// The slab, with room for a block at its offset.
function slabFor(blockSize: number): RecvArea {
  if (slab === undefined || slab.off + blockSize > slab.bytes) slab = recvArea(SLAB_BYTES);
  return slab;
}

function scratchFor(blockSize: number): RecvArea {
  if (scratchArea === undefined || scratchArea.bytes < blockSize) scratchArea = recvArea(blockSize);
  return scratchArea;
}

const DONE: Promise<void> = Promise.resolve();

/** What a receive returns. */
export const RecvMode = { Value: 0, Bytes: 1, ValueView: 2, BytesView: 3 } as const;
export type RecvMode = (typeof RecvMode)[keyof typeof RecvMode];
const Mode = RecvMode;
type Mode = RecvMode;

/**
 * A channel of another node (remote/channel.ts): every operation is a
 * request to the transport. The remote room registers its maker here, so
 * this floor never imports the floor above it.
 */
export interface RemoteChannelOps {
  readonly desc: Uint8Array;
  readonly node: number;
  send(op: string, value: unknown, bytes: boolean, options: WaitOptions | undefined): Promise<void>;
  sendSync(op: string, value: unknown, bytes: boolean, options: WaitOptions | undefined): void;
  sendAllocationSync(op: string, allocation: Allocation, options: (WaitOptions & { length?: number }) | undefined): void;
  recv(op: string, mode: Mode, options: WaitOptions | undefined): Promise<unknown>;
  recvSync(op: string, mode: Mode, options: WaitOptions | undefined): unknown;
  recvBytesInto(op: string, buf: Uint8Array, options: WaitOptions | undefined): Promise<number>;
  recvBytesIntoSync(op: string, buf: Uint8Array, options: WaitOptions | undefined): number;
  count(op: string): number;
  poll(op: string, events: number, options: WaitOptions | undefined): Promise<number>;
  pollSync(op: string, events: number, options: WaitOptions | undefined): number;
  detach(op: string): void;
}

let makeRemote: ((desc: Uint8Array, node: number) => RemoteChannelOps) | undefined;

/** @internal remote/channel.ts: how a channel of another node is made. */
export function registerRemoteChannels(make: (desc: Uint8Array, node: number) => RemoteChannelOps): void {
  makeRemote = make;
}

export class Channel implements Disposable {
  static readonly POLL_IN = 1;
  static readonly POLL_OUT = 2;
  static readonly POLL_EMPTY = 4;
  static readonly POLL_FULL = 8;

  #ptr!: Handle;
  #pool!: PoolHandle;
  #state: 'open' | 'detached' | 'destroyed' = 'open';
  readonly #created: boolean;
  readonly #desc: Uint8Array;
  readonly #key!: string;
  /** The pool's key: its doorbell bit for "memory was freed" is shared by its objects. */
  readonly #poolKey!: string;
  readonly #recvQ!: WaitQueue;
  readonly #sendQ!: WaitQueue;
  #pollQ: WaitQueue | undefined;
  /** A channel of another node: every operation goes through the transport (remote/channel.ts). */
  readonly #remote: RemoteChannelOps | undefined;
  /** Messages the channel holds (0 for a channel of another node: not known here). */
  readonly capacity: number;
  /** Inline bytes per message (0 for a channel of another node). */
  readonly blockSize: number;

  private constructor(ptr: Handle, pool: PoolHandle, created: boolean, remote?: RemoteChannelOps) {
    if (remote) {
      this.#remote = remote;
      this.#created = false;
      this.#desc = remote.desc;
      this.capacity = 0;
      this.blockSize = 0;
      return;
    }
    if (msgAddr === 0) takeAddresses();
    this.#ptr = ptr;
    this.#pool = pool;
    this.#created = created;
    check('Channel.serialize', native.channelSerialize(ptr, out.desc, DESC_BYTES, out.len));
    this.#desc = out.desc.slice(0, Number(out.len[0]));
    check('Channel.info', native.channelInfo(ptr, infoOut.subarray(0, 1), infoOut.subarray(1, 2)));
    this.capacity = Number(infoOut[0]);
    this.blockSize = Number(infoOut[1]);
    this.#key = objectKey(this.#desc);
    const bit = bitFor(this.#key);
    this.#poolKey = objectKey(pool.descriptor);
    const sendWatch = this.#watch(WATCH_OUT);
    sendWatch.memory = memoryWatch(pool, this.#poolKey);
    this.#recvQ = new WaitQueue(bit, this.#watch(WATCH_IN));
    this.#sendQ = new WaitQueue(bit, sendWatch);
  }

  static create(options: ChannelOptions): Channel {
    const op = 'Channel.create';
    const { pool, capacity } = options ?? ({} as ChannelOptions);
    const blockSize = options?.blockSize ?? 1024;
    if (!pool || typeof pool.serialize !== 'function') throw Errors.invalidArgument(op, 'options.pool must be a MemoryPool');
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw Errors.invalidArgument(op, `capacity must be a positive integer, got ${String(capacity)}`);
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw Errors.invalidArgument(op, `blockSize must be a positive integer, got ${String(blockSize)}`);
    const handle = pool.handle;
    check(op, native.channelCreate(handle.ptr, capacity, blockSize, out.u64), `capacity ${capacity}, blockSize ${blockSize}`);
    const ptr = outHandle();
    handle.retainObject();
    return new Channel(ptr, handle, true);
  }

  /** Attaches a channel from its descriptor, mapping its pool if this process has not yet. */
  static attach(desc: Uint8Array): Channel {
    const op = 'Channel.attach';
    const info = inspectDescriptor(desc, op);
    expectKind(info, 'channel', op);
    const node = thisNode();
    if (node !== undefined && info.hostId !== BigInt(node) && info.rtid === runtimeId()) {
      if (!makeRemote) throw Errors.library('cross-node channels are not loaded in this process', "Import 'dragonhpc' (or its remote module) before attaching a channel of another node");
      return new Channel(0, undefined as unknown as PoolHandle, false, makeRemote(desc.slice(), Number(info.hostId)));
    }
    const pool = PoolHandle.acquire(asDescriptor(desc, op), op);
    const rc = native.channelAttach(pool.ptr, desc, desc.length, out.u64);
    if (rc !== Status.OK) {
      pool.release();
      throw Errors.native(op, rc);
    }
    const ptr = outHandle();
    pool.retainObject();
    pool.release();
    return new Channel(ptr, pool, false);
  }

  /** The node this channel lives on, when it is another node's (its operations go through the transport). */
  get remoteNode(): number | undefined {
    return this.#remote?.node;
  }

  /** The descriptor: 96 bytes another process passes to Channel.attach(). */
  serialize(): Uint8Array {
    this.#live('Channel.serialize');
    return this.#desc.slice();
  }

  // ---- send ----------------------------------------------------------------

  send(value: unknown, options?: SendOptions): Promise<void> {
    const op = 'Channel.send';
    try {
      this.#live(op);
      if (this.#remote) return this.#remote.send(op, value, false, options);
      encode(value, op);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#sendEncoded(op, encoded.buf, encoded.len, options);
  }

  sendBytes(bytes: Uint8Array, options?: SendOptions): Promise<void> {
    const op = 'Channel.sendBytes';
    try {
      this.#live(op);
      checkBytes(bytes, op);
      if (this.#remote) return this.#remote.send(op, bytes, true, options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#sendEncoded(op, bytes, bytes.length, options);
  }

  sendSync(value: unknown, options?: SendOptions): void {
    const op = 'Channel.sendSync';
    this.#live(op);
    if (this.#remote) return this.#remote.sendSync(op, value, false, options);
    encode(value, op);
    this.#sendSync(op, encoded.buf, encoded.len, options);
  }

  sendBytesSync(bytes: Uint8Array, options?: SendOptions): void {
    const op = 'Channel.sendBytesSync';
    this.#live(op);
    checkBytes(bytes, op);
    if (this.#remote) return this.#remote.sendSync(op, bytes, true, options);
    this.#sendSync(op, bytes, bytes.length, options);
  }

  /**
   * @internal One send attempt that never waits, for a channel of this node:
   * false when the channel is full (no error is built: a full channel is
   * the common case of a producer running ahead). The value is encoded
   * into `encoded` either way, so a caller that keeps it on false takes
   * those bytes instead of encoding it again.
   */
  trySendSync(value: unknown, op: string): boolean {
    this.#live(op);
    encode(value, op);
    const rc = encoded.buf === scratch ? native.channelSendAt(this.#ptr, scratchAddr, encoded.len, 0) : native.channelSend(this.#ptr, encoded.buf, encoded.len, 0);
    if (rc === Status.OK) return true;
    if (rc === Status.TIMEOUT) return false;
    throw Errors.native(op, rc, `${encoded.len} bytes`);
  }

  /** @internal trySendSync() for bytes already encoded (or raw): false when the channel is full. */
  trySendBytesSync(bytes: Uint8Array, op: string): boolean {
    this.#live(op);
    const rc = native.channelSend(this.#ptr, bytes, bytes.length, 0);
    if (rc === Status.OK) return true;
    if (rc === Status.TIMEOUT) return false;
    throw Errors.native(op, rc, `${bytes.length} bytes`);
  }

  /**
   * Zero-copy send: hands an allocation of this channel's pool to the
   * receiver (who gets it as a large message). The allocation handle is
   * spent on success. Sync only: the allocation is the caller's until then.
   */
  sendAllocationSync(allocation: Allocation, options?: SendOptions & { length?: number }): void {
    const op = 'Channel.sendAllocationSync';
    this.#live(op);
    if (this.#remote) return this.#remote.sendAllocationSync(op, allocation, options);
    const len = options?.length ?? allocation.size;
    const rc = native.channelSendAlloc(this.#ptr, allocation.ref, len, timeoutUs(op, options?.timeout));
    if (rc === Status.TIMEOUT) throw Errors.timeout(op, timeoutMs(op, options?.timeout));
    check(op, rc);
    allocation.handOver();
  }

  #sendEncoded(op: string, buf: Uint8Array, len: number, options: SendOptions | undefined): Promise<void> {
    let tried = false;
    if (options?.signal?.aborted) return Promise.reject(Errors.aborted(op, options.signal.reason));
    if (this.#sendQ.size === 0) {
      const rc = buf === scratch ? native.channelSendAt(this.#ptr, scratchAddr, len, 0) : native.channelSend(this.#ptr, buf, len, 0);
      if (rc === Status.OK) return DONE;
      if (rc !== Status.TIMEOUT) return Promise.reject(Errors.native(op, rc, `${len} bytes`));
      tried = true;
    }
    // It has to wait: keep a private copy (buf may be the shared scratch).
    const payload = Uint8Array.prototype.slice.call(buf, 0, len);
    const ptr = this.#ptr;
    const spec: OpSpec<void> = {
      op,
      attempt: () => {
        const rc = native.channelSend(ptr, payload, len, 0);
        if (rc === Status.OK) return undefined;
        if (rc === Status.TIMEOUT) return BLOCKED;
        throw Errors.native(op, rc, `${len} bytes`);
      },
      // a message larger than a block also waits for a block of the pool
      memory: len > this.blockSize,
    };
    return this.#sendQ.run(spec, options, tried);
  }

  /**
   * @internal Resolves once a send of `len` bytes would not wait: a slot is
   * free and, for a message larger than a block, so is pool memory for it.
   * A hint (another sender may take them first): for a feeder that sends
   * with timeout 0 and must not spin while memory, not a slot, is missing.
   */
  waitSendable(len: number, options?: WaitOptions): Promise<void> {
    const op = 'Channel.send';
    try {
      this.#live(op);
    } catch (err) {
      return Promise.reject(err);
    }
    const ptr = this.#ptr;
    const pool = this.#pool;
    const large = len > this.blockSize;
    return this.#sendQ.run(
      {
        op,
        attempt: () => {
          const rc = native.channelPoll(ptr, Channel.POLL_OUT, 0, revents);
          if (rc !== Status.OK && rc !== Status.TIMEOUT) throw Errors.native(op, rc);
          if ((revents[0]! & Channel.POLL_OUT) === 0) return BLOCKED;
          if (!large) return undefined;
          const space = native.poolWaitSpace(pool.ptr, len, 0);
          if (space === Status.OK) return undefined;
          if (space === Status.TIMEOUT) return BLOCKED;
          throw Errors.native(op, space, `${len} bytes`);
        },
        memory: large,
      },
      options,
    );
  }

  #sendSync(op: string, buf: Uint8Array, len: number, options: SendOptions | undefined): void {
    const t = options === undefined ? -1 : timeoutUs(op, options.timeout);
    const rc = buf === scratch ? native.channelSendAt(this.#ptr, scratchAddr, len, t) : native.channelSend(this.#ptr, buf, len, t);
    if (rc === Status.OK) return;
    if (rc === Status.TIMEOUT) throw Errors.timeout(op, timeoutMs(op, options?.timeout));
    throw Errors.native(op, rc, `${len} bytes`);
  }

  // ---- receive -------------------------------------------------------------

  recv<T = unknown>(options: RecvOptions & { zeroCopy: true }): Promise<MessageView<T>>;
  recv<T = unknown>(options?: RecvOptions): Promise<T>;
  recv<T = unknown>(options?: RecvOptions): Promise<T | MessageView<T>> {
    return this.#recvAsync('Channel.recv', options?.zeroCopy ? Mode.ValueView : Mode.Value, options) as Promise<T>;
  }

  recvBytes(options: RecvOptions & { zeroCopy: true }): Promise<MessageView<never>>;
  recvBytes(options?: RecvOptions): Promise<Buffer>;
  recvBytes(options?: RecvOptions): Promise<Buffer | MessageView<never>> {
    return this.#recvAsync('Channel.recvBytes', options?.zeroCopy ? Mode.BytesView : Mode.Bytes, options) as Promise<Buffer>;
  }

  recvSync<T = unknown>(options: RecvOptions & { zeroCopy: true }): MessageView<T>;
  recvSync<T = unknown>(options?: RecvOptions): T;
  recvSync<T = unknown>(options?: RecvOptions): T | MessageView<T> {
    return this.#recvSync('Channel.recvSync', options?.zeroCopy ? Mode.ValueView : Mode.Value, options) as T;
  }

  recvBytesSync(options: RecvOptions & { zeroCopy: true }): MessageView<never>;
  recvBytesSync(options?: RecvOptions): Buffer;
  recvBytesSync(options?: RecvOptions): Buffer | MessageView<never> {
    return this.#recvSync('Channel.recvBytesSync', options?.zeroCopy ? Mode.BytesView : Mode.Bytes, options) as Buffer;
  }

  /**
   * Receives the next message into `buf` (no allocation) and resolves to its
   * length. A message longer than `buf` stays queued and the call fails
   * with DRAGON_ERR_BUFFER_TOO_SMALL (its `detail` says how long it is).
   */
  recvBytesInto(buf: Uint8Array, options?: WaitOptions): Promise<number> {
    const op = 'Channel.recvBytesInto';
    let tried = false;
    try {
      this.#live(op);
      checkBytes(buf, op);
      if (this.#remote) return this.#remote.recvBytesInto(op, buf, options);
      if (options?.signal?.aborted) throw Errors.aborted(op, options.signal.reason);
      if (this.#recvQ.size === 0) {
        const n = this.#tryRecvInto(op, buf, 0);
        if (n >= 0) return Promise.resolve(n);
        tried = true;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const spec: OpSpec<number> = {
      op,
      attempt: () => {
        const n = this.#tryRecvInto(op, buf, 0);
        return n >= 0 ? n : BLOCKED;
      },
    };
    return this.#recvQ.run(spec, options, tried);
  }

  /** recvBytesInto, blocking: the length of the message now in `buf`. */
  recvBytesIntoSync(buf: Uint8Array, options?: WaitOptions): number {
    const op = 'Channel.recvBytesIntoSync';
    this.#live(op);
    checkBytes(buf, op);
    if (this.#remote) return this.#remote.recvBytesIntoSync(op, buf, options);
    const n = this.#tryRecvInto(op, buf, options === undefined ? -1 : timeoutUs(op, options.timeout));
    if (n < 0) throw Errors.timeout(op, timeoutMs(op, options?.timeout));
    return n;
  }

  #recvAsync(op: string, mode: Mode, options: RecvOptions | undefined): Promise<unknown> {
    let tried = false;
    try {
      this.#live(op);
      if (this.#remote) return this.#remote.recv(op, mode, options);
      if (options?.signal?.aborted) throw Errors.aborted(op, options.signal.reason);
      if (this.#recvQ.size === 0) {
        const r = this.#tryRecv(op, mode, 0);
        if (r !== BLOCKED) return Promise.resolve(r);
        tried = true;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const spec: OpSpec<unknown> = { op, attempt: () => this.#tryRecv(op, mode, 0) };
    return this.#recvQ.run(spec, options, tried);
  }

  #recvSync(op: string, mode: Mode, options: RecvOptions | undefined): unknown {
    this.#live(op);
    if (this.#remote) return this.#remote.recvSync(op, mode, options);
    const r = this.#tryRecv(op, mode, options === undefined ? -1 : timeoutUs(op, options.timeout));
    if (r === BLOCKED) throw Errors.timeout(op, timeoutMs(op, options?.timeout));
    return r;
  }

  // One dragon_channel_recv_msg; BLOCKED when nothing came within timeoutUs.
  // A small message is copied by C into the receive slab; a Buffer handed
  // out keeps its bytes there (the slab moves on), a decoded value does not
  // (the space is used again).
  #tryRecv(op: string, mode: Mode, timeoutUsValue: number): unknown {
    const cap = this.blockSize;
    const keep = cap <= SLAB_KEEP_MAX;
    const area = keep ? slabFor(cap) : scratchFor(cap);
    const off = keep ? area.off : 0;
    const rc = native.channelRecvMsgAt(this.#ptr, area.addr + off, cap, msgAddr, timeoutUsValue);
    if (rc === Status.TIMEOUT) return BLOCKED;
    if (rc !== Status.OK) throw Errors.native(op, rc);
    const len = msgU32[0]! + msgU32[1]! * 0x100000000;
    if (msgU32[2] !== 0) return this.#fromAllocation(op, mode, len);
    if (mode === Mode.Value) return decode(area.buf, off, off + len, true, op);
    let bytes: Buffer;
    if (keep) {
      // the Buffer keeps these bytes: the next message goes after them (8-aligned)
      area.off = off + ((len + 7) & ~7);
      bytes = Buffer.from(area.ab, off, len);
    } else {
      bytes = Buffer.allocUnsafe(len);
      area.buf.copy(bytes, 0, 0, len);
    }
    if (mode === Mode.Bytes) return bytes;
    if (mode === Mode.BytesView) return new MessageView(bytes, undefined);
    return new MessageView(bytes, undefined, (b) => decode(b, 0, b.length, false, op));
  }

  // One dragon_channel_recv straight into `buf`: the length, or -1 when
  // nothing came within timeoutUs.
  #tryRecvInto(op: string, buf: Uint8Array, timeoutUsValue: number): number {
    const rc = native.channelRecvLenAt(this.#ptr, buf, buf.length, lenAddr, timeoutUsValue);
    if (rc === Status.OK) return lenOut[0]! + lenOut[1]! * 0x100000000;
    if (rc === Status.TIMEOUT) return -1;
    const len = lenOut[0]! + lenOut[1]! * 0x100000000;
    if (rc === Status.BUFFER_TOO_SMALL) {
      throw Errors.native(op, rc, `the message has ${len} bytes, the buffer ${buf.length}`, `Pass a buffer of at least ${len} bytes: the message stays queued`);
    }
    throw Errors.native(op, rc);
  }

  // A large message: this process now owns the allocation (its reference
  // is in msgBuf). Read in place from the pool's view: a view (zero copy),
  // a copy, or a decoded value.
  #fromAllocation(op: string, mode: Mode, len: number): unknown {
    const pool = this.#pool;
    // offset, size and gen are below 2^53: plain numbers, no BigInt
    const alloc: NativeAlloc = { offset: u64At(2), size: u64At(3), gen: u64At(4) };
    let bytes: Buffer;
    try {
      bytes = pool.bytes(alloc, len, op);
    } catch (err) {
      native.poolFree(pool.ptr, alloc);
      throw err;
    }
    if (mode === Mode.ValueView) return new MessageView(bytes, { pool, alloc }, (b) => decode(b, 0, b.length, false, op));
    if (mode === Mode.BytesView) return new MessageView(bytes, { pool, alloc });
    try {
      if (mode === Mode.Value) return decode(bytes, 0, len, true, op);
      const copy = Buffer.allocUnsafe(len);
      copy.set(bytes);
      return copy;
    } finally {
      check(op, native.poolFree(pool.ptr, alloc));
    }
  }

  // ---- state -----------------------------------------------------------------

  /** Messages queued now. */
  count(): number {
    this.#live('Channel.count');
    if (this.#remote) return this.#remote.count('Channel.count');
    check('Channel.count', native.channelCount(this.#ptr, countOut));
    return Number(countOut[0]);
  }

  /** Waits until any of `events` (Channel.POLL_*) holds; resolves to the events that hold. */
  poll(events: number = Channel.POLL_IN, options?: PollOptions): Promise<number> {
    const op = 'Channel.poll';
    try {
      this.#live(op);
      if (this.#remote) return this.#remote.poll(op, events, options);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#pollQ ??= new WaitQueue(this.#recvQ.bit, this.#watch(WATCH_IN, WATCH_OUT));
    const ptr = this.#ptr;
    return this.#pollQ.run(
      {
        op,
        attempt: () => {
          const rc = native.channelPoll(ptr, events, 0, revents);
          if (rc !== Status.OK && rc !== Status.TIMEOUT) throw Errors.native(op, rc);
          return (revents[0]! & events) !== 0 ? revents[0]! : BLOCKED;
        },
      },
      options,
    );
  }

  pollSync(events: number = Channel.POLL_IN, options?: PollOptions): number {
    const op = 'Channel.pollSync';
    this.#live(op);
    if (this.#remote) return this.#remote.pollSync(op, events, options);
    const rc = native.channelPoll(this.#ptr, events, timeoutUs(op, options?.timeout), revents);
    if (rc !== Status.OK && rc !== Status.TIMEOUT) throw Errors.native(op, rc);
    return revents[0]! & events;
  }

  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** Closes this process's handle; the channel lives on for the others. */
  detach(): void {
    this.#close('detached');
  }

  /** Destroys the channel for every process: their waiting operations fail with DRAGON_ERR_DESTROYED. */
  destroy(): void {
    this.#close('destroyed');
  }

  /** Destroys a channel this handle created, detaches one it attached. */
  [Symbol.dispose](): void {
    if (this.#state === 'open') this.#close(this.#created ? 'destroyed' : 'detached');
  }

  #close(how: 'detached' | 'destroyed'): void {
    const op = how === 'destroyed' ? 'Channel.destroy' : 'Channel.detach';
    this.#live(op);
    const remote = this.#remote;
    if (remote) {
      if (how === 'destroyed') throw Errors.remoteDestroy(op, remote.node, thisNode() ?? -1);
      this.#state = how;
      return remote.detach(op);
    }
    this.#state = how;
    for (const q of [this.#recvQ, this.#sendQ, this.#pollQ]) q?.failAll(() => Errors.closedWhilePending('channel', op, how));
    releaseBit(this.#key);
    releaseBit(this.#poolKey);
    try {
      check(op, how === 'destroyed' ? native.channelDestroy(this.#ptr) : native.channelDetach(this.#ptr));
    } finally {
      this.#pool.releaseObject();
    }
  }

  // The wait-queue side of WATCH_IN / WATCH_OUT (each its own C event).
  #watch(...events: number[]): Watch {
    const ptr = this.#ptr;
    return {
      pool: this.#pool,
      parts: events.map((which) => ({
        key: `${this.#key}:${which}`,
        watch: (w: Waiter, bit: number) => native.channelWatch(ptr, w.ptr, which, bit) as number,
        unwatch: (w: Waiter) => native.channelUnwatch(ptr, w.ptr, which) as number,
      })),
    };
  }

  #live(op: string): void {
    if (this.#state !== 'open') throw Errors.closed('channel', op, this.#state);
  }
}

// The pool's frees, under the pool's bit (held while a channel of it is open here).
function memoryWatch(pool: PoolHandle, poolKey: string): MemoryWatch {
  return {
    key: `${poolKey}:free`,
    bit: bitFor(poolKey),
    watch: (w: Waiter, bit: number) => native.poolWatch(pool.ptr, w.ptr, bit) as number,
    unwatch: (w: Waiter) => native.poolUnwatch(pool.ptr, w.ptr) as number,
  };
}

// A uint64 field of msgBuf (8-byte index) as a number.
function u64At(i: number): number {
  return msgU32[2 * i]! + msgU32[2 * i + 1]! * 0x100000000;
}

function checkBytes(bytes: unknown, op: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw Errors.invalidArgument(op, 'bytes must be a Uint8Array or Buffer');
}

registerTransferable(2, Channel.prototype, (desc) => Channel.attach(desc));
