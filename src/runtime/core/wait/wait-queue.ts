// The async operations of one handle (one direction of a channel, or a
// sync object) that could not complete at once, in FIFO order. An
// operation is: try now (a non-blocking C call) -> spin briefly -> watch the
// object -> try once more (no lost wake-up: the watch is registered before
// that last try) -> park here. Each ring of the handle's bit retries the
// parked operations from the head and stops at the first that would block.
// An operation that may also lack pool memory (a large send) adds a watch of
// the pool's frees, under the pool's bit, while it waits: a slot alone is
// not enough for it, and memory can be freed through any object of the pool.
import type { Drainable } from './waiter.js';
import { type DragonError, Errors, check } from '../../errors/errors.js';
import { timeoutMs, type WaitOptions } from '../timeout.js';
import type { PoolHandle } from '../memory/pool-handle.js';
import { performance } from 'node:perf_hooks';
import { Spinner } from './spinner.js';
import { BLOCKED } from './blocked.js';
import { Waiter } from './waiter.js';
import { addWatch, removeWatch } from './watches.js';

export { BLOCKED };
export type Attempt<T> = () => T | typeof BLOCKED;

export interface OpSpec<T> {
  op: string;
  attempt: Attempt<T>;
  /** Result (or throw) on timeout; default: DragonError DRAGON_ERR_TIMEOUT. */
  onTimeout?: ((ms: number) => T | PromiseLike<T>) | undefined;
  /** Clean-up on abort before the AbortError is delivered (may be async). */
  onAbort?: ((err: DragonError) => T | PromiseLike<T>) | undefined;
  /**
   * The operation may also wait for pool memory (a send of a message larger
   * than a block): while it waits, the queue watches the pool's frees too.
   */
  memory?: boolean | undefined;
}

/** How the object is watched: one part per C event the queue waits on. */
export interface Watch {
  pool: PoolHandle;
  parts: WatchPart[];
  /** The pool's frees, watched only while an operation with `memory` waits (see OpSpec). */
  memory?: MemoryWatch | undefined;
}

/** A watch under a bit of its own (the pool's: one per pool and process, shared by its objects). */
export interface MemoryWatch extends WatchPart {
  bit: number;
}

export interface WatchPart {
  /** Object and event: shared by every handle and queue of this process. */
  key: string;
  watch(waiter: Waiter, bit: number): number;
  unwatch(waiter: Waiter): number;
}

interface Parked {
  spec: OpSpec<any>;
  /** performance.now() when the operation started (for the spinner). */
  start: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

export class WaitQueue {
  readonly bit: number;
  private ops: Parked[] = [];
  private head = 0;
  private live = 0;
  private watching = false;
  /** Parked operations that may wait for pool memory, and whether the pool's frees are watched. */
  private memoryOps = 0;
  private memoryWatched = false;
  /** Retries this queue when the pool's bit rings. */
  private readonly memoryDrain: Drainable | undefined;
  private readonly spinner = new Spinner();

  constructor(
    bit: number,
    private readonly how: Watch,
  ) {
    this.bit = bit;
    if (how.memory) this.memoryDrain = { bit: how.memory.bit, drain: () => this.drain() };
  }

  get size(): number {
    return this.live;
  }

  // `tried`: the caller already made the first attempt (and it blocked),
  // which it may only do when size === 0.
  run<T>(spec: OpSpec<T>, options: WaitOptions | undefined, tried = false): Promise<T> {
    try {
      const signal = options?.signal;
      if (signal?.aborted) throw Errors.aborted(spec.op, signal.reason);
      const ms = timeoutMs(spec.op, options?.timeout);
      const start = performance.now();
      // Operations already parked here go first (FIFO), except a try-once.
      if (this.live === 0 || ms === 0) {
        let r: T | typeof BLOCKED = BLOCKED;
        if (!tried) r = spec.attempt();
        if (r !== BLOCKED) return Promise.resolve(r);
        if (ms === 0) return Promise.resolve(timedOut(spec, 0));
        r = this.spinner.spin(spec.attempt);
        if (r !== BLOCKED) return Promise.resolve(r);
        this.startWatching(spec.op);
        if (spec.memory) this.watchMemory(spec.op);
        r = spec.attempt();
        if (r !== BLOCKED) {
          this.stopWatchingIfIdle();
          return Promise.resolve(r);
        }
      }
      return this.park(spec, ms, signal, start);
    } catch (err) {
      this.stopWatchingIfIdle();
      return Promise.reject(err);
    }
  }

