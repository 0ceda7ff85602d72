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
import { registerTransferable } from '../core/codec/transferable.js';
import { SharedObject } from './shared-object.js';
import {
  attachParts,
  convert,
  createParts,
  elementOf,
  remoteGet,
  remoteSet,
  typeOf,
  viewOf,
  type ElementOf,
  type Parts,
  type SettableOf,
  type SharedOptions,
  type Typecode,
} from './shared-memory-store.js';

const ATTACH = Symbol('dragon.value.attach');

export class Value<C extends Typecode = Typecode> extends SharedObject<C> {
  /**
   * `new Value(typecode, initial = 0, { lock = true, pool })`: typecode as
   * Python's ('i', 'd', 'q'...) or a name ('int32', 'float64'...); 64-bit
   * integers are bigints.
   */
  constructor(typecode: C, initial?: SettableOf<C>, options?: SharedOptions) {
    super(valueParts(typecode, initial, options), 'Value', 1, 'use .value');
  }

  /** Attaches a Value from its descriptor (serialize()); passing a Value to a Process or a Queue does this. */
  static attach<C extends Typecode = Typecode>(desc: Uint8Array): Value<C> {
    return new Value<C>(ATTACH as unknown as C, attachParts(desc, 1, 'Value.attach') as never);
  }

  get value(): ElementOf<C> {
    const view = this.view;
    if (view) return (this.plain ? view[0] : elementOf(this.p.type, view[0]!)) as ElementOf<C>;
    return elementOf(this.p.type, remoteGet(this.live('value'), 0, 'Value.value')) as ElementOf<C>;
  }

  set value(v: ElementOf<C> | SettableOf<C>) {
    const p = this.p;
    const x = convert(p.type, v, 'Value.value');
    const view = this.view;
    if (view) view[0] = x;
    else remoteSet(this.live('value'), 0, x, 'Value.value');
  }

  override toString(): string {
    return `Value('${this.typecode}', ${this.state === 'open' ? String(this.value) : this.state})`;
  }
}

function valueParts(typecode: Typecode, initial: unknown, options: SharedOptions | undefined): Parts {
  if ((typecode as unknown) === ATTACH) return initial as Parts;
  const op = 'new Value';
  const type = typeOf(typecode, op);
  const v = initial === undefined ? (type.kind === 'big' ? 0n : 0) : convert(type, initial, op);
  const p = createParts(type, 1, options, op);
  viewOf(p)[0] = v as never;
  return p;
}

registerTransferable(44, Value.prototype, (d) => Value.attach(d));
