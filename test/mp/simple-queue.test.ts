// SimpleQueue<T>: put/get/empty/close (and sync variants), in this process
// and from a child process.
import * as assert from 'uvu/assert';
import { MemoryPool, Queue, SimpleQueue } from '../../src/index.js';
import { suite } from '../helpers/suite.js';
import { runHead } from './helpers/head.js';

const test = suite('SimpleQueue');
let pool: MemoryPool;

test.before(() => {
  pool = MemoryPool.create({ bytes: 8 << 20 });
});

test('FIFO, empty(), sync variants, never blocks on put', async () => {
  const q = new SimpleQueue<number>({ pool });
  assert.ok(q.empty());
  for (let i = 0; i < 500; i++) await q.put(i);
  q.putSync(500);
  assert.not.ok(q.empty());
  for (let i = 0; i < 500; i++) assert.is(await q.get(), i);
  assert.is(q.getSync(), 500);
  assert.ok(q.empty());
  try {
    await q.get({ timeout: 20 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).name, 'Empty');
  }
  q.destroy();
});

test('close(): put/get throw DRAGON_ERR_CLOSED', async () => {
  const q = new SimpleQueue<number>({ pool });
  q.close();
  assert.ok(q.closed);
  for (const f of [() => q.put(1), () => q.get(), () => q.putSync(1), () => q.getSync()]) {
    try {
      await f();
      assert.unreachable();
    } catch (err) {
      assert.is((err as { code?: string }).code, 'DRAGON_ERR_CLOSED');
      // named as what the user holds, not the Queue underneath
      assert.match((err as Error).message, /^SimpleQueue\.(put|get|putSync|getSync)\b/);
      assert.not.match((err as Error).message, /\bQueue\./);
    }
  }
  q.destroy();
});

test('errors name SimpleQueue: Empty on a timeout, closed after destroy, attached handles too', async () => {
  const q = new SimpleQueue<number>({ pool });
  try {
    await q.get({ timeout: 10 });
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /^SimpleQueue\.get: /);
  }
  const h = SimpleQueue.attach<number>(q.serialize());
  h.close();
  try {
    h.putSync(1);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /^SimpleQueue\.putSync\b/);
  }
  h.detach();
  q.destroy();
  try {
    q.empty();
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /SimpleQueue\.empty/);
    assert.not.match((err as Error).message, /\bQueue\./);
  }
});

test('travels as a SimpleQueue (not a Queue) and attaches', async () => {
  const q = new SimpleQueue<string>({ pool });
  const carrier = new Queue<unknown>({ pool });
  await carrier.put({ q });
  const { q: h } = (await carrier.get()) as { q: SimpleQueue<string> };
  assert.instance(h, SimpleQueue);
  await h.put('hi');
  assert.is(await q.get(), 'hi');
  h.detach();
  carrier.destroy();
  q.destroy();
  const s = new SimpleQueue({ pool });
  try {
    Queue.attach(s.serialize());
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /kind 42, a Queue is kind 40/);
  }
  s.destroy();
});

test('(free the pool)', () => {
  pool.destroy();
});

test('a child puts 300 items, the head gets them in order', async () => {
  const head = await runHead('simple');
  await head.clean();
  const r = head.result('child-puts-head-gets');
  assert.is(r.inOrder, true);
  assert.is(r.n, 300);
  assert.is(r.empty, true);
  assert.is(r.code, 0);
});

test.run();
