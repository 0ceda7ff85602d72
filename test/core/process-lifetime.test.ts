// The doorbell socket keeps a process alive exactly while an operation is
// pending.
import * as assert from 'uvu/assert';
import { Channel, MemoryPool } from '../../src/index.js';
import { exitOf, hex, spawnFixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('process lifetime');

test('a script with nothing pending exits by itself with code 0', async () => {
  const child = spawnFixture('exits-on-its-own');
  assert.is(await exitOf(child, 5000), 0);
  assert.is(child.output().trim(), 'done wake again');
});

test('a pending receive under top-level await keeps the process alive until a message arrives', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const child = spawnFixture('awaits-message', [hex(ch.serialize())]);
  while (!child.output().includes('waiting')) {
    assert.is(child.exitCode, null, 'the child died before waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.is(child.exitCode, null, 'still waiting (an unref\'d socket would make Node exit with 13)');
  await ch.send({ hello: 'from the parent' });
  assert.is(await exitOf(child, 5000), 0);
  assert.match(child.output(), /got \{"hello":"from the parent"\}/);
});

test.run();
