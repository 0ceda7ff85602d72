// MemoryPool: create, attach in another process, stats, allocations and
// their descriptors, destroy leaving nothing behind.
import { existsSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { Allocation, Channel, DragonError, MemoryPool } from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage, unhex } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('pool');
const shmPath = (pool: MemoryPool) => `/dev/shm${pool.name}`;

test('create gives a 0600 segment named after user, run-time and pool id', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const rt = process.env.DRAGON_RT_UID!;
  assert.match(pool.name, new RegExp(`^/dragon-[A-Za-z0-9_.]+-${rt}-p${pool.id}$`));
  assert.ok(existsSync(shmPath(pool)));
  assert.is(pool.runtimeId.toString(16), rt);
  const s = pool.stats();
  assert.is(s.totalBytes, 1 << 20);
  assert.is(s.freeBytes, 1 << 20);
  assert.is(s.numAllocs, 0);
  assert.is(s.utilization, 0);
  assert.ok(s.segmentBytes > s.totalBytes);
  const path = shmPath(pool);
  pool.destroy();
  assert.not.ok(existsSync(path));
});

test('allocations count in stats and come back on free', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const a = pool.alloc(1000);
  const b = pool.alloc(5000);
  assert.is(a.size, 1000);
  assert.is(pool.stats().numAllocs, 2);
  assert.ok(pool.stats().freeBytes < 1 << 20);
  a.free();
  b.free();
  assert.is(pool.stats().numAllocs, 0);
  assert.is(pool.stats().freeBytes, 1 << 20);
  assert.throws(() => a.free(), (e: DragonError) => e.code === 'DRAGON_ERR_CLOSED');
  pool.destroy();
});

test('a pool too small for a request says so', () => {
  const pool = MemoryPool.create({ bytes: 64 << 10 });
  try {
    pool.alloc(1 << 20);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, DragonError);
    assert.ok(['DRAGON_ERR_TOO_LARGE', 'DRAGON_ERR_TIMEOUT'].includes((err as DragonError).code));
  }
  pool.destroy();
});

test('allocation descriptors round-trip within a process', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const a = pool.alloc(256);
  a.bytes.write('shared text');
  const b = Allocation.attach(a.serialize());
  assert.is(b.bytes.toString('utf8', 0, 11), 'shared text');
  b.bytes[0] = 'S'.charCodeAt(0);
  assert.is(a.bytes.toString('utf8', 0, 11), 'Shared text');
  b.detach();
  a.free();
});

test('another process attaches the pool and an allocation, and both see the same memory', async () => {
  const pool = MemoryPool.create({ bytes: 4 << 20 });
  const a = pool.alloc(1024);
  a.bytes.write('hello from the parent\0');
  const child = forkFixture('pool-peer');
  child.send({ pool: hex(pool.serialize()), alloc: hex(a.serialize()) });
  const reply = await nextMessage(child, (m) => 'text' in m);
  assert.is(reply.text, 'hello from the parent');
  assert.is(reply.size, 1024);
  assert.is(reply.name, pool.name);
  assert.is(reply.stats.numAllocs, 2); // ours and the child's
  assert.is(await exitOf(child), 0);
  assert.is(a.bytes.toString('utf8', 0, a.bytes.indexOf(0)), 'written by the child');
  // the child's allocation outlives the child: we free it here
  const theirs = Allocation.attach(unhex(reply.mine));
  assert.is(theirs.bytes.toString('utf8', 0, 14), 'from the child');
  assert.is(pool.stats().numAllocs, 2);
  theirs.free();
  a.free();
  pool.destroy();
});

test('attach in this process reuses the mapping; detach keeps the pool for others', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const again = MemoryPool.attach(pool.serialize());
  assert.is(again.name, pool.name);
  again.detach();
  assert.throws(() => again.stats(), (e: DragonError) => e.code === 'DRAGON_ERR_CLOSED');
  assert.is(pool.stats().numAllocs, 0);
  pool.destroy();
});

test('destroy refuses while channels of this process use the pool', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const ch = Channel.create({ pool, capacity: 2 });
  assert.throws(() => pool.destroy(), (e: DragonError) => e.code === 'DRAGON_ERR_BUSY' && /Destroy or detach/.test(e.message));
  ch.destroy();
  pool.destroy();
});

test('destroy refuses while allocation handles of this process live, saying how many and their sizes', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const path = shmPath(pool);
  const a = pool.alloc(128);
  const b = pool.alloc(4096);
  try {
    pool.destroy();
    assert.unreachable('destroyed');
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_BUSY');
    assert.match((err as Error).message, `MemoryPool.destroy: 2 allocation handle(s) of this process still live in the pool (${a.size} B, ${b.size} B; ${a.size + b.size} bytes). free() or detach() them first`);
  }
  assert.ok(existsSync(path), 'nothing destroyed');
  a.free();
  b.detach();
  pool.destroy();
  assert.not.ok(existsSync(path));
});

test('attaching a destroyed pool fails clearly', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const desc = pool.serialize();
  pool.destroy();
  try {
    MemoryPool.attach(desc);
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_NOT_FOUND');
    assert.match((err as Error).message, /MemoryPool.attach/);
  }
});

test('bad options are DRAGON_ERR_INVALID_ARGUMENT', () => {
  for (const bytes of [0, -1, 1.5, NaN, undefined]) {
    assert.throws(() => MemoryPool.create({ bytes: bytes as number }), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
  }
});

test('Symbol.dispose destroys a pool this handle created', () => {
  let name = '';
  {
    using pool = MemoryPool.create({ bytes: 1 << 20 });
    name = pool.name;
  }
  assert.not.ok(existsSync(`/dev/shm${name}`));
});

test.run();
