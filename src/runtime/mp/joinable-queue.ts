// JoinableQueue<T>: a Queue that counts unfinished items, as Python's
// multiprocessing.JoinableQueue: put() counts one up before the item can be
// seen, taskDone() counts one down, join() waits until the count is zero.
// The count works across processes and nodes: four sync objects of the
// queue's pool (all carried by the transport), where Python uses a
// Semaphore and a Condition:
//   lock   serialises "change the count + update the flag" (put, taskDone);
//   puts, dones  two Semaphores that only ever count up (release): the
//          items put and the taskDone() calls; unfinished = puts - dones.
//          (Not one semaphore counted down by taskDone: a semaphore unit
//          taken by a process is given back when that process exits, the
//          run-time's reclaim, which would undo the worker's taskDone calls.)
//   done   an Event, set exactly while nothing is unfinished (join waits on it).
// Without the lock a taskDone() that brought the count to zero could set
// `done` after a concurrent put() counted up again, and join() would return
// with an item unfinished.
import { registerTransferable } from '../core/codec/codec.js';
import { Errors } from '../errors/errors.js';
import { Event } from '../core/sync/event.js';
import { Lock } from '../core/sync/lock.js';
import { Semaphore } from '../core/sync/semaphore.js';
import type { WaitOptions } from '../core/timeout.js';
import { defaultPool } from '../core/memory/default-pool.js';
import { Queue, attachParts, withParts, type QueueOptions, type QueueWaitOptions } from './queue.js';

const KIND = 41;

interface Counting {
  lock: Lock;
  puts: Semaphore;
  dones: Semaphore;
  done: Event;
}
let attachingCounting: Counting | undefined;

export class JoinableQueue<T = unknown> extends Queue<T> {
  protected override readonly what: string = 'JoinableQueue';
  readonly #lock: Lock;
  readonly #puts: Semaphore;
  readonly #dones: Semaphore;
  readonly #done: Event;

  constructor(options?: QueueOptions) {
    super(options);
    const parts = attachingCounting;
    attachingCounting = undefined;
    if (parts) {
      this.#lock = parts.lock;
      this.#puts = parts.puts;
      this.#dones = parts.dones;
      this.#done = parts.done;
      return;
    }
    const pool = options?.pool ?? defaultPool();
    const made: { destroy(): void }[] = [];
    try {
      this.#lock = Lock.create({ pool });
      made.push(this.#lock);
      this.#puts = Semaphore.create({ pool, value: 0 });
      made.push(this.#puts);
      this.#dones = Semaphore.create({ pool, value: 0 });
      made.push(this.#dones);
      this.#done = Event.create({ pool, set: true });
    } catch (err) {
      for (const m of made) m.destroy();
      this.channel.destroy();
      throw err;
    }
  }

  static override attach<T = unknown>(desc: Uint8Array): JoinableQueue<T> {
    const op = 'JoinableQueue.attach';
    const parts = attachParts(desc, KIND, 'JoinableQueue', op);
    if (parts.rest.length !== 4) {
      parts.channel.detach();
      throw Errors.badCompositeDescriptor(op, `${parts.rest.length + 1} parts, a JoinableQueue has 5`);
    }
    const attached: { detach(): void }[] = [parts.channel];
    try {
      const lock = Lock.attach(parts.rest[0]!);
      attached.push(lock);
      const puts = Semaphore.attach(parts.rest[1]!);
      attached.push(puts);
      const dones = Semaphore.attach(parts.rest[2]!);
      attached.push(dones);
      const done = Event.attach(parts.rest[3]!);
      attachingCounting = { lock, puts, dones, done };
      return withParts(parts, () => new JoinableQueue<T>());
    } catch (err) {
      attachingCounting = undefined;
      for (const a of attached) a.detach();
      throw err;
    }
  }

  override async put(item: T, options?: QueueWaitOptions): Promise<void> {
    if (this.closed) return super.put(item, options);
    await this.#lock.acquire();
    this.#countUp();
    try {
      await super.put(item, options);
    } catch (err) {
      // Full, aborted, closed: the item never entered the queue
      this.#countDownSync();
      throw err;
    }
  }

  override putSync(item: T, options?: { timeout?: number }): void {
    if (this.closed) return super.putSync(item, options);
    this.#lock.acquireSync();
    this.#countUp();
    try {
      super.putSync(item, options);
    } catch (err) {
      this.#countDownSync();
      throw err;
    }
  }

  override putNowait(item: T): void {
    if (this.closed) return super.putNowait(item);
    this.#lock.acquireSync();
    this.#countUp();
    try {
      super.putNowait(item);
    } catch (err) {
      this.#countDownSync();
      throw err;
    }
  }

  // With the lock held: count one up and clear `done`, then release.
  #countUp(): void {
    try {
      this.#done.clear();
      this.#puts.release();
    } finally {
      this.#lock.release();
    }
  }

  /**
   * Marks one item taken with get() as processed. Throws (code
   * DRAGON_ERR_VALUE, Python's ValueError) when called more times than
   * items were put.
   */
  taskDone(): void {
    if (!this.#countDownSync()) throw Errors.taskDoneTooOften('JoinableQueue.taskDone');
  }

  // Counts one down under the lock and sets `done` at zero; false when the count was already zero.
  #countDownSync(): boolean {
    this.#lock.acquireSync();
    try {
      const dones = this.#dones.getValue();
      const puts = this.#puts.getValue();
      if (dones >= puts) return false;
      this.#dones.release();
      if (dones + 1 === puts) this.#done.set();
      return true;
    } finally {
      this.#lock.release();
    }
  }

  /**
   * Resolves true once every item put has been marked done (taskDone), false
   * when `timeout` (ms) passed first. A count that touches zero and goes up
   * again before this process looks may be missed (join then waits for the
   * next time it reaches zero).
   */
  join(options?: WaitOptions): Promise<boolean> {
    return this.#done.wait(options);
  }

  /** join(), blocking the thread. */
  joinSync(options?: { timeout?: number }): boolean {
    return this.#done.waitSync(options);
  }

  /** Items put and not yet marked done. */
  unfinishedTasks(): number {
    const dones = this.#dones.getValue();
    return this.#puts.getValue() - dones;
  }

  protected override get transferKind(): number {
    return KIND;
  }

  protected override extraParts(): Uint8Array[] {
    return [this.#lock.serialize(), this.#puts.serialize(), this.#dones.serialize(), this.#done.serialize()];
  }

  protected override closeParts(how: 'detached' | 'destroyed'): void {
    let first: unknown;
    for (const part of [() => super.closeParts(how), this.#lock, this.#puts, this.#dones, this.#done]) {
      try {
        if (typeof part === 'function') part();
        else if (how === 'destroyed') part.destroy();
        else part.detach();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}

registerTransferable(KIND, JoinableQueue.prototype, (desc) => JoinableQueue.attach(desc));
