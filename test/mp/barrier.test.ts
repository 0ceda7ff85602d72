// Conformance of barrier with Python's multiprocessing semantics, with child
// processes of a one-node run-time (scenarios: test/fixtures/mp/sync-head.ts,
// checks: test/fixtures/mp/sync-checks.ts; the same on three nodes:
// test/cluster/mp-sync.test.ts).
import * as assert from 'uvu/assert';
import { Barrier, Channel, MemoryPool, type DragonError } from '../../src/index.js';
import { log } from '../fixtures/mp/barrier-actions.js';
import { conformance } from '../fixtures/mp/sync-run.js';
import { suite } from '../helpers/suite.js';

const test = suite('mp barrier');
conformance(test, 'barrier');

const actions = new URL('../fixtures/mp/barrier-actions.js', import.meta.url);
const code = async (p: Promise<unknown>) => p.then(
  (v) => v,
  (e: DragonError) => e.code ?? e.message,
);

test('action { module, fn, args }: one party runs it (async too) when all arrived, before any party is released; every round', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const b = new Barrier(3, { pool, action: { module: actions, fn: 'record', args: ['tripped'] } });
  const other = Barrier.attach(b.serialize()); // the action travels with the descriptor
  assert.equal(other.action, { module: actions.href, fn: 'record', args: ['tripped'] });
  log.length = 0;
  const party = async (h: Barrier) => {
    const i = await h.wait({ timeout: 30_000 });
    log.push('released');
    return i;
  };
  for (let round = 0; round < 2; round++) {
    const got = await Promise.all([party(b), party(other), party(b)]);
    assert.equal(got.sort(), [0, 1, 2]);
  }
  assert.equal(log, ['action tripped', 'released', 'released', 'released', 'action tripped', 'released', 'released', 'released']);
  assert.equal([b.broken, b.nWaiting], [false, 0]);
  other.detach();
  b.destroy();
});

test('an action that throws breaks the barrier: its error for the party that ran it, DRAGON_ERR_BROKEN for the others, until reset()', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const b = new Barrier(3, { pool, action: { module: actions, fn: 'fail' } });
  const got = await Promise.all([0, 1, 2].map(() => code(b.wait({ timeout: 30_000 }))));
  assert.equal(got.sort(), ['DRAGON_ERR_BROKEN', 'DRAGON_ERR_BROKEN', 'the action failed']);
  assert.is(b.broken, true);
  assert.is(await code(b.wait({ timeout: 30_000 })), 'DRAGON_ERR_BROKEN');
  b.reset();
  assert.is(b.broken, false);
  const missing = new Barrier(1, { pool, action: { module: actions, fn: 'notAFunction' } });
  assert.is(await code(missing.wait()), 'DRAGON_ERR_EXPORT_NOT_FOUND');
  assert.is(missing.broken, true);
  missing.destroy();
  b.destroy();
});

test('a plain function, a bad reference, Dragon objects in args, waitSync: clear errors, nothing created', async () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const before = pool.stats().numAllocs;
  const invalid = (fn: () => unknown, msg: RegExp) =>
    assert.throws(fn, (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT' && msg.test(e.message));
  invalid(() => new Barrier(2, { pool, action: (() => 1) as never }), /action cannot be a function.*pass a task reference \{ module, fn, args\? \}/);
  invalid(() => new Barrier(2, { pool, action: { module: actions } as never }), /action\.fn must be the name/);
  invalid(() => new Barrier(2, { pool, action: { module: actions, fn: 'record', args: 'x' } as never }), /action\.args must be an array/);
  const ch = Channel.create({ pool, capacity: 2 });
  invalid(() => new Barrier(2, { pool, action: { module: actions, fn: 'record', args: [ch] } }), /plain values/);
  assert.throws(() => new Barrier(2, { pool, action: { module: '/nonexistent/x.mjs', fn: 'f' } }), (e: DragonError) => e.code === 'DRAGON_ERR_MODULE_NOT_FOUND');
  ch.destroy();
  assert.is(pool.stats().numAllocs, before, 'nothing left in the pool');
  const b = new Barrier(1, { pool, action: { module: actions, fn: 'record', args: ['x'] } });
  invalid(() => b.waitSync(), /has an action.*use await barrier\.wait\(\)/);
  b.destroy();
});
test.run();
