// The event loop stays free while many operations wait: 1,000 receives
// pending on 200 channels at once, completed by another process, while a
// timer keeps firing; and no thread is parked per operation (one waiter
// thread per process, whatever the number of pending operations).
import { readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as assert from 'uvu/assert';
import { Channel, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('many pending operations');
const threads = () => readdirSync('/proc/self/task').length;

const CHANNELS = 200;
const PER_CHANNEL = 5;

test(`${CHANNELS * PER_CHANNEL} receives pending on ${CHANNELS} channels, timer alive, no thread per operation`, async () => {
  await stat('.'); // start libuv's thread pool now, so it does not count below
  using pool = MemoryPool.create({ bytes: 8 << 20 });
  const channels = Array.from({ length: CHANNELS }, () => Channel.create({ pool, capacity: 8, blockSize: 64 }));
  const child = forkFixture('channel-peer');
  child.send({ cmd: 'attach', descs: channels.map((c) => hex(c.serialize())) });
  await nextMessage(child, (m) => m.done === 'attach');

  const before = threads();
  const received: Array<Promise<unknown[]>> = channels.map((ch) =>
    Promise.all(Array.from({ length: PER_CHANNEL }, () => ch.recv({ timeout: 60_000 }))),
  );
  const whilePending = threads();

  let ticks = 0;
  let last = performance.now();
  let worstGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
    ticks++;
  }, 2);

  // let the timer prove the loop is free while everything is parked
  const ticksBefore = ticks;
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(ticks > ticksBefore, 'the timer fires while 1,000 receives are pending');

  const ticksAtStart = ticks;
  child.send({ cmd: 'sendSeq', channels: channels.map((_, i) => i), perChannel: PER_CHANNEL, yieldEvery: 100 });
  const results = await Promise.all(received);
  const ticksDuring = ticks - ticksAtStart;
  clearInterval(timer);

  results.forEach((msgs, i) => assert.equal(msgs, Array.from({ length: PER_CHANNEL }, (_, s) => `${i}:${s}`), `channel ${i} in order`));
  assert.ok(ticksDuring >= 2, `the timer kept firing while messages arrived (${ticksDuring} ticks)`);
  assert.ok(worstGap < 1000, `the loop was never blocked for long (worst gap ${worstGap.toFixed(1)} ms)`);
  const after = threads();
  console.log(`    threads ${before} -> ${whilePending} -> ${after}, ${ticksDuring} ticks while receiving, worst gap ${worstGap.toFixed(1)} ms`);
  assert.ok(whilePending - before <= 1, `threads: ${before} before, ${whilePending} with 1,000 pending (one waiter thread at most)`);
  assert.ok(after - before <= 1, `threads: ${before} before, ${after} after`);

  await nextMessage(child, (m) => m.done === 'sendSeq');
  child.send({ cmd: 'exit' });
  assert.is(await exitOf(child), 0);
  for (const ch of channels) ch.destroy();
});

test.run();
