// recvBytesInto / recvBytesIntoSync: the next message lands in the
// caller's buffer (no allocation per message) and the call gives its
// length; received Buffers never share bytes with later messages.
import * as assert from 'uvu/assert';
import { Channel, DragonError, MemoryPool } from '../../src/index.js';
import { suite } from '../helpers/suite.js';

const test = suite('recv into a buffer');

test('small and large messages land in the buffer; the length comes back', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  const buf = Buffer.alloc(200_000, 0xee);
  for (const len of [0, 1, 63, 64, 65, 100_000]) {
    const bytes = Buffer.alloc(len).map((_, i) => (i * 13) & 0xff);
    ch.sendBytesSync(bytes);
    assert.is(ch.recvBytesIntoSync(buf), len, `sync length ${len}`);
    assert.ok(buf.subarray(0, len).equals(bytes), `sync bytes ${len}`);
    await ch.sendBytes(bytes);
    assert.is(await ch.recvBytesInto(buf), len, `async length ${len}`);
    assert.ok(buf.subarray(0, len).equals(bytes), `async bytes ${len}`);
  }
  assert.is(pool.stats().numAllocs, 1, 'large messages were freed');
  // any Uint8Array will do
  ch.sendBytesSync(Buffer.from('typed'));
  const u8 = new Uint8Array(8);
  assert.is(ch.recvBytesIntoSync(u8), 5);
  assert.is(Buffer.from(u8.subarray(0, 5)).toString(), 'typed');
});

test('a buffer too small fails with DRAGON_ERR_BUFFER_TOO_SMALL and leaves the message queued', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 64 });
  ch.sendBytesSync(Buffer.alloc(50, 1));
  for (const attempt of [() => ch.recvBytesIntoSync(Buffer.alloc(10)), () => ch.recvBytesInto(Buffer.alloc(10))]) {
    try {
      await attempt();
      assert.unreachable('should throw');
    } catch (err) {
      assert.instance(err, DragonError);
      assert.is((err as DragonError).code, 'DRAGON_ERR_BUFFER_TOO_SMALL');
      assert.match((err as Error).message, /50 bytes/);
    }
  }
  assert.is(ch.count(), 1);
  assert.is(ch.recvBytesIntoSync(Buffer.alloc(50)), 50);
});

test('timeouts, waiting and bad arguments', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 64 });
  const buf = Buffer.alloc(64);
  assert.throws(() => ch.recvBytesIntoSync(buf, { timeout: 0 }), (e: DragonError) => e.code === 'DRAGON_ERR_TIMEOUT');
  try {
    await ch.recvBytesInto(buf, { timeout: 5 });
    assert.unreachable('should time out');
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_TIMEOUT');
  }
  const pending = ch.recvBytesInto(buf, { timeout: 5000 });
  setTimeout(() => ch.sendBytesSync(Buffer.from('late')), 5);
  assert.is(await pending, 4);
  assert.is(buf.toString('latin1', 0, 4), 'late');
  assert.throws(() => ch.recvBytesIntoSync('nope' as unknown as Uint8Array), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
});

test('received Buffers keep their bytes while later messages arrive', async () => {
  using pool = MemoryPool.create({ bytes: 4 << 20 });
  for (const blockSize of [64, 1000, 20_000]) {
    using ch = Channel.create({ pool, capacity: 64, blockSize });
    const kept: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const len = (i * 7) % blockSize;
      ch.sendBytesSync(Buffer.alloc(len, i & 0xff));
      if (i % 3 === 0) ch.sendSync({ i, filler: 'x'.repeat(len % 40) }); // values reuse the receive space
      kept.push(i % 2 ? ch.recvBytesSync() : await ch.recvBytes());
      if (i % 3 === 0) assert.is((ch.recvSync() as { i: number }).i, i);
    }
    kept.forEach((b, i) => {
      assert.is(b.length, (i * 7) % blockSize);
      assert.ok(b.every((x) => x === (i & 0xff)), `message ${i} (blockSize ${blockSize}) was overwritten`);
    });
  }
});

test.run();
