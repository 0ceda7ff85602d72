// Dragon objects nested at any depth of a value (arrays, objects, Maps,
// Sets, error properties) arrive attached; everything else keeps
// structured-clone semantics, and a value without Dragon objects is encoded
// exactly as before.
import v8 from 'node:v8';
import * as assert from 'uvu/assert';
import { decode, decodeValue, encode, encodeValue, encoded } from '../../src/runtime/core/codec/codec.js';
import {
  Allocation,
  Barrier,
  BoundedSemaphore,
  Channel,
  Condition,
  DragonError,
  Event,
  Lock,
  MemoryPool,
  RLock,
  Semaphore,
} from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('nested Dragon objects');

function roundTrip<T>(v: T): T {
  encode(v, 'test');
  const bytes = Buffer.from(encoded.buf.subarray(0, encoded.len));
  return decode(bytes, 0, bytes.length, true, 'test') as T;
}

// Detaches every Dragon object found in a decoded value.
function detachAll(...objs: Array<{ detach(): void }>): void {
  for (const o of objs) o.detach();
}

test('every kind of Dragon object, nested in arrays, objects, Maps and Sets', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  using lock = Lock.create({ pool });
  using rlock = RLock.create({ pool });
  using sem = Semaphore.create({ pool, value: 2 });
  using bsem = BoundedSemaphore.create({ pool, value: 1 });
  using ev = Event.create({ pool });
  using bar = Barrier.create({ pool, parties: 2 });
  using cond = Condition.create({ pool });
  using alloc = pool.alloc(64);
  const value = {
    list: [ch, { deep: [[lock]] }],
    map: new Map<unknown, unknown>([['rlock', rlock], [sem, 'a key']]),
    set: new Set([bsem, ev]),
    more: { bar, cond, alloc, pool },
  };
  const got = roundTrip(value);
  assert.is(encoded.objects, true);
  const gotCh = got.list[0] as Channel;
  const gotLock = (got.list[1] as { deep: Lock[][] }).deep[0]![0]!;
  const gotRlock = got.map.get('rlock') as RLock;
  const gotSem = [...got.map.keys()].find((k) => k instanceof Semaphore) as Semaphore;
  const [gotBsem, gotEv] = [...got.set] as [BoundedSemaphore, Event];
  const { bar: gotBar, cond: gotCond, alloc: gotAlloc, pool: gotPool } = got.more;
  for (const [o, cls, orig] of [
    [gotCh, Channel, ch],
    [gotLock, Lock, lock],
    [gotRlock, RLock, rlock],
    [gotSem, Semaphore, sem],
    [gotBsem, BoundedSemaphore, bsem],
    [gotEv, Event, ev],
    [gotBar, Barrier, bar],
    [gotCond, Condition, cond],
    [gotAlloc, Allocation, alloc],
    [gotPool, MemoryPool, pool],
  ] as const) {
    assert.instance(o, cls);
    assert.ok(o !== orig, `${cls.name}: a new handle`);
    assert.equal(o.serialize(), orig.serialize(), `${cls.name}: same object`);
  }
  assert.is(got.map.get(gotSem), 'a key');
  // the handles work
  gotCh.sendSync('via nested handle');
  assert.is(ch.recvSync({ timeout: 0 }), 'via nested handle');
  gotEv.set();
  assert.ok(ev.isSet());
  gotAlloc.bytes[0] = 42;
  assert.is(alloc.bytes[0], 42);
  detachAll(gotCh, gotLock, gotRlock, gotSem, gotBsem, gotEv, gotBar, gotCond, gotAlloc, gotPool);
});

test('a Dragon object referenced twice arrives as one handle; cycles survive', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const node: Record<string, unknown> = { ch, name: 'node' };
  node.self = node;
  const shared = { x: 1 };
  const got = roundTrip({ a: ch, b: [ch], node, s1: shared, s2: shared });
  assert.is(got.a, (got.b as unknown[])[0]);
  assert.is(got.a, (got.node as Record<string, unknown>).ch);
  assert.is((got.node as Record<string, unknown>).self, got.node);
  assert.is(got.s1, got.s2);
  (got.a as Channel).detach();
});

