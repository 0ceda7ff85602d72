// Channels of another node. A Channel attached (inside a run-time) from a
// descriptor whose host id is another node delegates every operation here:
// each one becomes a *gateway request* put into this node's gateway channel
// (made by the node's transport agent, descriptor in DRAGON_GATEWAY), and
// its answer comes back in this process's reply channel (one per process,
// created on first use in the node's default pool). The local agent carries
// the request over libfabric to the agent of the channel's node, which
// performs it on the real channel. Layouts: /work/notes/transport-brief.md
// (request: 232-byte header + payload; reply: 32-byte header + payload).
//
// Replies are matched to requests by req_id. Async operations never block
// the event loop: one receive loop on the reply channel (the channel's own
// async recv) serves every pending request while any is pending. Sync
// operations block in the reply channel's sync recv and hand the replies of
// other (async) requests to their owners on the way.
//
// Values keep the codec's semantics: send encodes exactly like a local send
// (the far receiver decodes it), recv decodes what the far sender encoded.
// Zero-copy options fall back to copies. Timeouts are relative and enforced
// by the target's agent, which always answers (OK, TIMEOUT, or PEER_LOST when
// the node is gone), so the client waits for the reply without a deadline of
// its own.
import type { Allocation } from './allocation.js';
import { Channel } from './channel.js';
import { decode, encode, encoded } from './codec.js';
import { DragonError, Errors } from './errors.js';
import { MessageView } from './message-view.js';
import { MemoryPool } from './pool.js';
import { Status } from './status.js';
import { timeoutMs, timeoutUs, type WaitOptions } from './wait-queue.js';

export const GATEWAY_ENV = 'DRAGON_GATEWAY';
const DEFAULT_POOL_ENV = 'DRAGON_DEFAULT_POOL';

export const REQ_HEADER = 232;
export const REP_HEADER = 32;
// 6 MEM: read/write pool memory of another node (Value, Array): payload layout in mp/shared-memory-store.ts.
export const GwOp = { SEND: 1, RECV: 2, POLL: 3, COUNT: 4, SYNC: 5, MEM: 6 } as const;
export type GwOpCode = (typeof GwOp)[keyof typeof GwOp];
const REQ_MAGIC = 0x31574744; // 'D','G','W','1' little-endian
const REP_MAGIC = 0x31524744; // 'D','G','R','1'
const VERSION = 1;
const DESC = 96;

/** Replies waited for at once (the reply channel holds that many: the agent never finds it full). */
const REPLY_CAPACITY = 256;
const REPLY_BLOCK = 1024;
/** SEND payloads from this size go into the gateway as a pool allocation written in place (one copy). */
const ALLOC_FROM = 64 * 1024;

// ---- the wire format ----------------------------------------------------------

export interface RequestFields {
  op: number;
  reqId: number;
  /** -1 for ever, 0 try once. */
  timeoutUs: number;
  events: number;
  payloadLen: number;
  target: Uint8Array;
  reply: Uint8Array;
}

/** Writes the 232-byte request header at buf[0..232). */
export function writeRequestHeader(buf: Buffer, f: RequestFields): void {
  buf.writeUInt32LE(REQ_MAGIC, 0);
  buf.writeUInt16LE(VERSION, 4);
  buf.writeUInt16LE(f.op, 6);
  writeU64(buf, 8, f.reqId);
  if (f.timeoutUs < 0) {
    buf.writeInt32LE(-1, 16);
    buf.writeInt32LE(-1, 20);
  } else writeU64(buf, 16, f.timeoutUs);
  buf.writeUInt32LE(f.events >>> 0, 24);
  buf.writeUInt32LE(0, 28);
  writeU64(buf, 32, f.payloadLen);
  buf.set(f.target.subarray(0, DESC), 40);
  buf.set(f.reply.subarray(0, DESC), 136);
}

export function readRequestHeader(buf: Uint8Array): RequestFields & { magic: boolean; version: number } {
  const b = asBuffer(buf);
  const t = b.readBigInt64LE(16);
  return {
    magic: b.length >= REQ_HEADER && b.readUInt32LE(0) === REQ_MAGIC,
    version: b.readUInt16LE(4),
    op: b.readUInt16LE(6),
    reqId: readU64(b, 8),
    timeoutUs: Number(t),
    events: b.readUInt32LE(24),
    payloadLen: readU64(b, 32),
    target: new Uint8Array(b.subarray(40, 136)),
    reply: new Uint8Array(b.subarray(136, 232)),
  };
}

