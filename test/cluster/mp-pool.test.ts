// Pool over the 3 nodes of the virtual cluster: workers on every node
// (round-robin), results correct and in order, cpuCount() the sum of the
// nodes' CPUs, a task error with its remote stack, a Lock of the head's
// node used by tasks of every node, a worker killed on any node (its task
// fails, the pool goes on); then nothing left on any node.
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftoversOn, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';

const test = suite('Pool on the virtual cluster');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const HEAD = join(root, '.build', 'test', 'fixtures', 'mp', 'pool-cluster-head.js');
const skip = skipReason();

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  test('a Pool spreads its workers over 3 nodes and gets every result right', async () => {
    const r = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, DRAGON, HEAD], { timeout: 180_000 });
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    const m = /^POOL (\{.*\})$/m.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    const o = JSON.parse(m![1]!);
    console.log(`  cpus ${o.cpus}, ${o.processes} workers on ${o.hosts.join(', ')}`);
    assert.equal(o.nodes.map((n: { host: string }) => n.host), NODES);
    assert.is(o.cpus, o.nodes.reduce((s: number, n: { cpus: number }) => s + n.cpus, 0));
    assert.is(o.processes, o.cpus);
    assert.equal(o.hosts, NODES, 'tasks ran on every node');
    assert.ok(o.workers >= 3);
    assert.ok(o.order && o.mapped && o.mapped1 && o.unordered, JSON.stringify(o));
    assert.is(o.error.name, 'TypeError');
    assert.is(o.error.message, 'bad input 7');
    assert.match(o.error.stack, /at failingTask/);
    assert.ok(o.locked);
    assert.is(o.died.code, 'DRAGON_ERR_WORKER_DIED', JSON.stringify(o.died));
    assert.match(o.died.message, /killed by SIGKILL/);
    assert.ok(o.after);
    assert.equal(await leftoversOn(NODES, 10_000), {}, 'things left on the nodes');
  });
}

test.run();