test('found in a named property of a sparse array, in a class instance, and deep down', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const sparse = Object.assign([1, , 3], { named: ch });
  class Holder {
    constructor(readonly held: Channel) {}
  }
  let deep: Record<string, unknown> = { ch };
  for (let i = 0; i < 200; i++) deep = { next: deep };
  const got = roundTrip({ sparse, holder: new Holder(ch), deep });
  assert.instance((got.sparse as unknown as { named: Channel }).named, Channel);
  assert.not.ok(1 in got.sparse);
  assert.instance(got.holder.held, Channel);
  let d = got.deep;
  while (d.next) d = d.next as Record<string, unknown>;
  assert.instance(d.ch, Channel);
  (d.ch as Channel).detach();
});

test('Process-style arguments: [channel, { lock }, 3]', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  using lock = Lock.create({ pool });
  const { bytes, hasObjects } = encodeValue([ch, { lock }, 3]);
  assert.ok(hasObjects);
  assert.instance(bytes, Uint8Array);
  const [c, { lock: l }, n] = decodeValue<[Channel, { lock: Lock }, number]>(bytes);
  assert.instance(c, Channel);
  assert.instance(l, Lock);
  assert.is(n, 3);
  assert.ok(l.acquireSync({ timeout: 0 }));
  assert.ok(lock.locked());
  l.release();
  c.detach();
  l.detach();
  assert.is(encodeValue([1, 'two', { three: 3 }]).hasObjects, false);
});

test('other values keep structured-clone semantics next to Dragon objects', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
  }
  const sparse = [1, , 3];
  const withProp = Object.assign([1, 2], { extra: 'yes' });
  const rest = {
    f64: new Float64Array([1.5, -2]),
    buf: Buffer.from('bytes'),
    big: 2n ** 70n,
    date: new Date(1_700_000_000_000),
    re: /ab+c/gi,
    map: new Map([[1, new Set(['x'])]]),
    point: new Point(1, 2),
    sparse,
    withProp,
    nul: null,
    undef: undefined,
    negZero: -0,
    boxed: new String('boxed'),
    proto: JSON.parse('{"__proto__": 1, "a": 2}'),
  };
  const got = roundTrip({ ...rest, ch });
  const want = v8.deserialize(v8.serialize(rest));
  const { ch: gotCh, ...gotRest } = got;
  assert.instance(gotCh, Channel);
  assert.equal(gotRest, want);
  assert.instance(got.f64, Float64Array);
  assert.instance(got.buf, Buffer);
  assert.is(Object.getPrototypeOf(got.point), Object.prototype);
  assert.not.ok(1 in got.sparse);
  assert.is((got.withProp as unknown as { extra: string }).extra, 'yes');
  assert.ok(Object.is(got.negZero, -0));
  assert.ok(Object.hasOwn(got.proto, '__proto__'));
  (gotCh as Channel).detach();
});

test('errors at any depth keep name, message, code, own properties and stack', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const inner = Object.assign(new TypeError('inner'), { code: 'E_INNER' });
  const err = Object.assign(new Error('outer', { cause: inner }), { code: 'E_OUTER', channel: ch, fn: () => 1 });
  const got = roundTrip({ results: [1, err], plain: new RangeError('r') });
  const e = got.results[1] as Error & { code: string; channel: Channel; fn?: unknown };
  assert.instance(e, Error);
  assert.is(e.message, 'outer');
  assert.is(e.code, 'E_OUTER');
  assert.is(e.stack, err.stack);
  assert.instance(e.channel, Channel, 'a Dragon object inside an error property');
  assert.is(e.fn, undefined, 'a property that cannot be cloned is left out');
  const c = e.cause as TypeError & { code: string };
  assert.instance(c, TypeError);
  assert.is(c.code, 'E_INNER');
  assert.instance(got.plain, RangeError);
  const dragonErr = roundTrip([new DragonError('boom', { code: 'DRAGON_ERR_TIMEOUT', errno: 3 })])[0]!;
  assert.instance(dragonErr, DragonError);
  assert.is(dragonErr.code, 'DRAGON_ERR_TIMEOUT');
  // an error that refers to itself still goes through
  const selfish = Object.assign(new Error('me'), { code: 'E_SELF' }) as Error & { me?: unknown; code: string };
  selfish.me = selfish;
  const back = roundTrip({ selfish }).selfish;
  assert.is(back.code, 'E_SELF');
  assert.instance(back.me, Error);
  e.channel.detach();
});

