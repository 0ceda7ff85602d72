// AbortSignal cancels a waiting operation with an AbortError (code
// ABORT_ERR) and loses no message.
import * as assert from 'uvu/assert';
import { Channel, DragonError, MemoryPool } from '../../src/index.js';
import { suite } from '../helpers/suite.js';

const test = suite('channel abort');

test('aborting a pending receive rejects it with AbortError', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  const ac = new AbortController();
  const p = ch.recv({ signal: ac.signal });
  setTimeout(() => ac.abort(new Error('user gave up')), 5);
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.instance(err, DragonError);
    assert.is((err as DragonError).name, 'AbortError');
    assert.is((err as DragonError).code, 'ABORT_ERR');
    assert.is(((err as Error).cause as Error).message, 'user gave up');
  }
  ch.sendSync('kept');
  assert.is(await ch.recv({ timeout: 0 }), 'kept');
});

test('an already aborted signal rejects before anything happens', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  ch.sendSync('stays');
  const signal = AbortSignal.abort();
  for (const p of [ch.recv({ signal }), ch.send('no', { signal })]) {
    try {
      await p;
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'ABORT_ERR');
    }
  }
  assert.is(ch.count(), 1);
  assert.is(ch.recvSync(), 'stays');
});

test('aborting a send waiting on a full channel leaves the channel as it was', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  ch.sendSync('first');
  const ac = new AbortController();
  const p = ch.send('never', { signal: ac.signal });
  ac.abort();
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'ABORT_ERR');
  }
  assert.is(ch.recvSync(), 'first');
  assert.throws(() => ch.recvSync({ timeout: 0 }), (e: DragonError) => e.code === 'DRAGON_ERR_TIMEOUT');
});

test('AbortSignal.timeout works as a deadline', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  try {
    await ch.recv({ signal: AbortSignal.timeout(10) });
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'ABORT_ERR');
  }
});

test.run();
