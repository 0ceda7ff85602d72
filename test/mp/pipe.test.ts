// Pipe() and Connection: duplex and one-way, values and bytes, poll, EOF
// once the other end closed (after its data), wrong-end errors, in this
// process and with the other end in a child process.
import * as assert from 'uvu/assert';
import { BrokenPipeError, BufferTooShort, Connection, EOFError, MemoryPool, Pipe, Queue } from '../../src/index.js';
import { suite } from '../helpers/suite.js';
import { runHead, type HeadRun } from './helpers/head.js';

const test = suite('Pipe');
let pool: MemoryPool;
const pipes: Connection[] = [];
function pipe(duplex: boolean): [Connection, Connection] {
  const ends = Pipe(duplex, { pool });
  pipes.push(ends[0]);
  return ends;
}
async function error(f: () => unknown): Promise<any> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  assert.unreachable('expected an error');
}

test.before(() => {
  pool = MemoryPool.create({ bytes: 16 << 20 });
});

test('duplex: both ends send and receive, in order, values keep structured clone', async () => {
  const [a, b] = pipe(true);
  assert.ok(a.readable && a.writable && b.readable && b.writable);
  await a.send({ n: 1 });
  a.sendSync([2n, new Map([[3, 4]])]);
  assert.equal(await b.recv(), { n: 1 });
  assert.equal(b.recvSync(), [2n, new Map([[3, 4]])]);
  await b.send('back');
  assert.is(await a.recv(), 'back');
  a.close();
  b.close();
});

test('Pipe(false): [reader, writer]; the wrong end throws a clear error', async () => {
  const [r, w] = pipe(false);
  assert.ok(r.readable && !r.writable && w.writable && !w.readable);
  const e1 = await error(() => r.send(1));
  assert.is(e1.code, 'DRAGON_ERR_NOT_WRITABLE');
  assert.match(e1.message, /receive-only.*Pipe\(false\) returns \[reader, writer\]/);
  assert.is((await error(() => w.recv())).code, 'DRAGON_ERR_NOT_READABLE');
  assert.is((await error(() => w.pollSync())).code, 'DRAGON_ERR_NOT_READABLE');
  assert.is((await error(() => r.sendBytesSync(Buffer.alloc(1)))).code, 'DRAGON_ERR_NOT_WRITABLE');
  r.close();
  w.close();
});

test('bytes: sendBytes with offset and size, recvBytes, recvBytesInto; recv() of bytes gives a Buffer', async () => {
  const [r, w] = pipe(false);
  await w.sendBytes(Buffer.from('--hello--'), 2, 5);
  w.sendBytesSync(new Uint16Array([0x0201, 0x0403]));
  await w.sendBytes(new Uint8Array(5000).fill(7).buffer);
  await w.sendBytes(Buffer.from('as value'));
  await w.send('a value');
  assert.is((await r.recvBytes()).toString(), 'hello');
  assert.equal([...r.recvBytesSync()], [1, 2, 3, 4]);
  const into = Buffer.alloc(6000);
  assert.is(await r.recvBytesInto(into, 10), 5000);
  assert.is(into[10], 7);
  assert.is(into[5009], 7);
  assert.is(into[5010], 0);
  const v = await r.recv();
  assert.ok(Buffer.isBuffer(v));
  assert.is((v as Buffer).toString(), 'as value');
  const e = await error(() => r.recvBytes());
  assert.is(e.code, 'DRAGON_ERR_BAD_MESSAGE');
  assert.match(e.message, /sent with send\(\)/);
  assert.match((await error(() => w.sendBytes(Buffer.alloc(4), 3, 5))).message, /size must be an integer in 0\.\.1/);
  r.close();
  w.close();
});

