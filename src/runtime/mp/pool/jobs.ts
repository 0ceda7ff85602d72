// What the Pool dispatches: jobs that hand out chunks (a chunk is what one
// worker takes at once: up to chunksize inputs) and receive each chunk's
// results. MapJob: the inputs are known (map, starmap, apply), results
// gathered in order into one Promise. IterJob: imap/imapUnordered, lazy
// over a sync or async iterable, with a bound on the chunks in flight plus
// results the consumer has not taken yet.
import { Errors } from '../../errors/errors.js';

export interface Chunk {
  /** Set when sent (a chunk sent again after its worker died gets a new one). */
  tid: number;
  job: Job;
  /** Index of the chunk in its job, and of its first input. */
  seq: number;
  start: number;
  items: unknown[];
  /** The worker holding it (undefined: not sent). */
  worker: unknown;
}

export interface Job {
  readonly fnId: number;
  readonly star: boolean;
  /** Settled: no more chunks will be used (a chunk of it still in flight is dropped). */
  readonly settled: boolean;
  /** The next chunk; undefined: none now (more may come); null: none ever. */
  nextChunk(): Chunk | undefined | null;
  done(chunk: Chunk, values: unknown[]): void;
  fail(chunk: Chunk | undefined, err: unknown): void;
}

export interface Callbacks<R> {
  /** Called with the result before the Promise resolves (Python's callback); if it throws, the Promise rejects with that. */
  callback?: ((result: R) => void) | undefined;
  /** Called with the error before the Promise rejects (Python's error_callback); the Promise is then marked handled. */
  errorCallback?: ((err: Error) => void) | undefined;
}

const chunk = (job: Job, seq: number, start: number, items: unknown[]): Chunk => ({ tid: 0, job, seq, start, items, worker: undefined });

/** map / starmap / apply: every input known, one Promise for every result (apply: the one result). */
export class MapJob implements Job {
  settled = false;
  readonly promise: Promise<unknown>;
  #resolve!: (v: unknown) => void;
  #reject!: (e: unknown) => void;
  readonly #items: unknown[];
  readonly #chunksize: number;
  readonly #single: boolean;
  readonly #callbacks: Callbacks<unknown>;
  readonly #results: unknown[];
  #pos = 0;
  #seq = 0;
  #left: number;

