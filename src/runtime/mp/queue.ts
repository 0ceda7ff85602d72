// Queue<T>: Python's multiprocessing.Queue on a Channel. Every process of
// the run-time, on any node, can put and get (a queue of another node goes
// through the transport like its channel).
//   maxsize > 0: bounded. The channel holds exactly maxsize items, so
//     full()/Full are exact across processes; put() waits for room.
//   maxsize <= 0 / absent: unbounded, as in Python, where put() never
//     blocks (a feeder thread buffers). The channel has a fixed capacity
//     (QUEUE_CAPACITY); when it is full, put() keeps the encoded item in a
//     FIFO of this handle. Each later put() first moves waiting items into
//     the channel while it has room (synchronously: a producer putting in a
//     loop without turning the event loop keeps the channel fed), and an
//     async pump, started when the event loop turns, moves the rest as room
//     appears (a free slot and, for an item larger than a slot, pool
//     memory for it). While the pump has items the event loop stays alive (its
//     wait for room holds it), like Python joining its feeder thread at
//     exit. Items of one handle arrive in the order they were put.
import { Channel } from '../core/channel/channel.js';
import { encode, encoded, registerTransferable } from '../core/codec/codec.js';
import { Errors, type DragonError } from '../errors/errors.js';
import type { MemoryPool } from '../core/memory/pool.js';
import { timeoutMs, type WaitOptions } from '../core/timeout.js';
import { defaultPool } from '../core/memory/default-pool.js';
import { packDescriptor, unpackDescriptor } from '../core/codec/composite-descriptor.js';

export interface QueueOptions {
  /** Items the queue holds before put() waits; <= 0 or absent: unbounded (put never waits). */
  maxsize?: number;
  /** Where the queue lives; default: the node's default pool (defaultPool()). */
  pool?: MemoryPool;
}

/** Timeout in ms (absent: for ever; 0: try once) and an AbortSignal. */
export type QueueWaitOptions = WaitOptions;

/**
 * Slots of an unbounded queue's channel. 128 slots of 1 KiB (128 KiB of
 * the pool, about a Linux pipe's 64 KiB buffer that Python's feeder writes
 * into, times two): a producer runs that far ahead of a slow consumer
 * before items wait in its own memory; it keeps a burst of small items
 * flowing without waking the producer, and many queues still fit in a
 * small default pool.
 */
export const QUEUE_CAPACITY = 128;
/** Bytes of an item stored in the channel slot itself; larger ones travel as a pool allocation. */
const BLOCK_BYTES = 1024;
/** A bounded queue's slots take at most this much of the pool (blocks shrink for a large maxsize). */
const MAX_SLOT_BYTES = 4 << 20;
const KIND = 40;
/** At most this many puts go by without a flush attempt while the channel stays full. */
const MAX_SKIP = 16;
const ZERO: WaitOptions = { timeout: 0 };
const DONE: Promise<void> = Promise.resolve();
const TIMEOUT = 'DRAGON_ERR_TIMEOUT';

/** @internal What attach() hands the constructor. */
export interface QueueParts {
  channel: Channel;
  maxsize: number;
}
let attaching: QueueParts | undefined;

/** @internal Builds a queue object around parts instead of creating new ones. */
export function withParts<R>(parts: QueueParts, build: () => R): R {
  attaching = parts;
  try {
    return build();
  } finally {
    attaching = undefined;
  }
}

export class Queue<T = unknown> implements Disposable {
  /** @internal */
  protected readonly channel: Channel;
  /** The maxsize given at creation; 0 = unbounded. */
  readonly maxsize: number;
  readonly #created: boolean;
  #closed = false;
  #state: 'open' | 'detached' | 'destroyed' = 'open';
  /** Set by detach() while the pump still has items: detach once they are sent. */
  #detachWhenFlushed = false;
  // The feeder of an unbounded queue: encoded items not in the channel yet.
  #fifo: (Uint8Array | undefined)[] = [];
  #head = 0;
  #pump: Promise<void> | undefined;
  #pumping = false;
  /** Puts left before the next flush attempt: a full channel is tried less and less often (up to every MAX_SKIP-th put). */
  #skip = 0;
  #skipNext = 0;
  /** Aborts the pump's wait for room once puts emptied the FIFO by themselves. */
  #pumpWait: AbortController | undefined;
  #feedError: unknown;
  /** @internal What the error messages call it. */
  protected readonly what: string = 'Queue';

