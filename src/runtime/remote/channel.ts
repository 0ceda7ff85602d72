// Channels of another node. A Channel attached (inside a run-time) from a
// descriptor whose host id is another node delegates every operation to a
// RemoteChannel: each one is a gateway request (gateway.ts) performed by the
// agent of the channel's node on the real channel.
//
// Values keep the codec's semantics: send encodes exactly like a local send
// (the far receiver decodes it), recv decodes what the far sender encoded.
// Zero-copy options fall back to copies.
import type { Allocation } from '../core/memory/allocation.js';
import { Channel, RecvMode, registerRemoteChannels, type RemoteChannelOps } from '../core/channel/channel.js';
import { decode, encode, encoded } from '../core/codec/codec.js';
import { Errors } from '../errors/errors.js';
import { MessageView } from '../core/channel/message-view.js';
import { Status } from '../errors/status.js';
import { timeoutMs, timeoutUs, type WaitOptions } from '../core/timeout.js';
import { Gateway, type Handler, type Request } from './gateway.js';
import { GwOp, type ReplyFields } from '../core/ffi/gateway-wire.js';

// ---- a channel of another node ----------------------------------------------------

const Mode = RecvMode;
type Mode = RecvMode;

export class RemoteChannel implements RemoteChannelOps {
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

registerRemoteChannels((desc, node) => new RemoteChannel(desc, node));
