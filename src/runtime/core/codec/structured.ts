// The general path of the value codec: v8's serializer (Node's structured
// clone: shared references, cycles, typed arrays, Maps, Sets, BigInt,
// Dates, RegExps), extended so that Dragon objects and errors survive at any
// depth. v8 calls a serializer's _writeHostObject only for host objects
// (native-backed objects, and in Node every ArrayBufferView), never for
// class instances (checked on Node 20: a Channel inside an array went out as
// `{}`). So, when a quick scan finds a Dragon object or an error in the
// value, we rebuild its containers (same shape, same shared references and
// cycles) with each such object replaced by a placeholder that IS a host
// object (a Uint8Array subclass); _writeHostObject writes the
// placeholder's kind and descriptor, or an error's record, and
// _readHostObject attaches or revives it on the other side. Values without
// either are written untouched: the scan never looks inside typed arrays,
// and it stops at the first hit.
import v8 from 'node:v8';
import { types } from 'node:util';
import { DragonError, Errors } from '../../errors/errors.js';
import { attacherOf, detachQuietly, kindOfProto, type Transferable } from './transferable.js';

// Our host-object type indices, after Node's ArrayBufferView ones (0..12);
// below 128 so that each is one varint byte, which _readHostObject peeks at.
const HOST_DRAGON = 0x7f;
const HOST_ERROR = 0x7e;

class DragonRef extends Uint8Array {
  constructor(
    readonly kind: number,
    readonly desc: Uint8Array,
  ) {
    super(0);
  }
}

class ErrorRef extends Uint8Array {
  record: ErrorRecord | undefined;
  constructor(readonly original: Error) {
    super(0);
  }
}

export interface ErrorRecord {
  name: string;
  message: string;
  stack?: string | undefined;
  props: Record<string, unknown>;
  cause?: unknown;
}

// The parts of Node's (de)serializer API that @types/node leaves out.
interface SerializerInternals {
  _writeHostObject(obj: object): void;
}
interface DeserializerInternals {
  readonly buffer: Buffer;
  _readHostObject(): unknown;
  _readRawBytes(length: number): number;
}
const nodeWriteHost = (v8.DefaultSerializer.prototype as unknown as SerializerInternals)._writeHostObject;
const nodeReadHost = (v8.DefaultDeserializer.prototype as unknown as DeserializerInternals)._readHostObject;

class Writer extends v8.DefaultSerializer {
  _writeHostObject(obj: object): void {
    if (obj instanceof DragonRef) {
      this.writeUint32(HOST_DRAGON);
      this.writeUint32(obj.kind);
      this.writeUint32(obj.desc.length);
      this.writeRawBytes(obj.desc);
    } else if (obj instanceof ErrorRef) {
      this.writeUint32(HOST_ERROR);
      // v8 numbers objects as it meets them on both sides: writing the
      // record from inside the hook keeps shared references intact
      this.writeValue(obj.record);
    } else {
      nodeWriteHost.call(this, obj);
    }
  }
}

class Reader extends v8.DefaultDeserializer {
  /** Dragon objects attached so far (detached again if the message fails). */
  readonly attached: unknown[] = [];

  _readHostObject(): unknown {
    const self = this as unknown as DeserializerInternals;
    const type = self.buffer[self._readRawBytes(0)];
    if (type === HOST_DRAGON) {
      this.readUint32();
      const kind = this.readUint32();
      const len = this.readUint32();
      const at = self._readRawBytes(len);
      const attach = attacherOf(kind);
      if (!attach) throw new BadMessage(`unknown Dragon object kind ${kind}`);
      const obj = attach(self.buffer.slice(at, at + len));
      this.attached.push(obj);
      return obj;
    }
    if (type === HOST_ERROR) {
      this.readUint32();
      return reviveError(this.readValue() as ErrorRecord);
    }
    return nodeReadHost.call(this);
  }
}

class BadMessage extends Error {}

/** Whether the value holds a Dragon object or an error anywhere (then it goes through rewrite). */
export function needsRewrite(root: object): boolean {
  // Most values are small trees: walk them without remembering what was
  // seen. A cycle, deep nesting or a big value exhausts the budget and the
  // walk starts again, remembering visited objects.
  visits = 0;
  const r = scan(root, 0, undefined);
  if (r !== GAVE_UP) return r;
  const seen = new Set<object>();
  return scan(root, 0, seen) === true;
}

const GAVE_UP = 2;
const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;
const TREE_VISITS = 4096;
const TREE_DEPTH = 64;
let visits = 0;

