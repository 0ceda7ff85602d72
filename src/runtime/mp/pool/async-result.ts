// Python's AsyncResult (what apply_async/map_async return), kept awaitable:
// `await pool.applyAsync(...)` still gives the value. ready()/successful()
// answer on the spot; wait()/get() take a timeout in milliseconds.
// The promise it wraps is not marked handled by it: a failure nobody
// awaits, waits for or has an errorCallback for is an unhandled rejection,
// as any other promise (Python drops it silently).
import { Errors } from '../../errors/errors.js';

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export class AsyncResult<R> implements PromiseLike<R> {
  readonly #promise: Promise<R>;
  #outcome: Outcome<R> | undefined;

  /** `handled`: an errorCallback saw the failure, so it is not an unhandled rejection. */
  constructor(promise: Promise<R>, handled = false) {
    this.#promise = promise.then(
      (value) => {
        this.#outcome = { ok: true, value };
        return value;
      },
      (error: unknown) => {
        this.#outcome = { ok: false, error };
        throw error;
      },
    );
    if (handled) this.#promise.catch(() => undefined);
  }

  /** Whether the call has finished (Python's ready()). */
  ready(): boolean {
    return this.#outcome !== undefined;
  }

  /** Whether it finished without an error; throws DRAGON_ERR_VALUE before it finished (Python's ValueError). */
  successful(): boolean {
    if (!this.#outcome) throw Errors.notReady('AsyncResult.successful');
    return this.#outcome.ok;
  }

  /** Waits until it finished or `timeout` ms passed; resolves to ready() (Python's wait() returns None). */
  async wait(timeout?: number): Promise<boolean> {
    const done = this.#promise.then(
      () => true,
      () => true,
    );
    if (timeout === undefined) return done;
    checkTimeout('AsyncResult.wait', timeout);
    await raceTimer(done, timeout, () => false);
    return this.ready();
  }

  /** The result, or the task's error; rejects with TimeoutError (DRAGON_ERR_TIMEOUT) after `timeout` ms (the task goes on). */
  get(timeout?: number): Promise<R> {
    if (timeout === undefined) return this.#promise;
    try {
      checkTimeout('AsyncResult.get', timeout);
    } catch (err) {
      return Promise.reject(err);
    }
    return raceTimer(this.#promise, timeout, () => {
      throw Errors.resultTimeout('AsyncResult.get', timeout);
    });
  }

  then<A = R, B = never>(onfulfilled?: ((value: R) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<R | B> {
    return this.#promise.catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<R> {
    return this.#promise.finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'AsyncResult';
  }
}

function checkTimeout(op: string, timeout: unknown): void {
  if (!(typeof timeout === 'number' && timeout >= 0)) throw Errors.invalidArgument(op, `timeout must be a number of milliseconds >= 0, got ${String(timeout)}`);
}

// The first of p and a timer (cleared once p settles, so it keeps nothing alive).
function raceTimer<T, U>(p: Promise<T>, ms: number, expired: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(expired());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