export interface ReplyFields {
  op: number;
  reqId: number;
  status: number;
  events: number;
  value: number;
}

export function writeReplyHeader(buf: Buffer, r: ReplyFields): void {
  buf.writeUInt32LE(REP_MAGIC, 0);
  buf.writeUInt16LE(VERSION, 4);
  buf.writeUInt16LE(r.op, 6);
  writeU64(buf, 8, r.reqId);
  buf.writeUInt32LE(r.status, 16);
  buf.writeUInt32LE(r.events >>> 0, 20);
  writeU64(buf, 24, r.value);
}

/** The reply header, or undefined when the bytes are not a reply. */
export function readReplyHeader(b: Buffer): ReplyFields | undefined {
  if (b.length < REP_HEADER || b.readUInt32LE(0) !== REP_MAGIC || b.readUInt16LE(4) !== VERSION) return undefined;
  return { op: b.readUInt16LE(6), reqId: readU64(b, 8), status: b.readUInt32LE(16), events: b.readUInt32LE(20), value: readU64(b, 24) };
}

function writeU64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32LE(n % 0x100000000 >>> 0, at);
  buf.writeUInt32LE(Math.floor(n / 0x100000000) >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x100000000;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

// ---- the gateway client (one per process) ---------------------------------------

/** Turns a reply into the operation's result (or throws); `payload` is valid only during the call. */
export type Handler<T> = (r: ReplyFields, payload: Buffer, leased: boolean) => T;

interface Pending {
  handle: Handler<void>;
  fail(err: unknown): void;
}

export interface Request {
  op: number;
  target: Uint8Array;
  timeoutUs: number;
  events: number;
  /** SEND: the message bytes, payload[0..len). */
  payload?: Uint8Array;
  len?: number;
}

const headerScratch = Buffer.alloc(REQ_HEADER + 64 * 1024);

export class Gateway {
  static #instance: Gateway | undefined;
  readonly #gw: Channel;
  readonly #reply: Channel;
  readonly #replyDesc: Uint8Array;
  readonly #pool: MemoryPool;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #inflight = 0;
  readonly #slotWaiters: Array<() => void> = [];
  #receiving = false;
  #stopLoop: AbortController | undefined;
  #broken: unknown;
  /** Async sends into the gateway not finished yet. */
  #waitingSends = 0;

  /** The process's gateway client; throws DRAGON_ERR_NO_TRANSPORT when this node has no transport agent. */
  static get(op: string, node: number, what = 'channel'): Gateway {
    if (Gateway.#instance) return Gateway.#instance;
    const gw = process.env[GATEWAY_ENV];
    const pool = process.env[DEFAULT_POOL_ENV];
    if (!gw || !pool) throw Errors.noTransport(op, node, what);
    Gateway.#instance = new Gateway(new Uint8Array(Buffer.from(gw, 'base64')), new Uint8Array(Buffer.from(pool, 'base64')));
    return Gateway.#instance;
  }

  /** @internal Tests: forget the client (its reply channel is destroyed). */
  static reset(): void {
    const g = Gateway.#instance;
    Gateway.#instance = undefined;
    g?.close();
  }

  private constructor(gwDesc: Uint8Array, poolDesc: Uint8Array) {
    this.#pool = MemoryPool.attach(poolDesc);
    try {
      this.#gw = Channel.attach(gwDesc);
      this.#reply = Channel.create({ pool: this.#pool, capacity: REPLY_CAPACITY, blockSize: REPLY_BLOCK });
    } catch (err) {
      this.#pool.detach();
      throw err;
    }
    this.#replyDesc = this.#reply.serialize();
    // The reply channel is this process's: gone with it (a killed process
    // leaves it in the pool until teardown).
    process.once('exit', () => this.close());
  }

  close(): void {
    if (this.#reply.closed) return;
    for (const p of this.#pending.values()) p.fail(Errors.closedWhilePending('channel', 'Channel', 'detached'));
    this.#pending.clear();
    this.#stopLoop?.abort();
    try {
      this.#reply.destroy();
      this.#gw.detach();
      this.#pool.detach();
    } catch {
      // exiting: nothing more to give back
    }
  }

  /** Requests sent and not answered yet. */
  get inflight(): number {
    return this.#inflight;
  }

  // ---- async --------------------------------------------------------------------

  /**
   * Sends the request and resolves with what `handle` makes of the reply.
   * `onId` learns the request's id at once (abort/detach: abandon()).
   */
  call<T>(opName: string, req: Request, handle: Handler<T>, onId?: (id: number) => void): Promise<T> {
    if (this.#broken) return Promise.reject(this.#broken);
    // Ids are taken now, in call order; requests go into the gateway in that order.
    const id = this.#nextId++;
    onId?.(id);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        handle: (r, p, leased) => {
          try {
            resolve(handle(r, p, leased));
          } catch (err) {
            reject(err);
          }
        },
        fail: reject,
      });
      const go = () => {
        if (!this.#pending.has(id)) return this.#freeSlot(); // abandoned before it went out
        this.#sendAsync(id, req).then(
          () => this.#receive(),
          (err) => this.#failed(id, opName, err),
        );
      };
      if (this.#inflight < REPLY_CAPACITY && this.#slotWaiters.length === 0) {
        this.#inflight++;
        go();
      } else {
        // it waits: keep a private copy of the payload (it may be the codec's shared scratch)
        if (req.payload) req = { ...req, payload: Uint8Array.prototype.slice.call(req.payload, 0, req.len ?? 0) };
        this.#slotWaiters.push(() => go());
      }
    });
  }

  /**
   * Stops waiting for request `id`: its promise is rejected with `err`; the
   * reply, when it comes, goes to `late` (e.g. to keep a message received meanwhile).
   */
  abandon(id: number, err: unknown, late?: Handler<void>): void {
    const p = this.#pending.get(id);
    if (!p) return;
    p.fail(err);
    this.#pending.set(id, { handle: late ?? (() => undefined), fail: () => undefined });
  }

  async #sendAsync(id: number, req: Request): Promise<void> {
    // while an async send waits for room in the gateway, later ones queue behind it (no allocation path)
    const { buf, len, alloc } = this.#build(id, req, false, this.#waitingSends > 0);
    if (alloc) return;
    this.#waitingSends++;
    try {
      await this.#gw.sendBytes(len === buf.length ? buf : buf.subarray(0, len));
    } finally {
      this.#waitingSends--;
    }
  }

  /** Gives request `id`'s reply to `late` instead; returns the handler it had (undefined: answered already). */
  redirect(id: number, late: Handler<void>): Handler<void> | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.set(id, { handle: late, fail: () => undefined });
    return p.handle;
  }

  #failed(id: number, opName: string, err: unknown): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    this.#freeSlot();
    p.fail(transportError(opName, err));
  }

  // One receive loop serves every pending request, by id; it stops when none is pending.
  async #receive(): Promise<void> {
    if (this.#receiving) return;
    this.#receiving = true;
    try {
      while (this.#pending.size > 0) {
        const ac = new AbortController();
        this.#stopLoop = ac;
        let view: MessageView<never>;
        try {
          view = await this.#reply.recvBytes({ zeroCopy: true, signal: ac.signal });
        } catch (err) {
          if (ac.signal.aborted) continue; // a sync operation took the last reply
          throw err;
        }
        this.#dispatch(view);
      }
    } catch (err) {
      this.#failAll(err);
    } finally {
      this.#receiving = false;
      this.#stopLoop = undefined;
    }
  }

  // ---- sync ---------------------------------------------------------------------

  /** Sends the request and blocks until its reply; returns what `handle` makes of it. */
  callSync<T>(opName: string, req: Request, handle: Handler<T>, onId?: (id: number) => void): T {
    if (this.#broken) throw this.#broken;
    try {
      while (this.#inflight >= REPLY_CAPACITY) this.#dispatch(this.#reply.recvBytesSync({ zeroCopy: true }));
    } catch (err) {
      this.#failAll(err);
      throw transportError(opName, err);
    }
    const id = this.#nextId++;
    onId?.(id);
    let done = false;
    let result: T | undefined;
    let error: unknown;
    this.#pending.set(id, {
      handle: (r, p, leased) => {
        done = true;
        try {
          result = handle(r, p, leased);
        } catch (err) {
          error = err;
        }
      },
      fail: (err) => {
        done = true;
        error = err;
      },
    });
    this.#inflight++;
    try {
      const { buf, len, alloc } = this.#build(id, req, true);
      if (!alloc) this.#gw.sendBytesSync(len === buf.length ? buf : buf.subarray(0, len));
    } catch (err) {
      this.#pending.delete(id);
      this.#freeSlot();
      throw transportError(opName, err);
    }
    try {
      while (!done) this.#dispatch(this.#reply.recvBytesSync({ zeroCopy: true }));
    } catch (err) {
      this.#failAll(err);
    }
    // the async loop may wait for a reply that this call handed out: stop it
    if (this.#pending.size === 0) this.#stopLoop?.abort();
    if (error !== undefined) throw error;
    return result as T;
  }

  // ---- shared -------------------------------------------------------------------

  // The request's bytes. A large SEND is written straight into an
  // allocation of the gateway's pool and sent as such (alloc: true, sent
  // already); a sync one waits for room, an async one only tries (a full
  // gateway: the caller sends the copy it gets back, in order).
  #build(id: number, req: Request, sync: boolean, noAlloc = false): { buf: Buffer; len: number; alloc: boolean } {
    const len = req.len ?? 0;
    const fields: RequestFields = { op: req.op, reqId: id, timeoutUs: req.timeoutUs, events: req.events, payloadLen: len, target: req.target, reply: this.#replyDesc };
    const total = REQ_HEADER + len;
    if (len >= ALLOC_FROM && !noAlloc) {
      let a: Allocation | undefined;
      try {
        a = this.#pool.alloc(total);
      } catch {
        a = undefined; // the pool is full now: the plain path waits for room
      }
      if (a) {
        const bytes = a.bytes;
        writeRequestHeader(bytes, fields);
        bytes.set(req.payload!.subarray(0, len), REQ_HEADER);
        try {
          this.#gw.sendAllocationSync(a, { timeout: sync ? undefined : 0, length: total });
          return { buf: bytes, len: total, alloc: true };
        } catch (err) {
          if ((err as DragonError).errno !== Status.TIMEOUT) {
            a.free();
            throw err;
          }
          const copy = Buffer.allocUnsafe(total);
          copy.set(bytes.subarray(0, total));
          a.free();
          return { buf: copy, len: total, alloc: false };
        }
      }
    }
    const buf = total <= headerScratch.length ? headerScratch : Buffer.allocUnsafe(total);
    writeRequestHeader(buf, fields);
    if (len > 0) buf.set(req.payload!.subarray(0, len), REQ_HEADER);
    return { buf, len: total, alloc: false };
  }

  #dispatch(view: MessageView<never>): void {
    try {
      const b = view.bytes;
      const r = readReplyHeader(b);
      if (!r) return; // not a reply: nothing waits for it
      const p = this.#pending.get(r.reqId);
      if (!p) return; // abandoned and forgotten
      this.#pending.delete(r.reqId);
      this.#freeSlot();
      p.handle(r, b.subarray(REP_HEADER), view.zeroCopy);
    } finally {
      view.release();
    }
  }

  #freeSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next) next();
    else this.#inflight--;
  }

  #failAll(err: unknown): void {
    const e = transportError('Channel', err);
    this.#broken = e;
    const all = [...this.#pending.values()];
    this.#pending.clear();
    this.#inflight = 0;
    this.#slotWaiters.length = 0;
    for (const p of all) p.fail(e);
  }
}

