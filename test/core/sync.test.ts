// Lock, RLock, Semaphore, Event, Barrier and Condition within a process
// and across processes, async and sync, with Python's semantics.
import * as assert from 'uvu/assert';
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  DragonError,
  Event,
  Lock,
  MemoryPool,
  RLock,
  Semaphore,
} from '../../src/index.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('sync objects');

function peer() {
  return forkFixture('sync-peer');
}

async function done(child: ReturnType<typeof peer>): Promise<void> {
  child.send({ cmd: 'exit' });
  assert.is(await exitOf(child), 0);
}

test('Lock: acquire/release, false on timeout, any process may release', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using lock = Lock.create({ pool });
  assert.not.ok(lock.locked());
  assert.ok(await lock.acquire());
  assert.ok(lock.locked());
  assert.is(await lock.acquire({ timeout: 0 }), false);
  assert.is(await lock.acquire({ timeout: 20 }), false);
  assert.is(lock.acquireSync({ timeout: 0 }), false);
  const waiting = lock.acquire({ timeout: 5000 });
  setTimeout(() => lock.release(), 5);
  assert.ok(await waiting);
  lock.release();
  assert.throws(() => lock.release(), (e: DragonError) => e.code === 'DRAGON_ERR_NOT_HELD');
  // held by a child, released by us (a Lock is not owned)
  const child = peer();
  child.send({ cmd: 'holdLock', lock: hex(lock.serialize()) });
  await nextMessage(child, (m) => m.done === 'holdLock');
  assert.ok(lock.locked());
  lock.release();
  assert.ok(lock.acquireSync({ timeout: 1000 }));
  lock.release();
  await done(child);
});

for (const kind of ['Lock', 'RLock'] as const) {
  test(`${kind}: two processes increment a shared counter without losing updates`, async () => {
    using pool = MemoryPool.create({ bytes: 1 << 20 });
    using lock = kind === 'Lock' ? Lock.create({ pool }) : RLock.create({ pool });
    const counter = pool.alloc(8);
    counter.bytes.fill(0);
    const view = new DataView(counter.bytes.buffer, counter.bytes.byteOffset, 8);
    const child = peer();
    child.send({ cmd: 'count', lock: hex(lock.serialize()), counter: hex(counter.serialize()), times: 500, rlock: kind === 'RLock' });
    for (let i = 0; i < 500; i++) {
      await lock.acquire();
      const v = view.getUint32(0, true);
      await Promise.resolve();
      view.setUint32(0, v + 1, true);
      lock.release();
    }
    await nextMessage(child, (m) => m.done === 'count');
    assert.is(view.getUint32(0, true), 1000);
    await done(child);
    counter.free();
  });
}

test('RLock: recursive for its owner, NOT_OWNER for others', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using rlock = RLock.create({ pool });
  assert.ok(await rlock.acquire());
  assert.ok(await rlock.acquire());
  assert.ok(rlock.acquireSync());
  assert.is(rlock.owner().count, 3);
  assert.is(rlock.owner().puid, BigInt(process.pid));
  rlock.release();
  rlock.release();
  rlock.release();
  assert.not.ok(rlock.locked());
  assert.throws(() => rlock.release(), (e: DragonError) => ['DRAGON_ERR_NOT_HELD', 'DRAGON_ERR_NOT_OWNER'].includes(e.code));
});

test('withLock releases also when the function throws', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using lock = Lock.create({ pool });
  assert.is(await lock.withLock(() => 5), 5);
  try {
    await lock.withLock(() => {
      throw new Error('inside');
    });
  } catch (err) {
    assert.is((err as Error).message, 'inside');
  }
  assert.not.ok(lock.locked());
});

test('Semaphore: counts, waits for a release from another process', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using sem = Semaphore.create({ pool, value: 2 });
  assert.ok(await sem.acquire());
  assert.ok(sem.acquireSync());
  assert.is(sem.getValue(), 0);
  assert.is(await sem.acquire({ timeout: 10 }), false);
  const child = peer();
  child.send({ cmd: 'semRelease', sem: hex(sem.serialize()), n: 2, afterMs: 20 });
  assert.ok(await sem.acquire({ timeout: 10_000 }));
  assert.ok(await sem.acquire({ timeout: 10_000 }));
  await nextMessage(child, (m) => m.done === 'semRelease');
  sem.release(3);
  assert.is(sem.getValue(), 3);
  await done(child);
});

test('BoundedSemaphore: release past the bound is DRAGON_ERR_OVERFLOW', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using sem = BoundedSemaphore.create({ pool, value: 1 });
  assert.ok(sem.acquireSync());
  sem.release();
  assert.throws(() => sem.release(), (e: DragonError) => e.code === 'DRAGON_ERR_OVERFLOW');
  assert.is(sem.getValue(), 1);
});

