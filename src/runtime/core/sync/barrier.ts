// Barrier with Python's semantics, across processes: wait() resolves to
// this party's index in [0, parties); a timeout or abort breaks the barrier
// for every party (DRAGON_ERR_BROKEN for the others) until reset().
//
// Python's `action` is a task reference here ({ module, fn, args }: a
// function cannot run in the other processes). It travels with the
// barrier's descriptor, and the party that gets index parties - 1 runs it
// once all arrived, before the others go: they wait at a second native
// barrier (the gate) that this party joins only after the action. An
// action that throws breaks both (BrokenBarrierError for the others, its
// error for that party), as Python does.
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { resolveModule } from '../module-url.js';
import { encodeValue, registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { DESC_BYTES, native } from '../ffi/native.js';
import type { MemoryPool } from '../memory/pool.js';
import { Status } from '../../errors/status.js';
import { BLOCKED } from '../wait/wait-queue.js';
import { timeoutMs, timeoutUs, type WaitOptions } from '../timeout.js';
import { SyncOp } from '../ffi/gateway-wire.js';
import { packDescriptor, unpackDescriptor } from '../codec/composite-descriptor.js';
import { SyncKind, SyncObject, attachNative, createNative, isInternal, poolOf, viaNative, type SyncOptions } from './sync-object.js';

/** The descriptor kind of a barrier with an action (a plain one keeps the 96-byte sync descriptor). */
const ACTION_KIND = 46;

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
   * Python's `action`, as a task reference: `fn` exported by `module` (a
   * path or file: URL, as Process's), called with `args` (plain values) by
   * one party once all arrived, before any party is released. It may be
   * async. A plain function is refused (it cannot run in another process).
   */
  action?: BarrierAction;
}

/** A function of a module, as Process's target: `{ module, fn, args }`. */
export interface BarrierAction {
  module: string | URL;
  fn: string;
  /** Plain values (structured clone); no Dragon objects. */
  args?: unknown[];
}

interface Action {
  /** file: URL */
  module: string;
  fn: string;
  args: unknown[];
  /** What travels in the descriptor (v8 structured clone of the three). */
  bytes: Uint8Array;
}

interface WithAction {
  action: Action;
  gate: Barrier;
}

function checkAction(action: unknown, op: string): Action {
  const fix = "pass a task reference { module, fn, args? } (e.g. { module: new URL('./tasks.mjs', import.meta.url), fn: 'onTrip' })";
  if (typeof action === 'function') throw Errors.invalidArgument(op, `action cannot be a function: a function cannot run in the other processes; ${fix}`);
  if (action === null || typeof action !== 'object') throw Errors.invalidArgument(op, `action must be an object: ${fix}`);
  const a = action as BarrierAction;
  if (typeof a.fn !== 'string' || a.fn === '') throw Errors.invalidArgument(op, `action.fn must be the name of a function the module exports: ${fix}`);
  if (a.args !== undefined && !Array.isArray(a.args)) throw Errors.invalidArgument(op, 'action.args must be an array (or left out)');
  const module = resolveModule(a.module, op);
  const args = a.args ?? [];
  if (encodeValue(args, op).hasObjects) {
    throw Errors.invalidArgument(op, 'action.args must be plain values (no Channel, Lock, Queue...): pass Dragon objects to the processes, not to the action');
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(v8Serialize({ module, fn: a.fn, args }));
  } catch (err) {
    throw Errors.invalidArgument(op, `action.args cannot be cloned (${(err as Error).message})`);
  }
  return { module, fn: a.fn, args, bytes };
}

