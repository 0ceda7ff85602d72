// The client side of Global Services in a user process: requests go into
// GS's channel (its descriptor comes through the environment) and name this
// process's reply channel, which it creates on first use in the node's
// default pool. GS takes ownership of that channel and destroys it when the
// process exits. A receive is pending only while a request waits for its
// reply, so an idle process exits on its own and a pending join() keeps it
// alive.
import type { GsReply, GsRequest } from '../../../schemas/gs.js';
import { Channel } from '../core/channel/channel.js';
import { Errors } from '../errors/errors.js';
import { MemoryPool } from '../core/memory/pool.js';
import { runtimeEnv } from '../core/runtime-env.js';

type Body = GsRequest extends infer R ? (R extends unknown ? Omit<R, 'v' | 'id' | 'from' | 'reply'> : never) : never;

interface Pending {
  resolve(reply: GsReply): void;
  reject(err: unknown): void;
}

export class GsClient {
  static #instance: GsClient | undefined;
  readonly #puid: number;
  readonly #gs: Channel;
  readonly #reply: Channel;
  readonly #replyDesc: Uint8Array;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #receiving = false;

  static get(op: string): GsClient {
    if (GsClient.#instance) return GsClient.#instance;
    const env = runtimeEnv();
    if (!env) throw Errors.notInRuntime(op);
    return (GsClient.#instance = new GsClient(env.puid, env.gsChannel, env.defaultPool));
  }

  private constructor(puid: number, gsDesc: Uint8Array, poolDesc: Uint8Array) {
    this.#puid = puid;
    const pool = MemoryPool.attach(poolDesc);
    try {
      this.#gs = Channel.attach(gsDesc);
      this.#reply = Channel.create({ pool, capacity: 32, blockSize: 1024 });
    } finally {
      pool.detach(); // the channels keep the mapping
    }
    this.#replyDesc = this.#reply.serialize();
  }

  async request<R extends GsReply>(body: Body, op: string): Promise<R> {
    const id = this.#nextId++;
    const reply = new Promise<GsReply>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    try {
      await this.#gs.send({ v: 1, id, from: this.#puid, reply: this.#replyDesc, ...body });
    } catch (err) {
      this.#pending.delete(id);
      throw Errors.servicesGone(op, err);
    }
    this.#receive();
    const r = await reply;
    if (!r.ok) throw Errors.fromServices(op, r.error.message, r.error.code);
    return r as R;
  }

  // One receive loop serves every pending request, by id.
  async #receive(): Promise<void> {
    if (this.#receiving) return;
    this.#receiving = true;
    try {
      while (this.#pending.size > 0) {
        const r = await this.#reply.recv<GsReply>();
        const p = this.#pending.get(r.id);
        if (!p) continue; // a reply nobody waits for any more
        this.#pending.delete(r.id);
        p.resolve(r);
      }
    } catch (err) {
      for (const p of this.#pending.values()) p.reject(Errors.servicesGone('Global Services request', err));
      this.#pending.clear();
    } finally {
      this.#receiving = false;
    }
  }
}