test('Event: wait resolves when another process sets it; false on timeout', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ev = Event.create({ pool });
  assert.not.ok(ev.isSet());
  assert.is(await ev.wait({ timeout: 10 }), false);
  assert.is(ev.waitSync({ timeout: 10 }), false);
  const child = peer();
  child.send({ cmd: 'setEvent', event: hex(ev.serialize()), afterMs: 20 });
  const waiters = [ev.wait(), ev.wait({ timeout: 10_000 })];
  assert.equal(await Promise.all(waiters), [true, true]);
  assert.ok(ev.isSet());
  assert.ok(ev.waitSync());
  ev.clear();
  assert.not.ok(ev.isSet());
  // and the other way round
  child.send({ cmd: 'waitEvent', event: hex(ev.serialize()) });
  await nextMessage(child, (m) => m.done === 'waiting');
  ev.set();
  assert.is((await nextMessage(child, (m) => m.done === 'waitEvent')).ok, true);
  await done(child);
});

test('Barrier: parties in two processes pass together, with distinct indexes', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using barrier = Barrier.create({ pool, parties: 3 });
  assert.is(barrier.parties, 3);
  const child = peer();
  child.send({ cmd: 'barrier', barrier: hex(barrier.serialize()), rounds: 3 });
  const mine: number[] = [];
  for (let r = 0; r < 3; r++) {
    const both = await Promise.all([barrier.wait({ timeout: 10_000 }), barrier.wait({ timeout: 10_000 })]);
    mine.push(...both);
  }
  const theirs = (await nextMessage(child, (m) => m.done === 'barrier')).indexes as number[];
  for (let r = 0; r < 3; r++) {
    assert.equal([mine[2 * r], mine[2 * r + 1], theirs[r]].sort(), [0, 1, 2], `round ${r}`);
  }
  await done(child);
});

test('Barrier: a timeout breaks it for everybody until reset', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using barrier = Barrier.create({ pool, parties: 3 });
  const other = barrier.wait();
  try {
    await barrier.wait({ timeout: 10 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_TIMEOUT');
    assert.match((err as Error).message, /reset\(\)/);
  }
  try {
    await other;
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_BROKEN');
  }
  assert.ok(barrier.broken);
  assert.throws(() => barrier.waitSync({ timeout: 0 }), (e: DragonError) => e.code === 'DRAGON_ERR_BROKEN');
  barrier.reset();
  assert.not.ok(barrier.broken);
  const single = Barrier.create({ pool, parties: 1 });
  assert.is(await single.wait(), 0);
  assert.is(single.waitSync(), 0);
  single.destroy();
});

test('Condition: wait releases the lock, another process notifies, the lock is back', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using cond = Condition.create({ pool });
  assert.instance(cond.lock, RLock);
  const flag = pool.alloc(8);
  flag.bytes.fill(0);
  const child = peer();
  child.send({ cmd: 'condNotify', cond: hex(cond.serialize()), counter: hex(flag.serialize()) });
  assert.ok(await cond.acquire());
  flag.bytes[1] = 1; // tell the child we are (about to be) inside wait
  const notified = await cond.wait({ timeout: 10_000 });
  assert.ok(notified);
  assert.is(flag.bytes[0], 42);
  assert.ok(cond.lock.locked(), 'wait re-acquired the lock');
  assert.is(cond.lock.owner().puid, BigInt(process.pid));
  cond.release();
  await nextMessage(child, (m) => m.done === 'condNotify');
  await done(child);
  flag.free();
});

test('Condition: timeout returns false with the lock held; waitFor; notify needs the lock', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using lock = Lock.create({ pool });
  using cond = Condition.create({ pool, lock });
  assert.is(cond.lock, lock);
  assert.throws(() => cond.notify(), (e: DragonError) => e.code === 'DRAGON_ERR_NOT_HELD');
  await cond.acquire();
  assert.is(await cond.wait({ timeout: 10 }), false);
  assert.ok(lock.locked());
  assert.is(cond.waitSync({ timeout: 10 }), false);
  let ready = false;
  setTimeout(async () => {
    await cond.acquire();
    ready = true;
    cond.notifyAll();
    cond.release();
  }, 10);
  assert.is(await cond.waitFor(() => ready, { timeout: 10_000 }), true);
  assert.is(await cond.waitFor(() => false, { timeout: 10 }), false);
  cond.release();
});

test('kinds are checked on attach', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using lock = Lock.create({ pool });
  assert.throws(() => RLock.attach(lock.serialize()), (e: DragonError) => e.code === 'DRAGON_ERR_WRONG_KIND' && /not a RLock/.test(e.message));
  assert.throws(() => Semaphore.attach(lock.serialize()), (e: DragonError) => e.code === 'DRAGON_ERR_WRONG_KIND');
  const again = Lock.attach(lock.serialize());
  again.detach();
});

test('destroy rejects waiters; handles are closed after', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const lock = Lock.create({ pool });
  const other = Lock.attach(lock.serialize());
  await lock.acquire();
  const waiting = other.acquire();
  lock.destroy();
  try {
    await waiting;
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_DESTROYED');
  }
  assert.throws(() => lock.release(), (e: DragonError) => e.code === 'DRAGON_ERR_CLOSED');
  other.detach();
});

test('sync objects travel on channels as themselves', async () => {
  const { Channel } = await import('../../src/index.js');
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 2 });
  using ev = Event.create({ pool });
  await ch.send(ev);
  const got = (await ch.recv()) as Event;
  assert.instance(got, Event);
  got.set();
  assert.ok(ev.isSet());
  got.detach();
});

test.run();
