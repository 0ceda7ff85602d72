// Sync objects of another node. A Lock, RLock, Semaphore, Event or Barrier
// attached (inside a run-time) from a descriptor whose host id is another
// node delegates every operation here: each one is a gateway request of op
// 5 (SYNC) through this process's Gateway (gateway.ts), with a
// 32-byte payload naming the operation and the caller (this process's
// puid: the target agent performs the op AS that process, so RLock owners,
// semaphore units and barrier tickets are recorded under it and reclaim of
// that puid gives them back). Layout: core/ffi/gateway-wire.ts; protocol:
// native/libdragon/docs/GATEWAY.md. Blocking operations (acquire, wait) are waited for at the
// target, which enforces the timeout and always answers; async ones never
// block the event loop (the gateway's receive loop), sync ones block in the
// reply channel's sync recv.
//
// Condition variables (sops 40-43): the caller holds the condition's lock
// (a remote Lock/RLock of the same node, found with COND_LOCK); COND_WAIT
// makes the target agent release it, wait until notified or the timeout,
// and re-acquire it as the caller before answering (OK: notified, TIMEOUT),
// so the code after `await cond.wait()` holds the lock, as locally. An
// aborted remote wait sends CANCEL (sop 34, arg0 = the wait's request id)
// and still waits for the wait's answer (the lock comes back first); an
// agent that does not know sop 34 answers it with an error, which is
// ignored: the abort then takes effect when the wait ends (notify, timeout).
import { Errors } from '../errors/errors.js';
import { processId } from '../core/identity.js';
import { GwOp, SYNC, SyncOp, writeSyncPayload, type ReplyFields } from '../core/ffi/gateway-wire.js';
import { registerRemoteSync, type RemoteSyncOps } from '../core/sync/sync-object.js';
import { Gateway, type Handler, type Request } from './gateway.js';
import { Status } from '../errors/status.js';
import { timeoutMs, timeoutUs, type WaitOptions } from '../core/timeout.js';

const LOCK_KINDS = new Set([1, 2]);

export class RemoteSync implements RemoteSyncOps {
  /** Async requests of this handle still waiting (failed by detach), with what to do with a late answer. */
  readonly #mine = new Map<number, Handler<void> | undefined>();

  constructor(
    readonly desc: Uint8Array,
    readonly node: number,
    readonly kind: number,
    /** The class name, for messages. */
    readonly what: string,
  ) {}

