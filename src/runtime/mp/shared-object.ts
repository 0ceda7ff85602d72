// What Value and Array share: a typed range of pool memory plus an optional
// lock (Parts, shared-memory-store.ts), the handle's state, and the
// methods that do not depend on the shape (lock, descriptor, lifetime).
import { Errors } from '../errors/errors.js';
import type { AnyLock } from '../core/sync/lock.js';
import { closeParts, noLock, serializeParts, viewOf, type Parts, type Typecode, type TypedArrayOf } from './shared-memory-store.js';

/** The typed array over the memory, as the subclasses index it. */
export type Typed = { [i: number]: number | bigint; length: number; set(a: ArrayLike<number | bigint>, offset?: number): void; slice(s?: number, e?: number): Typed };

export abstract class SharedObject<C extends Typecode> implements Disposable {
  protected readonly p: Parts;
  /** The memory in place (this node only; undefined on another node and once closed). */
  protected view: Typed | undefined;
  /** Elements are what is stored (numbers, bigints); false for 'c' and 'u' (elementOf converts). */
  protected readonly plain: boolean;
  #state: 'open' | 'detached' | 'destroyed' = 'open';

  /** The class name users see ('Value', 'Array'). */
  readonly #name: string;
  /** Which descriptor layout (1 Value, 2 Array: serializeParts). */
  readonly #layout: 1 | 2;
  /** How to reach the memory from another node, for getObj()'s error. */
  readonly #remoteHint: string;

  protected constructor(p: Parts, name: string, layout: 1 | 2, remoteHint: string) {
    this.p = p;
    this.#name = name;
    this.#layout = layout;
    this.#remoteHint = remoteHint;
    this.plain = p.type.kind !== 'char' && p.type.kind !== 'wchar';
    if (p.alloc) this.view = viewOf(p) as unknown as Typed;
  }

  /** Python's typecode letter ('i', 'd', ...). */
  get typecode(): string {
    return this.p.type.letter;
  }

  /** The lock (an RLock unless another was passed); throws for { lock: false }. */
  getLock(): AnyLock {
    const p = this.live('getLock');
    if (!p.lock) throw noLock(this.#name, `${this.#name}.getLock`);
    return p.lock;
  }

  /** Runs fn holding the lock (getLock().withLock(fn)). */
  withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return this.getLock().withLock(fn);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Python's get_obj(): the memory in place, a typed array over pool memory
   * (this node only: the fastest access). Valid until detach() or destroy()
   * of this handle; do not keep it past them.
   */
  getObj(): TypedArrayOf<C> {
    const p = this.live('getObj');
    if (!p.alloc) throw Errors.invalidArgument(`${this.#name}.getObj`, `this ${this.#name} lives on node ${p.remote!.node}: ${this.#remoteHint} (there is no shared memory between nodes)`);
    return this.view as unknown as TypedArrayOf<C>;
  }

  /** True while the memory is on this node (fast, in-place access). */
  get isLocal(): boolean {
    return this.p.alloc !== undefined;
  }

  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** The descriptor (memory + lock) another process passes to attach(). */
  serialize(): Uint8Array {
    return serializeParts(this.live('serialize'), this.#layout);
  }

  /** Forgets this handle; the memory lives on for the others. */
  detach(): void {
    this.#close('detached');
  }

  /** Frees the memory (and the RLock made with it) for every process. */
  destroy(): void {
    this.#close('destroyed');
  }

  /** Destroys what this handle created, detaches what it attached. */
  [Symbol.dispose](): void {
    if (this.#state === 'open') this.#close(this.p.created && this.p.alloc ? 'destroyed' : 'detached');
  }

  protected get state(): string {
    return this.#state;
  }

  #close(how: 'detached' | 'destroyed'): void {
    const op = `${this.#name}.${how === 'destroyed' ? 'destroy' : 'detach'}`;
    const p = this.live(op);
    closeParts(p, how, op);
    this.#state = how;
    this.view = undefined;
  }

  protected live(op: string): Parts {
    if (this.#state !== 'open') throw Errors.closed(this.#name, op.includes('.') ? op : `${this.#name}.${op}`, this.#state);
    return this.p;
  }
}
