// What Value and Array share: typecodes, the memory (a pool allocation,
// seen locally through a typed array, or of another node through the
// transport's gateway op 6, MEM), the optional lock, and the composite
// descriptor they travel with.
//
// Typecodes: Python's array/ctypes letters ('b','B','h','H','i','I','l','L',
// 'q','Q','f','d'; 'l'/'L' are 64-bit as on Linux; 'c' char, 'u' wchar_t)
// or readable names ('int8'...'uint64', 'float32', 'float64', 'char',
// 'wchar'). 64-bit integers are bigints (as in BigInt64Array: exact);
// setting one also takes a safe-integer number. A 'c' element is a 1-byte
// Buffer (Python's b'x'; setting one also takes a byte value), a 'u' element
// a one-character string (one code point: wchar_t is 4 bytes on Linux).
// Every other type is a number. A value that does not fit the type (not an
// integer for an integer type, out of range) is refused with a clear error
// (ctypes would wrap it silently).
//
// Descriptor (kinds 44 Value / 45 Array): a 16-byte header, then the
// allocation's descriptor, then the lock's (when there is one):
//   0 u8 version (1)   1 u8 typecode index in TYPECODES   2 u8 has lock (0/1)
//   3 u8 what (1 Value, 2 Array)   4 u32 element count
//   8 u16 allocation descriptor length   10 u16 lock descriptor length   12 u32 0
import { Allocation } from '../core/memory/allocation.js';
import { inspectDescriptor } from '../core/descriptor.js';
import { Errors } from '../errors/errors.js';
import { runtimeId } from '../core/identity.js';
import { thisNode } from '../core/memory/pool-handle.js';
import type { MemoryPool } from '../core/memory/pool.js';
import { RemoteMemory } from '../remote/memory.js';
import { Lock, RLock, attachAnyLock, type AnyLock } from '../core/sync/lock.js';
import { defaultPool } from '../core/memory/default-pool.js';

// The descriptor carries the index in this list: new codes go at the end.
export const TYPECODES = ['b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'f', 'd', 'c', 'u'] as const;
export type Letter = (typeof TYPECODES)[number];
export type TypeName = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'char' | 'wchar';
export type Typecode = Letter | TypeName;
type BigCode = 'l' | 'L' | 'q' | 'Q' | 'int64' | 'uint64';
type CharCode = 'c' | 'char';
type WcharCode = 'u' | 'wchar';
/** The JavaScript type of an element: bigint for 64-bit integers, a 1-byte Buffer for 'c', a one-character string for 'u', number otherwise. */
export type ElementOf<C extends Typecode> = C extends BigCode ? bigint : C extends CharCode ? Buffer : C extends WcharCode ? string : number;
/** What setting an element takes (besides an ElementOf). */
export type SettableOf<C extends Typecode> = [C] extends [CharCode] ? Uint8Array | number : [C] extends [WcharCode] ? string : ElementOf<C> | number;

export type TypedArrayOf<C extends Typecode> = C extends BigCode
  ? BigInt64Array | BigUint64Array
  : C extends CharCode
    ? Uint8Array
    : C extends WcharCode
      ? Uint32Array
      : Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

type AnyTyped = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
type TypedCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): AnyTyped; new (length: number): AnyTyped; BYTES_PER_ELEMENT: number };

export interface TypeInfo {
  index: number;
  letter: Letter;
  name: TypeName;
  size: number;
  ctor: TypedCtor;
  kind: 'int' | 'big' | 'float' | 'char' | 'wchar';
  min: number | bigint;
  max: number | bigint;
}

const NAMES: Record<Letter, TypeName> = { b: 'int8', B: 'uint8', h: 'int16', H: 'uint16', i: 'int32', I: 'uint32', l: 'int64', L: 'uint64', q: 'int64', Q: 'uint64', f: 'float32', d: 'float64', c: 'char', u: 'wchar' };
const CTORS: Record<TypeName, TypedCtor> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
  char: Uint8Array,
  wchar: Uint32Array,
} as unknown as Record<TypeName, TypedCtor>;
const BY_NAME: Record<TypeName, Letter> = { int8: 'b', uint8: 'B', int16: 'h', uint16: 'H', int32: 'i', uint32: 'I', int64: 'q', uint64: 'Q', float32: 'f', float64: 'd', char: 'c', wchar: 'u' };

export const TYPES: TypeInfo[] = TYPECODES.map((letter, index) => {
  const name = NAMES[letter];
  const ctor = CTORS[name];
  const size = ctor.BYTES_PER_ELEMENT;
  const signed = name.startsWith('int');
  const kind = name === 'char' || name === 'wchar' ? name : name.startsWith('float') ? 'float' : size === 8 ? 'big' : 'int';
  let min: number | bigint = -Infinity;
  let max: number | bigint = Infinity;
  if (kind === 'char' || kind === 'wchar') {
    min = 0;
    max = kind === 'char' ? 0xff : 0x10ffff;
  } else if (kind === 'int') {
    min = signed ? -(2 ** (size * 8 - 1)) : 0;
    max = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
  } else if (kind === 'big') {
    min = signed ? -(2n ** 63n) : 0n;
    max = signed ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  }
  return { index, letter, name, size, ctor, kind, min, max };
});

