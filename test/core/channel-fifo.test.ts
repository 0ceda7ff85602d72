// Order: one sender's messages arrive in order; this process's pending
// receives are served in the order they were called; a full channel
// queues sends in order.
import * as assert from 'uvu/assert';
import { Channel, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('channel FIFO');

test('messages from another process arrive in order', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 16, blockSize: 64 });
  const child = forkFixture('channel-peer');
  child.send({ cmd: 'attach', descs: [hex(ch.serialize())] });
  await nextMessage(child, (m) => m.done === 'attach');
  child.send({ cmd: 'sendRange', ch: 0, count: 2000 });
  for (let i = 0; i < 2000; i++) assert.is(await ch.recv({ timeout: 10_000 }), i);
  await nextMessage(child, (m) => m.done === 'sendRange');
  child.send({ cmd: 'exit' });
  assert.is(await exitOf(child), 0);
});

test('pending receives of one process are served in call order', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 8 });
  const pending = Array.from({ length: 20 }, () => ch.recv({ timeout: 10_000 }));
  for (let i = 0; i < 20; i++) await ch.send(i);
  assert.equal(await Promise.all(pending), Array.from({ length: 20 }, (_, i) => i));
});

test('sends into a full channel wait and keep their order', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const sends = Array.from({ length: 10 }, (_, i) => ch.send(i, { timeout: 10_000 }));
  assert.is(ch.count(), 2);
  const got: unknown[] = [];
  for (let i = 0; i < 10; i++) got.push(await ch.recv({ timeout: 10_000 }));
  await Promise.all(sends);
  assert.equal(got, Array.from({ length: 10 }, (_, i) => i));
});

test('a sync receive takes what async senders queued', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  const a = ch.send('a');
  const b = ch.send('b', { timeout: 5000 });
  await a;
  assert.is(ch.recvSync({ timeout: 1000 }), 'a');
  await b;
  assert.is(ch.recvSync({ timeout: 1000 }), 'b');
});

test('count and poll', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  assert.is(ch.capacity, 2);
  assert.is(ch.blockSize, 1024);
  assert.is(ch.count(), 0);
  assert.is(ch.pollSync(Channel.POLL_IN, { timeout: 0 }), 0);
  assert.is(ch.pollSync(Channel.POLL_OUT | Channel.POLL_EMPTY), Channel.POLL_OUT | Channel.POLL_EMPTY);
  const readable = ch.poll(Channel.POLL_IN, { timeout: 5000 });
  setTimeout(() => ch.sendSync('x'), 5);
  assert.is((await readable) & Channel.POLL_IN, Channel.POLL_IN);
  ch.sendSync('y');
  assert.is(ch.count(), 2);
  assert.is(ch.pollSync(Channel.POLL_FULL), Channel.POLL_FULL);
  const writable = ch.poll(Channel.POLL_OUT, { timeout: 5000 });
  setTimeout(() => ch.recvSync(), 5);
  assert.is((await writable) & Channel.POLL_OUT, Channel.POLL_OUT);
  ch.recvSync();
});

test.run();
