// Every kind of value crosses a channel, within a process and to another
// process and back, with structured-clone semantics.
import v8 from 'node:v8';
import { isDeepStrictEqual } from 'node:util';
import * as assert from 'uvu/assert';
import { Channel, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('channel values');

const values: Array<[string, unknown]> = [
  ['string', 'hello'],
  ['number', 12.5],
  ['-0', -0],
  ['NaN', NaN],
  ['true', true],
  ['null', null],
  ['undefined', undefined],
  ['bigint', -(2n ** 65n)],
  ['object', { id: 7, name: 'task', tags: ['a', 'b'], nested: { ok: true } }],
  ['nested mixed', { m: new Map([['k', new Set([1, 2])]]), d: new Date(5), list: [1, { x: [2n] }] }],
  ['Map', new Map<unknown, unknown>([[1, { a: 1 }], ['two', [2]]])],
  ['Buffer', Buffer.from('raw buffer')],
  ['Uint8Array', new Uint8Array([0, 1, 254, 255])],
  ['Float32Array', new Float32Array([1.5, -0.25])],
  ['BigUint64Array', new BigUint64Array([2n ** 63n])],
  ['large string (allocation path)', 'λ'.repeat(100_000)],
  ['large Buffer (allocation path)', Buffer.alloc(300_000, 0xab)],
  ['large object (allocation path)', { rows: Array.from({ length: 2000 }, (_, i) => ({ i, s: `row ${i}` })) }],
];

function same(got: unknown, want: unknown): boolean {
  if (typeof want === 'number') return Object.is(got, want);
  if (want && typeof want === 'object' && Object.getPrototypeOf(got) !== Object.getPrototypeOf(want)) return false;
  return isDeepStrictEqual(got, want);
}

test('within a process: async and sync, every kind', async () => {
  using pool = MemoryPool.create({ bytes: 8 << 20 });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 512 });
  for (const [name, v] of values) {
    await ch.send(v);
    assert.ok(same(await ch.recv(), v8.deserialize(v8.serialize(v))), `async ${name}`);
    ch.sendSync(v);
    assert.ok(same(ch.recvSync(), v), `sync ${name}`);
  }
  assert.is(pool.stats().numAllocs, 1, 'only the channel itself: large messages were freed');
});

test('to another process and back', async () => {
  using pool = MemoryPool.create({ bytes: 16 << 20 });
  using there = Channel.create({ pool, capacity: 4, blockSize: 512 });
  using back = Channel.create({ pool, capacity: 4, blockSize: 512 });
  const child = forkFixture('channel-peer');
  child.send({ cmd: 'attach', descs: [hex(there.serialize()), hex(back.serialize())] });
  await nextMessage(child, (m) => m.done === 'attach');
  child.send({ cmd: 'echo', from: 0, to: 1, count: values.length });
  for (const [name, v] of values) {
    await there.send(v);
    assert.ok(same(await back.recv({ timeout: 10_000 }), v8.deserialize(v8.serialize(v))), name);
  }
  await nextMessage(child, (m) => m.done === 'echo');
  child.send({ cmd: 'exit' });
  assert.is(await exitOf(child), 0);
});

test('raw bytes: sendBytes/recvBytes carry exactly the bytes, no tag', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  for (const len of [0, 1, 63, 64, 65, 100_000]) {
    const bytes = new Uint8Array(len).map((_, i) => i * 7);
    await ch.sendBytes(bytes);
    const got = await ch.recvBytes();
    assert.instance(got, Buffer);
    assert.is(got.length, len);
    assert.ok(Buffer.from(bytes).equals(got), `length ${len}`);
    ch.sendBytesSync(bytes);
    assert.ok(Buffer.from(bytes).equals(ch.recvBytesSync()), `sync length ${len}`);
  }
});

test('Dragon objects travel as descriptors and are attached on arrival', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 4 });
  const inner = Channel.create({ pool, capacity: 2 });
  await ch.send(inner);
  const got = (await ch.recv()) as Channel;
  assert.instance(got, Channel);
  assert.ok(got !== inner);
  await got.send('through the received handle');
  assert.is(await inner.recv(), 'through the received handle');
  await ch.send(pool);
  const p2 = (await ch.recv()) as MemoryPool;
  assert.instance(p2, MemoryPool);
  assert.is(p2.name, pool.name);
  p2.detach();
  got.detach();
  inner.destroy();
});

test('a value that cannot be serialized is refused before anything is sent', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  try {
    await ch.send({ f() {} });
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code: string }).code, 'DRAGON_ERR_INVALID_ARGUMENT');
  }
  assert.is(ch.count(), 0);
});

test.run();
