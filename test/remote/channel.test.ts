// The client side of remote channels (remote/channel.ts, remote/gateway.ts) against a fake
// transport agent written in TypeScript (test/fixtures/fake-agent.ts) that
// serves a gateway channel on this machine: request/reply encoding, demux
// by req_id, async and sync operations mixed, order, timeouts, large
// messages, abort, and the errors. The real agent and two nodes: test/cluster/transport.test.ts.
import * as assert from 'uvu/assert';
import { Channel, DragonError, MemoryPool } from '../../src/index.js';
import { Gateway } from '../../src/runtime/remote/gateway.js';
import { REP_HEADER, REQ_HEADER, GwOp, readReplyHeader, readRequestHeader, writeReplyHeader, writeRequestHeader } from '../../src/runtime/core/ffi/gateway-wire.js';
import { Status } from '../../src/runtime/errors/status.js';
import { exitOf, forkFixture, hex, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('remote-channel');

// This process plays a process of node 0; pool `far` is node 1's.
const near = MemoryPool.create({ bytes: 64 << 20, hostId: 0 });
const far = MemoryPool.create({ bytes: 64 << 20, hostId: 1 });
const gateway = Channel.create({ pool: near, capacity: 64, blockSize: 1024 });
const agent = forkFixture('fake-agent', [], { DRAGON_NODE_INDEX: '' });
const realChannels: Channel[] = [];

/** A channel of node 1: the local handle (the "far" side) and the remote one. */
function pair(capacity = 16, blockSize = 256): { local: Channel; remote: Channel } {
  const local = Channel.create({ pool: far, capacity, blockSize });
  realChannels.push(local);
  const remote = Channel.attach(local.serialize());
  return { local, remote };
}

test.before(async () => {
  agent.send({ cmd: 'serve', gateway: hex(gateway.serialize()) });
  await nextMessage(agent, (m) => m.done === 'serve');
  process.env.DRAGON_NODE_INDEX = '0';
  process.env.DRAGON_GATEWAY = Buffer.from(gateway.serialize()).toString('base64');
  process.env.DRAGON_DEFAULT_POOL = Buffer.from(near.serialize()).toString('base64');
});

test('the headers have the contract layout', () => {
  const target = new Uint8Array(96).fill(7);
  const reply = new Uint8Array(96).fill(9);
  const buf = Buffer.alloc(REQ_HEADER);
  writeRequestHeader(buf, { op: GwOp.RECV, reqId: 2 ** 40 + 5, timeoutUs: -1, events: 3, payloadLen: 0, target, reply });
  assert.is(buf.toString('latin1', 0, 4), 'DGW1');
  assert.is(buf.readUInt16LE(4), 1);
  assert.is(buf.readUInt16LE(6), 2);
  assert.is(buf.readBigUInt64LE(8), 2n ** 40n + 5n);
  assert.is(buf.readBigInt64LE(16), -1n);
  assert.is(buf.readUInt32LE(24), 3);
  assert.is(buf[40], 7);
  assert.is(buf[135], 7);
  assert.is(buf[136], 9);
  assert.is(buf[231], 9);
  const back = readRequestHeader(buf);
  assert.ok(back.magic);
  assert.is(back.reqId, 2 ** 40 + 5);
  writeRequestHeader(buf, { op: GwOp.SEND, reqId: 1, timeoutUs: 2_500_000, events: 0, payloadLen: 1234, target, reply });
  assert.is(buf.readBigInt64LE(16), 2_500_000n);
  assert.is(buf.readBigUInt64LE(32), 1234n);
  const r = Buffer.alloc(REP_HEADER);
  writeReplyHeader(r, { op: 4, reqId: 77, status: Status.PEER_LOST, events: 1, value: 5 });
  assert.is(r.toString('latin1', 0, 4), 'DGR1');
  assert.equal(readReplyHeader(r), { op: 4, reqId: 77, status: 23, events: 1, value: 5 });
  assert.is(readReplyHeader(Buffer.alloc(32)), undefined);
});

test('a channel of another node attaches as a remote channel', () => {
  const { remote } = pair();
  assert.instance(remote, Channel);
  assert.is(remote.remoteNode, 1);
  assert.is(remote.capacity, 0);
  assert.ok(remote.serialize().length === 96);
});

test('values cross both ways, async and sync, like a local send', async () => {
  const { local, remote } = pair();
  const values: unknown[] = ['hello', 42, { a: [1, 2, { b: 'c' }] }, new Map([[1, 'x']]), 10n, Buffer.from('bytes'), new Uint8Array([1, 2, 3]), null, undefined, true];
  for (const v of values) {
    await remote.send(v);
    assert.equal(local.recvSync({ timeout: 5000 }), v);
    remote.sendSync(v);
    assert.equal(await local.recv({ timeout: 5000 }), v);
    local.sendSync(v);
    assert.equal(await remote.recv(), v);
    local.sendSync(v);
    assert.equal(remote.recvSync(), v);
  }
  await remote.sendBytes(Buffer.from('raw'));
  assert.is(local.recvBytesSync().toString(), 'raw');
  local.sendBytesSync(Buffer.from('raw2'));
  assert.is((await remote.recvBytes()).toString(), 'raw2');
  local.sendBytesSync(Buffer.from('raw3'));
  assert.is(remote.recvBytesSync().toString(), 'raw3');
});

test('Dragon objects inside values travel as descriptors', async () => {
  const { local, remote } = pair();
  const other = pair();
  await remote.send({ ch: other.local });
  const got = local.recvSync<{ ch: Channel }>({ timeout: 5000 });
  assert.instance(got.ch, Channel);
  got.ch.sendSync('through');
  assert.is(await other.remote.recv(), 'through');
  got.ch.detach();
});

test('large messages (1 MiB and 8 MiB) both ways', async () => {
  const { local, remote } = pair(4, 256);
  for (const n of [1 << 20, 8 << 20]) {
    const big = Buffer.alloc(n, 0);
    for (let i = 0; i < n; i += 4096) big[i] = i & 0xff;
    await remote.sendBytes(big);
    assert.ok(local.recvBytesSync({ timeout: 5000 }).equals(big));
    remote.sendSync(big);
    assert.ok((local.recvSync({ timeout: 5000 }) as Buffer).equals(big));
    local.sendBytesSync(big);
    assert.ok((await remote.recvBytes()).equals(big));
    local.sendSync(big);
    assert.ok((remote.recvSync() as Buffer).equals(big));
    local.sendSync(big);
    const view = await remote.recv({ zeroCopy: true });
    assert.ok((view.value as Buffer).equals(big));
    view.release();
  }
});

test('1000 async sends not awaited one by one keep their order (more than the reply channel holds)', async () => {
  const { local, remote } = pair(2048, 64);
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) sends.push(remote.send(i));
  await Promise.all(sends);
  for (let i = 0; i < 1000; i++) assert.is(local.recvSync({ timeout: 0 }), i);
});