async function runAction(a: Action): Promise<void> {
  const ns = (await import(a.module)) as Record<string, unknown>;
  const fn = ns[a.fn];
  if (typeof fn !== 'function') throw Errors.exportNotFound(fileURLToPath(a.module), a.fn, Object.keys(ns).filter((k) => typeof ns[k] === 'function'));
  await (fn as (...args: unknown[]) => unknown)(...a.args);
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
  readonly #action: Action | undefined;
  /** Where the parties wait while the action runs (with an action only). */
  readonly #gate: Barrier | undefined;

  constructor(parties: number, options?: BarrierOptions) {
    const op = 'new Barrier';
    let action: Action | undefined;
    let pool: MemoryPool | undefined;
    super(parties, () => {
      const n = checkParties(parties, op);
      if (options?.action !== undefined) action = checkAction(options.action, op);
      if (options?.timeout !== undefined) timeoutUs(op, options.timeout); // checked now
      pool = poolOf(options, op);
      return createNative(pool, SyncKind.BARRIER, n, -1, op);
    });
    this.#defaultTimeout = options?.timeout;
    const extra = isInternal(parties) ? (parties.extra as WithAction | undefined) : undefined;
    if (extra) {
      this.#action = extra.action;
      this.#gate = extra.gate;
    } else if (action) {
      this.#action = action;
      try {
        this.#gate = Barrier.create({ pool: pool!, parties });
      } catch (err) {
        this.destroy();
        throw err;
      }
    }
  }

  static create(options: { pool: MemoryPool; parties: number }): Barrier {
    const parties = checkParties(options?.parties, 'Barrier.create');
    return new Barrier(viaNative(createNative(options.pool, SyncKind.BARRIER, parties, -1, 'Barrier.create'), true));
  }

  static attach(desc: Uint8Array): Barrier {
    const op = 'Barrier.attach';
    if (!(desc instanceof Uint8Array) || desc.length === DESC_BYTES) return new Barrier(viaNative(attachNative(desc, [SyncKind.BARRIER], op), false));
    const { parts } = unpackDescriptor(desc, ACTION_KIND, 'Barrier', op);
    if (parts.length !== 3) throw Errors.badCompositeDescriptor(op, `${parts.length} parts, a Barrier with an action has 3`);
    let action: Action;
    try {
      const a = v8Deserialize(parts[2]!) as Omit<Action, 'bytes'>;
      action = { module: a.module, fn: a.fn, args: a.args, bytes: parts[2]! };
    } catch {
      throw Errors.badCompositeDescriptor(op, 'the action does not decode');
    }
    const gate = Barrier.attach(parts[1]!);
    try {
      return new Barrier(viaNative(attachNative(parts[0]!, [SyncKind.BARRIER], op), false, { action, gate } satisfies WithAction));
    } catch (err) {
      gate.detach();
      throw err;
    }
  }

  /** The descriptor (96 bytes; with an action, a composite that carries it and the gate). */
  override serialize(): Uint8Array {
    const own = super.serialize();
    if (!this.#action) return own;
    return packDescriptor(ACTION_KIND, [], [own, this.#gate!.serialize(), this.#action.bytes]);
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
    if (this.#action) return this.#waitWithAction(options);
    return this.#arriveAndWait(options);
  }

  // All arrive at the barrier; the party with the last index runs the
  // action, then everyone meets at the gate (timeout: what is left of it).
  async #waitWithAction(options: WaitOptions | undefined): Promise<number> {
    const op = 'Barrier.wait';
    options = this.#withDefault(options);
    const ms = timeoutMs(op, options?.timeout);
    const start = performance.now();
    const index = await this.#arriveAndWait(options);
    if (index === this.parties - 1) {
      try {
        await runAction(this.#action!);
      } catch (err) {
        this.#breakBoth();
        throw err;
      }
    }
    const left = ms === Infinity ? undefined : Math.max(0, ms - (performance.now() - start));
    try {
      await this.#gate!.wait({ timeout: left, signal: options?.signal });
    } catch (err) {
      this.#breakBoth();
      throw err;
    }
    return index;
  }

  #breakBoth(): void {
    for (const b of [() => this.#abortOwn(), () => this.#gate!.abort()]) {
      try {
        b();
      } catch {
        // closed or gone: nothing left to break there
      }
    }
  }

  #arriveAndWait(options: WaitOptions | undefined): Promise<number> {
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
    if (this.#action) {
      throw Errors.invalidArgument(op, 'this barrier has an action (a module function, imported and run asynchronously): use await barrier.wait()');
    }
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
    this.#abortOwn();
    this.#gate?.abort();
  }

  #abortOwn(): void {
    this.live('abort');
    if (this.remote) return this.remote.simple('Barrier.abort', SyncOp.BARRIER_ABORT);
    check('Barrier.abort', native.barrierAbort(this.ptr));
  }

  /** Back to the initial state; parties still waiting fail with DRAGON_ERR_BROKEN. */
  reset(): void {
    this.live('reset');
    if (this.remote) this.remote.simple('Barrier.reset', SyncOp.BARRIER_RESET);
    else check('Barrier.reset', native.barrierReset(this.ptr));
    this.#gate?.reset();
  }

  get parties(): number {
    if (this.remote) return this.#remoteState().parties;
    return Number(this.#state()[0]);
  }

  /** Parties waiting (with an action: also those waiting for it to finish). */
  get nWaiting(): number {
    const gate = this.#gate?.nWaiting ?? 0;
    if (this.remote) return this.#remoteState().waiting + gate;
    return Number(this.#state()[1]) + gate;
  }

  get broken(): boolean {
    if (this.#gate?.broken) return true;
    if (this.remote) return this.#remoteState().broken;
    this.#state();
    return brokenOut[0] !== 0;
  }

  /** The action (a task reference), or undefined. */
  get action(): { module: string; fn: string; args: unknown[] } | undefined {
    const a = this.#action;
    return a && { module: a.module, fn: a.fn, args: a.args };
  }

  protected override close(how: 'detached' | 'destroyed'): void {
    try {
      super.close(how);
    } finally {
      const gate = this.#gate;
      if (gate && !gate.closed) {
        if (how === 'destroyed') gate.destroy();
        else gate.detach();
      }
    }
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