  constructor(
    readonly fnId: number,
    readonly star: boolean,
    items: unknown[],
    chunksize: number,
    single: boolean,
    callbacks: Callbacks<unknown> = {},
  ) {
    this.#items = items;
    this.#chunksize = chunksize;
    this.#single = single;
    this.#callbacks = callbacks;
    this.#results = new Array(items.length);
    this.#left = Math.ceil(items.length / chunksize);
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (callbacks.errorCallback) this.promise.catch(() => undefined);
    if (this.#left === 0) this.#finish();
  }

  nextChunk(): Chunk | null {
    if (this.settled || this.#pos >= this.#items.length) return null;
    const start = this.#pos;
    const cs = this.#chunksize;
    const items = cs === 1 ? [this.#items[start]] : this.#items.slice(start, start + cs);
    this.#pos += items.length;
    return chunk(this, this.#seq++, start, items);
  }

  done(c: Chunk, values: unknown[]): void {
    if (this.settled) return;
    const r = this.#results;
    for (let i = 0, j = c.start; i < values.length; i++, j++) r[j] = values[i];
    if (--this.#left === 0) this.#finish();
  }

  fail(_c: Chunk | undefined, err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    try {
      this.#callbacks.errorCallback?.(err as Error);
    } catch (thrown) {
      // like a throwing event listener: an uncaught exception (never the pool's problem)
      queueMicrotask(() => {
        throw thrown;
      });
    }
    this.#reject(err);
  }

  // A callback that throws rejects the Promise with what it threw.
  #finish(): void {
    this.settled = true;
    const value = this.#single ? this.#results[0] : this.#results;
    try {
      this.#callbacks.callback?.(value);
    } catch (thrown) {
      return this.#reject(thrown);
    }
    this.#resolve(value);
  }
}

// ---- lazy inputs ----------------------------------------------------------

/** Items of a sync or async iterable, taken a chunk at a time, never read ahead of need. */
interface Source {
  /** Up to n items; undefined: not yet (wake() is called when there are); null: the input ended. Throws the input's error. */
  take(n: number): unknown[] | undefined | null;
  close(): void;
}

class SyncSource implements Source {
  #ended = false;
  constructor(readonly it: Iterator<unknown>) {}

  take(n: number): unknown[] | null {
    if (this.#ended) return null;
    const items: unknown[] = [];
    while (items.length < n) {
      const r = this.it.next();
      if (r.done) {
        this.#ended = true;
        break;
      }
      items.push(r.value);
    }
    return items.length > 0 ? items : null;
  }

  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.it.return?.();
    } catch {
      // the consumer stopped: an error closing the input changes nothing
    }
  }
}

class AsyncSource implements Source {
  #buffer: unknown[] = [];
  #ended = false;
  #closed = false;
  #error: { err: unknown } | undefined;
  #reading = false;

  constructor(
    readonly it: AsyncIterator<unknown>,
    readonly wake: () => void,
  ) {}

  take(n: number): unknown[] | undefined | null {
    if (this.#buffer.length >= n || (this.#ended && this.#buffer.length > 0)) return this.#buffer.splice(0, n);
    if (this.#error) {
      const { err } = this.#error;
      this.#error = undefined;
      throw err;
    }
    if (this.#ended) return null;
    if (!this.#reading) void this.#read(n);
    return undefined;
  }

  async #read(n: number): Promise<void> {
    this.#reading = true;
    try {
      while (this.#buffer.length < n && !this.#closed) {
        const r = await this.it.next();
        if (r.done) {
          this.#ended = true;
          break;
        }
        this.#buffer.push(r.value);
      }
    } catch (err) {
      this.#error = { err };
      this.#ended = true;
    } finally {
      this.#reading = false;
    }
    if (!this.#closed) this.wake();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    if (this.#ended) return;
    this.#ended = true;
    this.it.return?.()?.then(undefined, () => undefined);
  }
}

export function sourceOf(input: Iterable<unknown> | AsyncIterable<unknown>, wake: () => void, op: string): Source {
  const i = input as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
  if (i != null && typeof i[Symbol.asyncIterator] === 'function') return new AsyncSource(i[Symbol.asyncIterator]!(), wake);
  if (i != null && typeof i[Symbol.iterator] === 'function') return new SyncSource(i[Symbol.iterator]!());
  throw Errors.invalidArgument(op, 'inputs must be an iterable (an array, a generator...) or an async iterable');
}

// ---- imap / imapUnordered -----------------------------------------------------

type Outcome = { ok: true; values: unknown[] } | { ok: false; err: unknown };

/** A lazy job whose results are consumed as an async iterator. */
export class IterJob implements Job, AsyncIterableIterator<unknown> {
  settled = false;
  readonly #source: Source;
  readonly #chunksize: number;
  readonly #ordered: boolean;
  /** Chunks sent and not answered, plus answered and not consumed, at most this many. */
  readonly #limit: number;
  readonly #wake: () => void;
  #seq = 0;
  #inflight = 0;
  #inputEnded = false;
  /** ordered: outcome by chunk seq; unordered: in arrival order. */
  readonly #bySeq = new Map<number, Outcome>();
  readonly #arrived: Outcome[] = [];
  #nextSeq = 0;
  /** Values of the chunk being consumed. */
  #current: unknown[] = [];
  #at = 0;
  #waiting: (() => void) | undefined;
  #fatal: { err: unknown } | undefined;

  constructor(
    readonly fnId: number,
    readonly star: boolean,
    input: Iterable<unknown> | AsyncIterable<unknown>,
    chunksize: number,
    ordered: boolean,
    limit: number,
    wake: () => void,
    op: string,
  ) {
    this.#wake = wake;
    this.#source = sourceOf(input, () => wake(), op);
    this.#chunksize = chunksize;
    this.#ordered = ordered;
    this.#limit = limit;
  }

  /** The consumer's side: the next result (in input order for imap). */
  next(): Promise<IteratorResult<unknown>> {
    return this.#consume();
  }

  nextChunk(): Chunk | undefined | null {
    if (this.settled || this.#inputEnded) return null;
    if (this.#inflight + this.#bySeq.size + this.#arrived.length >= this.#limit) return undefined;
    let items: unknown[] | undefined | null;
    try {
      items = this.#source.take(this.#chunksize);
    } catch (err) {
      // the input's error comes out where the input stopped
      this.#inputEnded = true;
      this.#put(this.#seq++, { ok: false, err });
      return null;
    }
    if (items === undefined) return undefined;
    if (items === null) {
      this.#inputEnded = true;
      this.#notify();
      return null;
    }
    const seq = this.#seq++;
    this.#inflight++;
    return chunk(this, seq, seq * this.#chunksize, items);
  }

  done(c: Chunk, values: unknown[]): void {
    if (this.settled) return;
    this.#inflight--;
    this.#put(c.seq, { ok: true, values });
  }

  fail(c: Chunk | undefined, err: unknown): void {
    if (this.settled) return;
    if (c === undefined) {
      // the whole job (the pool was terminated or broke): the consumer's next read throws
      this.#inputEnded = true;
      this.#inflight = 0;
      this.#fatal = { err };
      this.#notify();
      return;
    }
    this.#inflight--;
    this.#put(c.seq, { ok: false, err });
  }

  #put(seq: number, o: Outcome): void {
    if (this.#ordered) this.#bySeq.set(seq, o);
    else this.#arrived.push(o);
    this.#notify();
  }

  #notify(): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.();
  }

  async #consume(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.settled) return { done: true, value: undefined };
      if (this.#fatal) {
        this.#end();
        throw this.#fatal.err;
      }
      if (this.#at < this.#current.length) {
        const value = this.#current[this.#at++];
        if (this.#at === this.#current.length) {
          this.#current = [];
          this.#at = 0;
        }
        return { done: false, value };
      }
      let o: Outcome | undefined;
      if (this.#ordered) {
        o = this.#bySeq.get(this.#nextSeq);
        if (o) this.#bySeq.delete(this.#nextSeq++);
      } else {
        o = this.#arrived.shift();
      }
      if (o) {
        this.#wake(); // room for another chunk
        if (!o.ok) {
          this.#end();
          throw o.err;
        }
        this.#current = o.values;
        this.#at = 0;
        continue;
      }
      if (this.#inputEnded && this.#inflight === 0 && this.#bySeq.size === 0 && this.#arrived.length === 0) {
        this.#end();
        return { done: true, value: undefined };
      }
      this.#wake();
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  return(): Promise<IteratorResult<unknown>> {
    this.#end();
    return Promise.resolve({ done: true, value: undefined });
  }

  // Stops the job: no more chunks, in-flight results dropped, the input closed.
  #end(): void {
    if (this.settled) return;
    this.settled = true;
    this.#source.close();
    this.#bySeq.clear();
    this.#arrived.length = 0;
    this.#current = [];
    this.#notify();
    this.#wake();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