  #request(sop: number, tUs: number, arg0 = 0): Request {
    const payload = Buffer.allocUnsafe(SYNC.size);
    writeSyncPayload(payload, { sop, caller: processId(), arg0: BigInt(arg0), arg1: 0n });
    return { op: GwOp.SYNC, target: this.desc, timeoutUs: tUs, events: 0, payload, len: SYNC.size };
  }

  /** The error for a status other than OK. */
  fail(op: string, status: number, detail?: string, hint?: string): Error {
    if (status === Status.PEER_LOST) return Errors.native(op, status, `the ${this.what} lives on node ${this.node}`);
    return Errors.native(op, status, detail, hint);
  }

  /** An operation that does not wait (timeout 0 at the target); blocks the thread for the round trip. */
  call<T>(op: string, sop: number, handle: Handler<T>, arg0 = 0): T {
    return Gateway.get(op, this.node, this.what).callSync(op, this.#request(sop, 0, arg0), handle);
  }

  /** call() whose answer only has to be OK. */
  simple(op: string, sop: number, arg0 = 0): void {
    this.call(op, sop, (r) => {
      if (r.status !== Status.OK) throw this.fail(op, r.status);
    }, arg0);
  }

  /** A waiting operation, blocking the thread until the target answers. */
  waitSync<T>(op: string, sop: number, timeout: number | undefined, handle: Handler<T>): T {
    return Gateway.get(op, this.node, this.what).callSync(op, this.#request(sop, timeoutUs(op, timeout)), handle);
  }

  /**
   * A waiting operation, async. Abort (or detach) stops waiting here; the
   * answer, when it comes, goes to `late` (e.g. to give back a lock taken
   * meanwhile).
   */
  wait<T>(op: string, sop: number, options: WaitOptions | undefined, handle: Handler<T>, late?: Handler<void>): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(Errors.aborted(op, signal.reason));
    let g: Gateway;
    let req: Request;
    try {
      g = Gateway.get(op, this.node, this.what);
      req = this.#request(sop, timeoutUs(op, options?.timeout));
    } catch (err) {
      return Promise.reject(err);
    }
    let id = 0;
    const p = g.call(op, req, handle, (i) => {
      id = i;
      this.#mine.set(i, late);
    });
    if (!signal) return p.finally(() => this.#mine.delete(id));
    const onAbort = () => {
      this.#mine.delete(id);
      g.abandon(id, Errors.aborted(op, signal.reason), late);
      // the target stops waiting too (answers at once; a success that raced goes to `late`)
      this.cancel(g, id);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return p.finally(() => {
      this.#mine.delete(id);
      signal.removeEventListener('abort', onAbort);
    });
  }

  // ---- acquire-like: Lock, RLock, Semaphore ----

  #acquireSop(): number {
    return LOCK_KINDS.has(this.kind) ? SyncOp.LOCK_ACQUIRE : SyncOp.SEM_ACQUIRE;
  }

  readonly #acquired = (op: string) => (r: ReplyFields) => {
    if (r.status === Status.OK) return true;
    if (r.status === Status.TIMEOUT) return false;
    throw this.fail(op, r.status);
  };

  // An acquire given up (aborted, detached) that succeeded at the target
  // meanwhile: give the unit back, so nobody holds it for a gone waiter.
  readonly #giveBack: Handler<void> = (r) => {
    if (r.status !== Status.OK) return;
    const op = `${this.what}.release`;
    try {
      const sop = LOCK_KINDS.has(this.kind) ? SyncOp.LOCK_RELEASE : SyncOp.SEM_RELEASE;
      Gateway.get(op, this.node, this.what)
        .call(op, this.#request(sop, 0, 1), () => undefined)
        .catch(() => undefined);
    } catch {
      // no gateway any more: the process is going away (reclaim gives it back)
    }
  };

  acquire(op: string, options: WaitOptions | undefined): Promise<boolean> {
    return this.wait(op, this.#acquireSop(), options, this.#acquired(op), this.#giveBack);
  }

  acquireSync(op: string, timeout: number | undefined): boolean {
    return this.waitSync(op, this.#acquireSop(), timeout, this.#acquired(op));
  }

  // ---- the rest ----

  /** Lock/RLock owner: puid (0 = free) and recursion depth. */
  owner(op: string): { puid: bigint; count: number } {
    return this.call(op, SyncOp.LOCK_OWNER, (r, p) => {
      if (r.status !== Status.OK) throw this.fail(op, r.status);
      return { puid: BigInt(r.value), count: p.length >= 8 ? Number(p.readBigUInt64LE(0)) : r.value ? 1 : 0 };
    });
  }

  /** A value-returning operation (SEM_VALUE, EVENT_IS_SET). */
  value(op: string, sop: number): number {
    return this.call(op, sop, (r) => {
      if (r.status !== Status.OK) throw this.fail(op, r.status);
      return r.value;
    });
  }

  /** Barrier: parties, waiting, broken. */
  barrierState(op: string): { parties: number; waiting: number; broken: boolean } {
    return this.call(op, SyncOp.BARRIER_STATE, (r, p) => {
      if (r.status !== Status.OK) throw this.fail(op, r.status);
      return { parties: r.value, waiting: p.length >= 8 ? Number(p.readBigUInt64LE(0)) : 0, broken: p.length >= 16 ? p.readBigUInt64LE(8) !== 0n : false };
    });
  }

  /** Event wait: true once set, false on timeout. */
  eventWait(op: string, options: WaitOptions | undefined): Promise<boolean> {
    return this.wait(op, SyncOp.EVENT_WAIT, options, this.#acquired(op));
  }

  eventWaitSync(op: string, timeout: number | undefined): boolean {
    return this.waitSync(op, SyncOp.EVENT_WAIT, timeout, this.#acquired(op));
  }

  /** Barrier wait: this party's index; TIMEOUT/BROKEN as locally (with `hint`). */
  barrierWait(op: string, options: WaitOptions | undefined, hint: string): Promise<number> {
    return this.wait(op, SyncOp.BARRIER_WAIT, options, this.#index(op, options?.timeout, hint));
  }

  barrierWaitSync(op: string, timeout: number | undefined, hint: string): number {
    return this.waitSync(op, SyncOp.BARRIER_WAIT, timeout, this.#index(op, timeout, hint));
  }

  #index(op: string, timeout: number | undefined, hint: string): Handler<number> {
    return (r) => {
      if (r.status === Status.OK) return r.value;
      const detail = r.status === Status.TIMEOUT ? `after ${timeoutMs(op, timeout)} ms` : undefined;
      throw this.fail(op, r.status, detail, r.status === Status.BROKEN || r.status === Status.TIMEOUT ? hint : undefined);
    };
  }

  // ---- Condition ----

  /** The condition's lock: its descriptor and kind (1 LOCK, 2 RLOCK). */
  condLock(op: string): { desc: Uint8Array; kind: number } {
    return this.call(op, SyncOp.COND_LOCK, (r, p) => {
      if (r.status !== Status.OK) throw this.fail(op, r.status);
      if (p.length < 96) throw this.fail(op, Status.INTERNAL, `COND_LOCK answered ${p.length} bytes, not a descriptor`);
      return { desc: new Uint8Array(p.subarray(0, 96)), kind: r.value };
    });
  }

  readonly #notified = (op: string) => (r: ReplyFields) => {
    if (r.status === Status.OK) return true;
    if (r.status === Status.TIMEOUT) return false;
    throw this.fail(op, r.status, undefined, r.status === Status.NOT_HELD || r.status === Status.NOT_OWNER ? 'Acquire the condition\'s lock before wait()' : undefined);
  };

  /** COND_WAIT blocking the thread: true when notified, false on timeout (the lock is held again). */
  condWaitSync(op: string, timeout: number | undefined): boolean {
    return this.waitSync(op, SyncOp.COND_WAIT, timeout, this.#notified(op));
  }

  /**
   * COND_WAIT, async. On abort: CANCEL, then the wait's own answer (the
   * agent re-acquired the lock for us), then the abort error. `lockDesc`:
   * where to give the lock back when this handle is detached meanwhile.
   */
  condWait(op: string, options: WaitOptions | undefined, lockDesc: Uint8Array): Promise<boolean> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(Errors.aborted(op, signal.reason));
    let g: Gateway;
    let req: Request;
    try {
      g = Gateway.get(op, this.node, this.what);
      req = this.#request(SyncOp.COND_WAIT, timeoutUs(op, options?.timeout));
    } catch (err) {
      return Promise.reject(err);
    }
    // a wait given up by detach(): the agent re-acquired the lock for a gone waiter: release it
    const late: Handler<void> = (r) => {
      if (r.status !== Status.OK && r.status !== Status.TIMEOUT) return;
      try {
        const rel = this.#request(SyncOp.LOCK_RELEASE, 0);
        g.call(`${this.what}.detach`, { ...rel, target: lockDesc }, () => undefined).catch(() => undefined);
      } catch {
        // no gateway any more: reclaim gives it back
      }
    };
    let id = 0;
    const p = g.call(op, req, this.#notified(op), (i) => {
      id = i;
      this.#mine.set(i, late);
    });
    if (!signal) return p.finally(() => this.#mine.delete(id));
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      this.cancel(g, id);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return p.then(
      (v) => {
        if (aborted) throw Errors.aborted(op, signal.reason);
        return v;
      },
      (err) => {
        throw aborted && (err as { code?: string }).code !== 'DRAGON_ERR_PEER_LOST' ? Errors.aborted(op, signal.reason) : err;
      },
    ).finally(() => {
      this.#mine.delete(id);
      signal.removeEventListener('abort', onAbort);
    });
  }

  /**
   * The hook for giving up a waiting request at the target: sop 34 CANCEL
   * with arg0 = its request id (answered at once; an agent without it
   * answers an error, ignored: the request then ends on its own).
   */
  cancel(g: Gateway, reqId: number): void {
    try {
      g.call(`${this.what}.cancel`, this.#request(SyncOp.CANCEL, 0, reqId), () => undefined).catch(() => undefined);
    } catch {
      // the gateway is gone: the wait fails on its own
    }
  }

  /** Stops waiting for this handle's async operations (they fail with `err`; late answers go to their handlers). */
  detach(err: () => Error): void {
    if (this.#mine.size === 0) return;
    const g = Gateway.get('detach', this.node, this.what);
    for (const [id, late] of this.#mine) g.abandon(id, err(), late);
    this.#mine.clear();
  }
}

registerRemoteSync((desc, node, kind, what) => new RemoteSync(desc, node, kind, what));