// true: found one; false: none below; GAVE_UP: the tree walk's budget ran out.
function scan(o: object, depth: number, seen: Set<object> | undefined): boolean | typeof GAVE_UP {
  if (seen) {
    if (seen.has(o)) return false;
    seen.add(o);
  } else if (++visits > TREE_VISITS || depth > TREE_DEPTH) {
    return GAVE_UP;
  }
  const proto = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) return scanProps(o, depth, seen);
  if (proto === Array.prototype) return scanArray(o as unknown[], depth, seen);
  if (kindOfProto(proto) !== undefined || o instanceof Error) return true;
  // leaves: nothing inside them is written
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || o instanceof Date || o instanceof RegExp) return false;
  if (Array.isArray(o)) return scanArray(o, depth, seen);
  if (o instanceof Map) {
    for (const [k, x] of o) {
      if (typeof k === 'object' && k !== null) {
        const r = scan(k, depth + 1, seen);
        if (r !== false) return r;
      }
      if (typeof x === 'object' && x !== null) {
        const r = scan(x, depth + 1, seen);
        if (r !== false) return r;
      }
    }
    return false;
  }
  if (o instanceof Set) {
    for (const x of o) {
      if (typeof x === 'object' && x !== null) {
        const r = scan(x, depth + 1, seen);
        if (r !== false) return r;
      }
    }
    return false;
  }
  return scanProps(o, depth, seen);
}

function scanProps(o: object, depth: number, seen: Set<object> | undefined): boolean | typeof GAVE_UP {
  for (const k in o) {
    const x: unknown = (o as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null && Object.hasOwn(o, k)) {
      const r = scan(x, depth + 1, seen);
      if (r !== false) return r;
    }
  }
  return false;
}

function scanArray(a: unknown[], depth: number, seen: Set<object> | undefined): boolean | typeof GAVE_UP {
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    if (typeof x === 'object' && x !== null) {
      const r = scan(x, depth + 1, seen);
      if (r !== false) return r;
    }
  }
  // named properties of an array travel too (rare: only small arrays are checked for them)
  if (n > 4096) return false;
  const keys = Object.keys(a);
  // index keys come first: walk back over the named ones
  for (let i = keys.length - 1; i >= 0 && !INDEX_KEY.test(keys[i]!); i--) {
    const x: unknown = (a as unknown as Record<string, unknown>)[keys[i]!];
    if (typeof x === 'object' && x !== null) {
      const r = scan(x, depth + 1, seen);
      if (r !== false) return r;
    }
  }
  return false;
}

interface Rewriting {
  memo: Map<object, unknown>;
  /** Errors whose record is being built (a reference back to one stays a plain v8 error). */
  building: Set<ErrorRef>;
  objects: boolean;
}

/**
 * A copy of `value` for v8's serializer, with Dragon objects and errors
 * replaced by placeholders. Containers (arrays, objects, Maps, Sets) are
 * rebuilt with the same shared references and cycles; leaves and objects
 * v8 cannot clone anyway are kept as they are, so v8 treats them as before.
 * `objects`: whether a Dragon object was found.
 */
export function rewrite(value: unknown): { value: unknown; objects: boolean } {
  const ctx: Rewriting = { memo: new Map(), building: new Set(), objects: false };
  return { value: rewriteValue(value, ctx), objects: ctx.objects };
}

function rewriteValue(v: unknown, ctx: Rewriting): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const done = ctx.memo.get(v);
  if (done !== undefined) {
    if (done instanceof ErrorRef && ctx.building.has(done)) return done.original;
    return done;
  }
  const kind = kindOfProto(Object.getPrototypeOf(v));
  if (kind !== undefined) {
    const ref = new DragonRef(kind, (v as Transferable).serialize());
    ctx.memo.set(v, ref);
    ctx.objects = true;
    return ref;
  }
  if (v instanceof Error) {
    const ref = new ErrorRef(v);
    ctx.memo.set(v, ref);
    ctx.building.add(ref);
    ref.record = errorRecord(v, ctx);
    ctx.building.delete(ref);
    return ref;
  }
  if (!isContainer(v)) {
    ctx.memo.set(v, v);
    return v;
  }
  if (Array.isArray(v)) {
    const copy: unknown[] = new Array(v.length);
    ctx.memo.set(v, copy);
    const from = v as unknown as Record<string, unknown>;
    const to = copy as unknown as Record<string, unknown>;
    for (const k of Object.keys(v)) to[k] = rewriteValue(from[k], ctx);
    return copy;
  }
  if (v instanceof Map) {
    const copy = new Map<unknown, unknown>();
    ctx.memo.set(v, copy);
    for (const [k, x] of v) copy.set(rewriteValue(k, ctx), rewriteValue(x, ctx));
    return copy;
  }
  if (v instanceof Set) {
    const copy = new Set<unknown>();
    ctx.memo.set(v, copy);
    for (const x of v) copy.add(rewriteValue(x, ctx));
    return copy;
  }
  // An ordinary object (plain or a class instance): v8 writes its own
  // enumerable string keys and the receiver gets a plain object. A
  // null-prototype copy takes a "__proto__" key as a plain property.
  const copy = Object.create(null) as Record<string, unknown>;
  ctx.memo.set(v, copy);
  for (const k of Object.keys(v)) copy[k] = rewriteValue((v as Record<string, unknown>)[k], ctx);
  return copy;
}

