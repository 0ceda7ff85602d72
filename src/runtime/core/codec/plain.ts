// The fast path of the value codec for plain data: plain objects and dense
// plain arrays of strings, numbers, booleans, null and undefined, with
// shared references and cycles. v8.serialize costs ~2 µs for a small
// object and JSON cannot carry -0, NaN, undefined or shared references;
// this format is written and read by hand in JS (a few hundred ns for a
// small object) and gives exactly what structured clone gives for the
// values it accepts. Anything else (a Map, a class instance, a sparse
// array, a lone surrogate...) makes encodePlain() answer NOT_PLAIN and the
// caller uses v8.
//
// Format, after the codec's tag byte, one value:
//   NULL | UNDEFINED | TRUE | FALSE
//   INT32 i32le | FLOAT64 f64le
//   ASCII8 u8 len, bytes | UTF8_8 u8 len, bytes | UTF8_32 u32le len, bytes
//   ARRAY u32le n, n values | OBJECT (key string, value)* END
//   REF u32le k: the k-th array or object of this message (0-based, in the
//   order they were opened), for shared references and cycles.

const NULL = 0;
const UNDEFINED = 1;
const TRUE = 2;
const FALSE = 3;
const INT32 = 4;
const FLOAT64 = 5;
const ASCII8 = 6;
const UTF8_8 = 7;
const UTF8_32 = 8;
const ARRAY = 9;
const OBJECT = 10;
const END = 11;
const REF = 12;

/** encodePlain's answer for a value it does not take. */
export const NOT_PLAIN = -1;
/** encodePlain's answer when the buffer is too small: retry with a bigger one. */
export const TOO_SMALL = -2;

const MAX_DEPTH = 64;
// Strings of up to this many UTF-16 units fit an 8-bit UTF-8 length (3 bytes each at most).
const SHORT_STRING = 85;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

// Node's Buffer methods behind toString(): the same work without the
// argument checks (@types/node leaves them out).
interface Slices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
interface MaybeWellFormed {
  isWellFormed(): boolean;
}
const wellFormed = (s: string): boolean => (s as unknown as MaybeWellFormed).isWellFormed();

// ---- encoding ----------------------------------------------------------------

let out: Uint8Array = new Uint8Array(0);
let outBuf: Buffer = Buffer.alloc(0);
let pos = 0;
let cap = 0;
let overflow = false;
/** Arrays and objects written so far, for REF (a Map once there are many). */
const opened: Array<object | undefined> = [];
let openedCount = 0;
let openedMap: Map<object, number> | undefined;
const OPENED_LIST_MAX = 32;

/**
 * Writes `value` into buf[start..): the end offset, NOT_PLAIN, or
 * TOO_SMALL. Only values whose structured clone this format reproduces
 * exactly are taken.
 */
export function encodePlain(value: unknown, buf: Buffer, start: number): number {
  out = buf;
  outBuf = buf;
  pos = start;
  cap = buf.length;
  overflow = false;
  const ok = write(value, 0);
  for (let i = 0; i < openedCount; i++) opened[i] = undefined; // keep no user object alive
  openedCount = 0;
  openedMap = undefined;
  if (overflow) return TOO_SMALL;
  return ok ? pos : NOT_PLAIN;
}

function write(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return writeString(v);
    case 'number':
      return writeNumber(v);
    case 'boolean':
      return byte(v ? TRUE : FALSE);
    case 'undefined':
      return byte(UNDEFINED);
    case 'object':
      if (v === null) return byte(NULL);
      if (depth >= MAX_DEPTH) return false;
      return Array.isArray(v) ? writeArray(v, depth) : writeObject(v, depth);
    default:
      return false;
  }
}

function byte(b: number): boolean {
  if (pos >= cap) return full();
  out[pos++] = b;
  return true;
}

function full(): boolean {
  overflow = true;
  return false;
}

function writeNumber(v: number): boolean {
  if (pos + 9 > cap) return full();
  if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
    out[pos] = INT32;
    out[pos + 1] = v;
    out[pos + 2] = v >> 8;
    out[pos + 3] = v >> 16;
    out[pos + 4] = v >> 24;
    pos += 5;
    return true;
  }
  // -0, NaN, infinities and fractions: the exact float64
  f64[0] = v;
  out[pos] = FLOAT64;
  out.set(f64Bytes, pos + 1);
  pos += 9;
  return true;
}

function writeString(s: string): boolean {
  const n = s.length;
  if (n <= SHORT_STRING) {
    if (pos + 2 + n * 3 > cap) return full();
    // ASCII by hand; anything else through the UTF-8 encoder
    const at = pos + 2;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + i] = c;
    }
    if (i === n) {
      out[pos] = ASCII8;
      out[pos + 1] = n;
      pos = at + n;
      return true;
    }
    // lone surrogates do not survive UTF-8 (structured clone keeps them)
    if (!wellFormed(s)) return false;
    const len = outBuf.write(s, at, 'utf8');
    out[pos] = UTF8_8;
    out[pos + 1] = len;
    pos = at + len;
    return true;
  }
  if (pos + 5 + n * 3 > cap) return full();
  const len = outBuf.write(s, pos + 5, 'utf8');
  // UTF-8 longer than the string: not ASCII, check what the encoder would replace
  if (len !== n && !wellFormed(s)) return false;
  out[pos] = UTF8_32;
  writeU32(pos + 1, len);
  pos += 5 + len;
  return true;
}

function writeU32(at: number, n: number): void {
  out[at] = n;
  out[at + 1] = n >>> 8;
  out[at + 2] = n >>> 16;
  out[at + 3] = n >>> 24;
}

