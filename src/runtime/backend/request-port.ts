// The request port of a node: reads the requests this node's processes put
// into its GS channel and hands them to Global Services (`sink`: GS itself
// on node 0, the control plane elsewhere). It owns the reply channels the
// requests name (a process creates its own in this node's default pool and
// GS's replies come back here to be put into it) and destroys a process's
// reply channel once the process exited, so the pool can reclaim it.
import type { Log } from '../control/log.js';
import { Channel } from '../core/channel/channel.js';
import { decodeValue } from '../core/codec/codec.js';

/** How long a reply may wait for room in a reply channel before the requester is given up. */
const REPLY_TIMEOUT_MS = 10_000;

export type RequestSink = (request: unknown, bytes: Uint8Array) => void;

export class RequestPort {
  readonly #channel: Channel;
  readonly #log: Log;
  readonly #sink: RequestSink;
  /** Reply channels by descriptor (hex), and the process that owns each. */
  readonly #replies = new Map<string, { channel: Channel; owner: number }>();
  #open = true;
  #loop: Promise<void> | undefined;

  constructor(channel: Channel, log: Log, sink: RequestSink) {
    this.#channel = channel;
    this.#log = log;
    this.#sink = sink;
  }

  serve(): void {
    this.#loop ??= this.#serve();
  }

  /** Puts a reply (a value) into the reply channel `desc` names. */
  reply(desc: Uint8Array, value: unknown): void {
    const rc = this.#replies.get(hex(desc));
    if (!rc) return;
    rc.channel.send(value, { timeout: REPLY_TIMEOUT_MS }).catch((err: Error) => this.#undelivered(rc.owner, err));
  }

  /** The same with a reply encoded elsewhere (GS on node 0). */
  replyBytes(descHex: string, bytes: Uint8Array): void {
    const rc = this.#replies.get(descHex);
    if (!rc) return;
    rc.channel.sendBytes(bytes, { timeout: REPLY_TIMEOUT_MS }).catch((err: Error) => this.#undelivered(rc.owner, err));
  }

  /** Process `puid` exited: its reply channels go. */
  forget(puid: number): void {
    for (const [key, rc] of this.#replies) {
      if (rc.owner !== puid) continue;
      destroyQuietly(rc.channel);
      this.#replies.delete(key);
    }
  }

  /** Teardown: every reply channel and the GS channel go (ends the loop), so the pool can be destroyed. */
  close(): void {
    this.#open = false;
    for (const { channel } of this.#replies.values()) destroyQuietly(channel);
    this.#replies.clear();
    destroyQuietly(this.#channel);
  }

  async #serve(): Promise<void> {
    for (;;) {
      let bytes: Uint8Array;
      try {
        bytes = (await this.#channel.recvBytes()) as Buffer;
      } catch (err) {
        if (this.#open) this.#log.error('gs', `request channel failed: ${(err as Error).message}`);
        return;
      }
      try {
        const msg = decodeValue<{ from?: unknown; reply?: unknown }>(bytes, 'GS request');
        if (typeof msg?.from === 'number' && msg.reply instanceof Uint8Array) this.#adopt(msg.reply, msg.from);
        this.#sink(msg, bytes);
      } catch (err) {
        this.#log.warn('gs', `unreadable request: ${(err as Error).message}`);
      }
    }
  }

  #adopt(desc: Uint8Array, owner: number): void {
    const key = hex(desc);
    if (this.#replies.has(key)) return;
    try {
      this.#replies.set(key, { channel: Channel.attach(new Uint8Array(desc)), owner });
    } catch (err) {
      this.#log.warn('gs', `cannot attach the reply channel of ${owner}: ${(err as Error).message}`);
    }
  }

  #undelivered(owner: number, err: Error): void {
    this.#log.warn('gs', `a reply to ${owner} was not delivered: ${err.message}`);
  }
}

export function hex(desc: Uint8Array): string {
  return Buffer.from(desc.buffer, desc.byteOffset, desc.length).toString('hex');
}

function destroyQuietly(ch: Channel): void {
  try {
    ch.destroy();
  } catch {
    // destroyed already (or its pool is gone): nothing left to free
  }
}
