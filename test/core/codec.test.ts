// The value codec gives exactly what v8.serialize/deserialize (Node's
// structured clone) gives, on its fast paths too.
import v8 from 'node:v8';
import { isDeepStrictEqual } from 'node:util';
import * as assert from 'uvu/assert';
import { decode, encode, encoded } from '../../src/runtime/core/codec/codec.js';
import { suite } from '../helpers/suite.js';

const test = suite('codec');

function roundTrip(v: unknown, copy = true): unknown {
  encode(v, 'test');
  const bytes = Buffer.from(encoded.buf.subarray(0, encoded.len));
  return decode(bytes, 0, bytes.length, copy, 'test');
}

function viaV8(v: unknown): unknown {
  return v8.deserialize(v8.serialize(v));
}

function sameShape(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a && typeof a === 'object') {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  }
  return isDeepStrictEqual(a, b);
}

const shared = { x: 1 };
const sparse = [1, , 3];
const withProp = Object.assign([1, 2], { extra: 'yes' });
const values: Array<[string, unknown]> = [
  ['string', 'hello'],
  ['empty string', ''],
  ['unicode', 'héllo ✓ 𝄞'],
  ['lone surrogate', 'a\ud800b'],
  ['long string', 'x'.repeat(200_000)],
  ['integer', 42],
  ['float', 3.25],
  ['-0', -0],
  ['NaN', NaN],
  ['Infinity', -Infinity],
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined', undefined],
  ['bigint', 2n ** 70n],
  ['plain object', { a: 1, b: 'two', c: [true, null, { d: 4.5 }] }],
  ['nested', { a: { b: { c: { d: [1, [2, [3]]] } } } }],
  ['object with -0', { z: -0 }],
  ['object with NaN', { n: NaN }],
  ['object with undefined', { u: undefined }],
  ['object with __proto__ key', JSON.parse('{"__proto__": 1, "a": 2}')],
  ['integer-like keys', { b: 1, 2: 'two', a: 3, 1: 'one' }],
  ['sparse array', sparse],
  ['array with a property', withProp],
  ['array', [1, 'a', false, null]],
  ['Map', new Map<unknown, unknown>([[1, 'a'], ['k', { v: 2 }]])],
  ['Set', new Set([1, 2, 'x'])],
  ['Date', new Date(1_700_000_000_000)],
  ['RegExp', /ab+c/gi],
  ['Buffer', Buffer.from('buffer bytes')],
  ['empty Buffer', Buffer.alloc(0)],
  ['Uint8Array', new Uint8Array([1, 2, 3, 255])],
  ['big Uint8Array', new Uint8Array(100_000).fill(9)],
  ['Float64Array', new Float64Array([1.5, -2.25])],
  ['Int32Array', new Int32Array([-1, 7])],
  ['BigInt64Array', new BigInt64Array([-5n])],
  ['DataView', new DataView(new ArrayBuffer(4))],
  ['ArrayBuffer', new Uint8Array([5, 6]).buffer],
  ['object with Map inside', { m: new Map([[1, 2]]) }],
  ['object with typed array inside', { t: new Uint16Array([1, 2]) }],
  ['boxed string', new String('boxed')],
];

for (const [name, v] of values) {
  test(`${name} round-trips like v8.serialize`, () => {
    const got = roundTrip(v);
    const want = viaV8(v);
    assert.ok(sameShape(got, want), `got ${String(got)} (${Object.prototype.toString.call(got)}), want ${String(want)}`);
  });
}

test('shared references stay shared, cycles survive', () => {
  const got = roundTrip({ a: shared, b: shared }) as { a: object; b: object };
  assert.is(got.a, got.b);
  const cyc: Record<string, unknown> = { name: 'c' };
  cyc.self = cyc;
  const back = roundTrip(cyc) as Record<string, unknown>;
  assert.is(back.self, back);
});

test('sparse arrays keep their holes', () => {
  const got = roundTrip([1, , 3]) as unknown[];
  assert.is(got.length, 3);
  assert.not.ok(1 in got);
});

test('class instances come back as plain objects (as with structured clone)', () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
  }
  const got = roundTrip(new Point(1, 2));
  assert.equal(got, { x: 1, y: 2 });
  assert.is(Object.getPrototypeOf(got), Object.prototype);
});

test('errors keep name, message, code, own properties and the remote stack', () => {
  const err = Object.assign(new RangeError('out of range'), { code: 'E_RANGE', detail: { n: 3 } });
  const got = roundTrip(err) as RangeError & { code: string; detail: unknown };
  assert.instance(got, RangeError);
  assert.is(got.name, 'RangeError');
  assert.is(got.message, 'out of range');
  assert.is(got.code, 'E_RANGE');
  assert.equal(got.detail, { n: 3 });
  assert.is(got.stack, err.stack);
});

test('errors with a custom name and a cause', () => {
  const err = new Error('outer', { cause: new Error('inner') });
  err.name = 'MyError';
  const got = roundTrip(err) as Error;
  assert.is(got.name, 'MyError');
  assert.is((got.cause as Error).message, 'inner');
});

