// Queue<T>, Python's multiprocessing.Queue semantics: in this process
// (FIFO, blocking, timeouts, nowait, AbortSignal, qsize/empty/full, close,
// transfer), then across processes of a one-node run-time (many producers
// and consumers, blocking put, the feeder flushing at exit, Empty/Full in a
// child, queues nested and passed through queues, close in a child).
import * as assert from 'uvu/assert';
import { DragonError, Empty, Full, MemoryPool, Queue, QUEUE_CAPACITY } from '../../src/index.js';
import { suite } from '../helpers/suite.js';
import { runHead, type HeadRun } from './helpers/head.js';

const test = suite('Queue');
let pool: MemoryPool;
const made: Queue<any>[] = [];
function queue<T = unknown>(maxsize?: number): Queue<T> {
  const q = new Queue<T>({ maxsize, pool });
  made.push(q);
  return q;
}
async function rejection(p: Promise<unknown> | (() => unknown)): Promise<any> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err;
  }
  assert.unreachable('expected an error');
}

test.before(() => {
  pool = MemoryPool.create({ bytes: 16 << 20 });
});

test('FIFO order, values keep structured clone', async () => {
  const q = queue<unknown>();
  const values = [1, 'two', { three: [3] }, null, undefined, 5n, new Map([[1, 2]]), Buffer.from('six')];
  for (const v of values) await q.put(v);
  for (const v of values) assert.equal(await q.get(), v);
});

test('unbounded: put never waits, items beyond the channel wait in order in this process', async () => {
  const q = queue<number>();
  const n = QUEUE_CAPACITY * 5;
  for (let i = 0; i < n / 2; i++) q.putNowait(i);
  for (let i = n / 2; i < n; i++) await q.put(i);
  assert.is(q.qsize(), n);
  assert.not.ok(q.full());
  for (let i = 0; i < n; i++) assert.is(await q.get(), i);
  await q.joinThread();
  assert.ok(q.empty());
});

test('unbounded: puts refill the channel from the waiting items without the event loop turning', async () => {
  const q = queue<number>();
  const n = QUEUE_CAPACITY * 3;
  let next = 0;
  for (; next < n; next++) q.putNowait(next);
  // all synchronous from here: no pump runs, the puts move the waiting items
  let got = 0;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < QUEUE_CAPACITY / 2; i++) assert.is(q.getNowait(), got++);
    for (let i = 0; i < 20; i++) q.putNowait(next++);
  }
  assert.is(q.qsize(), next - got);
  // the rest, with the event loop turning (the pump moves what is left)
  while (got < next) assert.is(await q.get({ timeout: 5000 }), got++);
  await q.joinThread();
  assert.ok(q.empty());
});

test('unbounded: the pump lets go once puts moved every waiting item themselves', async () => {
  const q = queue<number>();
  let next = 0;
  for (; next < QUEUE_CAPACITY + 10; next++) q.putNowait(next);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 5)); // the pump waits for room now
  let got = 0;
  // make room, then put until the queue holds exactly a channel's worth:
  // a put moves the waiting items (a few puts may skip the attempt) and the
  // channel ends full with nothing waiting here
  for (let i = 0; i < 40; i++) assert.is(q.getNowait(), got++);
  while (q.qsize() < QUEUE_CAPACITY) q.putNowait(next++);
  const flushed = await Promise.race([q.joinThread().then(() => true), new Promise((r) => setTimeout(() => r(false), 2000))]);
  assert.ok(flushed, 'joinThread resolved with the channel full and nothing waiting');
  while (got < next) assert.is(q.getNowait(), got++);
});

test('sync variants: putSync/getSync, order kept with async puts', () => {
  const q = queue<number>(4);
  q.putSync(1);
  q.putSync(2, { timeout: 100 });
  assert.is(q.getSync(), 1);
  assert.is(q.getSync({ timeout: 100 }), 2);
  const t0 = Date.now();
  const e = (() => {
    try {
      q.getSync({ timeout: 50 });
    } catch (err) {
      return err;
    }
  })() as Empty;
  assert.instance(e, Empty);
  assert.ok(Date.now() - t0 >= 45);
});

