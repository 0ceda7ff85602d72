// Zero-copy receives: a large message is read in place from pool memory,
// stays valid (and its pool mapped) until release(), and is unusable after.
import { existsSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { Channel, DragonError, MemoryPool, MessageView } from '../../src/index.js';
import { exitOf, spawnFixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('zero-copy views');

test('a large message arrives as a view on pool memory; release frees it', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 256 });
  await ch.sendBytes(Buffer.alloc(100_000, 0x5a));
  const before = pool.stats().numAllocs;
  const view = await ch.recvBytes({ zeroCopy: true });
  assert.instance(view, MessageView);
  assert.ok(view.zeroCopy);
  assert.is(view.length, 100_000);
  assert.is(view.bytes[99_999], 0x5a);
  assert.is(pool.stats().numAllocs, before, 'the message allocation is still held');
  view.release();
  assert.is(pool.stats().numAllocs, before - 1);
  assert.ok(view.released);
  view.release(); // idempotent
});

test('after release, bytes and value throw DRAGON_ERR_RELEASED', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 256 });
  await ch.send({ big: 'x'.repeat(10_000) });
  const view = await ch.recv<{ big: string }>({ zeroCopy: true });
  assert.is(view.value.big.length, 10_000);
  view.release();
  assert.throws(() => view.bytes, (e: DragonError) => e.code === 'DRAGON_ERR_RELEASED' && /Copy the bytes/.test(e.message));
  assert.throws(() => view.value, (e: DragonError) => e.code === 'DRAGON_ERR_RELEASED');
});

test('typed arrays in a zero-copy value alias pool memory until release', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 256 });
  await ch.send(new Uint8Array(50_000).fill(3));
  {
    using view = await ch.recv<Uint8Array>({ zeroCopy: true });
    const arr = view.value;
    assert.instance(arr, Uint8Array);
    assert.is(arr.length, 50_000);
    assert.is(arr.buffer, view.bytes.buffer, 'no copy');
  }
  assert.is(pool.stats().numAllocs, 1, 'disposed at the end of the block');
});

test('small messages give a private copy; release is a no-op', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 256 });
  await ch.send('small');
  const view = ch.recvSync<string>({ zeroCopy: true });
  assert.not.ok(view.zeroCopy);
  assert.is(view.value, 'small');
  view.release();
});

test('the pool stays mapped while a view lives, even after destroy', async () => {
  const pool = MemoryPool.create({ bytes: 4 << 20 });
  const path = `/dev/shm${pool.name}`;
  const ch = Channel.create({ pool, capacity: 2, blockSize: 256 });
  await ch.sendBytes(Buffer.alloc(64_000, 7));
  const view = await ch.recvBytes({ zeroCopy: true });
  ch.destroy();
  pool.destroy();
  assert.ok(existsSync(path), 'destroy is deferred while the view lives');
  assert.is(view.bytes[63_999], 7, 'still readable');
  view.release();
  assert.not.ok(existsSync(path), 'the last release destroyed the pool');
});

test('recvBytes views have no value', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  ch.sendBytesSync(Buffer.from('raw'));
  using view = ch.recvBytesSync({ zeroCopy: true });
  assert.is(view.bytes.toString(), 'raw');
  assert.throws(() => view.value, (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
});

test('zero-copy send: an allocation handed to the channel arrives in place', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 64 });
  const a = pool.alloc(10_000);
  a.bytes.fill(9);
  ch.sendAllocationSync(a);
  assert.throws(() => a.bytes, (e: DragonError) => e.code === 'DRAGON_ERR_CLOSED');
  using view = await ch.recvBytes({ zeroCopy: true });
  assert.ok(view.zeroCopy);
  assert.is(view.length, 10_000);
  assert.is(view.bytes[9_999], 9);
});

test('a view dropped without release is freed by the garbage collector (safety net), with a warning', async () => {
  const child = spawnFixture('dropped-view', [], {}, ['--expose-gc']);
  assert.is(await exitOf(child, 20_000), 0);
  const r = JSON.parse(child.output());
  assert.is(r.after, r.held - 1);
  assert.ok(r.warnings.some((w: string) => /without release\(\)/.test(w)), r.warnings.join());
});

test.run();
