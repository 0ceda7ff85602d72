// Pool: a pool of worker processes of the run-time, spread round-robin over
// every node of the job, shaped like Python's multiprocessing.Pool. Tasks
// name a module and an export ({ module, fn }), like Process.
//
// How work flows (see protocol.ts for the messages):
// - each worker has its own task channel, created here in this node's
//   default pool; the parent (this process) sends it chunks, keeping up to
//   `depth` in it: enough for ~2 ms of work (1 for slow tasks, 64 for
//   trivial ones) so the worker never waits for the parent, few enough
//   that a slow chunk does not hold many others back. A chunk goes to one
//   worker only, so when a worker dies the parent knows what it held: the
//   chunks still in its channel go to other workers, the ones it had
//   taken fail with an error naming the worker and how it ended.
// - one result channel back, where workers flush batches of results.
// - the parent receives only while chunks are out, and watches its workers
//   (Process.join through Global Services) only while it has work for
//   them or is closing, so an idle pool keeps nothing pending and a script
//   that forgets close() still exits (within a second).
import { Process } from '../../api/process.js';
import { resolveModule } from '../../core/module-url.js';
import { runtimeEnv } from '../../core/runtime-env.js';
import { Channel } from '../../core/channel/channel.js';
import { Errors } from '../../errors/errors.js';
import { AsyncResult } from './async-result.js';
import { defaultPool } from '../../core/memory/default-pool.js';
import { jobNodes } from '../system.js';
import { IterJob, MapJob, type Callbacks, type Chunk, type Job } from './jobs.js';
import { INIT_FAILED, OK, RESULTS, STOP, TASK, type WorkerConfig } from './protocol.js';

/** A task: an export of a module, as for Process. */
export interface PoolTask {
  /** A path (absolute, or relative to the working directory), a file: URL, or a package name. */
  module: string | URL;
  /** The export to call; default: the default export. */
  fn?: string;
}

export interface PoolOptions {
  /** Worker processes; default cpuCount() (the CPUs of every node of the job). */
  processes?: number;
  /** Called in each worker before its first task, with initargs. */
  initializer?: PoolTask;
  initargs?: unknown[];
  /** Tasks (chunks) a worker runs before it is replaced by a fresh one; default: no limit. */
  maxtasksperchild?: number | null;
}

export interface MapOptions {
  /** Inputs per chunk (what a worker takes at once). map default: ceil(n / (4 * processes)); imap: 1. */
  chunksize?: number;
}

export type MapAsyncOptions<R> = MapOptions & Callbacks<R>;

const POOL_OPTIONS = ['processes', 'initializer', 'initargs', 'maxtasksperchild'];

// Chunks in a worker's channel (see `depth`), and how long that should keep it busy.
const DEPTH_MIN = 1;
const DEPTH_MAX = 64;
const DEPTH_START = 4;
const DEPTH_BUDGET_MS = 2;
const TASK_CAPACITY = 2 * DEPTH_MAX;
const TASK_BLOCK = 512;
const RESULT_BLOCK = 4096;
/** How long one Global Services join waits before it is asked again (bounds how long an idle pool keeps a script alive). */
const WATCH_MS = 1000;
/** imap: chunks in flight plus results not yet consumed, per worker. */
const AHEAD_PER_WORKER = 128;
const TRY_ONCE = { timeout: 0 };

const WORKER_MODULE = new URL('./worker.js', import.meta.url).href;
/** Node's exit code when the event loop emptied while the (top-level) await of the task was pending. */
const UNSETTLED_EXIT = 13;
const UNSETTLED_WHY = "the task's promise never settled and nothing kept the worker's event loop alive (exit code 13)";

interface Worker {
  id: number;
  host: string | undefined;
  proc: Process;
  started: Promise<void>;
  tasks: Channel;
  /** Chunks sent and not answered, and sent in all. */
  outstanding: number;
  sent: number;
  /** Function ids this worker has been told about. */
  fns: Set<number>;
  /** Reached maxtasksperchild: gets no more chunks, exits by itself (already replaced). */
  retiring: boolean;
  exited: boolean;
  watching: boolean;
  exit: Promise<void>;
  exitDone: () => void;
}

type State = 'running' | 'closed' | 'terminated';

