// Conformance of Array with Python's multiprocessing semantics, with child
// processes of a one-node run-time (scenarios: test/fixtures/mp/sync-head.ts,
// checks: test/fixtures/mp/sync-checks.ts; the same on three nodes:
// test/cluster/mp-sync.test.ts). Plus, in this process: the composite
// descriptor (kind 45) and an Array of another node without a transport.
import * as assert from 'uvu/assert';
import { Array as SharedArray, Channel, MemoryPool, RLock, type DragonError } from '../../src/index.js';
import { Gateway } from '../../src/runtime/remote/gateway.js';
import { conformance } from '../fixtures/mp/sync-run.js';
import { suite } from '../helpers/suite.js';

const test = suite('mp array');
conformance(test, 'array');

test('the descriptor: a 16-byte header, the allocation and the lock; it travels through a Channel at any depth', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const a = new SharedArray('h', [1, -2, 3], { pool });
  const d = a.serialize();
  assert.is(d[0], 1, 'version');
  assert.is(d[1], 2, "typecode index of 'h'");
  assert.is(d[2], 1, 'has a lock');
  assert.is(d[3], 2, 'an Array');
  assert.is(Buffer.from(d).readUInt32LE(4), 3);
  const aLen = Buffer.from(d).readUInt16LE(8);
  const lLen = Buffer.from(d).readUInt16LE(10);
  assert.is(d.length, 16 + aLen + lLen);
  const ch = Channel.create({ pool, capacity: 4 });
  await ch.send({ nested: [a] });
  const got = (await ch.recv()) as { nested: [SharedArray<'h'>] };
  const b = got.nested[0];
  assert.instance(b, SharedArray);
  assert.equal(b.toArray(), [1, -2, 3]);
  assert.instance(b.getLock(), RLock);
  b.set(0, 10);
  assert.is(a.get(0), 10);
  b.detach();
  assert.throws(() => b.get(0), (e: DragonError) => e.code === 'DRAGON_ERR_CLOSED');
  assert.is(a.get(0), 10, 'detach of another handle leaves the memory');
  assert.throws(() => SharedArray.attach(d.subarray(0, 20)), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
  const v = new Uint8Array(d);
  v[3] = 1; // says Value
  assert.throws(() => SharedArray.attach(v), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
  ch.destroy();
  a.destroy();
});

test('an Array of another node attaches as a remote one; without a transport its accesses fail with NO_TRANSPORT', () => {
  const far = MemoryPool.create({ bytes: 1 << 20, hostId: 1 });
  const a = new SharedArray('d', 4, { pool: far, lock: false });
  const saved = { node: process.env.DRAGON_NODE_INDEX, gw: process.env.DRAGON_GATEWAY };
  process.env.DRAGON_NODE_INDEX = '0';
  delete process.env.DRAGON_GATEWAY;
  Gateway.reset();
  try {
    const r = SharedArray.attach(a.serialize());
    assert.is(r.isLocal, false);
    assert.is(r.length, 4);
    assert.throws(() => r.get(0), (e: DragonError) => e.code === 'DRAGON_ERR_NO_TRANSPORT');
    assert.throws(() => r.get(4), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT', 'bounds are checked before any request');
    assert.throws(() => r.getLock(), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
    r.detach();
  } finally {
    if (saved.node === undefined) delete process.env.DRAGON_NODE_INDEX;
    else process.env.DRAGON_NODE_INDEX = saved.node;
    if (saved.gw !== undefined) process.env.DRAGON_GATEWAY = saved.gw;
  }
  a.destroy();
  far.destroy();
});

test("typecodes 'c' and 'u': elements are one-byte Buffers and one-character strings; 'u' takes a string initializer, 'c' bytes", () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const c = new SharedArray('c', Buffer.from('hello'), { pool, lock: false });
  assert.is(c.length, 5);
  assert.ok(Buffer.isBuffer(c.get(0)));
  assert.is(c.get(0).toString(), 'h');
  c.set(-1, Buffer.from('!'));
  assert.is(Buffer.concat(c.toArray()).toString(), 'hell!');
  assert.is(Buffer.concat([...c]).toString(), 'hell!');
  c.assign([0x4a], 0);
  assert.is(Buffer.from(c.getObj()).toString(), 'Jell!');
  assert.throws(() => new SharedArray('c', 'abc' as never, { pool }), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT' && /pass a size or the initial elements/.test(e.message));
  assert.throws(() => c.set(0, 'x' as never), (e: DragonError) => /takes one byte/.test(e.message));
  assert.is(c.serialize()[1], 12, "typecode index of 'c' (after the 12 numeric ones)");

  const u = new SharedArray('u', 'dragon 🐉', { pool, lock: false });
  assert.is(u.length, 8, 'one element per character (code point)');
  assert.is(u.get(-1), '🐉');
  assert.is(u.toArray().join(''), 'dragon 🐉');
  u.assign('DR', 0);
  assert.is([...u].join(''), 'DRagon 🐉');
  const zeros = new SharedArray('u', 2, { pool, lock: false });
  assert.equal(zeros.toArray(), ['\0', '\0']);
  zeros.destroy();
  assert.throws(() => u.set(0, 'ab' as never), (e: DragonError) => /one-character string/.test(e.message));
  assert.is(u.serialize()[1], 13);
  const back = SharedArray.attach<'u'>(u.serialize());
  assert.is(back.toArray().join(''), 'DRagon 🐉');
  back.detach();
  c.destroy();
  u.destroy();
});

test.run();
