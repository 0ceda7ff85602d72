// How values cross a channel: one tag byte, then the payload. Semantics are
// those of v8.serialize (structured clone as Node implements it: Maps, Sets,
// BigInt, typed arrays and Buffers come back as themselves); the common
// shapes take faster paths that give exactly the same result:
//   strings (well-formed) as UTF-8, numbers as float64, Buffer/Uint8Array as
//   raw bytes, plain data (objects/arrays of strings, finite numbers,
//   booleans, null; no shared or cyclic references) as JSON.
// Dragon objects (Channel, MemoryPool, Lock...) travel as their descriptor
// and are attached again on the other side; errors keep name, message,
// code and other own properties, and the remote stack.
// Raw messages (sendBytes) carry no tag at all, so C peers can read them.
import v8 from 'node:v8';
import { DragonError, Errors } from './errors.js';

const TAG = {
  UNDEFINED: 1,
  NULL: 2,
  TRUE: 3,
  FALSE: 4,
  NUMBER: 5,
  STRING: 6,
  BUFFER: 7,
  UINT8ARRAY: 8,
  JSON: 9,
  V8: 10,
  OBJECT: 11,
  ERROR: 12,
} as const;

// ---- Dragon objects: registered by their classes (avoids import cycles) --
export interface Transferable {
  serialize(): Uint8Array;
}
const kindOf = new Map<object, number>(); // prototype -> kind
const attachers = new Map<number, (desc: Uint8Array) => unknown>();

export function registerTransferable(kind: number, proto: object, attach: (desc: Uint8Array) => unknown): void {
  kindOf.set(proto, kind);
  attachers.set(kind, attach);
}

// ---- encoding -------------------------------------------------------------
/** Where encode() left its output: `buf[0..len)` (buf may be the shared scratch). */
export const encoded = { buf: Buffer.allocUnsafeSlow(64 * 1024) as Buffer, len: 0 };
const scratch = encoded.buf;

// Encodes into `encoded` (the shared scratch when it fits: send it or copy
// it before the next encode).
export function encode(value: unknown, op: string): void {
  switch (typeof value) {
    case 'string':
      return encodeString(value, op);
    case 'number':
      scratch[0] = TAG.NUMBER;
      scratch.writeDoubleLE(value, 1);
      return setOut(scratch, 9);
    case 'boolean':
      scratch[0] = value ? TAG.TRUE : TAG.FALSE;
      return setOut(scratch, 1);
    case 'undefined':
      scratch[0] = TAG.UNDEFINED;
      return setOut(scratch, 1);
    case 'object': {
      if (value === null) {
        scratch[0] = TAG.NULL;
        return setOut(scratch, 1);
      }
      const proto = Object.getPrototypeOf(value);
      if (proto === Buffer.prototype) return encodeBytes(TAG.BUFFER, value as Buffer);
      if (proto === Uint8Array.prototype) return encodeBytes(TAG.UINT8ARRAY, value as Uint8Array);
      if (proto === Object.prototype || proto === Array.prototype) {
        if (isPlainData(value)) return encodeJson(value);
        return encodeV8(TAG.V8, value, op);
      }
      const kind = kindOf.get(proto);
      if (kind !== undefined) return encodeObject(kind, value as Transferable);
      if (value instanceof Error) return encodeError(value, op);
      return encodeV8(TAG.V8, value, op);
    }
    case 'bigint':
      return encodeV8(TAG.V8, value, op);
    default:
      throw Errors.invalidArgument(op, `a ${typeof value} cannot be sent (functions and symbols cannot be serialized)`);
  }
}

function setOut(buf: Buffer, len: number): void {
  encoded.buf = buf;
  encoded.len = len;
}

interface MaybeWellFormed {
  isWellFormed?(): boolean;
}

function encodeString(s: string, op: string): void {
  // Lone surrogates do not survive UTF-8: v8 keeps them, as structured clone does.
  if ((s as MaybeWellFormed).isWellFormed?.() === false) return encodeV8(TAG.V8, s, op);
  let buf = scratch;
  if (s.length * 3 + 1 > buf.length) {
    const n = Buffer.byteLength(s, 'utf8');
    if (n + 1 > buf.length) buf = Buffer.allocUnsafe(n + 1);
  }
  buf[0] = TAG.STRING;
  const n = buf.write(s, 1, 'utf8');
  setOut(buf, n + 1);
}

function encodeBytes(tag: number, bytes: Uint8Array): void {
  const buf = bytes.length + 1 <= scratch.length ? scratch : Buffer.allocUnsafe(bytes.length + 1);
  buf[0] = tag;
  buf.set(bytes, 1);
  setOut(buf, bytes.length + 1);
}

function encodeJson(value: unknown): void {
  const s = JSON.stringify(value);
  let buf = scratch;
  if (s.length * 3 + 1 > buf.length) buf = Buffer.allocUnsafe(Buffer.byteLength(s, 'utf8') + 1);
  buf[0] = TAG.JSON;
  setOut(buf, buf.write(s, 1, 'utf8') + 1);
}

