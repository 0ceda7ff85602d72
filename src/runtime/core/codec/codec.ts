// How values cross a channel: one tag byte, then the payload. Semantics are
// those of v8.serialize (structured clone as Node implements it: Maps, Sets,
// BigInt, typed arrays and Buffers come back as themselves); the common
// shapes take faster paths that give exactly the same result:
//   strings (well-formed) as UTF-8, numbers as float64, Buffer/Uint8Array as
//   raw bytes, plain data (plain objects and dense arrays of strings,
//   numbers, booleans, null and undefined, shared references and cycles
//   included) in a hand-written format (plain.ts).
// Dragon objects (Channel, MemoryPool, Allocation, Lock...) travel as their
// descriptor and are attached again on the other side, at any depth of the
// value; errors keep name, message, code and other own properties, and the
// remote stack, at any depth too (structured.ts).
// Raw messages (sendBytes) carry no tag at all, so C peers can read them.
import { Errors } from '../../errors/errors.js';
import { PlainFormatError, TOO_SMALL, decodePlain, encodePlain } from './plain.js';
import { deserializeStructured, reviveError, serializeStructured, type ErrorRecord } from './structured.js';
import { attacherOf, kindOfProto, registerTransferable, type Transferable } from './transferable.js';

export { registerTransferable, type Transferable };

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
  /** Only decoded (older senders): errors now travel inside TAG.V8. */
  ERROR: 12,
  PLAIN: 13,
} as const;
const V8_PREFIX = Uint8Array.of(TAG.V8);
const PLAIN_MAX_BYTES = 1 << 20;

// ---- encoding -------------------------------------------------------------
/**
 * Where encode() left its output: `buf[0..len)` (buf may be the shared
 * scratch). `objects`: the value holds Dragon objects (the receiver
 * attaches them, so it needs the binding).
 */
export const encoded = { buf: Buffer.allocUnsafeSlow(64 * 1024) as Buffer, len: 0, objects: false };
const scratch = encoded.buf;

// Encodes into `encoded` (the shared scratch when it fits: send it or copy
// it before the next encode).
export function encode(value: unknown, op: string): void {
  encoded.objects = false;
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
      if ((proto === Object.prototype || proto === Array.prototype) && encodePlainData(value)) return;
      const kind = kindOfProto(proto);
      if (kind !== undefined) return encodeObject(kind, value as Transferable);
      return encodeV8(value, op);
    }
    case 'bigint':
      return encodeV8(value, op);
    default:
      throw Errors.invalidArgument(op, `a ${typeof value} cannot be sent (functions and symbols cannot be serialized)`);
  }
}

/**
 * Encodes a value into bytes of its own (not the shared scratch), for
 * values kept or sent later, e.g. a Process's arguments. `hasObjects`: it
 * holds Dragon objects, which decodeValue() attaches.
 */
export function encodeValue(value: unknown, op = 'encode'): { bytes: Uint8Array; hasObjects: boolean } {
  encode(value, op);
  const bytes = encoded.buf === scratch ? Uint8Array.prototype.slice.call(scratch, 0, encoded.len) : encoded.buf.subarray(0, encoded.len);
  return { bytes, hasObjects: encoded.objects };
}

/** The value encodeValue() (or a channel send) encoded; Dragon objects in it arrive attached. */
export function decodeValue<T = unknown>(bytes: Uint8Array, op = 'decode'): T {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decode(buf, 0, buf.length, true, op) as T;
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
  if ((s as MaybeWellFormed).isWellFormed?.() === false) return encodeV8(s, op);
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

// Plain data in the hand-written format (plain.ts); false: not plain, or
// bigger than 1 MiB encoded (v8 is as fast there).
function encodePlainData(value: object): boolean {
  let buf = scratch;
  let end = encodePlain(value, buf, 1);
  if (end === TOO_SMALL) {
    buf = Buffer.allocUnsafe(PLAIN_MAX_BYTES);
    end = encodePlain(value, buf, 1);
  }
  if (end < 0) return false;
  buf[0] = TAG.PLAIN;
  setOut(buf, end);
  return true;
}

// Everything else, errors included (they keep code, own properties and
// stack at any depth): v8's serializer, Dragon objects attached at any depth.
function encodeV8(value: unknown, op: string): void {
  const { buf, objects } = serializeStructured(V8_PREFIX, value, op);
  setOut(buf, buf.length);
  encoded.objects = objects;
}

function encodeObject(kind: number, obj: Transferable): void {
  const desc = obj.serialize();
  scratch[0] = TAG.OBJECT;
  scratch[1] = kind;
  scratch.set(desc, 2);
  setOut(scratch, desc.length + 2);
  encoded.objects = true;
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
    case TAG.PLAIN:
      try {
        return decodePlain(buf, start + 1, end);
      } catch (err) {
        if (err instanceof PlainFormatError || err instanceof RangeError) throw Errors.badMessage(op, err.message);
        throw err;
      }
    case TAG.JSON: // only decoded (older senders)
      return JSON.parse(buf.toString('utf8', start + 1, end));
    case TAG.V8:
      return deserialize(buf, start + 1, end, copy, op);
    case TAG.OBJECT: {
      const attach = attacherOf(buf[start + 1]!);
      if (!attach) throw Errors.badMessage(op, `unknown Dragon object kind ${buf[start + 1]}`);
      return attach(new Uint8Array(buf.subarray(start + 2, end)));
    }
    case TAG.ERROR: {
      const record = deserialize(buf, start + 1, end, true, op) as ErrorRecord;
      try {
        return reviveError(record);
      } catch (err) {
        throw Errors.badMessage(op, (err as Error).message);
      }
    }
    default:
      throw Errors.badMessage(op, `unknown tag ${tag}`);
  }
}

function deserialize(buf: Buffer, start: number, end: number, copy: boolean, op: string): unknown {
  // v8's deserializer returns typed arrays that alias its input when
  // aligned: give it a private copy unless aliasing is the point.
  const src = copy ? Buffer.from(buf.subarray(start, end)) : buf.subarray(start, end);
  return deserializeStructured(src, op);
}
