// A send that lacks pool memory (its message is larger than a block and the
// pool has no block for it) waits for a free of the pool, wherever it comes
// from: another allocation, a large message received from another channel,
// another process. It wakes on that free (not on a later poll), and its
// timeout and AbortSignal still hold, leaving nothing allocated.
import * as assert from 'uvu/assert';
import { Allocation, Channel, DragonError, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('waiting for pool memory');

const POOL_BYTES = 1 << 20;
/** One 64 KiB block with its 64-byte header. */
const CHUNK = 64 * 1024 - 64;
/** Generous: far above a wake-up (well under a millisecond to a few), far below every timeout here. */
const WOKEN_WITHIN_MS = 1000;

// Allocates every byte of the pool left: CHUNK blocks (returned), then small ones.
function fill(pool: MemoryPool): { big: Allocation[]; small: Allocation[] } {
  const big: Allocation[] = [];
  const small: Allocation[] = [];
  for (;;) {
    try {
      big.push(pool.alloc(CHUNK));
    } catch {
      break;
    }
  }
  for (;;) {
    try {
      small.push(pool.alloc(64));
    } catch {
      break;
    }
  }
  assert.is(pool.stats().freeBytes, 0);
  return { big, small };
}

function freeAll(...lists: Allocation[][]): void {
  for (const list of lists) for (const a of list) if (!a.freed) a.free();
}

async function rejection(p: Promise<unknown>): Promise<DragonError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, DragonError);
    return err as DragonError;
  }
  throw new assert.Assertion({ message: 'expected a rejection' } as never);
}

test('an async send waiting for memory wakes when another allocation of the pool is freed', async () => {
  using pool = MemoryPool.create({ bytes: POOL_BYTES });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  const { big, small } = fill(pool);
  const t0 = performance.now();
  const sent = ch.sendBytes(Buffer.alloc(CHUNK, 7), { timeout: 5000 });
  setTimeout(() => big.pop()!.free(), 20);
  await sent;
  assert.ok(performance.now() - t0 < WOKEN_WITHIN_MS, `woken after ${performance.now() - t0} ms`);
  assert.equal(await ch.recvBytes({ timeout: 0 }), Buffer.alloc(CHUNK, 7));
  freeAll(big, small);
});

test('an async send waiting for memory wakes when a large message of another channel is received', async () => {
  using pool = MemoryPool.create({ bytes: POOL_BYTES });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  using other = Channel.create({ pool, capacity: 4, blockSize: 64 });
  other.sendBytesSync(Buffer.alloc(CHUNK, 1));
  const { big, small } = fill(pool);
  const t0 = performance.now();
  const sent = ch.sendBytes(Buffer.alloc(CHUNK, 2), { timeout: 5000 });
  setTimeout(() => void other.recvBytes(), 20);
  await sent;
  assert.ok(performance.now() - t0 < WOKEN_WITHIN_MS, `woken after ${performance.now() - t0} ms`);
  assert.equal(await ch.recvBytes({ timeout: 0 }), Buffer.alloc(CHUNK, 2));
  freeAll(big, small);
});

test('sends of several channels of one pool waiting for memory all wake, in order per channel', async () => {
  using pool = MemoryPool.create({ bytes: POOL_BYTES });
  using a = Channel.create({ pool, capacity: 4, blockSize: 64 });
  using b = Channel.create({ pool, capacity: 4, blockSize: 64 });
  const { big, small } = fill(pool);
  const sends = [a.sendBytes(Buffer.alloc(CHUNK, 1)), b.sendBytes(Buffer.alloc(CHUNK, 2)), a.sendBytes(Buffer.alloc(CHUNK, 3))];
  setTimeout(() => {
    for (let i = 0; i < 3; i++) big.pop()!.free();
  }, 20);
  await Promise.all(sends);
  assert.equal((await a.recvBytes({ timeout: 0 }))[0], 1);
  assert.equal((await a.recvBytes({ timeout: 0 }))[0], 3);
  assert.equal((await b.recvBytes({ timeout: 0 }))[0], 2);
  freeAll(big, small);
});

test('a send waiting for memory honours its timeout (async, sync) and AbortSignal and keeps nothing', async () => {
  using pool = MemoryPool.create({ bytes: POOL_BYTES });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  const { big, small } = fill(pool);
  const t0 = performance.now();
  const timedOut = await rejection(ch.sendBytes(Buffer.alloc(CHUNK), { timeout: 50 }));
  assert.is(timedOut.code, 'DRAGON_ERR_TIMEOUT');
  assert.ok(performance.now() - t0 >= 49);
  const ac = new AbortController();
  const aborted = rejection(ch.sendBytes(Buffer.alloc(CHUNK), { signal: ac.signal }));
  setTimeout(() => ac.abort(), 20);
  assert.is((await aborted).name, 'AbortError');
  const t1 = performance.now();
  assert.throws(
    () => ch.sendBytesSync(Buffer.alloc(CHUNK), { timeout: 50 }),
    (e: DragonError) => e.code === 'DRAGON_ERR_TIMEOUT',
  );
  assert.ok(performance.now() - t1 >= 49, 'sync');
  // nothing was sent or kept: the pool is as full as before, the channel empty
  assert.is(ch.count(), 0);
  assert.is(pool.stats().freeBytes, 0);
  freeAll(big, small);
});

test('a blocking send waiting for memory wakes when another process frees an allocation', async () => {
  using pool = MemoryPool.create({ bytes: POOL_BYTES });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  const { big, small } = fill(pool);
  const victim = big.pop()!;
  const child = forkFixture('pool-freer');
  try {
    child.send({ alloc: hex(victim.serialize()), delayMs: 100 });
    victim.detach();
    // the IPC reply is read only after the blocking send returns
    const freed = nextMessage<{ freedAt: number }>(child, (m) => 'freedAt' in m);
    ch.sendBytesSync(Buffer.alloc(CHUNK, 5), { timeout: 5000 });
    const doneAt = Date.now();
    const { freedAt } = await freed;
    assert.ok(doneAt - freedAt < 200, `sent ${doneAt - freedAt} ms after the free`);
    assert.is(await exitOf(child), 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  assert.equal(await ch.recvBytes({ timeout: 0 }), Buffer.alloc(CHUNK, 5));
  freeAll(big, small);
});

test.run();
