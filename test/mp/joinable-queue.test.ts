// JoinableQueue<T>: Python's counting semantics (put counts up before the
// item is visible, taskDone counts down, join waits for zero; taskDone once
// too often is an error), in this process and across processes.
import * as assert from 'uvu/assert';
import { JoinableQueue, MemoryPool, Queue } from '../../src/index.js';
import { suite } from '../helpers/suite.js';
import { runHead, type HeadRun } from './helpers/head.js';

const test = suite('JoinableQueue');
let pool: MemoryPool;
const made: JoinableQueue<any>[] = [];
function jqueue<T>(maxsize?: number): JoinableQueue<T> {
  const q = new JoinableQueue<T>({ maxsize, pool });
  made.push(q);
  return q;
}

test.before(() => {
  pool = MemoryPool.create({ bytes: 16 << 20 });
});

test('a fresh queue is joined at once; put counts up, taskDone down, join waits for zero', async () => {
  const q = jqueue<number>();
  assert.ok(await q.join({ timeout: 1000 }));
  assert.ok(q.joinSync({ timeout: 0 }));
  await q.put(1);
  q.putSync(2);
  q.putNowait(3);
  assert.is(q.unfinishedTasks(), 3);
  let joined = false;
  const j = q.join().then((v) => (joined = v));
  for (let i = 1; i <= 3; i++) {
    assert.is(await q.get(), i);
    await new Promise((r) => setTimeout(r, 20));
    assert.not.ok(joined, `joined with ${4 - i} unfinished`);
    q.taskDone();
  }
  await j;
  assert.ok(joined);
  assert.is(q.unfinishedTasks(), 0);
});

test('taskDone more times than items: DRAGON_ERR_VALUE (Python: ValueError), count unchanged', async () => {
  const q = jqueue<number>();
  await q.put(1);
  await q.get();
  q.taskDone();
  try {
    q.taskDone();
    assert.unreachable('taskDone once too often');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'DRAGON_ERR_VALUE');
    assert.match((err as Error).message, /more times than there were items/);
  }
  assert.is(q.unfinishedTasks(), 0);
  assert.ok(q.joinSync({ timeout: 0 }));
});

test('join with timeout resolves false; joinSync too', async () => {
  const q = jqueue<number>();
  await q.put(1);
  assert.is(await q.join({ timeout: 30 }), false);
  assert.is(q.joinSync({ timeout: 10 }), false);
});

test('a put that fails (Full) does not count', async () => {
  const q = jqueue<number>(1);
  await q.put(1);
  try {
    q.putNowait(2);
  } catch (err) {
    assert.is((err as Error).name, 'Full');
  }
  try {
    await q.put(2, { timeout: 20 });
  } catch (err) {
    assert.is((err as Error).name, 'Full');
  }
  assert.is(q.unfinishedTasks(), 1);
});

test('serialize/attach: the count is shared; it travels through a queue as a JoinableQueue', async () => {
  const q = jqueue<string>();
  const carrier = new Queue<unknown>({ pool });
  await carrier.put(q);
  const h = (await carrier.get()) as JoinableQueue<string>;
  assert.instance(h, JoinableQueue);
  await h.put('x');
  assert.is(q.unfinishedTasks(), 1);
  assert.is(await q.get(), 'x');
  h.taskDone();
  assert.ok(await q.join({ timeout: 1000 }));
  h.detach();
  carrier.destroy();
});

test('join() does not miss a zero that lasts briefly: taskDone then an immediate put (Python: task_done notifies the joiners)', async () => {
  const q = jqueue<number>();
  await q.put(1);
  const waiting = q.join({ timeout: 5000 }); // parked before the count reaches zero
  assert.is(await q.get(), 1);
  q.taskDone(); // zero...
  q.putSync(2); // ...and up again before the joiner looks
  assert.is(await waiting, true, 'join saw the zero');
  assert.is(q.unfinishedTasks(), 1);
  assert.is(await q.join({ timeout: 0 }), false);
  // every joiner waiting then sees it
  const joiners = [q.join({ timeout: 5000 }), q.join({ timeout: 5000 }), q.join({ timeout: 5000 })];
  await q.get();
  q.taskDone();
  await q.put(3);
  assert.equal(await Promise.all(joiners), [true, true, true]);
});

test('(in this process: free what it made)', () => {
  for (const q of made) if (!q.closed) q.destroy();
  pool.destroy();
});

let head: HeadRun;
test('across processes (one run-time)', async () => {
  head = await runHead('joinable');
  await head.clean();
});

test('join() waits until two workers in other processes called taskDone for every item', () => {
  const r = head.result('join-waits-for-every-taskDone');
  assert.is(r.joined, true);
  assert.is(r.visible, 40, 'every item was processed before join returned');
  assert.is(r.unfinished, 0);
  assert.equal(r.codes, [0, 0]);
  assert.is(r.joinedAgain, true);
  assert.is(r.finalUnfinished, 0);
});

test('join times out while an item is unfinished, then returns once a child finished it', () => {
  const r = head.result('join-timeout-then-done');
  assert.is(r.early, false);
  assert.ok(r.waited >= 190, `join waited ${r.waited} ms`);
  assert.is(r.earlySync, false);
  assert.is(r.later, true);
  assert.is(r.code, 0);
});

test('taskDone too often in a child: DRAGON_ERR_VALUE', () => {
  assert.equal(head.result('taskDone-too-often-in-child'), { code: 'DRAGON_ERR_VALUE', exit: 0 });
});

test.run();