test('recvBytesInto: any ArrayBufferView, offset in bytes (Python: recv_bytes_into(buffer, offset)); bad offsets refused before receiving', async () => {
  const [r, w] = pipe(false);
  w.sendBytesSync(Buffer.from([1, 2, 3, 4]));
  w.sendBytesSync(Buffer.from([5, 6, 7, 8]));
  w.sendBytesSync(Buffer.from([9, 10]));
  const u32 = new Uint32Array(4);
  assert.is(await r.recvBytesInto(u32, 4), 4);
  assert.equal([...new Uint8Array(u32.buffer, 4, 4)], [1, 2, 3, 4]);
  const dv = new DataView(new ArrayBuffer(16), 8, 8); // a view with its own byteOffset
  assert.is(r.recvBytesIntoSync(dv, 2), 4);
  assert.equal([...new Uint8Array(dv.buffer, 10, 4)], [5, 6, 7, 8]);
  for (const bad of [-1, 17, 1.5]) {
    const e = await error(() => r.recvBytesInto(u32, bad));
    assert.is(e.code, 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.match(e.message, /offset must be an integer in 0\.\.16/);
  }
  assert.is((await error(() => r.recvBytesInto([1, 2] as never))).code, 'DRAGON_ERR_INVALID_ARGUMENT');
  assert.is(await r.recvBytesInto(new ArrayBuffer(2)), 2, 'the bad calls took nothing');
  r.close();
  w.close();
});

test('recvBytesInto with a buffer too short: BufferTooShort carrying the size and the message, which stays queued', async () => {
  const [r, w] = pipe(false);
  w.sendBytesSync(Buffer.from('twelve bytes'));
  w.sendBytesSync(Buffer.from('next'));
  const small = new Uint8Array(8);
  const e = await error(() => r.recvBytesInto(small, 2));
  assert.instance(e, BufferTooShort);
  assert.equal([e.name, e.code, e.size], ['BufferTooShort', 'DRAGON_ERR_BUFFER_TOO_SMALL', 12]);
  assert.is(Buffer.from(e.bytes).toString(), 'twelve bytes');
  assert.match(e.message, /the message has 12 bytes and the buffer room for 6 from offset 2.*stays queued/);
  assert.equal([...small], [0, 0, 0, 0, 0, 0, 0, 0], 'nothing written');
  assert.is(r.pollSync(), true);
  assert.is((await error(() => r.recvBytesIntoSync(small))).size, 12, 'still first in line');
  const big = Buffer.alloc(12);
  assert.is(await r.recvBytesInto(big), 12);
  assert.is(big.toString(), 'twelve bytes');
  assert.is((await r.recvBytes()).toString(), 'next');
  w.sendBytesSync(Buffer.from('again'));
  await error(() => r.recvBytesInto(small, 6));
  assert.is((await r.recv<Buffer>()).toString(), 'again', 'recv() takes it too');
  w.close();
  assert.instance(await error(() => r.recvBytesInto(big)), EOFError);
  r.close();
});

test('send once every reading handle is closed: BrokenPipeError (DRAGON_ERR_BROKEN_PIPE, Python: BrokenPipeError), for every send form', async () => {
  const [r, w] = pipe(false);
  await w.send('before');
  r.close();
  for (const send of [() => w.send(1), () => w.sendSync(1), () => w.sendBytes(Buffer.alloc(1)), () => w.sendBytesSync(Buffer.alloc(1))]) {
    const e = await error(send);
    assert.instance(e, BrokenPipeError);
    assert.equal([e.name, e.code], ['BrokenPipeError', 'DRAGON_ERR_BROKEN_PIPE']);
    assert.match(e.message, /Connection\.send\w*: every handle of the receiving end was closed/);
  }
  w.close();
});

test('duplex: the end whose peer closed cannot send but still receives what the peer sent, then EOF', async () => {
  const [a, b] = pipe(true);
  await b.send('last words');
  b.close();
  assert.instance(await error(() => a.send('anyone?')), BrokenPipeError);
  assert.is(await a.recv(), 'last words');
  assert.instance(await error(() => a.recv()), EOFError);
  a.close();
});

test('a reading handle serialized for another process keeps the pipe open until it closes too', async () => {
  const [r, w] = pipe(false);
  const desc = r.serialize();
  r.close();
  await w.send('for the other handle');
  const r2 = Connection.attach(desc);
  assert.is(await r2.recv(), 'for the other handle');
  await w.send('still open');
  r2.close();
  assert.is((await error(() => w.send('no one'))).code, 'DRAGON_ERR_BROKEN_PIPE');
  w.close();
});

test('poll: at once by default, waits with a timeout, true for pending data and for EOF', async () => {
  const [a, b] = pipe(true);
  assert.is(await a.poll(), false);
  assert.is(a.pollSync(), false);
  const t0 = Date.now();
  assert.is(await a.poll(50), false);
  assert.ok(Date.now() - t0 >= 45);
  setTimeout(() => void b.send('x'), 30);
  assert.is(await a.poll(null), true);
  assert.is(a.pollSync(), true);
  assert.is(await a.recv(), 'x');
  b.close();
  assert.is(await a.poll(1000), true, 'EOF is something to read');
  assert.instance(await error(() => a.recv()), EOFError);
  a.close();
});

test('EOF: after the other end closes, the data sent before comes first, then EOFError, again and again', async () => {
  const [r, w] = pipe(false);
  for (let i = 0; i < 300; i++) void w.send(i); // beyond the channel's capacity: some wait
  w.close();
  for (let i = 0; i < 300; i++) assert.is(await r.recv(), i);
  const e = await error(() => r.recv());
  assert.instance(e, EOFError);
  assert.is(e.code, 'DRAGON_ERR_EOF');
  assert.is(e.name, 'EOFError');
  assert.is((await error(() => r.recvSync())).code, 'DRAGON_ERR_EOF');
  assert.is((await error(() => r.recvBytes())).code, 'DRAGON_ERR_EOF');
  r.close();
});

test('EOF waits for every handle of the end: a second handle keeps it open', async () => {
  const [r, w] = pipe(false);
  const w2 = Connection.attach(w.serialize());
  w.close();
  await w2.send('still open');
  assert.is(await r.recv(), 'still open');
  assert.is(await r.poll(30), false);
  w2.close();
  assert.instance(await error(() => r.recv({ timeout: 5000 })), EOFError);
  r.close();
});

test('close is idempotent; a closed handle refuses work with DRAGON_ERR_CLOSED', async () => {
  const [a] = pipe(true);
  a.close();
  a.close();
  assert.ok(a.closed);
  assert.is((await error(() => a.send(1))).code, 'DRAGON_ERR_CLOSED');
  assert.is((await error(() => a.recv())).code, 'DRAGON_ERR_CLOSED');
  assert.throws(() => new Connection(), /come from Pipe\(\)/);
});

test('the creator frees the pipe when both of its ends are disposed of; close() alone frees nothing', async () => {
  const before = pool.stats().numAllocs;
  const [c, d] = Pipe(true, { pool });
  const during = pool.stats().numAllocs;
  c.close();
  d.close();
  assert.is(pool.stats().numAllocs, during, 'close() keeps the parts (other processes may hold ends)');
  c[Symbol.dispose]();
  d[Symbol.dispose]();
  assert.is(pool.stats().numAllocs, before);
});

test('a Connection travels through a queue and works on arrival', async () => {
  const [a, b] = pipe(true);
  const carrier = new Queue<unknown>({ pool });
  await carrier.put({ end: b });
  const { end } = (await carrier.get()) as { end: Connection };
  assert.instance(end, Connection);
  b.close();
  await end.send('via queue');
  assert.is(await a.recv(), 'via queue');
  end.close();
  assert.instance(await error(() => a.recv({ timeout: 5000 })), EOFError);
  a.close();
  carrier.destroy();
});

test('(free the pool)', () => {
  for (const c of pipes) c.destroy();
  pool.destroy();
});

let head: HeadRun;
test('across processes (one run-time)', async () => {
  head = await runHead('pipe');
  await head.clean();
});

test('duplex with a child: 50 echoes, then the head closes and the child sees EOF', () => {
  const r = head.result('duplex-echo-then-eof');
  assert.ok(r.ok);
  assert.is(r.r.n, 50);
  assert.equal([r.r.name, r.r.code], ['EOFError', 'DRAGON_ERR_EOF']);
  assert.is(r.code, 0);
});

for (const how of ['after-close', 'at-exit']) {
  test(`one-way from a child: 200 values and bytes, then EOF (${how === 'at-exit' ? 'the child returns without close' : 'the child closes'})`, () => {
    const r = head.result(`oneway-eof-${how}`);
    assert.ok(r.inOrder);
    assert.equal(r.bytes, ['hello bytes', '1,2,3']);
    assert.equal(r.eof, { name: 'EOFError', code: 'DRAGON_ERR_EOF' });
    assert.is(r.pollAfterEof, true);
    assert.is(r.again, 'DRAGON_ERR_EOF');
    assert.is(r.code, 0);
  });
}

test('the wrong ends in a child throw', () => {
  const r = head.result('wrong-end-in-child');
  assert.equal(r.codes, ['DRAGON_ERR_NOT_WRITABLE', 'DRAGON_ERR_NOT_READABLE', 'DRAGON_ERR_NOT_WRITABLE', 'DRAGON_ERR_NOT_READABLE']);
  assert.is(r.code, 0);
});

test('the reading end closed in a child (close, or the child exits holding it): the head\'s send throws BrokenPipeError', () => {
  for (const how of ['close', 'exit']) {
    const r = head.result(`broken-pipe-${how}`);
    assert.equal(r, { before: 'ok', got: 'hello', after: 'DRAGON_ERR_BROKEN_PIPE', afterSync: 'DRAGON_ERR_BROKEN_PIPE', code: 0 }, how);
  }
  assert.equal(head.result('broken-pipe-duplex-exit'), { send: 'DRAGON_ERR_BROKEN_PIPE', recv: 'bye', then: 'DRAGON_ERR_EOF', code: 0 });
});

test('poll in the head waits for a child\'s late send', () => {
  const r = head.result('poll');
  assert.equal([r.before, r.beforeSync, r.soon, r.v, r.code], [false, false, true, 'late', 0]);
  assert.ok(r.waited >= 100, `poll waited ${r.waited} ms`);
});

test.run();