test('decoded bytes are private copies unless zero-copy is asked for', () => {
  const src = Buffer.from('abc');
  encode(src, 'test');
  const wire = Buffer.from(encoded.buf.subarray(0, encoded.len));
  const copy = decode(wire, 0, wire.length, true, 'test') as Buffer;
  const alias = decode(wire, 0, wire.length, false, 'test') as Buffer;
  wire[1] = 'z'.charCodeAt(0);
  assert.is(copy.toString(), 'abc');
  assert.is(alias.toString(), 'zbc');
});

test('functions and symbols are refused with a DragonError', () => {
  for (const v of [() => 1, Symbol('s'), { f: () => 1 }]) {
    try {
      encode(v, 'Channel.send');
      assert.unreachable('should throw');
    } catch (err) {
      assert.is((err as { code: string }).code, 'DRAGON_ERR_INVALID_ARGUMENT');
      assert.match((err as Error).message, /Channel.send/);
    }
  }
});

// Same values, types, key order, -0, holes, and the same objects shared.
function sameStructure(a: unknown, b: unknown, pairs = new Map<object, object>()): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  const seen = pairs.get(a);
  if (seen) return seen === b;
  pairs.set(a, b as object);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  if (!Object.is(Object.getPrototypeOf(a), Object.prototype) && !Array.isArray(a)) return isDeepStrictEqual(a, b);
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.join('\0') !== kb.join('\0')) return false;
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  return ka.every((k) => sameStructure((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], pairs));
}

function sameAsV8(v: unknown): boolean {
  return sameStructure(roundTrip(v), viaV8(v));
}

test('plain data: key order, -0, NaN, undefined, shared references and cycles, exactly as v8', () => {
  const shared = { s: 1 };
  const cyc: Record<string, unknown> = { a: [1, 2] };
  cyc.self = cyc;
  (cyc.a as unknown[]).push(cyc);
  const cases: unknown[] = [
    { b: 1, 2: 'two', a: 3, 1: 'one', [-1]: 'neg', '01': 'str' },
    { z: -0, n: NaN, i: -Infinity, u: undefined, f: 0.1, big: 2 ** 40, neg: -(2 ** 31), int: 2 ** 31 - 1 },
    [shared, shared, { x: shared }],
    cyc,
    { s: 'héllo ✓ 𝄞', e: '', long: 'é'.repeat(5000), ascii: 'x'.repeat(300) },
    { lone: 'a\ud800b' },
    [[[[[]]]]],
    JSON.parse('{"__proto__": {"x": 1}, "a": 2}'),
    Array.from({ length: 3000 }, (_, i) => ({ i, s: `row ${i}` })),
    { big: 'y'.repeat(2 << 20) },
  ];
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = { d: deep };
  cases.push(deep);
  for (const [i, v] of cases.entries()) assert.ok(sameAsV8(v), `case ${i}`);
  const back = roundTrip(cases[3]) as Record<string, unknown>;
  assert.is(back.self, back);
  assert.is((back.a as unknown[])[2], back);
  assert.ok(Object.hasOwn(roundTrip(cases[7]) as object, '__proto__'));
});

test('an inherited enumerable property is not sent (as with v8)', () => {
  const proto = Object.prototype as Record<string, unknown>;
  proto.polluted = 1;
  try {
    assert.ok(sameAsV8({ a: 1 }));
    assert.not.ok(Object.hasOwn(roundTrip({ a: 1 }) as object, 'polluted'));
  } finally {
    delete proto.polluted;
  }
});

test('random plain data round-trips exactly as v8', () => {
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const leaf = (): unknown => [null, undefined, true, false, rnd(1000) - 500, rnd(1e6) / 7, -0, NaN, 'k' + rnd(50), 'ü' + rnd(9)][rnd(10)];
  const gen = (d: number): unknown => {
    if (d > 4 || rnd(3) === 0) return leaf();
    if (rnd(2)) return Array.from({ length: rnd(6) }, () => gen(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = rnd(6); i > 0; i--) o[rnd(3) ? `k${rnd(20)}` : String(rnd(10))] = gen(d + 1);
    return o;
  };
  for (let i = 0; i < 500; i++) {
    const v = gen(0);
    assert.ok(sameAsV8(v), JSON.stringify(v));
  }
});

test('garbage is a DRAGON_ERR_BAD_MESSAGE', () => {
  encode({ a: [1, 2, 3], s: 'text' }, 'test');
  const plain = Buffer.from(encoded.buf.subarray(0, encoded.len));
  const truncated = plain.subarray(0, plain.length - 3);
  const trailing = Buffer.concat([plain, Buffer.from([0])]);
  const badRef = Buffer.from([13, 12, 5, 0, 0, 0]);
  for (const bad of [Buffer.from([200, 1, 2]), truncated, trailing, badRef, Buffer.from([13, 9, 255, 255, 255, 255])]) {
    try {
      decode(bad, 0, bad.length, true, 'Channel.recv');
      assert.unreachable('should throw');
    } catch (err) {
      assert.is((err as { code: string }).code, 'DRAGON_ERR_BAD_MESSAGE', bad.toString('hex'));
    }
  }
});

test.run();
