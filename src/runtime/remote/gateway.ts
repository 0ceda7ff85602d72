// The gateway client: one per process, created on first use. Every
// operation on an object of another node becomes a gateway request put into
// this node's gateway channel (made by the node's transport agent,
// descriptor in DRAGON_GATEWAY); its answer comes back in this process's
// reply channel (created in the node's default pool). The local agent
// carries the request over libfabric to the agent of the object's node,
// which performs it there. Wire format: core/ffi/gateway-wire.ts; protocol:
// native/libdragon/docs/GATEWAY.md.
//
// Replies are matched to requests by req_id. Async operations never block
// the event loop: one receive loop on the reply channel (the channel's own
// async recv) serves every pending request while any is pending. Sync
// operations block in the reply channel's sync recv and hand the replies of
// other (async) requests to their owners on the way. Timeouts are relative
// and enforced by the target's agent, which always answers (OK, TIMEOUT, or
// PEER_LOST when the node is gone), so a client waits for the reply without
// a deadline of its own.
import type { Allocation } from '../core/memory/allocation.js';
import { Channel } from '../core/channel/channel.js';
import { DragonError, Errors } from '../errors/errors.js';
import type { MessageView } from '../core/channel/message-view.js';
import { MemoryPool } from '../core/memory/pool.js';
import { Status } from '../errors/status.js';
import { REP_HEADER, REQ_HEADER, readReplyHeader, writeRequestHeader, type ReplyFields, type RequestFields } from '../core/ffi/gateway-wire.js';

export const GATEWAY_ENV = 'DRAGON_GATEWAY';
const DEFAULT_POOL_ENV = 'DRAGON_DEFAULT_POOL';

/** Replies waited for at once (the reply channel holds that many: the agent never finds it full). */
const REPLY_CAPACITY = 256;
const REPLY_BLOCK = 1024;
/** SEND payloads from this size go into the gateway as a pool allocation written in place (one copy). */
const ALLOC_FROM = 64 * 1024;

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