// Containers we rebuild: arrays, Maps, Sets and ordinary objects. The rest
// (typed arrays, ArrayBuffers, Dates, RegExps, boxed primitives) hold
// nothing to replace, and what v8 refuses (proxies, promises, weak
// collections, iterators...) must stay as it is so that v8 still refuses it.
function isContainer(o: object): boolean {
  if (Array.isArray(o)) return !types.isProxy(o);
  if (o instanceof Map || o instanceof Set) return true;
  if (ArrayBuffer.isView(o) || types.isAnyArrayBuffer(o) || types.isDate(o) || types.isRegExp(o) || types.isBoxedPrimitive(o)) {
    return false;
  }
  return !(
    types.isProxy(o) ||
    types.isPromise(o) ||
    types.isWeakMap(o) ||
    types.isWeakSet(o) ||
    types.isMapIterator(o) ||
    types.isSetIterator(o) ||
    types.isGeneratorObject(o) ||
    types.isArgumentsObject(o) ||
    types.isModuleNamespaceObject(o) ||
    types.isExternal(o) ||
    o instanceof WeakRef ||
    o instanceof FinalizationRegistry
  );
}

// Name, message, stack, `cause` and own enumerable properties (`code`...).
// A property that cannot be cloned (a function, a socket...) is left out
// rather than failing the whole message: v8 itself sends errors without
// their properties.
function errorRecord(err: Error, ctx: Rewriting): ErrorRecord {
  const props: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(err)) {
    const x = keepable((err as unknown as Record<string, unknown>)[k], ctx);
    if (x !== DROP) props[k] = x;
  }
  const record: ErrorRecord = { name: String(err.name), message: String(err.message), stack: err.stack, props };
  if (Object.hasOwn(err, 'cause')) {
    const c = keepable(err.cause, ctx);
    if (c !== DROP) record.cause = c;
  }
  return record;
}

const DROP = Symbol('drop');

function keepable(v: unknown, ctx: Rewriting): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') return DROP;
  if (typeof v !== 'object' || v === null) return v;
  try {
    v8.serialize(v);
    return rewriteValue(v, ctx);
  } catch {
    return DROP;
  }
}

/** v8 serialization of a value (rewritten when it holds Dragon objects or errors). */
export function serializeStructured(prefix: Uint8Array, value: unknown, op: string): { buf: Buffer; objects: boolean } {
  let v = value;
  let objects = false;
  if (typeof value === 'object' && value !== null && needsRewrite(value)) {
    const r = rewrite(value);
    v = r.value;
    objects = r.objects;
  }
  const ser = new Writer();
  ser.writeRawBytes(prefix);
  ser.writeHeader();
  try {
    ser.writeValue(v);
  } catch (err) {
    throw Errors.notSerializable(op, err);
  }
  return { buf: ser.releaseBuffer(), objects };
}

// The Dragon objects a decoded message attached, by the message's root
// value: a receiver that only borrows them (a Pool worker, for one task)
// detaches them once done, so a long run leaks no handle.
const attachedBy = new WeakMap<object, unknown[]>();

/** The Dragon objects attached while decoding `root` (a value a channel delivered), [] for none. */
export function attachedIn(root: unknown): readonly unknown[] {
  return (typeof root === 'object' && root !== null && attachedBy.get(root)) || [];
}

/** Reads what serializeStructured wrote (after the prefix); a failed message leaves nothing attached. */
export function deserializeStructured(src: Buffer, op: string): unknown {
  const r = new Reader(src);
  try {
    r.readHeader();
    const value = r.readValue();
    if (r.attached.length > 0 && typeof value === 'object' && value !== null) attachedBy.set(value, r.attached);
    return value;
  } catch (err) {
    detachQuietly(r.attached);
    if (err instanceof DragonError) throw err;
    throw Errors.badMessage(op, (err as Error).message);
  }
}

const errorClasses: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

export function reviveError(r: ErrorRecord): Error {
  if (typeof r !== 'object' || r === null || typeof r.message !== 'string') throw new BadMessage('malformed error record');
  const props = (r.props ?? {}) as Record<string, unknown>;
  const proto =
    r.name === 'DragonError' || (r.name === 'AbortError' && props.code === 'ABORT_ERR')
      ? DragonError.prototype
      : (errorClasses[r.name] ?? Error).prototype;
  const err = Object.create(proto) as Error;
  const define = (k: string, value: unknown, enumerable = false) =>
    Object.defineProperty(err, k, { value, writable: true, configurable: true, enumerable });
  define('message', r.message);
  if (r.stack !== undefined) define('stack', r.stack);
  if ('cause' in r) define('cause', r.cause);
  for (const k of Object.keys(props)) define(k, props[k], true);
  if (err.name !== r.name) define('name', r.name);
  return err;
}