test('getNowait on empty throws Empty; get with timeout rejects with Empty after it', async () => {
  const q = queue<number>();
  const e = await rejection(() => q.getNowait());
  assert.instance(e, Empty);
  assert.instance(e, DragonError);
  assert.is(e.code, 'DRAGON_ERR_EMPTY');
  assert.is(e.name, 'Empty');
  const t0 = Date.now();
  const e2 = await rejection(q.get({ timeout: 80 }));
  assert.instance(e2, Empty);
  assert.match(e2.message, /80 ms/);
  assert.ok(Date.now() - t0 >= 75);
  assert.instance(await rejection(q.get({ timeout: 0 })), Empty);
});

test('bounded: put waits for room, Full on timeout and for putNowait/putSync', async () => {
  const q = queue<number>(2);
  await q.put(1);
  q.putNowait(2);
  assert.ok(q.full());
  assert.is(q.qsize(), 2);
  const e = await rejection(() => q.putNowait(3));
  assert.instance(e, Full);
  assert.is(e.code, 'DRAGON_ERR_FULL');
  assert.instance(await rejection(q.put(3, { timeout: 50 })), Full);
  assert.instance(await rejection(() => q.putSync(3, { timeout: 20 })), Full);
  let done = false;
  const waiting = q.put(3).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.not.ok(done, 'put waits while full');
  assert.is(await q.get(), 1);
  await waiting;
  assert.ok(done);
  assert.equal([await q.get(), await q.get()], [2, 3]);
  assert.ok(q.empty());
});

test('blocking get resolves when an item arrives; waiting getters are served in order', async () => {
  const q = queue<string>();
  const a = q.get();
  const b = q.get();
  await new Promise((r) => setTimeout(r, 20));
  await q.put('first');
  await q.put('second');
  assert.equal([await a, await b], ['first', 'second']);
});