function transportError(op: string, err: unknown): unknown {
  if (err instanceof DragonError && (err.code === 'DRAGON_ERR_DESTROYED' || err.code === 'DRAGON_ERR_NOT_FOUND')) {
    return Errors.native(op, Status.PEER_LOST, 'the node\'s transport agent is gone (its gateway channel was destroyed)', 'The run-time is shutting down, or its transport agent died: see the services\' log');
  }
  return err;
}

// ---- a channel of another node ----------------------------------------------------

/** What a receive returns (the same numbering as channel.ts's Mode). */
export const RecvMode = { Value: 0, Bytes: 1, ValueView: 2, BytesView: 3 } as const;
type Mode = (typeof RecvMode)[keyof typeof RecvMode];
const Mode = RecvMode;

export class RemoteChannel {
  readonly desc: Uint8Array;
  readonly node: number;
  /** Messages received for this handle and not handed out yet (an aborted recv's late reply, recvBytesInto's too-long message). */
  readonly #stash: Buffer[] = [];
  /** Async requests of this handle still waiting (failed by detach). */
  readonly #mine = new Set<number>();
  /** RECV requests of this handle waiting, oldest first: a late message goes to the oldest. */
  readonly #receivers: number[] = [];

  constructor(desc: Uint8Array, node: number) {
    this.desc = desc;
    this.node = node;
  }

