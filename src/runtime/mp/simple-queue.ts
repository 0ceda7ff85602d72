// SimpleQueue<T>: Python's multiprocessing.SimpleQueue, an unbounded queue
// with only put, get, empty and close. It is a Queue underneath (same
// channel, same feeder: put never waits), with the smaller surface.
import { registerTransferable } from '../core/codec/codec.js';
import type { MemoryPool } from '../core/memory/pool.js';
import { Queue, attachParts, withParts, type QueueWaitOptions } from './queue.js';
import { withKind } from '../core/codec/composite-descriptor.js';

const KIND = 42;

export interface SimpleQueueOptions {
  /** Where the queue lives; default: the node's default pool. */
  pool?: MemoryPool;
}

let attaching: Queue<unknown> | undefined;

// The Queue underneath, under this name in its error messages.
class SimpleQueueCore<T> extends Queue<T> {
  protected override readonly what: string = 'SimpleQueue';
}

export class SimpleQueue<T = unknown> implements Disposable {
  readonly #q: Queue<T>;

  constructor(options?: SimpleQueueOptions) {
    const q = attaching;
    attaching = undefined;
    this.#q = (q as Queue<T> | undefined) ?? new SimpleQueueCore<T>({ pool: options?.pool });
  }

  static attach<T = unknown>(desc: Uint8Array): SimpleQueue<T> {
    const parts = attachParts(desc, KIND, 'SimpleQueue', 'SimpleQueue.attach');
    attaching = withParts({ channel: parts.channel, maxsize: 0 }, () => new SimpleQueueCore<unknown>());
    return new SimpleQueue<T>();
  }

  serialize(): Uint8Array {
    return withKind(this.#q.serialize(), KIND);
  }

  /** Puts an item; never waits (the item may wait in this process until the queue has room). */
  put(item: T): Promise<void> {
    return this.#q.put(item);
  }

  putSync(item: T): void {
    this.#q.putSync(item);
  }

  /** Takes the next item, waiting for one (a timeout rejects with Empty). */
  get(options?: QueueWaitOptions): Promise<T> {
    return this.#q.get(options);
  }

  getSync(options?: { timeout?: number }): T {
    return this.#q.getSync(options);
  }

  empty(): boolean {
    return this.#q.empty();
  }

  /** This process puts and gets no more through this handle. */
  close(): void {
    this.#q.close();
  }

  get closed(): boolean {
    return this.#q.closed;
  }

  /** Resolves once every item put through this handle is in the queue. */
  joinThread(): Promise<void> {
    return this.#q.joinThread();
  }

  detach(): void {
    this.#q.detach();
  }

  destroy(): void {
    this.#q.destroy();
  }

  [Symbol.dispose](): void {
    this.#q[Symbol.dispose]();
  }
}

registerTransferable(KIND, SimpleQueue.prototype, (desc) => SimpleQueue.attach(desc));