export class Pool implements AsyncDisposable {
  #state: State = 'running';
  #broken: Error | undefined;
  readonly #ready: Promise<void>;
  #processes: number | undefined;
  readonly #maxtasks: number;
  readonly #init: WorkerConfig['init'];
  readonly #results: Channel;
  #hosts: Array<string | undefined> = [undefined];
  readonly #workers = new Set<Worker>();
  /** Workers that take chunks (not retiring, not exited). */
  #active: Worker[] = [];
  #nextWorker = 0;
  /** Jobs with chunks still to hand out, in submission order. */
  #jobs: Job[] = [];
  /** Chunks of a dead worker it never took: sent again first. */
  #retry: Chunk[] = [];
  /** Chunks out, by tid. */
  readonly #chunks = new Map<number, Chunk>();
  #outstanding = 0;
  #tid = 0;
  #depth = DEPTH_START;
  /** Mean ms a chunk takes in a worker (moving average), -1 before the first results. */
  #chunkMs = -1;
  readonly #fnIds = new Map<string, number>();
  readonly #fns: Array<[string, string | undefined]> = [];
  #pumping = false;
  #receiving = false;
  #recvAbort: AbortController | undefined;
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(options: PoolOptions = {}) {
    const op = 'new Pool';
    if (options === null || typeof options !== 'object') throw Errors.invalidArgument(op, 'options must be an object like { processes: 4 }');
    checkOptionNames(options, op);
    const { processes, initializer, initargs, maxtasksperchild } = options;
    if (processes !== undefined && !(Number.isSafeInteger(processes) && processes >= 1)) {
      throw Errors.invalidArgument(op, `processes must be a positive integer, got ${String(processes)}`);
    }
    if (maxtasksperchild != null && !(Number.isSafeInteger(maxtasksperchild) && maxtasksperchild >= 1)) {
      throw Errors.invalidArgument(op, `maxtasksperchild must be a positive integer or null, got ${String(maxtasksperchild)}`);
    }
    if (initargs !== undefined && !Array.isArray(initargs)) throw Errors.invalidArgument(op, 'initargs must be an array');
    if (initargs !== undefined && initializer === undefined) throw Errors.invalidArgument(op, 'initargs given without an initializer: pass { initializer: { module, fn }, initargs }');
    const init = initializer === undefined ? null : { ...checkTask(initializer, `${op} (initializer)`), args: initargs ?? [] };
    if (!runtimeEnv()) throw Errors.notInRuntime(op);
    this.#maxtasks = maxtasksperchild ?? 0;
    this.#init = init;
    this.#processes = processes;
    this.#results = Channel.create({ pool: defaultPool(), capacity: 256, blockSize: RESULT_BLOCK });
    this.#ready = this.#start(processes);
    this.#ready.catch(() => undefined); // reported through #broken
  }

  /** Worker processes (undefined until the job's CPUs are known when the default was asked for). */
  get processes(): number | undefined {
    return this.#processes;
  }