test('AbortSignal: a waiting get/put rejects with ABORT_ERR; an aborted signal rejects at once', async () => {
  const q = queue<number>(1);
  const ac = new AbortController();
  const g = queue<number>().get({ signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  assert.is((await rejection(g)).code, 'ABORT_ERR');
  await q.put(1);
  const ac2 = new AbortController();
  const p = q.put(2, { signal: ac2.signal });
  ac2.abort();
  assert.is((await rejection(p)).code, 'ABORT_ERR');
  assert.is((await rejection(q.get({ signal: AbortSignal.abort() }))).code, 'ABORT_ERR');
  assert.is(q.qsize(), 1);
});

test('close(): this handle puts and gets no more (Python: ValueError), other handles go on', async () => {
  const q = queue<number>();
  await q.put(1);
  const other = Queue.attach<number>(q.serialize());
  q.close();
  assert.ok(q.closed);
  for (const f of [() => q.put(2), () => q.get(), () => q.putNowait(2), () => q.getNowait(), () => q.getSync(), () => q.putSync(1)]) {
    assert.is((await rejection(f)).code, 'DRAGON_ERR_CLOSED');
  }
  assert.is(q.qsize(), 1);
  assert.is(await other.get(), 1);
  other.detach();
  assert.is((await rejection(() => other.qsize())).code, 'DRAGON_ERR_CLOSED');
});

test('serialize/attach: a second handle sees the same queue; maxsize travels', async () => {
  const q = queue<string>(3);
  const h = Queue.attach<string>(q.serialize());
  assert.is(h.maxsize, 3);
  await h.put('x');
  assert.is(await q.get(), 'x');
  h[Symbol.dispose]();
  assert.ok(h.closed);
  assert.is(q.qsize(), 0);
});

test('a queue travels inside a value through another queue', async () => {
  const carrier = queue<{ q: Queue<number> }>();
  const inner = queue<number>();
  await inner.put(42);
  await carrier.put({ q: inner });
  const got = await carrier.get();
  assert.instance(got.q, Queue);
  assert.is(await got.q.get(), 42);
  got.q.detach();
});

test('bad arguments: one-line errors naming the problem', async () => {
  assert.match((await rejection(() => new Queue({ maxsize: 1.5, pool }))).message, /maxsize must be an integer/);
  assert.match((await rejection(() => Queue.attach(new Uint8Array([9, 9, 9])))).message, /not a descriptor/);
  const q = queue<number>();
  assert.match((await rejection(q.get({ timeout: 'x' as unknown as number }))).message, /timeout must be a number/);
  assert.match((await rejection(q.put((() => 1) as unknown as number))).message, /cannot be sent/);
});

test('destroy(): frees the queue; the creator\'s dispose destroys', async () => {
  const q = new Queue<number>({ pool });
  await q.put(1);
  q.destroy();
  assert.is((await rejection(() => q.qsize())).code, 'DRAGON_ERR_CLOSED');
  {
    using r = new Queue<number>({ pool });
    await r.put(1);
  }
});

test('(in this process: free what it made)', () => {
  for (const q of made) if (!q.closed) q.destroy();
  for (const q of made) {
    try {
      q.destroy();
    } catch {
      // detached or destroyed already
    }
  }
  pool.destroy();
});

let head: HeadRun;
test('across processes (one run-time)', async () => {
  head = await runHead('queue');
  await head.clean();
});

for (const maxsize of ['unbounded', 'bounded']) {
  test(`4 producers, 2 consumers, ${maxsize}: nothing lost or duplicated, each producer's order kept`, () => {
    const r = head.result(`many-${maxsize}`);
    assert.is(r.total, r.expected);
    assert.is(r.dup, 0);
    assert.is(r.outOfOrder, 0);
    assert.equal(r.pcodes, [0, 0, 0, 0]);
    assert.equal(r.ccodes, [0, 0]);
    assert.ok(r.empty);
  });
}

test('a child that puts 1000 items and returns stays until its feeder flushed them', () => {
  const r = head.result('flush-at-exit');
  assert.equal(r, { inOrder: true, n: 1000, code: 0, empty: true });
});

test('a child\'s put blocks on a full bounded queue (qsize 2, full) until the head gets', () => {
  const r = head.result('blocking-put');
  assert.is(r.sizeWhileBlocked, 2);
  assert.ok(r.fullWhileBlocked);
  assert.ok(r.stillBlocked);
  assert.equal(r.got, [0, 1, 2, 3, 4, 5]);
  assert.is(r.doneMsg, 'all put');
  assert.is(r.code, 0);
});

test('Empty and Full in a child: get/getSync with timeout, getNowait, put with timeout, putNowait', () => {
  const r = head.result('timeouts-in-child');
  for (const k of ['get', 'getSync', 'getNowait']) assert.equal([r[k].name, r[k].code], ['Empty', 'DRAGON_ERR_EMPTY'], k);
  for (const k of ['put', 'putNowait']) assert.equal([r[k].name, r[k].code], ['Full', 'DRAGON_ERR_FULL'], k);
  assert.ok(r.get.ms >= 190, `get waited ${r.get.ms} ms`);
  assert.ok(r.put.ms >= 190, `put waited ${r.put.ms} ms`);
  assert.ok(r.full);
  assert.is(r.qsize, 1);
  assert.is(r.code, 0);
});

test('a queue nested in an argument, and one received through it, work in the child', () => {
  assert.equal(head.result('nested-and-through-a-queue'), { big: String(2n ** 70n), map: [[1, 'one']], code: 0 });
});

test('close() in a child: its put/get throw DRAGON_ERR_CLOSED, what it put arrives', () => {
  const r = head.result('close-in-child');
  assert.equal(r.codes, ['DRAGON_ERR_CLOSED', 'DRAGON_ERR_CLOSED', 'DRAGON_ERR_CLOSED', 'DRAGON_ERR_CLOSED']);
  assert.is(r.first, 'before close');
  assert.is(r.code, 0);
});

test.run();