function encodeV8(tag: number, value: unknown, op: string): void {
  const ser = new v8.DefaultSerializer();
  ser.writeRawBytes(Uint8Array.of(tag));
  ser.writeHeader();
  try {
    ser.writeValue(value);
  } catch (err) {
    throw new DragonError(`${op}: the value cannot be serialized (${(err as Error).message})`, {
      code: 'DRAGON_ERR_INVALID_ARGUMENT',
      errno: 1,
      hint: 'Send plain data, typed arrays, Maps, Sets, Dates, BigInts or Dragon objects; functions and class behaviour do not travel',
      cause: err,
    });
  }
  const out = ser.releaseBuffer();
  setOut(out, out.length);
}

function encodeObject(kind: number, obj: Transferable): void {
  const desc = obj.serialize();
  scratch[0] = TAG.OBJECT;
  scratch[1] = kind;
  scratch.set(desc, 2);
  setOut(scratch, desc.length + 2);
}

function encodeError(err: Error, op: string): void {
  const props: Record<string, unknown> = {};
  for (const k of Object.keys(err)) props[k] = (err as unknown as Record<string, unknown>)[k];
  const record = { name: err.name, message: err.message, stack: err.stack, props, cause: err.cause };
  try {
    encodeV8(TAG.ERROR, record, op);
  } catch {
    // an own property or the cause does not serialize: keep the essentials
    encodeV8(TAG.ERROR, { name: err.name, message: err.message, stack: err.stack, props: {} }, op);
  }
}

// True when JSON gives exactly what structured clone would: plain objects
// and dense plain arrays of strings, finite non-negative-zero numbers,
// booleans and null, every object reached once (no shared references or
// cycles, which clone preserves and JSON does not), no toJSON.
const seen: object[] = [];
function isPlainData(root: object): boolean {
  seen.length = 0;
  const ok = plain(root, 0);
  seen.length = 0;
  return ok;
}

function plain(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > 16 || seen.length >= 64 || seen.includes(v)) return false;
      seen.push(v);
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        const n = v.length;
        for (let i = 0; i < n; i++) if (!(i in v) || !plain(v[i], depth + 1)) return false;
        return Object.keys(v).length === n;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const k in v) {
        if (!Object.hasOwn(v, k) || k === 'toJSON') return false;
        if (!plain((v as Record<string, unknown>)[k], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// ---- decoding -------------------------------------------------------------
// Decodes buf[start..end). With copy=false (zero-copy views) Buffers and
// typed arrays in the result may alias buf; with copy=true nothing does.
export function decode(buf: Buffer, start: number, end: number, copy: boolean, op: string): unknown {
  if (end <= start) throw Errors.badMessage(op, 'empty message');
  const tag = buf[start];
  switch (tag) {
    case TAG.UNDEFINED:
      return undefined;
    case TAG.NULL:
      return null;
    case TAG.TRUE:
      return true;
    case TAG.FALSE:
      return false;
    case TAG.NUMBER:
      if (end - start !== 9) throw Errors.badMessage(op, 'truncated number');
      return buf.readDoubleLE(start + 1);
    case TAG.STRING:
      return buf.toString('utf8', start + 1, end);
    case TAG.BUFFER:
      return copy ? Buffer.from(buf.subarray(start + 1, end)) : buf.subarray(start + 1, end);
    case TAG.UINT8ARRAY:
      return copy
        ? new Uint8Array(buf.subarray(start + 1, end))
        : new Uint8Array(buf.buffer, buf.byteOffset + start + 1, end - start - 1);
    case TAG.JSON:
      return JSON.parse(buf.toString('utf8', start + 1, end));
    case TAG.V8:
      return deserialize(buf, start + 1, end, copy, op);
    case TAG.OBJECT: {
      const attach = attachers.get(buf[start + 1]!);
      if (!attach) throw Errors.badMessage(op, `unknown Dragon object kind ${buf[start + 1]}`);
      return attach(new Uint8Array(buf.subarray(start + 2, end)));
    }
    case TAG.ERROR:
      return reviveError(deserialize(buf, start + 1, end, true, op) as ErrorRecord);
    default:
      throw Errors.badMessage(op, `unknown tag ${tag}`);
  }
}

function deserialize(buf: Buffer, start: number, end: number, copy: boolean, op: string): unknown {
  // v8's deserializer returns typed arrays that alias its input when
  // aligned: give it a private copy unless aliasing is the point.
  const src = copy ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end);
  try {
    return v8.deserialize(src);
  } catch (err) {
    throw Errors.badMessage(op, (err as Error).message);
  }
}

interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  props: Record<string, unknown>;
  cause?: unknown;
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

function reviveError(r: ErrorRecord): Error {
  const proto =
    r.name === 'DragonError' || r.name === 'AbortError' && r.props.code === 'ABORT_ERR'
      ? DragonError.prototype
      : (errorClasses[r.name] ?? Error).prototype;
  const err = Object.create(proto) as Error;
  Object.defineProperty(err, 'message', { value: r.message, writable: true, configurable: true });
  if (r.stack !== undefined) Object.defineProperty(err, 'stack', { value: r.stack, writable: true, configurable: true });
  if (r.cause !== undefined) Object.defineProperty(err, 'cause', { value: r.cause, writable: true, configurable: true });
  Object.assign(err, r.props);
  if (err.name !== r.name) Object.defineProperty(err, 'name', { value: r.name, writable: true, configurable: true });
  return err;
}