  constructor(options?: QueueOptions) {
    const parts = attaching;
    attaching = undefined;
    if (parts) {
      this.channel = parts.channel;
      this.maxsize = parts.maxsize;
      this.#created = false;
      return;
    }
    const op = `${new.target.name}`;
    const maxsize = options?.maxsize ?? 0;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize > 0x7fffffff) {
      throw Errors.invalidArgument(op, `maxsize must be an integer (<= 0: unbounded), got ${String(maxsize)}`);
    }
    this.maxsize = maxsize > 0 ? maxsize : 0;
    const capacity = this.maxsize || QUEUE_CAPACITY;
    // a large maxsize gets smaller slots (bigger items then travel as allocations)
    const blockSize = Math.max(64, Math.min(BLOCK_BYTES, Math.floor(MAX_SLOT_BYTES / capacity / 8) * 8));
    this.channel = Channel.create({ pool: options?.pool ?? defaultPool(), capacity, blockSize });
    this.#created = true;
  }

  /** Attaches a queue from the bytes serialize() gave (objects passed to a Process or through a queue attach by themselves). */
  static attach<T = unknown>(desc: Uint8Array): Queue<T> {
    return withParts(attachParts(desc, KIND, 'Queue', 'Queue.attach'), () => new Queue<T>());
  }

  /** The descriptor another process passes to Queue.attach(). */
  serialize(): Uint8Array {
    this.#live('serialize');
    return packDescriptor(this.transferKind, [this.maxsize], [this.channel.serialize(), ...this.extraParts()]);
  }

  // ---- put ------------------------------------------------------------------

  /**
   * Puts an item. Unbounded: resolves at once (the item may wait in this
   * process until the channel has room). Bounded: waits for room; rejects
   * with Full when `timeout` (ms) passes first.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    const op = `${this.what}.put`;
    try {
      this.#usable(op);
      if (this.maxsize === 0) {
        if (options?.signal?.aborted) throw Errors.aborted(op, options.signal.reason);
        this.#feed(item, op);
        return DONE;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const p = this.channel.send(item, options);
    if (options?.timeout === undefined) return p;
    return p.catch((err) => {
      throw this.#full(err, op, options.timeout);
    });
  }

  /** put(), blocking the thread while a bounded queue is full. */
  putSync(item: T, options?: { timeout?: number }): void {
    const op = `${this.what}.putSync`;
    this.#usable(op);
    if (this.maxsize === 0) return this.#feed(item, op);
    try {
      this.channel.sendSync(item, options);
    } catch (err) {
      throw this.#full(err, op, options?.timeout);
    }
  }

  /** Puts without waiting: Full when a bounded queue has no room (an unbounded one always takes it). */
  putNowait(item: T): void {
    const op = `${this.what}.putNowait`;
    this.#usable(op);
    if (this.maxsize === 0) return this.#feed(item, op);
    try {
      this.channel.sendSync(item, ZERO);
    } catch (err) {
      throw this.#full(err, op, 0);
    }
  }

  // An unbounded put: straight into the channel when nothing of this handle
  // waits and there is room; else behind the items waiting in the FIFO.
  // Every put first moves waiting items into the channel while it has room
  // (synchronously: a producer that puts in a loop without turning the
  // event loop keeps the channel fed, as Python's feeder thread does).
  #feed(item: T, op: string): void {
    if (this.#feedError !== undefined) throw this.#feedError;
    const ch = this.channel;
    if (ch.remoteNode === undefined) {
      if (this.#head < this.#fifo.length) {
        if (this.#skip > 0) this.#skip--;
        else {
          try {
            this.#flush(op);
          } catch (err) {
            // the channel is gone: the items waiting cannot be delivered
            this.#feedError = err;
            throw err;
          }
        }
      }
      if (this.#head === this.#fifo.length) {
        if (ch.trySendSync(item, op)) return;
        // Full: the item is encoded in `encoded`; take those bytes (encoding
        // again would serialize the Dragon objects in it twice).
        this.#fifo.push(copyEncoded());
      } else {
        this.#fifo.push(encodeCopy(item, op));
      }
    } else {
      this.#fifo.push(encodeCopy(item, op));
    }
    if (!this.#pumping) {
      // The pump starts once the event loop turns: a producer putting in a
      // loop flushes by itself, and a put() never spins on a full channel.
      // (The flag, not the promise, says whether it runs.)
      this.#pumping = true;
      this.#pump = this.#runPump();
    }
  }

  // Moves waiting items into a local channel while it has room (sync: no
  // await between the attempt and the FIFO update, so an item is sent once).
  // A flush that finds the channel still full makes the puts after it wait
  // longer before trying again (each try is a native call).
  #flush(op: string): void {
    const ch = this.channel;
    const fifo = this.#fifo;
    const from = this.#head;
    let head = from;
    while (head < fifo.length && ch.trySendBytesSync(fifo[head]!, op)) fifo[head++] = undefined;
    if (head === from) {
      this.#skipNext = this.#skipNext === 0 ? 1 : Math.min(MAX_SKIP, this.#skipNext * 2);
      this.#skip = this.#skipNext;
    } else {
      this.#skipNext = 0;
    }
    if (head === fifo.length) {
      fifo.length = 0;
      head = 0;
      // nothing left for the pump: it stops waiting (and holding the event loop)
      this.#pumpWait?.abort();
    } else if (head > 1024 && head * 2 > fifo.length) {
      fifo.splice(0, head);
      head = 0;
    }
    this.#head = head;
  }

  async #runPump(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const ch = this.channel;
    const fifo = this.#fifo;
    const local = ch.remoteNode === undefined;
    while (this.#head < fifo.length && this.#state === 'open') {
      try {
        if (local) {
          this.#flush(`${this.what}.put`);
          // The channel is full, or the pool has no memory for the item:
          // wait for room for it (a free slot and, for a large item, a free
          // block; puts meanwhile flush too). Waiting for a slot alone would
          // spin while memory is what is missing.
          if (this.#head < fifo.length) {
            const wait = (this.#pumpWait = new AbortController());
            try {
              await ch.waitSendable(fifo[this.#head]!.length, { signal: wait.signal });
            } catch (err) {
              if (!wait.signal.aborted) throw err;
            } finally {
              this.#pumpWait = undefined;
            }
          }
        } else {
          // the bytes are an encoded value: the receiver's recv() decodes them
          await ch.sendBytes(fifo[this.#head]!);
          fifo[this.#head++] = undefined;
          if (this.#head > 1024 && this.#head * 2 > fifo.length) {
            fifo.splice(0, this.#head);
            this.#head = 0;
          }
        }
      } catch (err) {
        // the channel is gone (destroyed, detached, its node lost): the
        // items left cannot be delivered; the next put() says why
        if (this.#state === 'open') this.#feedError = err;
        break;
      }
    }
    fifo.length = 0;
    this.#head = 0;
    this.#pumping = false;
    if (this.#detachWhenFlushed && this.#state === 'open') this.#closeHandle('detached');
  }

  /** Resolves once every item put through this handle is in the channel (Python's join_thread()). */
  async joinThread(): Promise<void> {
    while (this.#pumping) await this.#pump;
  }

  // ---- get ------------------------------------------------------------------

  /** Takes the next item, waiting for one; rejects with Empty when `timeout` (ms) passes first. */
  get(options?: QueueWaitOptions): Promise<T> {
    if (this.#closed || this.#state !== 'open') return Promise.reject(this.#unusable(`${this.what}.get`));
    const p = this.channel.recv<T>(options);
    if (options?.timeout === undefined) return p;
    return p.catch((err) => {
      throw this.#empty(err, `${this.what}.get`, options.timeout);
    });
  }

  /** get(), blocking the thread. */
  getSync(options?: { timeout?: number }): T {
    const op = `${this.what}.getSync`;
    this.#usable(op);
    try {
      return this.channel.recvSync<T>(options);
    } catch (err) {
      throw this.#empty(err, op, options?.timeout);
    }
  }

  /** Takes an item if one is there, else throws Empty. */
  getNowait(): T {
    const op = `${this.what}.getNowait`;
    this.#usable(op);
    try {
      return this.channel.recvSync<T>(ZERO);
    } catch (err) {
      throw this.#empty(err, op, 0);
    }
  }

  // ---- state ----------------------------------------------------------------

  /** Items in the queue, plus those this handle put that still wait to enter it. Approximate while others put and get. */
  qsize(): number {
    this.#live('qsize');
    return this.channel.count() + (this.#fifo.length - this.#head);
  }

  empty(): boolean {
    this.#live('empty');
    return this.channel.count() + (this.#fifo.length - this.#head) === 0;
  }

  /** Whether a bounded queue is at maxsize (an unbounded one is never full). */
  full(): boolean {
    this.#live('full');
    return this.maxsize > 0 && this.channel.count() >= this.maxsize;
  }

  /** This process puts and gets no more through this handle; items it put still reach the queue. */
  close(): void {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed || this.#state !== 'open';
  }

  /** Closes this process's handle, once the items it put are in the queue; the queue lives on. */
  detach(): void {
    this.#live('detach');
    this.#closed = true;
    if (this.#pumping) this.#detachWhenFlushed = true;
    else this.#closeHandle('detached');
  }

  /** Frees the queue for every process (items not yet received are lost). */
  destroy(): void {
    this.#live('destroy');
    this.#closed = true;
    this.#closeHandle('destroyed');
  }

  /** Destroys a queue this handle created, detaches one it attached. */
  [Symbol.dispose](): void {
    if (this.#state !== 'open' || this.#detachWhenFlushed) return;
    if (this.#created) this.destroy();
    else this.detach();
  }

  /** @internal The transfer kind (a subclass has its own). */
  protected get transferKind(): number {
    return KIND;
  }

  /** @internal Descriptors of a subclass's own parts, after the channel's. */
  protected extraParts(): Uint8Array[] {
    return [];
  }

  /** @internal Closes the parts (a subclass adds its own). */
  protected closeParts(how: 'detached' | 'destroyed'): void {
    if (how === 'destroyed') this.channel.destroy();
    else this.channel.detach();
  }

  #closeHandle(how: 'detached' | 'destroyed'): void {
    this.#state = how;
    this.#fifo.length = 0;
    this.#head = 0;
    this.closeParts(how);
  }

  #usable(op: string): void {
    if (this.#closed || this.#state !== 'open') throw this.#unusable(op);
  }

  #unusable(op: string): Error {
    if (this.#state !== 'open') return Errors.closed(this.what, op, this.#state);
    return Errors.queueClosed(this.what, op);
  }

  #live(op: string): void {
    if (this.#state !== 'open' || this.#detachWhenFlushed) throw Errors.closed(this.what, `${this.what}.${op}`, this.#detachWhenFlushed ? 'detached' : this.#state);
  }

  #full(err: unknown, op: string, timeout: number | undefined): unknown {
    if ((err as DragonError)?.code !== TIMEOUT) return err;
    return Errors.queueFull(op, this.maxsize, timeoutMs(op, timeout));
  }

  #empty(err: unknown, op: string, timeout: number | undefined): unknown {
    if ((err as DragonError)?.code !== TIMEOUT) return err;
    return Errors.queueEmpty(op, timeoutMs(op, timeout));
  }
}

// An encoded item of its own (the FIFO keeps it past the next encode).
function encodeCopy(item: unknown, op: string): Uint8Array {
  encode(item, op);
  return copyEncoded();
}

// (Buffer#slice would be a view on the shared scratch: copy.)
function copyEncoded(): Uint8Array {
  return Uint8Array.prototype.slice.call(encoded.buf, 0, encoded.len);
}

/** @internal The channel and maxsize of a Queue-shaped descriptor (kinds 40-42). */
export function attachParts(desc: Uint8Array, kind: number, what: string, op: string): QueueParts & { rest: Uint8Array[] } {
  const { ints, parts } = unpackDescriptor(desc, kind, what, op);
  if (ints.length < 1 || parts.length < 1) throw Errors.badCompositeDescriptor(op, 'parts missing');
  return { channel: Channel.attach(parts[0]!), maxsize: ints[0]!, rest: parts.slice(1) };
}

registerTransferable(KIND, Queue.prototype, (desc) => Queue.attach(desc));
