// Barrier with Python's semantics, across processes: wait() resolves to
// this party's index in [0, parties); a timeout or abort breaks the barrier
// for every party (DRAGON_ERR_BROKEN for the others) until reset().
import { registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { native } from '../ffi/native.js';
import type { MemoryPool } from '../memory/pool.js';
import { Status } from '../../errors/status.js';
import { BLOCKED } from '../wait/wait-queue.js';
import { timeoutUs, type WaitOptions } from '../timeout.js';
import { SyncOp } from '../ffi/gateway-wire.js';
import { SyncKind, SyncObject, attachNative, createNative, poolOf, viaNative, type SyncOptions } from './sync-object.js';

const arriveOut = new BigUint64Array(2);
const stateOut = new BigUint64Array(2);
const brokenOut = new Int32Array(1);
const indexOut = new BigUint64Array(1);

const BROKEN_HINT = 'The barrier is broken for every party: call reset() before using it again';

export interface BarrierOptions extends SyncOptions {
  /**
   * Default timeout (ms) of wait() and waitSync() through THIS handle (as
   * Python's Barrier(timeout=)); a handle attached elsewhere does not carry
   * it (pass { timeout } to wait() there).
   */
  timeout?: number;
  /**
   * Python's `action` (a callable run by one party when all arrived) is not
   * supported: a function cannot run in another process. Passing one throws;
   * run the code after `await barrier.wait()` in the party that gets index 0.
   */
  action?: never;
}

function checkParties(parties: unknown, op: string): number {
  if (typeof parties !== 'number' || !Number.isSafeInteger(parties) || parties < 1) {
    throw Errors.invalidArgument(op, `parties must be a positive integer, got ${String(parties)}`);
  }
  return parties;
}

/**
 * multiprocessing.Barrier: `new Barrier(parties, { timeout, pool })` (pool
 * default defaultPool()). wait() resolves to this party's index.
 */
export class Barrier extends SyncObject {
  #defaultTimeout: number | undefined;

  constructor(parties: number, options?: BarrierOptions) {
    super(parties, () => {
      const op = 'new Barrier';
      const n = checkParties(parties, op);
      if (options?.action !== undefined) {
        throw Errors.invalidArgument(op, 'action is not supported (a function cannot run in the other processes): run that code after `await barrier.wait()` where the index is 0');
      }
      if (options?.timeout !== undefined) timeoutUs(op, options.timeout); // checked now
      return createNative(poolOf(options, op), SyncKind.BARRIER, n, -1, op);
    });
    this.#defaultTimeout = options?.timeout;
  }

  static create(options: { pool: MemoryPool; parties: number }): Barrier {
    const parties = checkParties(options?.parties, 'Barrier.create');
    return new Barrier(viaNative(createNative(options.pool, SyncKind.BARRIER, parties, -1, 'Barrier.create'), true));
  }

  static attach(desc: Uint8Array): Barrier {
    return new Barrier(viaNative(attachNative(desc, [SyncKind.BARRIER], 'Barrier.attach'), false));
  }

  #withDefault<T extends { timeout?: number }>(options: T | undefined): T | undefined {
    if (this.#defaultTimeout === undefined || options?.timeout !== undefined) return options;
    return { ...options, timeout: this.#defaultTimeout } as T;
  }

  /**
   * Resolves to this party's index in [0, parties) once all parties arrived.
   * A timeout (then DRAGON_ERR_TIMEOUT) or abort breaks the barrier: the
   * other parties' waits fail with DRAGON_ERR_BROKEN (Python: BrokenBarrierError).
   */
  wait(options?: WaitOptions): Promise<number> {
    const op = 'Barrier.wait';
    const ptr = this.ptr;
    let ticket: bigint;
    let index: number;
    try {
      this.live('wait');
      options = this.#withDefault(options);
      if (options?.signal?.aborted) throw Errors.aborted(op, options.signal.reason);
      if (this.remote) return this.remote.barrierWait(op, options, BROKEN_HINT);
      const rc = native.barrierArrive(ptr, arriveOut.subarray(0, 1), arriveOut.subarray(1, 2));
      if (rc !== Status.OK) throw Errors.native(op, rc, undefined, rc === Status.BROKEN ? BROKEN_HINT : undefined);
      ticket = arriveOut[0]!;
      index = Number(arriveOut[1]);
    } catch (err) {
      return Promise.reject(err);
    }
    const check0 = () => {
      const rc = native.barrierCheck(ptr, ticket, 0);
      if (rc === Status.OK) return index;
      if (rc === Status.TIMEOUT) return BLOCKED;
      throw Errors.native(op, rc, undefined, rc === Status.BROKEN ? BROKEN_HINT : undefined);
    };
    return this.queue.run(
      {
        op,
        attempt: check0,
        onTimeout: (ms) => {
          // breaks the round unless it ended in the meantime (then: how it ended)
          const rc = native.barrierCancel(ptr, ticket);
          if (rc === Status.OK) return index;
          if (rc === Status.TIMEOUT) throw Errors.native(op, rc, `after ${ms} ms`, BROKEN_HINT);
          throw Errors.native(op, rc, undefined, rc === Status.BROKEN ? BROKEN_HINT : undefined);
        },
        onAbort: () => {
          native.barrierCancel(ptr, ticket);
          return 0;
        },
      },
      options,
    );
  }

  waitSync(options?: { timeout?: number }): number {
    const op = 'Barrier.waitSync';
    this.live('waitSync');
    options = this.#withDefault(options);
    if (this.remote) return this.remote.barrierWaitSync(op, options?.timeout, BROKEN_HINT);
    const rc = native.barrierWait(this.ptr, timeoutUs(op, options?.timeout), indexOut);
    if (rc !== Status.OK) {
      throw Errors.native(op, rc, undefined, rc === Status.BROKEN || rc === Status.TIMEOUT ? BROKEN_HINT : undefined);
    }
    return Number(indexOut[0]);
  }

  /** Breaks the barrier: current and future waiters fail until reset(). */
  abort(): void {
    this.live('abort');
    if (this.remote) return this.remote.simple('Barrier.abort', SyncOp.BARRIER_ABORT);
    check('Barrier.abort', native.barrierAbort(this.ptr));
  }

  /** Back to the initial state; parties still waiting fail with DRAGON_ERR_BROKEN. */
  reset(): void {
    this.live('reset');
    if (this.remote) return this.remote.simple('Barrier.reset', SyncOp.BARRIER_RESET);
    check('Barrier.reset', native.barrierReset(this.ptr));
  }

  get parties(): number {
    if (this.remote) return this.#remoteState().parties;
    return Number(this.#state()[0]);
  }

  get nWaiting(): number {
    if (this.remote) return this.#remoteState().waiting;
    return Number(this.#state()[1]);
  }

  get broken(): boolean {
    if (this.remote) return this.#remoteState().broken;
    this.#state();
    return brokenOut[0] !== 0;
  }

  #remoteState(): { parties: number; waiting: number; broken: boolean } {
    this.live('state');
    return this.remote!.barrierState('Barrier.state');
  }

  #state(): BigUint64Array {
    this.live('state');
    check('Barrier.state', native.barrierState(this.ptr, stateOut.subarray(0, 1), stateOut.subarray(1, 2), brokenOut));
    return stateOut;
  }
}

registerTransferable(10 + SyncKind.BARRIER, Barrier.prototype, (d) => Barrier.attach(d));