test('what v8 refuses is still refused, with a DragonError', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  for (const bad of [[ch, () => 1], { ch, w: new WeakMap() }, { ch, p: Promise.resolve() }]) {
    try {
      encode(bad, 'Channel.send');
      assert.unreachable('should throw');
    } catch (err) {
      assert.instance(err, DragonError);
      assert.is((err as DragonError).code, 'DRAGON_ERR_INVALID_ARGUMENT');
    }
  }
});

test('a closed Dragon object cannot be sent; a message naming a destroyed one fails cleanly', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const keep = Channel.create({ pool, capacity: 2 });
  const gone = Channel.create({ pool, capacity: 2 });
  const closed = Channel.create({ pool, capacity: 2 });
  closed.destroy();
  try {
    encode([closed], 'test');
    assert.unreachable('should throw');
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_CLOSED');
  }
  const { bytes } = encodeValue([keep, gone]);
  gone.destroy();
  try {
    decodeValue(bytes);
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, DragonError);
  }
  keep.destroy();
  // the handle attached for `keep` before the failure was detached again: the pool can go
  pool.destroy();
});

test('values without Dragon objects are encoded exactly as v8.serialize encodes them', () => {
  const v = { a: [1, 2, new Float64Array(1000)], m: new Map([[1, 2]]), big: 1n };
  encode(v, 'test');
  assert.is(encoded.objects, false);
  const body = encoded.buf.subarray(1, encoded.len);
  assert.ok(Buffer.from(body).equals(v8.serialize(v)));
});

test('to another process: [channel, { lock, sem }, 3, Map, Set] arrive attached and usable', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using inbox = Channel.create({ pool, capacity: 2 });
  using reply = Channel.create({ pool, capacity: 2 });
  using lock = Lock.create({ pool });
  using sem = Semaphore.create({ pool, value: 1 });
  using go = Event.create({ pool });
  using barrier = Barrier.create({ pool, parties: 2 });
  const child = forkFixture('nested-objects-peer', [hex(inbox.serialize())]);
  await inbox.send([reply, { lock, sem }, 3, new Map([['go', go]]), new Set<unknown>([barrier, pool])]);
  const r = (await reply.recv({ timeout: 20_000 })) as {
    n: number;
    kinds: string[];
    lockAcquired: boolean;
    poolName: string;
    echo: { lock: Lock; sem: Semaphore };
  };
  assert.is(r.n, 3);
  assert.equal(r.kinds, ['Channel', 'Lock', 'Semaphore', 'Event', 'Barrier', 'MemoryPool']);
  assert.ok(r.lockAcquired);
  assert.ok(lock.locked());
  assert.is(sem.getValue(), 0);
  assert.ok(go.isSet());
  assert.is(r.poolName, pool.name);
  // and back again: the child's handles come home attached
  assert.instance(r.echo.lock, Lock);
  assert.equal(r.echo.lock.serialize(), lock.serialize());
  r.echo.lock.detach();
  r.echo.sem.detach();
  // listen before the barrier opens: the child may say done right after it
  const done = nextMessage(child, (m) => m.done === true);
  await barrier.wait({ timeout: 20_000 });
  await done;
  assert.is(await exitOf(child), 0);
  assert.not.ok(lock.locked());
});

test.run();
