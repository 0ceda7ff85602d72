// Conformance of Value with Python's multiprocessing semantics, with child
// processes of a one-node run-time (scenarios: test/fixtures/mp/sync-head.ts,
// checks: test/fixtures/mp/sync-checks.ts; the same on three nodes:
// test/cluster/mp-sync.test.ts). Plus, in this process: the gateway MEM
// payload layout and what a Value of another node is without a transport.
import * as assert from 'uvu/assert';
import { MemoryPool, Value, type DragonError } from '../../src/index.js';
import { Gateway } from '../../src/runtime/remote/gateway.js';
import { GwOp, MEM, MEM_MAX, MemOp, writeMemHeader } from '../../src/runtime/core/ffi/gateway-wire.js';
import { conformance } from '../fixtures/mp/sync-run.js';
import { suite } from '../helpers/suite.js';

const test = suite('mp value');
conformance(test, 'value');

test('the MEM (gateway op 6) payload header has the contract layout', () => {
  assert.is(GwOp.MEM, 6);
  assert.equal([MemOp.READ, MemOp.WRITE, MemOp.CAS64, MemOp.ADD64], [1, 2, 3, 4]);
  assert.is(MEM.size, 32);
  assert.is(MEM_MAX, 65536);
  const b = Buffer.alloc(32, 0xee);
  writeMemHeader(b, MemOp.WRITE, 2n ** 40n + 3n, 4096, 8);
  assert.is(b.readUInt32LE(0), 2);
  assert.is(b.readUInt32LE(4), 0);
  assert.is(b.readBigUInt64LE(8), 2n ** 40n + 3n);
  assert.is(b.readBigUInt64LE(16), 4096n);
  assert.is(b.readBigUInt64LE(24), 8n);
});

test('a Value of another node attaches as a remote one; without a transport its accesses fail with NO_TRANSPORT', () => {
  const far = MemoryPool.create({ bytes: 1 << 20, hostId: 1 });
  const v = new Value('i', 5, { pool: far });
  const saved = { node: process.env.DRAGON_NODE_INDEX, gw: process.env.DRAGON_GATEWAY };
  process.env.DRAGON_NODE_INDEX = '0';
  delete process.env.DRAGON_GATEWAY;
  Gateway.reset();
  try {
    const r = Value.attach(v.serialize());
    assert.is(r.isLocal, false);
    assert.is(r.typecode, 'i');
    assert.throws(() => r.value, (e: DragonError) => e.code === 'DRAGON_ERR_NO_TRANSPORT');
    assert.throws(() => r.getObj(), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.throws(() => r.destroy(), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.equal(r.serialize(), v.serialize());
    r.detach();
  } finally {
    if (saved.node === undefined) delete process.env.DRAGON_NODE_INDEX;
    else process.env.DRAGON_NODE_INDEX = saved.node;
    if (saved.gw !== undefined) process.env.DRAGON_GATEWAY = saved.gw;
  }
  assert.is(v.value, 5);
  v.destroy();
  far.destroy();
});

test.run();
