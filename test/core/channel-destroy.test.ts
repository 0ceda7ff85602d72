// Destroying a channel (here or in another process) fails every operation
// still waiting on it; a handle used after detach/destroy says so.
import * as assert from 'uvu/assert';
import { Channel, DragonError, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('channel destroy');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as DragonError).code;
  }
}

test('destroy here rejects the pending operations of every handle', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const ch = Channel.create({ pool, capacity: 1 });
  const other = Channel.attach(ch.serialize());
  ch.sendSync('fill');
  const mine = [ch.send('a'), ch.send('b')];
  const theirs = [other.recv(), other.recv(), other.recv()].map(codeOf);
  // the first receive takes 'fill'; the others wait
  ch.destroy();
  for (const p of mine) assert.is(await codeOf(p), 'DRAGON_ERR_DESTROYED');
  const results = await Promise.all(theirs);
  assert.is(results.filter((c) => c === 'DRAGON_ERR_DESTROYED').length >= 2, true, results.join());
  other.detach();
});

test('destroy in another process rejects our pending receives', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const ch = Channel.create({ pool, capacity: 4 });
  const child = forkFixture('channel-peer');
  child.send({ cmd: 'attach', descs: [hex(ch.serialize())] });
  await nextMessage(child, (m) => m.done === 'attach');
  const pending = [ch.recv(), ch.recv({ timeout: 20_000 })].map(codeOf);
  child.send({ cmd: 'destroy', ch: 0 });
  assert.equal(await Promise.all(pending), ['DRAGON_ERR_DESTROYED', 'DRAGON_ERR_DESTROYED']);
  await nextMessage(child, (m) => m.done === 'destroy');
  child.send({ cmd: 'exit' });
  assert.is(await exitOf(child), 0);
  ch.detach();
});

test('our destroy rejects a receive pending in another process', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const ch = Channel.create({ pool, capacity: 4 });
  const child = forkFixture('channel-peer');
  child.send({ cmd: 'attach', descs: [hex(ch.serialize())] });
  await nextMessage(child, (m) => m.done === 'attach');
  child.send({ cmd: 'recvPending', ch: 0 });
  await nextMessage(child, (m) => m.done === 'parked');
  ch.destroy();
  const r = await nextMessage(child, (m) => m.done === 'recvPending');
  assert.is(r.outcome, 'DRAGON_ERR_DESTROYED');
  child.send({ cmd: 'exit' });
  assert.is(await exitOf(child), 0);
});

test('detach rejects this handle\'s waiters only', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 4 });
  const other = Channel.attach(ch.serialize());
  const gone = codeOf(other.recv());
  const stays = ch.recv({ timeout: 5000 });
  other.detach();
  assert.is(await gone, 'DRAGON_ERR_CLOSED');
  ch.sendSync('still works');
  assert.is(await stays, 'still works');
  assert.throws(() => other.sendSync(1), (e: DragonError) => e.code === 'DRAGON_ERR_CLOSED' && /detached in this process/.test(e.message));
  assert.is(await codeOf(other.recv()), 'DRAGON_ERR_CLOSED');
});

test.run();