  #gateway(op: string): Gateway {
    return Gateway.get(op, this.node);
  }

  // ---- send ----

  send(op: string, value: unknown, bytes: boolean, options: WaitOptions | undefined): Promise<void> {
    let len: number;
    let payload: Uint8Array;
    try {
      if (bytes) {
        payload = value as Uint8Array;
        len = payload.length;
      } else {
        encode(value, op);
        payload = encoded.buf;
        len = encoded.len;
      }
      return this.#async(op, { op: GwOp.SEND, target: this.desc, timeoutUs: tUs(op, options), events: 0, payload, len }, options, (r) => this.#check(op, r, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  sendSync(op: string, value: unknown, bytes: boolean, options: WaitOptions | undefined): void {
    let payload: Uint8Array;
    let len: number;
    if (bytes) {
      payload = value as Uint8Array;
      len = payload.length;
    } else {
      encode(value, op);
      payload = encoded.buf;
      len = encoded.len;
    }
    this.#gateway(op).callSync(op, { op: GwOp.SEND, target: this.desc, timeoutUs: tUs(op, options), events: 0, payload, len }, (r) => this.#check(op, r, options));
  }

  /** The allocation's bytes travel as a copy; the handle is spent on success, as locally. */
  sendAllocationSync(op: string, allocation: Allocation, options: (WaitOptions & { length?: number }) | undefined): void {
    const len = options?.length ?? allocation.size;
    this.sendSync(op, allocation.bytes.subarray(0, len), true, options);
    allocation.free();
  }

  // ---- receive ----

  recv(op: string, mode: Mode, options: WaitOptions | undefined): Promise<unknown> {
    try {
      const stashed = this.#stash.shift();
      if (stashed) return Promise.resolve(produce(op, mode, stashed, false));
      let id = 0;
      return this.#async(
        op,
        { op: GwOp.RECV, target: this.desc, timeoutUs: tUs(op, options), events: 0 },
        options,
        (r, p, leased) => {
          this.#unwait(id);
          this.#check(op, r, options);
          return produce(op, mode, p, leased);
        },
        this.#late,
        (i) => {
          id = i;
          this.#receivers.push(i);
        },
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  recvSync(op: string, mode: Mode, options: WaitOptions | undefined): unknown {
    const stashed = this.#stash.shift();
    if (stashed) return produce(op, mode, stashed, false);
    let id = 0;
    return this.#gateway(op).callSync(
      op,
      { op: GwOp.RECV, target: this.desc, timeoutUs: tUs(op, options), events: 0 },
      (r, p, leased) => {
        this.#unwait(id);
        this.#check(op, r, options);
        return produce(op, mode, p, leased);
      },
      (i) => {
        id = i;
        this.#receivers.push(i);
      },
    );
  }

  #unwait(id: number): void {
    const i = this.#receivers.indexOf(id);
    if (i >= 0) this.#receivers.splice(i, 1);
  }

  // The reply to a RECV given up (aborted): a message it dequeued goes to
  // the oldest receive of this handle still waiting (whose own reply then
  // comes here in turn), or waits for the next one. None is lost, and
  // they keep their order.
  readonly #late: Handler<void> = (r, p, leased) => {
    if (r.status !== Status.OK) return;
    const g = Gateway.get('Channel.recv', this.node);
    while (this.#receivers.length) {
      const next = this.#receivers.shift()!;
      const own = g.redirect(next, this.#late);
      if (own) return own(r, p, leased);
    }
    this.#stash.push(Buffer.from(p));
  };

  /** The message goes into `buf`; one longer than `buf` stays with this handle (the next receive gets it). */
  async recvBytesInto(op: string, buf: Uint8Array, options: WaitOptions | undefined): Promise<number> {
    const bytes = (await this.recv(op, Mode.Bytes, options)) as Buffer;
    return this.#into(op, bytes, buf);
  }

  recvBytesIntoSync(op: string, buf: Uint8Array, options: WaitOptions | undefined): number {
    return this.#into(op, this.recvSync(op, Mode.Bytes, options) as Buffer, buf);
  }

  #into(op: string, bytes: Buffer, buf: Uint8Array): number {
    if (bytes.length > buf.length) {
      this.#stash.unshift(bytes);
      throw Errors.native(op, Status.BUFFER_TOO_SMALL, `the message has ${bytes.length} bytes, the buffer ${buf.length}`, `Pass a buffer of at least ${bytes.length} bytes: the message stays with this handle (it was taken from the remote channel)`);
    }
    buf.set(bytes);
    return bytes.length;
  }

  // ---- state ----

  count(op: string): number {
    return this.#stash.length + this.#gateway(op).callSync(op, { op: GwOp.COUNT, target: this.desc, timeoutUs: 0, events: 0 }, (r) => {
      this.#check(op, r, undefined);
      return r.value;
    });
  }

  poll(op: string, events: number, options: WaitOptions | undefined): Promise<number> {
    if (this.#stash.length && events & Channel.POLL_IN) return Promise.resolve(Channel.POLL_IN);
    try {
      return this.#async(op, { op: GwOp.POLL, target: this.desc, timeoutUs: tUs(op, options), events }, options, (r) => {
        if (r.status !== Status.OK && r.status !== Status.TIMEOUT) this.#check(op, r, options);
        if ((r.events & events) !== 0) return r.events;
        throw Errors.timeout(op, timeoutMs(op, options?.timeout));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  pollSync(op: string, events: number, options: WaitOptions | undefined): number {
    if (this.#stash.length && events & Channel.POLL_IN) return Channel.POLL_IN;
    // a local pollSync without a timeout tries once
    const t = timeoutUs(op, options?.timeout);
    return this.#gateway(op).callSync(op, { op: GwOp.POLL, target: this.desc, timeoutUs: t, events }, (r) => {
      if (r.status !== Status.OK && r.status !== Status.TIMEOUT) this.#check(op, r, options);
      return r.events & events;
    });
  }

  /** Fails this handle's waiting operations (their replies, when they come, are dropped; a message stays with nobody). */
  detach(op: string): void {
    const g = this.#mine.size ? this.#gateway(op) : undefined;
    for (const id of this.#mine) g!.abandon(id, Errors.closedWhilePending('channel', op, 'detached'));
    this.#mine.clear();
    this.#receivers.length = 0;
    this.#stash.length = 0;
  }

  // ---- helpers ----

  #async<T>(op: string, req: Request, options: WaitOptions | undefined, handle: Handler<T>, late?: Handler<void>, onId?: (id: number) => void): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(Errors.aborted(op, signal.reason));
    const g = this.#gateway(op);
    let id = 0;
    const p = g.call(op, req, handle, (i) => {
      id = i;
      this.#mine.add(i);
      onId?.(i);
    });
    const mine = this.#mine;
    const forget = () => mine.delete(id);
    if (!signal) return p.finally(forget);
    const onAbort = () => {
      this.#unwait(id);
      g.abandon(id, Errors.aborted(op, signal.reason), late);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return p.finally(() => {
      forget();
      signal.removeEventListener('abort', onAbort);
    });
  }

  #check(op: string, r: ReplyFields, options: WaitOptions | undefined): void {
    if (r.status === Status.OK) return;
    if (r.status === Status.TIMEOUT) throw Errors.timeout(op, timeoutMs(op, options?.timeout));
    if (r.status === Status.PEER_LOST) throw Errors.native(op, r.status, `the channel lives on node ${this.node}`);
    throw Errors.native(op, r.status, `a channel of node ${this.node}`);
  }
}

function tUs(op: string, options: WaitOptions | undefined): number {
  return options === undefined ? -1 : timeoutUs(op, options.timeout);
}

// What a receive returns, from the message bytes (valid only during the
// call when `leased`: pool memory of the reply, released after).
function produce(op: string, mode: Mode, p: Buffer, leased: boolean): unknown {
  switch (mode) {
    case Mode.Value:
      return decode(p, 0, p.length, true, op);
    case Mode.Bytes:
      return leased ? Buffer.from(p) : p;
    case Mode.BytesView:
      return new MessageView(leased ? Buffer.from(p) : p, undefined);
    case Mode.ValueView: {
      const copy = leased ? Buffer.from(p) : p;
      return new MessageView(copy, undefined, (b) => decode(b, 0, b.length, false, op));
    }
  }
}
