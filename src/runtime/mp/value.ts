// Value: multiprocessing.Value. One typed element in pool memory, shared by
// every process it is passed to (on any node), with an optional lock:
//   const counter = new Value('i', 0);              // an RLock comes with it
//   await counter.getLock().withLock(() => { counter.value += 1; });
// `.value` reads and writes the element in place (a typed-array view on
// this node; on another node a round trip through the transport agent,
// gateway op 6 MEM). A single read or write is atomic (one aligned access);
// a read-modify-write is not: hold the lock for those. Unlike Python, the
// `.value` accessors do not take the lock themselves (they would cost a
// lock round trip each, and deadlock under a held non-recursive Lock).
import { registerTransferable } from '../core/transferable.js';
import { Errors } from '../core/errors.js';
import type { AnyLock } from '../core/sync/lock.js';
import {
  attachParts,
  closeParts,
  convert,
  createParts,
  noLock,
  remoteGet,
  remoteSet,
  serializeParts,
  typeOf,
  viewOf,
  type ElementOf,
  type Parts,
  type SharedOptions,
  type Typecode,
  type TypedArrayOf,
} from './shared-memory-store.js';

const ATTACH = Symbol('dragon.value.attach');

export class Value<C extends Typecode = Typecode> implements Disposable {
  readonly #p: Parts;
  #view: { [i: number]: number | bigint } | undefined;
  #state: 'open' | 'detached' | 'destroyed' = 'open';

  /**
   * `new Value(typecode, initial = 0, { lock = true, pool })`: typecode as
   * Python's ('i', 'd', 'q'...) or a name ('int32', 'float64'...); 64-bit
   * integers are bigints.
   */
  constructor(typecode: C, initial?: ElementOf<C> | number, options?: SharedOptions) {
    if ((typecode as unknown) === ATTACH) {
      this.#p = initial as unknown as Parts;
    } else {
      const op = 'new Value';
      const type = typeOf(typecode, op);
      const v = initial === undefined ? (type.kind === 'big' ? 0n : 0) : convert(type, initial, op);
      this.#p = createParts(type, 1, options, op);
      viewOf(this.#p)[0] = v as never;
    }
    if (this.#p.alloc) this.#view = viewOf(this.#p);
  }

  /** Attaches a Value from its descriptor (serialize()); passing a Value to a Process or a Queue does this. */
  static attach<C extends Typecode = Typecode>(desc: Uint8Array): Value<C> {
    return new Value<C>(ATTACH as unknown as C, attachParts(desc, 1, 'Value.attach') as never);
  }

  get value(): ElementOf<C> {
    const view = this.#view;
    if (view) return view[0] as ElementOf<C>;
    return remoteGet(this.#live('value'), 0, 'Value.value') as ElementOf<C>;
  }

  set value(v: ElementOf<C> | number) {
    const p = this.#p;
    const x = convert(p.type, v, 'Value.value');
    const view = this.#view;
    if (view) view[0] = x;
    else remoteSet(this.#live('value'), 0, x, 'Value.value');
  }

  /** Python's typecode letter ('i', 'd', ...). */
  get typecode(): string {
    return this.#p.type.letter;
  }

  /** The lock (an RLock unless another was passed); throws for { lock: false }. */
  getLock(): AnyLock {
    const p = this.#live('getLock');
    if (!p.lock) throw noLock('Value', 'Value.getLock');
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
   * Python's get_obj(): the element in place, as a typed array of length 1
   * over pool memory (this node only). Valid until detach()/destroy().
   */
  getObj(): TypedArrayOf<C> {
    const p = this.#live('getObj');
    if (!p.alloc) throw Errors.invalidArgument('Value.getObj', `this Value lives on node ${p.remote!.node}: use .value (there is no shared memory between nodes)`);
    return this.#view as unknown as TypedArrayOf<C>;
  }

  /** True while the memory is on this node (fast, in-place access). */
  get isLocal(): boolean {
    return this.#p.alloc !== undefined;
  }

  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** The descriptor (memory + lock) another process passes to Value.attach(). */
  serialize(): Uint8Array {
    return serializeParts(this.#live('serialize'), 1);
  }

  /** Forgets this handle; the Value lives on for the others. */
  detach(): void {
    this.#close('detached');
  }

  /** Frees the memory (and the RLock made with it) for every process. */
  destroy(): void {
    this.#close('destroyed');
  }

  /** Destroys a Value this handle created, detaches one it attached. */
  [Symbol.dispose](): void {
    if (this.#state === 'open') this.#close(this.#p.created && this.#p.alloc ? 'destroyed' : 'detached');
  }

  toString(): string {
    return `Value('${this.typecode}', ${this.#state === 'open' ? String(this.value) : this.#state})`;
  }

  #close(how: 'detached' | 'destroyed'): void {
    const op = `Value.${how === 'destroyed' ? 'destroy' : 'detach'}`;
    const p = this.#live(op);
    closeParts(p, how, op);
    this.#state = how;
    this.#view = undefined;
  }

  #live(op: string): Parts {
    if (this.#state !== 'open') throw Errors.closed('Value', op.includes('.') ? op : `Value.${op}`, this.#state);
    return this.#p;
  }
}

registerTransferable(44, Value.prototype, (d) => Value.attach(d));