export function typeOf(code: unknown, op: string): TypeInfo {
  if (typeof code === 'string') {
    const letter = (TYPECODES as readonly string[]).includes(code) ? (code as Letter) : BY_NAME[code as TypeName];
    if (letter) return TYPES[TYPECODES.indexOf(letter)]!;
  }
  throw Errors.invalidArgument(op, `unknown typecode ${JSON.stringify(code)}: use one of ${TYPECODES.join(' ')} or ${Object.keys(BY_NAME).join(', ')}`);
}

/** The element as stored: checked against the type (clear error otherwise). */
export function convert(t: TypeInfo, v: unknown, op: string): number | bigint {
  if (t.kind === 'float') {
    if (typeof v === 'number') return v;
    throw Errors.invalidArgument(op, `an element of type ${t.name} takes a number, got ${describe(v)}`);
  }
  // char and wchar after the numeric kinds: the hot path (numbers) tests nothing more
  if (t.kind === 'char') {
    if (v instanceof Uint8Array && v.length === 1) return v[0]!;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff) return v;
    throw Errors.invalidArgument(op, `an element of type char ('c') takes one byte: a 1-byte Buffer/Uint8Array or an integer in [0, 255], got ${describe(v)}`);
  }
  if (t.kind === 'wchar') {
    const cp = typeof v === 'string' ? v.codePointAt(0) : undefined;
    // one code point, and not half of a surrogate pair
    if (cp !== undefined && String.fromCodePoint(cp) === v && !(cp >= 0xd800 && cp <= 0xdfff)) return cp;
    throw Errors.invalidArgument(op, `an element of type wchar ('u') takes a one-character string (one code point), got ${describe(v)}`);
  }
  if (t.kind === 'int') {
    if (typeof v === 'number' && Number.isInteger(v) && v >= (t.min as number) && v <= (t.max as number)) return v;
    if (typeof v === 'bigint' && v >= BigInt(t.min) && v <= BigInt(t.max)) return Number(v);
  } else {
    const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
    if (b !== undefined && b >= (t.min as bigint) && b <= (t.max as bigint)) return b;
  }
  throw Errors.invalidArgument(op, `an element of type ${t.name} ('${t.letter}') takes an integer in [${t.min}, ${t.max}], got ${describe(v)}`);
}

/** The element as users see it, from what is stored: a 1-byte Buffer for 'c', a string for 'u'. */
export function elementOf(t: TypeInfo, stored: number | bigint): number | bigint | Buffer | string {
  if (t.kind === 'char') return Buffer.of(stored as number);
  if (t.kind === 'wchar') return String.fromCodePoint(stored as number);
  return stored;
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `a ${v.length}-byte ${v.constructor.name}`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v === 'number' || typeof v === 'boolean' || v == null ? String(v) : typeof v;
}

/** The lock option of Value and Array: true (a new RLock), false (none), or the caller's Lock/RLock. */
export type LockOption = boolean | AnyLock;

export interface SharedOptions {
  /** true (default): a new RLock; false: none; or a Lock/RLock to use. */
  lock?: LockOption;
  /** The pool of the memory (and of a new lock); default defaultPool(). */
  pool?: MemoryPool;
}

/** The parts a Value/Array handle holds. */
export interface Parts {
  type: TypeInfo;
  count: number;
  /** Local memory (undefined: another node's). */
  alloc: Allocation | undefined;
  remote: RemoteMemory | undefined;
  lock: AnyLock | undefined;
  /** What close() does to the lock: destroy it with the object, detach it, or leave it alone (the caller's). */
  lockMode: 'created' | 'attached' | 'user' | 'none';
  created: boolean;
}

/** Creates the memory (zero-filled) and the lock. */
export function createParts(type: TypeInfo, count: number, options: SharedOptions | undefined, op: string): Parts {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw Errors.invalidArgument(op, 'options must be an object like { lock, pool }');
  const pool = options?.pool ?? defaultPool();
  if (!pool || typeof (pool as MemoryPool).alloc !== 'function') throw Errors.invalidArgument(op, 'options.pool must be a MemoryPool (or leave it out for the default pool)');
  const lockOpt = options?.lock ?? true;
  if (typeof lockOpt !== 'boolean' && !(lockOpt instanceof Lock) && !(lockOpt instanceof RLock)) {
    throw Errors.invalidArgument(op, 'options.lock must be true (a new RLock), false (no lock) or a Lock/RLock');
  }
  if (typeof lockOpt !== 'boolean' && lockOpt.closed) throw Errors.invalidArgument(op, 'options.lock is closed (detached or destroyed)');
  const alloc = pool.alloc(Math.max(8, type.size * count));
  alloc.bytes.fill(0);
  let lock: AnyLock | undefined;
  try {
    lock = lockOpt === true ? RLock.create({ pool }) : lockOpt === false ? undefined : lockOpt;
  } catch (err) {
    alloc.free();
    throw err;
  }
  return { type, count, alloc, remote: undefined, lock, lockMode: lockOpt === true ? 'created' : lockOpt === false ? 'none' : 'user', created: true };
}

