// The sync-object conformance scenarios (test/fixtures/mp/sync-head.ts,
// checks in sync-checks.ts: the same as test/mp/*.test.ts) on three nodes
// of the virtual cluster: every object is created by the head on node1 and
// used by child processes on node2 and node3 through the transport agents
// (gateway op 5 SYNC for Lock/RLock/Semaphore/Event/Barrier/Condition,
// op 6 MEM for Value/Array). Each object is one `dragon` run in
// `salloc -N 3`; every run must leave the nodes clean.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftovers, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';
import { checks, parseResults } from '../fixtures/mp/sync-checks.js';

const test = suite('mp sync objects across three nodes');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const HEAD = join(root, '.build', 'test', 'fixtures', 'mp', 'sync-head.js');
const AGENT = process.env.DRAGON_TRANSPORT_BIN ?? join(root, 'native', 'libdragon', 'build', 'dragon-transport');
const skip = skipReason() ?? (existsSync(AGENT) ? null : `the transport agent is not built (${AGENT}: libfabric-dev missing at build time?)`);
// a subset: MP_SYNC_OBJECTS=condition,value
const only = process.env.MP_SYNC_OBJECTS?.split(',');

// What OUR run-time left on the nodes (the cluster is shared: other run-times
// may be running): lines naming its id, or processes started from this build.
async function ourLeftovers(rtid: string, ms: number): Promise<Record<string, string[]>> {
  const end = Date.now() + ms;
  for (;;) {
    const left: Record<string, string[]> = {};
    for (const n of NODES) {
      const l = (await leftovers(n)).filter((x) => x.includes(rtid) || x.includes(root));
      if (l.length) left[n] = l;
    }
    if (Object.keys(left).length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  for (const object of Object.keys(checks)) {
    if (only && !only.includes(object)) continue;
    let results = new Map<string, any>();
    let out = '';
    test(`${object}: the head on node1, children on node2 and node3; exits 0, nothing left on the nodes`, async () => {
      const r = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, DRAGON, HEAD, object, 'node2,node3'], { timeout: 240_000 });
      out = r.stdout + r.stderr;
      results = parseResults(r.stdout);
      assert.is(r.exitCode, 0, out);
      const rtid = /^RTID ([0-9a-f]+)$/m.exec(r.stdout)?.[1];
      assert.ok(rtid, `the head printed its run-time id: ${out}`);
      assert.equal(await ourLeftovers(rtid!, 10_000), {}, 'things left on the nodes');
    });
    for (const [name, [title, check]] of Object.entries(checks[object]!)) {
      test(`${object}: ${title}`, () => {
        const r = results.get(name);
        assert.ok(r, `scenario ${name} ran: ${out}`);
        assert.not.ok(r.failed, `scenario ${name}: ${r.failed}`);
        check(r, { cluster: true });
      });
    }
  }
}

test.run();
