// JoinableQueue<T>: a Queue that counts unfinished items, as Python's
// multiprocessing.JoinableQueue: put() counts one up before the item can be
// seen, taskDone() counts one down, join() waits until the count is zero.
// The count works across processes and nodes: sync objects of the queue's
// pool (all carried by the transport), as Python's Semaphore and Condition:
//   puts, dones  two Semaphores that only ever count up (release): the
//          items put and the taskDone() calls; unfinished = puts - dones.
//          (Not one semaphore counted down by taskDone: a semaphore unit
//          taken by a process is given back when that process exits, the
//          run-time's reclaim, which would undo the worker's taskDone calls.)
//   cond   a Condition on a Lock: the lock serialises "change the count"
//          (put, taskDone) and join's look at it; the taskDone() that
//          brings the count to zero notifies every joiner.
// A joiner that was notified returns even when a put() counted up again
// before it ran (Python's join does too): a brief zero is not missed, as it
// would be by a flag that the next put() clears.
import { registerTransferable } from '../core/codec/codec.js';
import { Errors } from '../errors/errors.js';
import { Condition } from '../core/sync/condition.js';
import { Lock } from '../core/sync/lock.js';
import { Semaphore } from '../core/sync/semaphore.js';
import type { WaitOptions } from '../core/timeout.js';
import { defaultPool } from '../core/memory/default-pool.js';
import { Queue, attachParts, withParts, type QueueOptions, type QueueWaitOptions } from './queue.js';

const KIND = 41;

interface Counting {
  puts: Semaphore;
  dones: Semaphore;
  cond: Condition;
}
let attachingCounting: Counting | undefined;

export class JoinableQueue<T = unknown> extends Queue<T> {
  protected override readonly what: string = 'JoinableQueue';
  readonly #puts: Semaphore;
  readonly #dones: Semaphore;
  readonly #cond: Condition;
  /** The lock of #cond when this handle created it (an attached one goes with #cond). */
  readonly #ownLock: Lock | undefined;

  constructor(options?: QueueOptions) {
    super(options);
    const parts = attachingCounting;
    attachingCounting = undefined;
    if (parts) {
      this.#puts = parts.puts;
      this.#dones = parts.dones;
      this.#cond = parts.cond;
      this.#ownLock = undefined;
      return;
    }
    const pool = options?.pool ?? defaultPool();
    const made: { destroy(): void }[] = [];
    try {
      this.#puts = Semaphore.create({ pool, value: 0 });
      made.push(this.#puts);
      this.#dones = Semaphore.create({ pool, value: 0 });
      made.push(this.#dones);
      this.#ownLock = Lock.create({ pool });
      made.push(this.#ownLock);
      this.#cond = Condition.create({ pool, lock: this.#ownLock });
    } catch (err) {
      for (const m of made) m.destroy();
      this.channel.destroy();
      throw err;
    }
  }

  static override attach<T = unknown>(desc: Uint8Array): JoinableQueue<T> {
    const op = 'JoinableQueue.attach';
    const parts = attachParts(desc, KIND, 'JoinableQueue', op);
    if (parts.rest.length !== 3) {
      parts.channel.detach();
      throw Errors.badCompositeDescriptor(op, `${parts.rest.length + 1} parts, a JoinableQueue has 4`);
    }
    const attached: { detach(): void }[] = [parts.channel];
    try {
      const puts = Semaphore.attach(parts.rest[0]!);
      attached.push(puts);
      const dones = Semaphore.attach(parts.rest[1]!);
      attached.push(dones);
      const cond = Condition.attach(parts.rest[2]!);
      attachingCounting = { puts, dones, cond };
      return withParts(parts, () => new JoinableQueue<T>());
    } catch (err) {
      attachingCounting = undefined;
      for (const a of attached) a.detach();
      throw err;
    }
  }

  override async put(item: T, options?: QueueWaitOptions): Promise<void> {
    if (this.closed) return super.put(item, options);
    await this.#cond.acquire();
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
    this.#cond.acquireSync();
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
    this.#cond.acquireSync();
    this.#countUp();
    try {
      super.putNowait(item);
    } catch (err) {
      this.#countDownSync();
      throw err;
    }
  }

  // With the lock held: count one up, then release.
  #countUp(): void {
    try {
      this.#puts.release();
    } finally {
      this.#cond.release();
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

  // Counts one down under the lock and notifies the joiners at zero; false when the count was already zero.
  #countDownSync(): boolean {
    this.#cond.acquireSync();
    try {
      const dones = this.#dones.getValue();
      const puts = this.#puts.getValue();
      if (dones >= puts) return false;
      this.#dones.release();
      if (dones + 1 === puts) this.#cond.notifyAll();
      return true;
    } finally {
      this.#cond.release();
    }
  }

  /**
   * Resolves true once every item put has been marked done (taskDone), false
   * when `timeout` (ms) passed first. A count that reaches zero while this
   * waits counts, even when a put() counts up again at once (as in Python).
   */
  async join(options?: WaitOptions): Promise<boolean> {
    // The lock is only ever held for a few steps without waiting: taking it
    // here without awaiting keeps other code of this process from running
    // between the look at the count and the wait.
    this.#cond.acquireSync();
    try {
      if (this.unfinishedTasks() === 0) return true;
      return (await this.#cond.wait(options)) || this.unfinishedTasks() === 0;
    } finally {
      this.#cond.release();
    }
  }

  /** join(), blocking the thread. */
  joinSync(options?: { timeout?: number }): boolean {
    this.#cond.acquireSync();
    try {
      if (this.unfinishedTasks() === 0) return true;
      return this.#cond.waitSync(options) || this.unfinishedTasks() === 0;
    } finally {
      this.#cond.release();
    }
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
    return [this.#puts.serialize(), this.#dones.serialize(), this.#cond.serialize()];
  }

  protected override closeParts(how: 'detached' | 'destroyed'): void {
    let first: unknown;
    // the condition before its lock (it leaves a lock it was given alone)
    for (const part of [() => super.closeParts(how), this.#puts, this.#dones, this.#cond, this.#ownLock]) {
      if (part === undefined) continue;
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
