// Cross-node sync objects on the virtual cluster: Lock, RLock, Semaphore,
// Event and Barrier of node1 used by processes of node2 and node3 through
// the transport agents (gateway op 5, SYNC), and reclaim across nodes (a
// process killed while holding node1's lock: its node reports the exit, GS
// sends `reclaim` to the other nodes, node1 gives the lock back). Every test
// ends by checking that no node has a process or a segment of ours left.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftoversOn, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';

const test = suite('cross-node sync objects on the virtual cluster');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const HEAD = join(root, '.build', 'test', 'fixtures', 'cluster', 'transport-sync-head.js');
const AGENT = process.env.DRAGON_TRANSPORT_BIN ?? join(root, 'native', 'libdragon', 'build', 'dragon-transport');
const skip = skipReason() ?? (existsSync(AGENT) ? null : `the transport agent is not built (${AGENT}: libfabric-dev missing at build time?)`);

async function run(mode: string, ...args: string[]): Promise<Record<string, any>> {
  const r = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, DRAGON, HEAD, mode, ...args], { timeout: 150_000 });
  assert.is(r.exitCode, 0, r.stderr + r.stdout);
  const m = new RegExp(`^${mode.toUpperCase()} (\\{.*\\})$`, 'm').exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  console.log(`${mode}: ${m![1]}`);
  return JSON.parse(m![1]!) as Record<string, any>;
}

async function assertClean(ms = 10_000): Promise<void> {
  assert.equal(await leftoversOn(NODES, ms), {}, 'things left on the nodes');
}

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  test('a Lock of node1 protects a critical section of 4 processes on node2 and node3 (marks never interleave)', async () => {
    const r = await run('mutex', '40');
    assert.is(r.overlaps, 0, 'two holders at once');
    assert.is(r.holds, 160);
    assert.equal(r.from, ['node2', 'node3']);
    assert.equal(r.codes, [0, 0, 0, 0]);
    assert.ok(r.free);
    await assertClean();
  });

  test('remote acquire timeouts (async, sync, try once), abort, and a late success given back; NOT_HELD', async () => {
    const r = await run('timeouts');
    assert.is(r.async, false);
    assert.is(r.sync, false);
    assert.is(r.once, false);
    assert.ok(r.asyncMs >= 390 && r.asyncMs < 5000, `async took ${r.asyncMs} ms`);
    assert.ok(r.ticks >= 10, `the event loop ran only ${r.ticks} 20 ms ticks during a 400 ms remote acquire`);
    assert.ok(r.syncMs >= 240 && r.syncMs < 5000, `sync took ${r.syncMs} ms`);
    assert.ok(r.onceMs < 2000, `try-once took ${r.onceMs} ms`);
    assert.ok(r.locked);
    assert.is(r.aborted, 'ABORT_ERR'); // as locally
    assert.is(r.headAgain, true, 'the aborted acquire kept the lock');
    assert.is(r.notHeld, 'DRAGON_ERR_NOT_HELD');
    assert.is(r.code, 0);
    await assertClean();
  });

  test('RLock: the owner on node2 is recorded under its puid (depth 2); node3 gets NOT_OWNER and cannot acquire', async () => {
    const r = await run('rlock');
    assert.is(r.ownerPuid, r.puid);
    assert.is(r.ownerPuid, r.procPuid);
    assert.is(r.ownerPuidHere, r.puid);
    assert.is(r.count, 2);
    assert.is(r.countHere, 2);
    assert.is(r.other.release, 'DRAGON_ERR_NOT_OWNER');
    assert.is(r.other.acquire, false);
    assert.is(r.other.ownerPuid, r.puid);
    assert.is(r.released, 0);
    assert.ok(r.free);
    assert.equal(r.codes, [0, 0]);
    await assertClean();
  });

  test('Semaphore units taken from node2 and node3; a third waits and times out; BoundedSemaphore OVERFLOW', async () => {
    const r = await run('semaphore');
    assert.equal(r.took, [true, true]);
    assert.equal(r.hosts, ['node2', 'node3']);
    assert.is(r.valueHere, 0);
    assert.is(r.tr.acquire, false);
    assert.ok(r.tr.ms >= 290, `timed out after ${r.tr.ms} ms`);
    assert.is(r.tr.value, 0);
    assert.is(r.tr.overflow, 'DRAGON_ERR_OVERFLOW');
    assert.is(r.tr.bounded, 1);
    assert.is(r.tr.badN, 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.is(r.after, 2);
    assert.equal(r.codes, [0, 0, 0]);
    await assertClean();
  });

  test('an Event set on node1 wakes an async waiter on node2 and a sync waiter on node3', async () => {
    const r = await run('event');
    assert.equal(r.early, [false, false]);
    assert.equal(r.woke, [true, true]);
    assert.equal(r.isSet, [true, true]);
    assert.equal(r.hosts, ['node2', 'node3']);
    for (const ms of r.ms) assert.ok(ms >= 300 && ms < 10_000, `woke after ${ms} ms`);
    assert.equal(r.codes, [0, 0]);
    await assertClean();
  });

  test('a Barrier of 3 parties on 3 nodes: indices 0..2; abort breaks the waiters of node2 and node3 (BROKEN)', async () => {
    const r = await run('barrier');
    assert.equal(r.indices, [0, 1, 2]);
    assert.equal(r.parties, [3, 3]);
    assert.equal(r.hosts, ['node2', 'node3']);
    assert.is(r.waitingBeforeAbort, 2);
    assert.equal(r.broken, ['DRAGON_ERR_BROKEN', 'DRAGON_ERR_BROKEN']);
    assert.equal(r.isBroken, [true, true]);
    assert.equal(r.codes, [0, 0]);
    await assertClean();
  });

  test('reclaim across nodes: a holder on node3 SIGKILLed while holding node1\'s Lock; a process on node2 then gets it', async () => {
    const r = await run('reclaim');
    assert.is(r.held, r.holderPuid);
    assert.is(r.ownerBefore, r.holderPuid);
    assert.is(r.signal, 'SIGKILL');
    assert.is(r.after.ok, true);
    assert.is(r.after.owner, r.afterPuid);
    assert.ok(r.sinceKillMs < 15_000, `acquired ${r.sinceKillMs} ms after the kill`);
    assert.is(r.code, 0);
    assert.ok(r.free);
    await assertClean();
  });

  test('a Condition of another node attaches; destroy() of another node\'s Lock is refused', async () => {
    const r = await run('unsupported');
    assert.is(r.condition, 'attached');
    assert.is(r.destroy, 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.is(r.code, 0);
    await assertClean();
  });
}

test.run();