  /** Resolves once the workers are being started (the pool takes tasks before that too). */
  async ready(): Promise<void> {
    await this.#ready;
    if (this.#broken) throw this.#broken;
  }

  async #start(processes: number | undefined): Promise<void> {
    try {
      const nodes = await jobNodes();
      if (nodes.length > 1) this.#hosts = nodes.map((n) => n.host);
      this.#processes = processes ?? nodes.reduce((n, x) => n + x.cpus, 0);
      if (this.#state === 'terminated') return;
      for (let i = 0; i < this.#processes; i++) this.#spawn(this.#hosts[i % this.#hosts.length]);
      this.#pump();
    } catch (err) {
      this.#break(Errors.poolBroken(`the job's nodes could not be learnt from Global Services (${(err as Error).message})`, err));
    }
  }

  // ---- submitting ---------------------------------------------------------------

  /** fn(x) for every input, in order; the inputs are read at once (as Python's map does). */
  map<R = unknown>(task: PoolTask, inputs: Iterable<unknown> | AsyncIterable<unknown>, options?: MapOptions): Promise<R[]> {
    return this.#map('Pool.map', task, inputs, false, options ?? {}) as Promise<R[]>;
  }

  /**
   * map, Python's map_async shape: the tasks are submitted at once; the
   * Promise settles with the results (callback first) or the first error
   * (errorCallback first, and then the Promise counts as handled).
   */
  mapAsync<R = unknown>(task: PoolTask, inputs: Iterable<unknown> | AsyncIterable<unknown>, options?: MapAsyncOptions<R[]>): AsyncResult<R[]> {
    const o = (options ?? {}) as MapAsyncOptions<unknown>;
    return new AsyncResult(this.#map('Pool.mapAsync', task, inputs, false, o) as Promise<R[]>, o.errorCallback !== undefined);
  }

  /** fn(...args) for every argument list, in order. */
  starmap<R = unknown>(task: PoolTask, inputs: Iterable<unknown[]> | AsyncIterable<unknown[]>, options?: MapOptions): Promise<R[]> {
    return this.#map('Pool.starmap', task, inputs, true, options ?? {}) as Promise<R[]>;
  }

  /** starmap, with Python's starmap_async callbacks. */
  starmapAsync<R = unknown>(task: PoolTask, inputs: Iterable<unknown[]> | AsyncIterable<unknown[]>, options?: MapAsyncOptions<R[]>): AsyncResult<R[]> {
    const o = (options ?? {}) as MapAsyncOptions<unknown>;
    return new AsyncResult(this.#map('Pool.starmapAsync', task, inputs, true, o) as Promise<R[]>, o.errorCallback !== undefined);
  }

  /** fn(...args) in one worker. */
  apply<R = unknown>(task: PoolTask, args: unknown[] = []): Promise<R> {
    return this.#apply('Pool.apply', task, args, {}) as Promise<R>;
  }

  /**
   * apply, Python's apply_async: submitted at once; the AsyncResult is
   * also awaitable. callback/errorCallback as for mapAsync.
   */
  applyAsync<R = unknown>(task: PoolTask, args: unknown[] = [], options?: Callbacks<R>): AsyncResult<R> {
    const o = (options ?? {}) as Callbacks<unknown>;
    return new AsyncResult(this.#apply('Pool.applyAsync', task, args, o) as Promise<R>, o.errorCallback !== undefined);
  }

  #apply(op: string, task: PoolTask, args: unknown[], callbacks: Callbacks<unknown>): Promise<unknown> {
    try {
      this.#open(op);
      const fnId = this.#fnId(task, op);
      if (!Array.isArray(args)) throw Errors.invalidArgument(op, 'args must be an array of arguments');
      const job = new MapJob(fnId, true, [args], 1, true, callbacks);
      this.#submit(job);
      return job.promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * fn(x) for each input, as an async iterator of the results in input
   * order. Lazy: inputs (an iterable or async iterable, possibly endless)
   * are read as workers have room, and at most ~128 chunks per worker are
   * in flight or waiting to be consumed. Breaking out of the loop stops it.
   */
  imap<R = unknown>(task: PoolTask, inputs: Iterable<unknown> | AsyncIterable<unknown>, options?: MapOptions): AsyncIterableIterator<R> {
    return this.#imap('Pool.imap', task, inputs, true, options) as AsyncIterableIterator<R>;
  }

  /** imap, results in the order they come. */
  imapUnordered<R = unknown>(task: PoolTask, inputs: Iterable<unknown> | AsyncIterable<unknown>, options?: MapOptions): AsyncIterableIterator<R> {
    return this.#imap('Pool.imapUnordered', task, inputs, false, options) as AsyncIterableIterator<R>;
  }

  async #map(op: string, task: PoolTask, inputs: Iterable<unknown> | AsyncIterable<unknown>, star: boolean, options: MapAsyncOptions<unknown>): Promise<unknown> {
    this.#open(op);
    const fnId = this.#fnId(task, op);
    let chunksize = checkChunksize(options.chunksize, op);
    let items: unknown[];
    if (Array.isArray(inputs)) items = inputs;
    else if (inputs != null && typeof (inputs as Iterable<unknown>)[Symbol.iterator] === 'function') items = Array.from(inputs as Iterable<unknown>);
    else if (inputs != null && typeof (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      items = [];
      for await (const x of inputs as AsyncIterable<unknown>) items.push(x);
    } else throw Errors.invalidArgument(op, 'inputs must be an iterable (an array, a generator...) or an async iterable');
    if (star) for (const a of items) if (!Array.isArray(a)) throw Errors.invalidArgument(op, 'each input of starmap must be an array of arguments');
    if (chunksize === undefined) {
      if (this.#processes === undefined) await this.#ready;
      chunksize = Math.max(1, Math.ceil(items.length / ((this.#processes ?? 1) * 4)));
    }
    this.#open(op);
    const job = new MapJob(fnId, star, items, chunksize, false, options);
    this.#submit(job);
    return job.promise;
  }

  #imap(op: string, task: PoolTask, inputs: Iterable<unknown> | AsyncIterable<unknown>, ordered: boolean, options: MapOptions | undefined): IterJob {
    this.#open(op);
    const fnId = this.#fnId(task, op);
    const chunksize = checkChunksize(options?.chunksize, op) ?? 1;
    const limit = AHEAD_PER_WORKER * Math.max(1, this.#processes ?? 1);
    const job = new IterJob(fnId, false, inputs, chunksize, ordered, limit, () => this.#pump(), op);
    this.#submit(job);
    return job;
  }

  #submit(job: Job): void {
    this.#jobs.push(job);
    this.#pump();
  }

  #open(op: string): void {
    if (this.#broken) throw this.#broken;
    if (this.#state === 'closed') throw Errors.poolState(op, 'the pool is closed (close() was called)', 'Submit tasks before close(), or create a new Pool');
    if (this.#state === 'terminated') throw Errors.poolState(op, 'the pool was terminated', 'Create a new Pool');
  }

  // A task's function as a small number (workers cache the function by it).
  #fnId(task: PoolTask, op: string): number {
    const { module, fn } = checkTask(task, op);
    const key = `${fn ?? ''}\0${module}`;
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      id = this.#fns.length;
      this.#fns.push([module, fn]);
      this.#fnIds.set(key, id);
    }
    return id;
  }

  // ---- dispatching ----------------------------------------------------------------

  // Hands chunks to workers with room, one per worker per round (so a burst
  // spreads evenly), until no worker has room or no job has a chunk.
  #pump(): void {
    if (this.#pumping || this.#state === 'terminated' || this.#broken) return;
    this.#pumping = true;
    try {
      let progress = true;
      while (progress) {
        progress = false;
        const active = this.#active;
        for (let i = 0; i < active.length; i++) {
          const w = active[i]!;
          if (w.outstanding >= this.#depth || w.retiring || w.exited) continue;
          const c = this.#nextChunk();
          if (c === undefined) return;
          this.#send(w, c);
          progress = true;
        }
      }
    } finally {
      this.#pumping = false;
      this.#checkIdle();
    }
  }

  #nextChunk(): Chunk | undefined {
    while (this.#retry.length > 0) {
      const c = this.#retry.shift()!;
      if (!c.job.settled) return c;
    }
    const jobs = this.#jobs;
    for (let i = 0; i < jobs.length; ) {
      const c = jobs[i]!.nextChunk();
      if (c === null) {
        jobs.splice(i, 1);
        continue;
      }
      if (c !== undefined) return c;
      i++;
    }
    return undefined;
  }

  #send(w: Worker, c: Chunk): void {
    const job = c.job;
    const tid = ++this.#tid;
    const known = w.fns.has(job.fnId);
    const star = job.star ? 1 : 0;
    let msg: unknown[];
    if (known) msg = [TASK, tid, job.fnId, star, c.items];
    else {
      const [module, fn] = this.#fns[job.fnId]!;
      msg = [TASK, tid, job.fnId, star, c.items, module, fn];
    }
    try {
      w.tasks.sendSync(msg, TRY_ONCE);
    } catch (err) {
      // the inputs do not encode (a function, a symbol...): that job fails
      const why = (err as Error)?.message?.replace(/^Channel\.sendSync: /, '') ?? String(err);
      job.fail(c, Errors.invalidArgument('Pool', `the inputs of a task cannot be sent to a worker: ${why}`));
      return;
    }
    if (!known) w.fns.add(job.fnId);
    c.tid = tid;
    c.worker = w;
    this.#chunks.set(tid, c);
    w.outstanding++;
    w.sent++;
    if (this.#outstanding++ === 0) this.#busy();
    if (this.#maxtasks > 0 && w.sent >= this.#maxtasks) this.#retire(w);
  }

  // Chunks are out: receive their results and watch the workers.
  #busy(): void {
    if (!this.#receiving) void this.#receive();
    this.#watchAll();
  }

  // ---- results ------------------------------------------------------------------

  async #receive(): Promise<void> {
    this.#receiving = true;
    const results = this.#results;
    let batch = 0;
    try {
      while (this.#outstanding > 0 && this.#state !== 'terminated' && !this.#broken) {
        let msg: unknown[];
        if (results.count() > 0) {
          msg = results.recvSync<unknown[]>();
          // a steady stream still lets timers and I/O run (the workers' watchers)
          if (++batch === 64) {
            batch = 0;
            await new Promise(setImmediate);
          }
        } else {
          const ac = (this.#recvAbort = new AbortController());
          try {
            msg = await results.recv<unknown[]>({ signal: ac.signal });
          } catch (err) {
            if (ac.signal.aborted) continue; // the last chunks were settled otherwise (a worker died)
            throw err;
          } finally {
            this.#recvAbort = undefined;
          }
        }
        this.#onMessage(msg);
      }
    } catch (err) {
      if (this.#state !== 'terminated') this.#break(Errors.poolBroken(`the result channel failed (${(err as Error).message})`, err));
    } finally {
      this.#receiving = false;
    }
  }

  #onMessage(msg: unknown[]): void {
    if (msg[0] === RESULTS) {
      const n = msg[3] as number;
      if (n > 0) {
        const per = (msg[2] as number) / n;
        const ema = this.#chunkMs < 0 ? per : this.#chunkMs * 0.7 + per * 0.3;
        this.#chunkMs = ema;
        this.#depth = Math.min(DEPTH_MAX, Math.max(DEPTH_MIN, Math.ceil(DEPTH_BUDGET_MS / Math.max(ema, 1e-6))));
      }
      const end = 4 + 3 * n;
      for (let i = 4; i < end; i += 3) {
        const tid = msg[i] as number;
        const c = this.#chunks.get(tid);
        if (c === undefined) continue; // its job was settled otherwise
        this.#chunks.delete(tid);
        (c.worker as Worker).outstanding--;
        this.#outstanding--;
        if (msg[i + 1] === OK) c.job.done(c, msg[i + 2] as unknown[]);
        else c.job.fail(c, msg[i + 2]);
      }
      this.#pump();
    } else if (msg[0] === INIT_FAILED) {
      const err = msg[2] as Error;
      this.#break(Errors.poolBroken(`the initializer failed in worker ${msg[1] as number}: ${err?.message ?? String(err)}`, err));
    }
  }

  // Results already sent (a worker that exited flushed before it did).
  #drainResults(): void {
    try {
      while (this.#results.count() > 0) this.#onMessage(this.#results.recvSync<unknown[]>());
    } catch {
      // the receive loop reports a broken channel
    }
  }

  // ---- workers ------------------------------------------------------------------

  #spawn(host: string | undefined): void {
    const id = ++this.#nextWorker;
    const tasks = Channel.create({ pool: defaultPool(), capacity: TASK_CAPACITY, blockSize: TASK_BLOCK });
    const cfg: WorkerConfig = { id, tasks, results: this.#results, maxtasks: this.#maxtasks, init: this.#init };
    // daemonic, as Python's: they go when the process that made the pool exits
    const proc = new Process({ module: WORKER_MODULE, fn: 'poolWorker', args: [cfg], name: `PoolWorker-${id}`, daemon: true, ...(host ? { policy: { host } } : {}) });
    let exitDone!: () => void;
    const exit = new Promise<void>((resolve) => (exitDone = resolve));
    const w: Worker = { id, host, proc, started: undefined as never, tasks, outstanding: 0, sent: 0, fns: new Set(), retiring: false, exited: false, watching: false, exit, exitDone };
    w.started = proc.start().then(
      () => {
        w.host = proc.host;
      },
      (err) => this.#startFailed(w, err),
    );
    this.#workers.add(w);
    this.#active = [...this.#active, w];
    // closed with nothing to do before the workers could start: this one
    // runs its initializer (as Python's do) and exits
    if (this.#stopped) tasks.sendSync([STOP], TRY_ONCE);
    if (this.#outstanding > 0 || this.#state !== 'running') void this.#watch(w);
  }

  // maxtasksperchild: w takes no more chunks and exits once it has run them; its replacement starts now.
  #retire(w: Worker): void {
    w.retiring = true;
    this.#active = this.#active.filter((x) => x !== w);
    if (this.#state !== 'terminated' && !this.#broken) this.#spawn(w.host);
    void this.#watch(w);
  }

  #watchAll(): void {
    for (const w of this.#workers) void this.#watch(w);
  }

  // Waits for w to exit while the pool needs to know (work out, closing, w retiring).
  async #watch(w: Worker): Promise<void> {
    if (w.watching || w.exited) return;
    w.watching = true;
    try {
      await w.started;
      while (!w.exited && (this.#outstanding > 0 || this.#state !== 'running' || w.retiring)) {
        const code = await w.proc.join(WATCH_MS);
        if (code !== null) return this.#onExit(w);
      }
    } catch {
      // Global Services is gone: the run-time is ending, and the workers with it
    } finally {
      w.watching = false;
    }
  }

  #onExit(w: Worker): void {
    if (w.exited) return;
    w.exited = true;
    this.#workers.delete(w);
    this.#active = this.#active.filter((x) => x !== w);
    if (this.#state !== 'terminated') {
      this.#drainResults();
      this.#reclaim(w, () => {
        const p = w.proc;
        const how = p.signalCode ? `killed by ${p.signalCode}` : p.exitCode === UNSETTLED_EXIT ? UNSETTLED_WHY : `exit code ${p.exitCode}`;
        const threw = p.error ? `; it threw ${p.error.name}: ${p.error.message}` : '';
        return Errors.workerDied(`worker ${w.id} (puid ${p.puid} on ${p.host ?? 'its node'})`, `${how}${threw}`);
      });
    }
    this.#destroy(w.tasks);
    w.exitDone();
    // a retiring worker was replaced already; none after close once the work is done
    if (!w.retiring && this.#state !== 'terminated' && !this.#broken && (this.#state === 'running' || this.#hasWork())) this.#spawn(w.host);
    this.#pump();
  }

  // The chunks w held: those still in its channel go to other workers, the rest fail.
  #reclaim(w: Worker, error: () => Error): void {
    try {
      while (w.tasks.count() > 0) {
        const m = w.tasks.recvSync<unknown[]>();
        const c = m[0] === TASK ? this.#chunks.get(m[1] as number) : undefined;
        if (c === undefined) continue;
        this.#take(c);
        c.worker = undefined;
        this.#retry.push(c);
      }
    } catch {
      // the channel is unusable: what is left fails below
    }
    if (w.outstanding === 0) return;
    const err = error();
    for (const c of [...this.#chunks.values()]) {
      if (c.worker !== w) continue;
      this.#take(c);
      c.job.fail(c, err);
    }
    if (this.#outstanding === 0) this.#recvAbort?.abort();
  }

  #take(c: Chunk): void {
    this.#chunks.delete(c.tid);
    (c.worker as Worker).outstanding--;
    this.#outstanding--;
  }

  #startFailed(w: Worker, err: unknown): void {
    w.exited = true;
    this.#workers.delete(w);
    this.#active = this.#active.filter((x) => x !== w);
    this.#reclaim(w, () => err as Error);
    this.#destroy(w.tasks);
    w.exitDone();
    if (this.#state !== 'terminated') this.#break(Errors.poolBroken(`worker ${w.id} could not be started (${(err as Error)?.message ?? String(err)})`, err));
  }

  // ---- the end ----------------------------------------------------------------------

  #hasWork(): boolean {
    if (this.#outstanding > 0 || this.#retry.length > 0) return true;
    this.#jobs = this.#jobs.filter((j) => !j.settled);
    return this.#jobs.length > 0;
  }

  // Closed and nothing left: the workers may go.
  #checkIdle(): void {
    if (this.#state !== 'closed' || this.#stopped || this.#hasWork()) return;
    this.#stopAll();
  }

  #stopAll(): void {
    this.#stopped = true;
    for (const w of this.#workers) {
      try {
        w.tasks.sendSync([STOP], TRY_ONCE);
      } catch {
        // its channel is full or gone: the worker is dying, its watcher sees it
      }
    }
    this.#watchAll();
  }

  // The pool cannot go on: every job fails with err, the workers are told to stop.
  #break(err: Error): void {
    if (this.#broken || this.#state === 'terminated') return;
    this.#broken = err;
    this.#failAll(err);
    this.#stopAll();
  }

  #failAll(err: Error): void {
    const jobs = new Set<Job>(this.#jobs);
    for (const c of this.#chunks.values()) jobs.add(c.job);
    for (const c of this.#retry) jobs.add(c.job);
    for (const w of this.#workers) w.outstanding = 0;
    this.#jobs = [];
    this.#retry = [];
    this.#chunks.clear();
    this.#outstanding = 0;
    this.#recvAbort?.abort();
    for (const j of jobs) j.fail(undefined, err);
  }

  /** No more tasks: the workers exit once the submitted ones are done (then join()). */
  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closed';
    this.#watchAll();
    this.#checkIdle();
  }

  /**
   * Stops the workers now (SIGTERM): what was not finished fails with
   * DRAGON_ERR_POOL_TERMINATED. Resolves once they have exited.
   */
  terminate(): Promise<void> {
    if (this.#state === 'terminated') return this.#closing ?? Promise.resolve();
    this.#state = 'terminated';
    this.#failAll(Errors.poolTerminated('Pool'));
    this.#closing = (async () => {
      await this.#ready;
      const workers = [...this.#workers];
      await Promise.all(
        workers.map(async (w) => {
          try {
            await w.started;
            if (!w.exited) await w.proc.terminate();
          } catch {
            // it ended already
          }
        }),
      );
      this.#watchAll();
      await Promise.all(workers.map((w) => w.exit));
      this.#destroy(this.#results);
    })();
    return this.#closing;
  }

  /** Waits until every worker has exited; call close() or terminate() first. */
  async join(): Promise<void> {
    if (this.#state === 'running' && !this.#broken) {
      throw Errors.poolState('Pool.join', 'the pool is still running', 'Call close() (or terminate()) before join(), as with multiprocessing');
    }
    await this.#ready;
    if (this.#state === 'terminated') return this.#closing;
    this.#watchAll();
    while (this.#workers.size > 0) await Promise.all([...this.#workers].map((w) => w.exit));
    this.#destroy(this.#results);
  }

  /** `await using pool = new Pool()`: terminate() at the end of the block, as Python's `with Pool()` does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  #destroy(ch: Channel): void {
    if (ch.closed) return;
    try {
      ch.destroy();
    } catch {
      // the run-time is ending: teardown frees it
    }
  }
}

function checkTask(task: PoolTask, op: string): { module: string; fn: string | undefined } {
  if (task === null || typeof task !== 'object' || task instanceof URL || task.module === undefined) {
    throw Errors.invalidArgument(op, "a task is { module, fn }, e.g. { module: new URL('./tasks.mjs', import.meta.url), fn: 'square' }");
  }
  if (task.fn !== undefined && (typeof task.fn !== 'string' || task.fn === '')) throw Errors.invalidArgument(op, 'fn must be the name of an export of the module');
  return { module: resolveCached(task.module, op), fn: task.fn };
}

// resolveModule touches the file system: once per module and working directory.
const resolved = new Map<string, string>();
function resolveCached(module: string | URL, op: string): string {
  const key = module instanceof URL ? module.href : `${process.cwd()}\0${String(module)}`;
  let url = resolved.get(key);
  if (url === undefined) resolved.set(key, (url = resolveModule(module, op)));
  return url;
}

// Python's Pool takes no other keyword either; a typo must not be ignored.
function checkOptionNames(options: object, op: string): void {
  const accepted = `it takes ${POOL_OPTIONS.join(', ')}`;
  for (const k of Object.keys(options)) {
    if (POOL_OPTIONS.includes(k)) continue;
    if (k === 'policy') throw Errors.invalidArgument(op, `policy is not supported yet (workers go round-robin over the job's nodes); ${accepted}`);
    throw Errors.invalidArgument(op, `unknown option '${k}'; ${accepted}`);
  }
}

function checkChunksize(chunksize: unknown, op: string): number | undefined {
  if (chunksize === undefined || chunksize === null) return undefined;
  if (!(Number.isSafeInteger(chunksize) && (chunksize as number) >= 1)) {
    throw Errors.invalidArgument(op, `chunksize must be a positive integer, got ${String(chunksize)}`);
  }
  return chunksize as number;
}
