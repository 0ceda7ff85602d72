// Array: multiprocessing.Array. A fixed number of typed elements in pool
// memory, shared by every process it is passed to (on any node), with an
// optional lock:
//   const a = new Array('d', 100);               // 100 zeros, an RLock
//   const b = new Array('i', [1, 2, 3], { lock: false });
// get(i)/set(i, v) (negative i counts from the end, as in Python; out of
// range throws), toArray(), iteration, assign(values, start). On this node
// the elements are read and written in place (getObj(): a typed array over
// the memory, the fastest way); on another node every access is a round
// trip through the transport agent (gateway op 6 MEM; toArray/assign move
// the whole range at once, 64 KiB per request). Single-element accesses
// are atomic; multi-element ones and read-modify-writes are not: hold
// the lock (getLock().withLock(...)). The accessors do not take the lock.
// The class is SharedArray in this module (it would shadow the global
// Array); the package exports it as both `Array` and `SharedArray`.
import { registerTransferable } from '../core/codec/transferable.js';
import { Errors } from '../errors/errors.js';
import { SharedObject, type Typed } from './shared-object.js';
import {
  attachParts,
  convert,
  createParts,
  elementOf,
  remoteGet,
  remoteReadAll,
  remoteSet,
  remoteWriteAll,
  typeOf,
  viewOf,
  type ElementOf,
  type Parts,
  type SettableOf,
  type SharedOptions,
  type Typecode,
} from './shared-memory-store.js';

const ATTACH = Symbol('dragon.array.attach');
const MAX_ELEMENTS = 0xffffffff;

export class SharedArray<C extends Typecode = Typecode> extends SharedObject<C> implements Iterable<ElementOf<C>> {
  /** Number of elements. */
  readonly length: number;

  /**
   * `new Array(typecode, sizeOrInitializer, { lock = true, pool })`: a size
   * (zero-filled) or the initial elements (an array or any iterable).
   */
  constructor(typecode: C, sizeOrInitializer: number | Iterable<ElementOf<C> | SettableOf<C>>, options?: SharedOptions) {
    const p = arrayParts(typecode, sizeOrInitializer, options);
    super(p, 'Array', 2, 'use get/set/toArray/assign');
    this.length = p.count;
  }

  /** Attaches an Array from its descriptor (serialize()); passing an Array to a Process or a Queue does this. */
  static attach<C extends Typecode = Typecode>(desc: Uint8Array): SharedArray<C> {
    return new SharedArray<C>(ATTACH as unknown as C, attachParts(desc, 2, 'Array.attach') as never);
  }

