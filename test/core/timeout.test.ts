// One meaning of a timeout for every blocking call (src/runtime/core/timeout.ts):
// 0 or less polls (tries once: the result when ready, the call's
// "not now" outcome otherwise), as in Python's multiprocessing. A matrix over
// the calls, async and sync; Process.join(-1) is in the process conformance
// (it needs a run-time: test/fixtures/mp/sync-head.ts, scenario join-negative).
import * as assert from 'uvu/assert';
import { Barrier, Channel, Condition, Event, JoinableQueue, Lock, MemoryPool, Pipe, Queue, Semaphore } from '../../src/index.js';
import { timeoutMs, timeoutUs } from '../../src/runtime/core/timeout.js';
import { suite } from '../helpers/suite.js';

const test = suite('timeouts');
let pool: MemoryPool;
const cleanup: Array<() => void> = [];
const keep = <T extends { destroy(): void }>(o: T): T => (cleanup.push(() => o.destroy()), o);

test.before(() => {
  pool = MemoryPool.create({ bytes: 16 << 20 });
});

async function outcome(fn: () => unknown): Promise<unknown> {
  try {
    return await fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

// [call, when it cannot proceed (timeout t) -> outcome, when it can -> outcome]
type Row = [string, (t: number) => unknown, unknown, (t: number) => unknown, unknown];

function rows(): Row[] {
  const held = keep(Lock.create({ pool }));
  held.acquireSync();
  const free = keep(Lock.create({ pool }));
  const sem0 = keep(Semaphore.create({ pool, value: 0 }));
  const sem1 = keep(Semaphore.create({ pool, value: 1000 }));
  const clear = keep(Event.create({ pool }));
  const set = keep(Event.create({ pool, set: true }));
  const cond = keep(Condition.create({ pool }));
  const empty = new Queue<number>({ pool });
  cleanup.push(() => empty.destroy());
  const full = new Queue<number>({ pool, maxsize: 1 });
  cleanup.push(() => full.destroy());
  full.putSync(1);
  const some = new Queue<number>({ pool, maxsize: 1000 });
  cleanup.push(() => some.destroy());
  for (let i = 0; i < 10; i++) some.putSync(i);
  const jq = new JoinableQueue<number>({ pool });
  cleanup.push(() => jq.destroy());
  jq.putSync(1);
  const joined = new JoinableQueue<number>({ pool });
  cleanup.push(() => joined.destroy());
  const [a, b] = Pipe(true, { pool });
  cleanup.push(() => a.destroy());
  for (let i = 0; i < 10; i++) b.sendSync(i);
  const ch = keep(Channel.create({ pool, capacity: 2, blockSize: 256 }));
  const fullCh = keep(Channel.create({ pool, capacity: 1, blockSize: 256 }));
  fullCh.sendSync('x');
  const dataCh = keep(Channel.create({ pool, capacity: 64, blockSize: 256 }));
  for (let i = 0; i < 10; i++) dataCh.sendSync(i);
  const withLock = async (fn: () => Promise<unknown>) => {
    await cond.acquire();
    try {
      return await fn();
    } finally {
      cond.release();
    }
  };
  return [
    ['Lock.acquire', (t) => held.acquire({ timeout: t }), false, (t) => free.acquire({ timeout: t }).then((v) => (free.release(), v)), true],
    ['Lock.acquireSync', (t) => held.acquireSync({ timeout: t }), false, (t) => (free.acquireSync({ timeout: t }) ? (free.release(), true) : false), true],
    ['Semaphore.acquire', (t) => sem0.acquire({ timeout: t }), false, (t) => sem1.acquire({ timeout: t }), true],
    ['Semaphore.acquireSync', (t) => sem0.acquireSync({ timeout: t }), false, (t) => sem1.acquireSync({ timeout: t }), true],
    ['Event.wait', (t) => clear.wait({ timeout: t }), false, (t) => set.wait({ timeout: t }), true],
    ['Event.waitSync', (t) => clear.waitSync({ timeout: t }), false, (t) => set.waitSync({ timeout: t }), true],
    ['Condition.wait', (t) => withLock(() => cond.wait({ timeout: t })), false, (t) => withLock(() => cond.waitFor(() => 'yes', { timeout: t })), 'yes'],
    ['Condition.waitSync', (t) => withLock(async () => cond.waitSync({ timeout: t })), false, (t) => withLock(async () => cond.waitForSync(() => 'yes', { timeout: t })), 'yes'],
    ['Barrier.wait', (t) => keep(Barrier.create({ pool, parties: 2 })).wait({ timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => keep(Barrier.create({ pool, parties: 1 })).wait({ timeout: t }), 0],
    ['Barrier.waitSync', (t) => keep(Barrier.create({ pool, parties: 2 })).waitSync({ timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => keep(Barrier.create({ pool, parties: 1 })).waitSync({ timeout: t }), 0],
    ['Barrier default timeout', (t) => keep(new Barrier(2, { pool, timeout: t })).wait(), 'DRAGON_ERR_TIMEOUT', (t) => keep(new Barrier(1, { pool, timeout: t })).wait(), 0],
    ['Queue.get', (t) => empty.get({ timeout: t }), 'DRAGON_ERR_EMPTY', (t) => some.get({ timeout: t }).then((v) => typeof v), 'number'],
    ['Queue.getSync', (t) => empty.getSync({ timeout: t }), 'DRAGON_ERR_EMPTY', (t) => typeof some.getSync({ timeout: t }), 'number'],
    ['Queue.put (bounded)', (t) => full.put(2, { timeout: t }), 'DRAGON_ERR_FULL', (t) => some.put(1, { timeout: t }), undefined],
    ['Queue.putSync (bounded)', (t) => full.putSync(2, { timeout: t }), 'DRAGON_ERR_FULL', (t) => some.putSync(1, { timeout: t }), undefined],
    ['JoinableQueue.join', (t) => jq.join({ timeout: t }), false, (t) => joined.join({ timeout: t }), true],
    ['JoinableQueue.joinSync', (t) => jq.joinSync({ timeout: t }), false, (t) => joined.joinSync({ timeout: t }), true],
    ['Connection.poll', (t) => b.poll(t), false, (t) => a.poll(t), true],
    ['Connection.pollSync', (t) => b.pollSync(t), false, (t) => a.pollSync(t), true],
    ['Connection.recv', (t) => b.recv({ timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => a.recv({ timeout: t }).then((v) => typeof v), 'number'],
    ['Connection.recvSync', (t) => b.recvSync({ timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => typeof a.recvSync({ timeout: t }), 'number'],
    ['Channel.recv', (t) => ch.recv({ timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => dataCh.recv({ timeout: t }).then((v) => typeof v), 'number'],
    ['Channel.recvSync', (t) => ch.recvSync({ timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => typeof dataCh.recvSync({ timeout: t }), 'number'],
    ['Channel.send', (t) => fullCh.send('y', { timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => ch.send('y', { timeout: t }).then(() => ch.recvSync()), 'y'],
    ['Channel.sendSync', (t) => fullCh.sendSync('y', { timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => (ch.sendSync('z', { timeout: t }), ch.recvSync()), 'z'],
    ['Channel.poll', (t) => ch.poll(Channel.POLL_IN, { timeout: t }), 'DRAGON_ERR_TIMEOUT', (t) => dataCh.poll(Channel.POLL_IN, { timeout: t }).then((r) => r & Channel.POLL_IN), Channel.POLL_IN],
    ['Channel.pollSync', (t) => ch.pollSync(Channel.POLL_IN, { timeout: t }), 0, (t) => dataCh.pollSync(Channel.POLL_IN, { timeout: t }) & Channel.POLL_IN, Channel.POLL_IN],
  ];
}

test('a negative timeout polls, as 0 does, in every blocking call (async and sync)', async () => {
  const got: Record<string, unknown[]> = {};
  const want: Record<string, unknown[]> = {};
  for (const t of [0, -1, -0.5, -Infinity]) {
    for (const [name, blocked, notNow, ready, done] of rows()) {
      got[`${name} (${t})`] = [await outcome(() => blocked(t)), await outcome(() => ready(t))];
      want[`${name} (${t})`] = [notNow, done];
    }
  }
  assert.equal(got, want);
});

test('the shared reading: null/undefined/Infinity wait for ever, 0 or less tries once, NaN or a string is refused with a clear error', () => {
  assert.equal([undefined, null, Infinity, 5, 0, -0, -3, -Infinity].map((t) => timeoutMs('op', t)), [Infinity, Infinity, Infinity, 5, 0, 0, 0, 0]);
  assert.equal([undefined, -1, 0.0001, 2].map((t) => timeoutUs('op', t)), [-1, 0, 1, 2000]);
  for (const bad of [Number.NaN, '10' as never]) {
    try {
      timeoutMs('Queue.get', bad);
      assert.unreachable('accepted');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'DRAGON_ERR_INVALID_ARGUMENT');
      assert.match((err as Error).message, /Queue\.get.*timeout must be a number of milliseconds .*0 or less tries once/);
    }
  }
});

test('(free what this file made)', () => {
  for (const c of cleanup.splice(0).reverse()) {
    try {
      c();
    } catch {
      // already gone with its owner
    }
  }
  pool.destroy();
});

test.run();
