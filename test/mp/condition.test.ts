// Conformance of Condition with Python's multiprocessing semantics, with
// child processes of a one-node run-time (scenarios:
// test/fixtures/mp/sync-head.ts, checks: test/fixtures/mp/sync-checks.ts;
// the same on three nodes: test/cluster/mp-sync.test.ts). Plus the SYNC
// operation codes of conditions and what a Condition of another node is
// without a transport.
import * as assert from 'uvu/assert';
import { Condition, MemoryPool, type DragonError } from '../../src/index.js';
import { Gateway } from '../../src/runtime/remote/gateway.js';
import { SyncOp } from '../../src/runtime/core/ffi/gateway-wire.js';
import { conformance } from '../fixtures/mp/sync-run.js';
import { suite } from '../helpers/suite.js';

const test = suite('mp condition');
conformance(test, 'condition');

test('the condition SYNC operations have the contract codes', () => {
  assert.equal([SyncOp.CANCEL, SyncOp.COND_WAIT, SyncOp.COND_NOTIFY, SyncOp.COND_NOTIFY_ALL, SyncOp.COND_LOCK], [34, 40, 41, 42, 43]);
});

test('a Condition of another node is attached through the transport (its lock asked with COND_LOCK): NO_TRANSPORT without one', () => {
  const far = MemoryPool.create({ bytes: 1 << 20, hostId: 1 });
  const cond = new Condition(null, { pool: far });
  const saved = { node: process.env.DRAGON_NODE_INDEX, gw: process.env.DRAGON_GATEWAY };
  process.env.DRAGON_NODE_INDEX = '0';
  delete process.env.DRAGON_GATEWAY;
  Gateway.reset();
  try {
    assert.throws(() => Condition.attach(cond.serialize()), (e: DragonError) => e.code === 'DRAGON_ERR_NO_TRANSPORT' && /Condition/.test(e.message));
  } finally {
    if (saved.node === undefined) delete process.env.DRAGON_NODE_INDEX;
    else process.env.DRAGON_NODE_INDEX = saved.node;
    if (saved.gw !== undefined) process.env.DRAGON_GATEWAY = saved.gw;
  }
  cond.destroy();
  far.destroy();
});

test.run();