const HEADER = 16;
const VERSION = 1;

export function serializeParts(p: Parts, what: 1 | 2): Uint8Array {
  const a = p.alloc ? p.alloc.serialize() : p.remote!.desc;
  const l = p.lock ? p.lock.serialize() : new Uint8Array(0);
  const out = new Uint8Array(HEADER + a.length + l.length);
  const b = Buffer.from(out.buffer);
  b.writeUInt8(VERSION, 0);
  b.writeUInt8(p.type.index, 1);
  b.writeUInt8(p.lock ? 1 : 0, 2);
  b.writeUInt8(what, 3);
  b.writeUInt32LE(p.count, 4);
  b.writeUInt16LE(a.length, 8);
  b.writeUInt16LE(l.length, 10);
  out.set(a, HEADER);
  out.set(l, HEADER + a.length);
  return out;
}

/** Attaches the parts of a descriptor from serializeParts (memory of another node: through the transport). */
export function attachParts(desc: Uint8Array, what: 1 | 2, op: string): Parts {
  const name = what === 1 ? 'Value' : 'Array';
  if (!(desc instanceof Uint8Array) || desc.length < HEADER) throw Errors.invalidArgument(op, `not a ${name} descriptor (${desc?.length ?? 0} bytes)`);
  const b = Buffer.from(desc.buffer, desc.byteOffset, desc.byteLength);
  const aLen = b.readUInt16LE(8);
  const lLen = b.readUInt16LE(10);
  const type = TYPES[b.readUInt8(1)];
  if (b.readUInt8(0) !== VERSION || b.readUInt8(3) !== what || !type || desc.length !== HEADER + aLen + lLen) {
    throw Errors.invalidArgument(op, `not a ${name} descriptor (from ${name}.serialize())`);
  }
  const count = b.readUInt32LE(4);
  const aDesc = desc.slice(HEADER, HEADER + aLen);
  const info = inspectDescriptor(aDesc, op);
  const here = thisNode();
  let alloc: Allocation | undefined;
  let remote: RemoteMemory | undefined;
  if (here !== undefined && info.hostId !== BigInt(here) && info.rtid === runtimeId()) {
    remote = new RemoteMemory(aDesc, Number(info.hostId), Math.max(8, type.size * count), name);
  } else alloc = Allocation.attach(aDesc);
  let lock: AnyLock | undefined;
  if (b.readUInt8(2)) {
    try {
      lock = attachAnyLock(desc.slice(HEADER + aLen), op);
    } catch (err) {
      alloc?.detach();
      throw err;
    }
  }
  return { type, count, alloc, remote, lock, lockMode: lock ? 'attached' : 'none', created: false };
}

/** Ends a handle: destroy frees the memory (and a lock made with it); detach only forgets. */
export function closeParts(p: Parts, how: 'detached' | 'destroyed', op: string): void {
  if (how === 'destroyed' && !p.alloc) {
    throw Errors.invalidArgument(op, `this ${p.type.name} memory lives on node ${p.remote!.node}: destroy() it in the process that created it (detach() here)`);
  }
  try {
    if (how === 'destroyed') p.alloc!.free();
    else p.alloc?.detach();
  } finally {
    const lock = p.lock;
    if (lock && !lock.closed && p.lockMode !== 'user') {
      if (how === 'destroyed' && p.lockMode === 'created') lock.destroy();
      else lock.detach();
    }
  }
}

/** A typed array over the local memory (valid while the allocation handle lives: it keeps the pool mapped). */
export function viewOf(p: Parts): AnyTyped {
  const bytes = p.alloc!.bytes;
  return new p.type.ctor(bytes.buffer, bytes.byteOffset, p.count);
}

/** Element i of another node's memory. */
export function remoteGet(p: Parts, i: number, op: string): number | bigint {
  const tmp = new p.type.ctor(1);
  p.remote!.read(op, i * p.type.size, new Uint8Array(tmp.buffer));
  return tmp[0]!;
}

export function remoteSet(p: Parts, i: number, v: number | bigint, op: string): void {
  const tmp = new p.type.ctor(1);
  (tmp as { [k: number]: number | bigint })[0] = v;
  p.remote!.write(op, i * p.type.size, new Uint8Array(tmp.buffer));
}

/** All elements of another node's memory, as a typed array (a copy). */
export function remoteReadAll(p: Parts, op: string, start = 0, end = p.count): AnyTyped {
  const tmp = new p.type.ctor(end - start);
  if (end > start) p.remote!.read(op, start * p.type.size, new Uint8Array(tmp.buffer));
  return tmp;
}

export function remoteWriteAll(p: Parts, op: string, values: AnyTyped, start: number): void {
  if (values.length) p.remote!.write(op, start * p.type.size, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

export function noLock(name: string, op: string): Error {
  return Errors.invalidArgument(op, `this ${name} was made with { lock: false }: it has no lock (pass lock: true or a Lock/RLock to have one)`);
}