test('a sync operation while async ones wait hands their replies over', async () => {
  const a = pair();
  const b = pair();
  const c = pair();
  const pendingRecv = a.remote.recv({ timeout: 10_000 });
  const pendingPoll = c.remote.poll(Channel.POLL_IN, { timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 20));
  a.local.sendSync('for the async recv');
  c.local.sendSync('for the poll');
  // the replies of recv and poll may arrive while this sync call waits for its own
  b.remote.sendSync('sync');
  assert.is(b.local.recvSync({ timeout: 0 }), 'sync');
  assert.is(await pendingRecv, 'for the async recv');
  assert.is((await pendingPoll) & Channel.POLL_IN, Channel.POLL_IN);
  // nothing left pending: the process can exit (checked at the end)
});

test('receive timeouts, async and sync, and poll/count', async () => {
  const { local, remote } = pair();
  const t0 = Date.now();
  try {
    await remote.recv({ timeout: 100 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_TIMEOUT');
  }
  assert.ok(Date.now() - t0 >= 90);
  try {
    remote.recvSync({ timeout: 0 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_TIMEOUT');
  }
  assert.is(remote.count(), 0);
  assert.is(remote.pollSync(Channel.POLL_IN, { timeout: 0 }), 0);
  local.sendSync(1);
  local.sendSync(2);
  assert.is(remote.count(), 2);
  assert.is(remote.pollSync(Channel.POLL_IN) & Channel.POLL_IN, Channel.POLL_IN);
  assert.ok((await remote.poll(Channel.POLL_IN)) & Channel.POLL_IN);
  assert.is(await remote.recv(), 1);
  assert.is(remote.recvSync(), 2);
  try {
    await remote.poll(Channel.POLL_IN, { timeout: 50 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_TIMEOUT');
  }
});

test('a full remote channel: send with a timeout times out', async () => {
  const { local, remote } = pair(2, 64);
  remote.sendSync(1);
  remote.sendSync(2);
  try {
    remote.sendSync(3, { timeout: 50 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_TIMEOUT');
  }
  const late = remote.send(4);
  assert.is(local.recvSync({ timeout: 1000 }), 1);
  await late;
  assert.is(local.recvSync({ timeout: 0 }), 2);
  assert.is(local.recvSync({ timeout: 0 }), 4);
});

test('an aborted receive loses no message; recvBytesInto keeps a too-long one', async () => {
  const { local, remote } = pair();
  const ac = new AbortController();
  const p = remote.recv({ signal: ac.signal });
  await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'ABORT_ERR');
  }
  local.sendSync('kept');
  // the aborted request's late reply is kept for the next receive
  assert.is(await remote.recv({ timeout: 5000 }), 'kept');
  local.sendBytesSync(Buffer.from('0123456789'));
  const small = new Uint8Array(4);
  try {
    remote.recvBytesIntoSync(small);
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_BUFFER_TOO_SMALL');
  }
  const buf = new Uint8Array(16);
  assert.is(await remote.recvBytesInto(buf), 10);
  assert.is(Buffer.from(buf.subarray(0, 10)).toString(), '0123456789');
});

test('destroy is refused from another node; detach fails what waits', async () => {
  const { remote } = pair();
  try {
    remote.destroy();
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /cannot destroy it/);
  }
  const p = remote.recv();
  remote.detach();
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_CLOSED');
  }
  assert.ok(remote.closed);
});

test('a channel the agent cannot reach: DRAGON_ERR_PEER_LOST', async () => {
  // a descriptor of node 2, whose pool does not exist
  const ghostPool = MemoryPool.create({ bytes: 1 << 20, hostId: 2 });
  const ch = Channel.create({ pool: ghostPool, capacity: 2, blockSize: 64 });
  const desc = ch.serialize();
  ch.destroy();
  ghostPool.destroy();
  const remote = Channel.attach(desc);
  try {
    await remote.send('x');
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_PEER_LOST');
    assert.is((err as DragonError).errno, 23);
  }
  try {
    remote.count();
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_PEER_LOST');
  }
});

test('other kinds of another node keep their error; no gateway: DRAGON_ERR_NO_TRANSPORT', async () => {
  try {
    MemoryPool.attach(far.serialize());
    assert.unreachable();
  } catch (err) {
    assert.is((err as DragonError).code, 'DRAGON_ERR_OTHER_NODE');
    assert.match((err as Error).message, /lives on node 1/);
    assert.match((err as DragonError).hint ?? '', /cannot be mapped here/);
  }
  Gateway.reset();
  const saved = process.env.DRAGON_GATEWAY;
  delete process.env.DRAGON_GATEWAY;
  try {
    const { remote } = pair();
    try {
      await remote.send(1);
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'DRAGON_ERR_NO_TRANSPORT');
      assert.is((err as DragonError).errno, 24);
      assert.match((err as Error).message, /apt-get install libfabric-dev, then npm rebuild/);
    }
    try {
      remote.recvSync();
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'DRAGON_ERR_NO_TRANSPORT');
    }
  } finally {
    process.env.DRAGON_GATEWAY = saved;
  }
});

test('clean up', async () => {
  Gateway.reset();
  agent.send({ cmd: 'exit' });
  assert.is(await exitOf(agent), 0);
  for (const c of realChannels) c.destroy();
  gateway.destroy();
  far.destroy();
  near.destroy();
});

test.run();
