// Many round trips between two processes, async against async and sync
// against async: every wake-up must arrive (a lost one would stall a round
// trip until its timeout), and the waiter, spinner and watches must
// survive thousands of park/unpark cycles.
import * as assert from 'uvu/assert';
import { Channel, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('ping-pong');
const ROUNDS = 3000;

for (const peerMode of ['async', 'sync'] as const) {
  test(`${ROUNDS} round trips against a ${peerMode} peer`, async () => {
    using pool = MemoryPool.create({ bytes: 8 << 20 });
    using ping = Channel.create({ pool, capacity: 4, blockSize: 256 });
    using pong = Channel.create({ pool, capacity: 4, blockSize: 256 });
    const child = forkFixture('channel-peer');
    child.send({ cmd: 'attach', descs: [hex(ping.serialize()), hex(pong.serialize())] });
    await nextMessage(child, (m) => m.done === 'attach');
    child.send({ cmd: 'echo', from: 0, to: 1, count: ROUNDS, sync: peerMode === 'sync' });
    for (let i = 0; i < ROUNDS; i++) {
      // every 100th message is large (the allocation path)
      const msg = i % 100 === 99 ? { i, pad: 'p'.repeat(2000) } : { i };
      await ping.send(msg, { timeout: 10_000 });
      const back = (await pong.recv({ timeout: 10_000 })) as { i: number };
      assert.is(back.i, i);
    }
    await nextMessage(child, (m) => m.done === 'echo');
    child.send({ cmd: 'exit' });
    assert.is(await exitOf(child), 0);
    assert.is(pool.stats().numAllocs, 2, 'only the two channels remain allocated');
  });
}

test.run();