// A REF if `o` was written before; otherwise remembers it and answers false.
function writeRef(o: object): boolean {
  let k = -1;
  if (openedMap) k = openedMap.get(o) ?? -1;
  else {
    for (let i = 0; i < openedCount; i++) {
      if (opened[i] === o) {
        k = i;
        break;
      }
    }
    if (k < 0 && openedCount >= OPENED_LIST_MAX) {
      openedMap = new Map();
      for (let i = 0; i < openedCount; i++) openedMap.set(opened[i]!, i);
    }
  }
  if (k >= 0) {
    if (pos + 5 > cap) return full() || true;
    out[pos] = REF;
    writeU32(pos + 1, k);
    pos += 5;
    return true;
  }
  if (openedMap) openedMap.set(o, openedMap.size);
  else opened[openedCount++] = o;
  return false;
}

function writeArray(a: unknown[], depth: number): boolean {
  if (Object.getPrototypeOf(a) !== Array.prototype) return false;
  if (writeRef(a)) return !overflow;
  const n = a.length;
  // holes and named properties: structured clone keeps them, this format does not
  if (n > 0 && Object.keys(a).length !== n) return false;
  if (pos + 5 > cap) return full();
  out[pos] = ARRAY;
  writeU32(pos + 1, n);
  pos += 5;
  for (let i = 0; i < n; i++) if (!write(a[i], depth + 1)) return false;
  return true;
}

function writeObject(o: object, depth: number): boolean {
  if (Object.getPrototypeOf(o) !== Object.prototype) return false;
  if (writeRef(o)) return !overflow;
  if (!byte(OBJECT)) return false;
  // own enumerable string keys, in the order structured clone writes them
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (!writeString(k) || !write((o as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return byte(END);
}

// ---- decoding ----------------------------------------------------------------

let src: Buffer = Buffer.alloc(0);
let slices: Slices = src as unknown as Slices;
let at = 0;
let limit = 0;
const refs: Array<object | undefined> = [];
let refCount = 0;

export class PlainFormatError extends Error {}

/** Reads one value from buf[start..end) (written by encodePlain). */
export function decodePlain(buf: Buffer, start: number, end: number): unknown {
  src = buf;
  slices = buf as unknown as Slices;
  at = start;
  limit = end;
  try {
    const v = read();
    if (at !== end) throw new PlainFormatError(`${end - at} bytes after the value`);
    return v;
  } finally {
    for (let i = 0; i < refCount; i++) refs[i] = undefined; // keep nothing alive
    refCount = 0;
  }
}

function need(n: number): void {
  if (at + n > limit) throw new PlainFormatError('truncated');
}

function read(): unknown {
  need(1);
  const t = src[at++];
  switch (t) {
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    case TRUE:
      return true;
    case FALSE:
      return false;
    case INT32: {
      need(4);
      const v = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24);
      at += 4;
      return v;
    }
    case FLOAT64:
      need(8);
      for (let i = 0; i < 8; i++) f64Bytes[i] = src[at + i]!;
      at += 8;
      return f64[0];
    case ASCII8:
    case UTF8_8:
    case UTF8_32:
      return readString(t);
    case ARRAY: {
      need(4);
      const n = readU32();
      if (n > limit - at) throw new PlainFormatError('bad array length');
      const a: unknown[] = []; // packed, as v8 makes it
      refs[refCount++] = a;
      for (let i = 0; i < n; i++) a.push(read());
      return a;
    }
    case OBJECT: {
      const o: Record<string, unknown> = {};
      refs[refCount++] = o;
      for (;;) {
        need(1);
        const kt = src[at++];
        if (kt === END) return o;
        const k = readString(kt!);
        const v = read();
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
        else o[k] = v;
      }
    }
    case REF: {
      need(4);
      const k = readU32();
      if (k >= refCount) throw new PlainFormatError('bad reference');
      const r = refs[k]!;
      return r;
    }
    default:
      throw new PlainFormatError(`unknown type ${t}`);
  }
}

function readU32(): number {
  const n = (src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16)) + src[at + 3]! * 0x1000000;
  at += 4;
  return n;
}

// Short ASCII strings (keys, mostly) come from a small cache, so a key read
// a thousand times is one string (internalized once), not a thousand.
const CACHE_SIZE = 512;
const cache: Array<string | undefined> = new Array(CACHE_SIZE);
const CACHED_MAX = 24;

function readString(t: number): string {
  if (t === ASCII8) {
    need(1);
    const n = src[at++]!;
    need(n);
    const s = n <= CACHED_MAX ? cachedAscii(at, n) : slices.latin1Slice(at, at + n);
    at += n;
    return s;
  }
  let n: number;
  if (t === UTF8_8) {
    need(1);
    n = src[at++]!;
  } else if (t === UTF8_32) {
    need(4);
    n = readU32();
  } else {
    throw new PlainFormatError(`expected a string, got type ${t}`);
  }
  need(n);
  const s = slices.utf8Slice(at, at + n);
  at += n;
  return s;
}

function cachedAscii(p: number, n: number): string {
  if (n === 0) return '';
  const h = (n * 31 + src[p]! * 7 + src[p + n - 1]! * 3 + src[p + (n >> 1)]!) & (CACHE_SIZE - 1);
  const c = cache[h];
  if (c !== undefined && c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === src[p + i]) i++;
    if (i === n) return c;
  }
  const s = slices.latin1Slice(p, p + n);
  cache[h] = s;
  return s;
}