  #index(i: number, op: string): number {
    const n = this.length;
    if (Number.isInteger(i)) {
      const j = i < 0 ? i + n : i;
      if (j >= 0 && j < n) return j;
    }
    throw Errors.invalidArgument(op, `index ${String(i)} out of range for an Array of ${n} elements (valid: ${-n}..${n - 1})`);
  }

  /** Element i (negative: from the end). */
  get(i: number): ElementOf<C> {
    const view = this.view;
    if (view) {
      const v = view[i];
      if (v !== undefined && this.plain) return v as ElementOf<C>; // the hot path: a number in range
      const w = v === undefined ? view[this.#index(i, 'Array.get')]! : v;
      return (this.plain ? w : elementOf(this.p.type, w)) as ElementOf<C>;
    }
    const p = this.live('get');
    return elementOf(p.type, remoteGet(p, this.#index(i, 'Array.get'), 'Array.get')) as ElementOf<C>;
  }

  set(i: number, v: ElementOf<C> | SettableOf<C>): void {
    const p = this.live('set');
    const j = this.#index(i, 'Array.set');
    const x = convert(p.type, v, 'Array.set');
    const view = this.view;
    if (view) view[j] = x;
    else remoteSet(p, j, x, 'Array.set');
  }

  /** The elements [start, end) as a plain array (a copy; Python's arr[start:end]). */
  toArray(start = 0, end = this.length): Array<ElementOf<C>> {
    const p = this.live('toArray');
    const [s, e] = this.#range(start, end, 'Array.toArray');
    const src = this.view ? this.view.slice(s, e) : (remoteReadAll(p, 'Array.toArray', s, e) as unknown as Typed);
    if (this.plain) return globalThis.Array.from(src as unknown as ArrayLike<ElementOf<C>>);
    return globalThis.Array.from(src as unknown as ArrayLike<number>, (x) => elementOf(p.type, x) as ElementOf<C>);
  }

  /** Writes `values` from element `start` on (Python's arr[start:start+len] = values). */
  assign(values: Iterable<ElementOf<C> | SettableOf<C>>, start = 0): void {
    const p = this.live('assign');
    const op = 'Array.assign';
    const list = globalThis.Array.from(values as Iterable<unknown>, (v, k) => convert(p.type, v, `${op} (element ${k})`));
    const s = start < 0 ? start + this.length : start;
    if (!Number.isInteger(s) || s < 0 || s + list.length > this.length) {
      throw Errors.invalidArgument(op, `${list.length} elements from ${start} do not fit an Array of ${this.length}`);
    }
    if (this.view) this.view.set(list, s);
    else {
      const tmp = new p.type.ctor(list.length) as unknown as Typed;
      tmp.set(list);
      remoteWriteAll(p, op, tmp as never, s);
    }
  }

  #range(start: number, end: number, op: string): [number, number] {
    const n = this.length;
    if (!Number.isInteger(start) || !Number.isInteger(end)) throw Errors.invalidArgument(op, 'start and end must be integers');
    const s = Math.min(n, Math.max(0, start < 0 ? start + n : start));
    const e = Math.min(n, Math.max(s, end < 0 ? end + n : end));
    return [s, e];
  }

  *[Symbol.iterator](): Iterator<ElementOf<C>> {
    if (this.view) {
      for (let i = 0; i < this.length; i++) {
        this.live('iterate');
        const v = this.view![i]!;
        yield (this.plain ? v : elementOf(this.p.type, v)) as ElementOf<C>;
      }
      return;
    }
    yield* this.toArray();
  }
}

function arrayParts(typecode: Typecode, sizeOrInitializer: unknown, options: SharedOptions | undefined): Parts {
  if ((typecode as unknown) === ATTACH) return sizeOrInitializer as unknown as Parts;
  const op = 'new Array';
  const type = typeOf(typecode, op);
  let init: Array<number | bigint> | undefined;
  let count: number;
  if (typeof sizeOrInitializer === 'number') {
    if (!Number.isSafeInteger(sizeOrInitializer) || sizeOrInitializer < 0 || sizeOrInitializer > MAX_ELEMENTS) {
      throw Errors.invalidArgument(op, `the size must be an integer in [0, ${MAX_ELEMENTS}], got ${sizeOrInitializer}`);
    }
    count = sizeOrInitializer;
  } else if (sizeOrInitializer != null && typeof (sizeOrInitializer as Iterable<unknown>)[Symbol.iterator] === 'function' && (typeof sizeOrInitializer !== 'string' || type.kind === 'wchar')) {
    init = [];
    let i = 0;
    for (const v of sizeOrInitializer as Iterable<unknown>) init.push(convert(type, v, `${op} (element ${i++})`));
    count = init.length;
    if (count > MAX_ELEMENTS) throw Errors.invalidArgument(op, `at most ${MAX_ELEMENTS} elements`);
  } else {
    const bytes = type.kind === 'char' ? " (for 'c', bytes: e.g. Buffer.from('abc'))" : '';
    throw Errors.invalidArgument(op, `pass a size or the initial elements (an array or iterable; a string only for 'u')${bytes}, got ${typeof sizeOrInitializer}`);
  }
  const p = createParts(type, count, options, op);
  if (init) (viewOf(p) as unknown as Typed).set(init);
  return p;
}

registerTransferable(45, SharedArray.prototype, (d) => SharedArray.attach(d));
