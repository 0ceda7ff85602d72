// The client side of sync objects of another node (remote/sync.ts): the
// SYNC (op 5) request's payload layout, the kind read from a descriptor,
// and what attach() of another node's descriptor gives (a remote object;
// Condition needs the transport at attach; destroy refused; no gateway: NO_TRANSPORT). The real
// agent and three nodes: test/cluster/transport-sync.test.ts.
import * as assert from 'uvu/assert';
import { Barrier, BoundedSemaphore, Condition, DragonError, Event, Lock, MemoryPool, RLock, Semaphore } from '../../src/index.js';
import { processId } from '../../src/runtime/core/identity.js';
import { Gateway } from '../../src/runtime/remote/gateway.js';
import { GwOp, REQ_HEADER, SYNC, SyncOp, readRequestHeader, readSyncPayload, writeRequestHeader, writeSyncPayload } from '../../src/runtime/core/ffi/gateway-wire.js';
import { syncKindInDescriptor } from '../../src/runtime/core/descriptor.js';
import { suite } from '../helpers/suite.js';

const test = suite('remote-sync');

const far = MemoryPool.create({ bytes: 8 << 20, hostId: 1 });

test('the SYNC payload has the contract layout', () => {
  assert.is(GwOp.SYNC, 5);
  assert.equal(
    [SyncOp.LOCK_ACQUIRE, SyncOp.LOCK_RELEASE, SyncOp.LOCK_OWNER, SyncOp.SEM_ACQUIRE, SyncOp.SEM_RELEASE, SyncOp.SEM_VALUE, SyncOp.EVENT_SET, SyncOp.EVENT_CLEAR, SyncOp.EVENT_IS_SET, SyncOp.EVENT_WAIT, SyncOp.BARRIER_WAIT, SyncOp.BARRIER_ABORT, SyncOp.BARRIER_RESET, SyncOp.BARRIER_STATE],
    [1, 2, 3, 10, 11, 12, 20, 21, 22, 23, 30, 31, 32, 33],
  );
  const b = Buffer.alloc(SYNC.size, 0xee);
  writeSyncPayload(b, { sop: SyncOp.SEM_RELEASE, caller: 2n ** 40n + 7n, arg0: 3n, arg1: 0n });
  assert.is(b.length, 32);
  assert.is(b.readUInt32LE(0), 11);
  assert.is(b.readUInt32LE(4), 0);
  assert.is(b.readBigUInt64LE(8), 2n ** 40n + 7n);
  assert.is(b.readBigUInt64LE(16), 3n);
  assert.is(b.readBigUInt64LE(24), 0n);
  assert.equal(readSyncPayload(b), { sop: 11, caller: 2n ** 40n + 7n, arg0: 3n, arg1: 0n });
  // in a request: header (op 5, payload_len 32) then the payload
  const req = Buffer.alloc(REQ_HEADER + SYNC.size);
  writeRequestHeader(req, { op: GwOp.SYNC, reqId: 9, timeoutUs: 250_000, events: 0, payloadLen: SYNC.size, target: new Uint8Array(96).fill(1), reply: new Uint8Array(96).fill(2) });
  b.copy(req, REQ_HEADER);
  const h = readRequestHeader(req);
  assert.is(h.op, 5);
  assert.is(h.payloadLen, 32);
  assert.is(h.timeoutUs, 250_000);
  assert.is(readSyncPayload(req.subarray(REQ_HEADER)).sop, 11);
});

test('a sync descriptor carries its kind', () => {
  const objs = [Lock.create({ pool: far }), RLock.create({ pool: far }), Semaphore.create({ pool: far }), Event.create({ pool: far }), Barrier.create({ pool: far, parties: 2 })];
  assert.equal(objs.map((o) => syncKindInDescriptor(o.serialize())), [1, 2, 3, 4, 5]);
  const c = Condition.create({ pool: far });
  assert.is(syncKindInDescriptor(c.serialize()), 6);
  c.destroy();
  for (const o of objs) o.destroy();
});

test('inside a run-time, another node\'s sync descriptor attaches as a remote object', async () => {
  const lock = Lock.create({ pool: far });
  const sem = BoundedSemaphore.create({ pool: far, value: 1 });
  const cond = Condition.create({ pool: far });
  const saved = { node: process.env.DRAGON_NODE_INDEX, gw: process.env.DRAGON_GATEWAY };
  process.env.DRAGON_NODE_INDEX = '0';
  delete process.env.DRAGON_GATEWAY;
  Gateway.reset();
  try {
    const r = Lock.attach(lock.serialize());
    assert.instance(r, Lock);
    assert.equal(r.serialize(), lock.serialize());
    // the kind is checked from the descriptor
    try {
      RLock.attach(lock.serialize());
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'DRAGON_ERR_WRONG_KIND');
    }
    assert.instance(BoundedSemaphore.attach(sem.serialize()), BoundedSemaphore);
    try {
      Condition.attach(cond.serialize());
      assert.unreachable();
    } catch (err) {
      // attaching asks the far agent for the condition's lock: no gateway here
      assert.is((err as DragonError).code, 'DRAGON_ERR_NO_TRANSPORT');
    }
    try {
      await r.acquire({ timeout: 10 });
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'DRAGON_ERR_NO_TRANSPORT');
      assert.match((err as Error).message, /this Lock lives on node 1/);
    }
    try {
      r.release();
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'DRAGON_ERR_NO_TRANSPORT');
    }
    try {
      r.destroy();
      assert.unreachable();
    } catch (err) {
      assert.is((err as DragonError).code, 'DRAGON_ERR_INVALID_ARGUMENT');
    }
    r.detach();
    assert.ok(r.closed);
    // a local one is untouched
    assert.is(processId() > 0n, true);
  } finally {
    if (saved.node === undefined) delete process.env.DRAGON_NODE_INDEX;
    else process.env.DRAGON_NODE_INDEX = saved.node;
    if (saved.gw !== undefined) process.env.DRAGON_GATEWAY = saved.gw;
  }
  cond.destroy();
  sem.destroy();
  lock.destroy();
});

test('clean up', () => {
  far.destroy();
});

test.run();