  // Retries parked operations from the head; called on a ring of our bit.
  drain(): void {
    while (this.live > 0) {
      const p = this.ops[this.head]!;
      if (p.settled) {
        this.head++;
        continue;
      }
      let r: unknown;
      try {
        r = p.spec.attempt();
      } catch (err) {
        this.settle(p);
        p.reject(err);
        continue;
      }
      if (r === BLOCKED) break;
      this.settle(p);
      this.spinner.parkedFor(performance.now() - p.start);
      p.resolve(r);
    }
    this.compact();
    this.stopWatchingIfIdle();
  }

  // The handle is going away in this process: every parked operation fails.
  failAll(err: () => Error): void {
    for (let i = this.head; i < this.ops.length; i++) {
      const p = this.ops[i]!;
      if (p.settled) continue;
      this.settle(p);
      p.reject(err());
    }
    this.ops = [];
    this.head = 0;
    this.stopWatchingIfIdle();
  }

  private park<T>(spec: OpSpec<T>, ms: number, signal: AbortSignal | undefined, start: number): Promise<T> {
    if (!this.watching) this.startWatching(spec.op);
    // before any retry of this operation (the drain that reaches it)
    if (spec.memory) this.watchMemory(spec.op);
    return new Promise<T>((resolve, reject) => {
      const p: Parked = {
        spec,
        start,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
        settled: false,
      };
      if (ms !== Infinity) {
        p.timer = setTimeout(() => this.expire(p, ms), ms);
        // the doorbell socket keeps the process alive while p is parked
        p.timer.unref();
      }
      if (signal) {
        p.onAbort = () => this.abort(p);
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.ops.push(p);
      this.live++;
      if (spec.memory) this.memoryOps++;
      Waiter.get().parked();
    });
  }

  private expire(p: Parked, ms: number): void {
    if (p.settled) return;
    this.settle(p);
    this.stopWatchingIfIdle();
    try {
      p.resolve(timedOut(p.spec, ms));
    } catch (err) {
      p.reject(err);
    }
  }

  private abort(p: Parked): void {
    if (p.settled) return;
    this.settle(p);
    this.stopWatchingIfIdle();
    const err = Errors.aborted(p.spec.op, p.signal?.reason);
    if (!p.spec.onAbort) {
      p.reject(err);
      return;
    }
    // clean-up first (it may wait, e.g. a condition re-acquiring its lock)
    Promise.resolve()
      .then(() => p.spec.onAbort!(err))
      .then(
        () => p.reject(err),
        (cleanupErr) => p.reject(cleanupErr),
      );
  }

  private settle(p: Parked): void {
    p.settled = true;
    this.live--;
    if (p.spec.memory) this.memoryOps--;
    if (p.timer) clearTimeout(p.timer);
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    Waiter.get().settled();
  }

  private compact(): void {
    if (this.live === 0) {
      this.ops = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.ops.length) {
      this.ops = this.ops.slice(this.head).filter((p) => !p.settled);
      this.head = 0;
    }
  }

  private startWatching(op: string): void {
    if (this.watching) return;
    const waiter = Waiter.get();
    const parts = this.how.parts;
    // Before the watch: it may claim a doorbell slot in the pool even when it
    // fails, and the pool must then still give it back before unmapping.
    this.how.pool.watched = true;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const rc = addWatch(part.key, () => part.watch(waiter, this.bit));
      if (rc !== 0) {
        for (let j = 0; j < i; j++) removeWatch(parts[j]!.key, () => parts[j]!.unwatch(waiter));
        check(op, rc);
      }
    }
    this.watching = true;
    waiter.activate(this);
  }

  private watchMemory(op: string): void {
    const memory = this.how.memory;
    if (this.memoryWatched || !memory) return;
    const waiter = Waiter.get();
    this.how.pool.watched = true;
    check(op, addWatch(memory.key, () => memory.watch(waiter, memory.bit)));
    this.memoryWatched = true;
    waiter.activate(this.memoryDrain!);
  }

  private stopWatchingIfIdle(): void {
    if (this.memoryWatched && this.memoryOps === 0) {
      const waiter = Waiter.get();
      const memory = this.how.memory!;
      this.memoryWatched = false;
      waiter.deactivate(this.memoryDrain!);
      removeWatch(memory.key, () => memory.unwatch(waiter));
    }
    if (!this.watching || this.live > 0) return;
    const waiter = Waiter.get();
    this.watching = false;
    waiter.deactivate(this);
    // Failing to unwatch leaves a stale watch that only costs spurious
    // rings; it is not worth failing the operation that just completed.
    for (const part of this.how.parts) removeWatch(part.key, () => part.unwatch(waiter));
  }
}

function timedOut<T>(spec: OpSpec<T>, ms: number): T | PromiseLike<T> {
  if (spec.onTimeout) return spec.onTimeout(ms);
  throw Errors.timeout(spec.op, ms);
}
