// Timeouts (milliseconds): 0 tries once, a bounded one rejects with
// DRAGON_ERR_TIMEOUT after at least that long, omitted waits for ever.
import * as assert from 'uvu/assert';
import { Channel, DragonError, MemoryPool } from '../../src/index.js';
import { suite } from '../helpers/suite.js';

const test = suite('channel timeouts');

async function rejects(p: Promise<unknown>, code: string): Promise<DragonError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, DragonError);
    assert.is((err as DragonError).code, code, (err as Error).message);
    return err as DragonError;
  }
  throw new assert.Assertion({ message: `expected a rejection with ${code}` } as never);
}

test('timeout 0 on an empty channel fails at once, sync and async', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  const err = await rejects(ch.recv({ timeout: 0 }), 'DRAGON_ERR_TIMEOUT');
  assert.match(err.message, /Channel.recv: timed out after 0 ms/);
  assert.throws(() => ch.recvSync({ timeout: 0 }), (e: DragonError) => e.code === 'DRAGON_ERR_TIMEOUT');
  await rejects(ch.recvBytes({ timeout: -5 }), 'DRAGON_ERR_TIMEOUT');
  ch.sendSync(1);
  await rejects(ch.send(2, { timeout: 0 }), 'DRAGON_ERR_TIMEOUT');
  assert.throws(() => ch.sendSync(2, { timeout: 0 }), (e: DragonError) => e.code === 'DRAGON_ERR_TIMEOUT');
  assert.is(await ch.recv({ timeout: 0 }), 1);
});

test('a bounded timeout waits at least that long', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  let t = performance.now();
  await rejects(ch.recv({ timeout: 50 }), 'DRAGON_ERR_TIMEOUT');
  assert.ok(performance.now() - t >= 49, 'async');
  t = performance.now();
  assert.throws(() => ch.recvSync({ timeout: 50 }), (e: DragonError) => e.code === 'DRAGON_ERR_TIMEOUT');
  assert.ok(performance.now() - t >= 49, 'sync');
});

test('a message arriving before the deadline wins; a timed-out receive takes nothing', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const early = ch.recv({ timeout: 5000 });
  setTimeout(() => ch.sendSync('in time'), 10);
  assert.is(await early, 'in time');
  const late = ch.recv({ timeout: 10 });
  await rejects(late, 'DRAGON_ERR_TIMEOUT');
  ch.sendSync('after');
  assert.is(await ch.recv({ timeout: 0 }), 'after');
});

test('an expired receive in the middle of the queue does not block those behind it', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 4 });
  const first = ch.recv({ timeout: 5000 });
  const middle = ch.recv({ timeout: 10 });
  const last = ch.recv({ timeout: 5000 });
  await rejects(middle, 'DRAGON_ERR_TIMEOUT');
  ch.sendSync(1);
  ch.sendSync(2);
  assert.equal(await Promise.all([first, last]), [1, 2]);
});

test('bad timeouts are refused', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  await rejects(ch.recv({ timeout: NaN }), 'DRAGON_ERR_INVALID_ARGUMENT');
  await rejects(ch.recv({ timeout: '5' as unknown as number }), 'DRAGON_ERR_INVALID_ARGUMENT');
});

test.run();
