// Queues and pipes across the nodes of the virtual cluster: the head (on
// node1) creates every Queue / JoinableQueue / SimpleQueue / Pipe; the
// producers run on node2 and node3, the consumers on node1, the other
// children on node2, so every item and message crosses the transport. The
// same scenarios as test/mp/ (fixtures/mp/queues-head.ts); every test ends
// by checking that no node has a process or a segment of ours left.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftoversOn, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';

const test = suite('queues and pipes across the virtual cluster');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const HEAD = join(root, '.build', 'test', 'fixtures', 'mp', 'queues-head.js');
const HOSTS = JSON.stringify({ producers: ['node2', 'node3'], consumer: 'node1', far: 'node2' });
const AGENT = process.env.DRAGON_TRANSPORT_BIN ?? join(root, 'native', 'libdragon', 'build', 'dragon-transport');
const skip = skipReason() ?? (existsSync(AGENT) ? null : `the transport agent is not built (${AGENT}: libfabric-dev missing at build time?)`);

async function runSuite(name: string): Promise<(scenario: string) => any> {
  const r = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, DRAGON, HEAD, name, HOSTS], { timeout: 200_000 });
  const results = new Map<string, any>();
  for (const m of r.stdout.matchAll(/RESULT (\S+) (.*)$/gm)) results.set(m[1]!, JSON.parse(m[2]!));
  assert.is(r.exitCode, 0, r.stderr + r.stdout);
  assert.equal(await leftoversOn(NODES, 15_000), {}, 'things left on the nodes');
  return (scenario) => {
    const v = results.get(scenario);
    assert.ok(v, `scenario ${scenario} ran: ${r.stdout}\n${r.stderr}`);
    assert.not.ok(v.failed, `scenario ${scenario}: ${v.failed}`);
    console.log(`${scenario}: ${JSON.stringify(v).slice(0, 300)}`);
    return v;
  };
}

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  test('Queue: producers on node2+node3, consumers on node1 (unbounded and bounded); feeder flush at exit; blocking put; Empty/Full; nesting; close', async () => {
    const result = await runSuite('queue');
    for (const kind of ['unbounded', 'bounded']) {
      const r = result(`many-${kind}`);
      assert.is(r.total, r.expected, kind);
      assert.is(r.dup, 0);
      assert.is(r.outOfOrder, 0);
      assert.equal(r.producerHosts, ['node2', 'node3']);
      assert.equal(r.consumerHosts, ['node1']);
      assert.equal([...r.pcodes, ...r.ccodes], [0, 0, 0, 0, 0, 0]);
      assert.ok(r.empty);
    }
    assert.equal(result('flush-at-exit'), { inOrder: true, n: 1000, code: 0, empty: true });
    const b = result('blocking-put');
    assert.equal([b.sizeWhileBlocked, b.fullWhileBlocked, b.stillBlocked, b.got, b.code], [2, true, true, [0, 1, 2, 3, 4, 5], 0]);
    const t = result('timeouts-in-child');
    assert.is(t.host, 'node2');
    for (const k of ['get', 'getSync', 'getNowait']) assert.equal([t[k].name, t[k].code], ['Empty', 'DRAGON_ERR_EMPTY'], k);
    for (const k of ['put', 'putNowait']) assert.equal([t[k].name, t[k].code], ['Full', 'DRAGON_ERR_FULL'], k);
    assert.ok(t.full);
    assert.equal(result('nested-and-through-a-queue'), { big: String(2n ** 70n), map: [[1, 'one']], code: 0 });
    assert.is(result('close-in-child').first, 'before close');
  });

  test('JoinableQueue: join waits for taskDone from node2 and node3; timeouts; taskDone too often', async () => {
    const result = await runSuite('joinable');
    const r = result('join-waits-for-every-taskDone');
    assert.equal([r.joined, r.visible, r.unfinished, r.codes, r.joinedAgain, r.finalUnfinished], [true, 40, 0, [0, 0], true, 0]);
    const t = result('join-timeout-then-done');
    assert.equal([t.early, t.earlySync, t.later, t.code], [false, false, true, 0]);
    assert.equal(result('taskDone-too-often-in-child'), { code: 'DRAGON_ERR_VALUE', exit: 0 });
  });

  test('SimpleQueue: a child on node2 puts, the head on node1 gets in order', async () => {
    const result = await runSuite('simple');
    const r = result('child-puts-head-gets');
    assert.equal([r.inOrder, r.n, r.empty, r.from, r.code], [true, 300, true, ['node2'], 0]);
  });

  test('Pipe across nodes: duplex echo with EOF, one-way with EOF (close and exit), wrong ends, poll', async () => {
    const result = await runSuite('pipe');
    const d = result('duplex-echo-then-eof');
    assert.ok(d.ok);
    assert.equal([d.r.n, d.r.code, d.r.host, d.code], [50, 'DRAGON_ERR_EOF', 'node2', 0]);
    for (const how of ['after-close', 'at-exit']) {
      const r = result(`oneway-eof-${how}`);
      assert.ok(r.inOrder, how);
      assert.equal(r.from, ['node2']);
      assert.equal(r.bytes, ['hello bytes', '1,2,3']);
      assert.equal(r.eof, { name: 'EOFError', code: 'DRAGON_ERR_EOF' });
      assert.is(r.code, 0);
    }
    assert.equal(result('wrong-end-in-child').codes, ['DRAGON_ERR_NOT_WRITABLE', 'DRAGON_ERR_NOT_READABLE', 'DRAGON_ERR_NOT_WRITABLE', 'DRAGON_ERR_NOT_READABLE']);
    const p = result('poll');
    assert.equal([p.before, p.soon, p.v, p.code], [false, true, 'late', 0]);
  });

  test('examples/pipeline.mjs on 3 nodes: the transform stage runs on every node', async () => {
    const r = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, DRAGON, join(root, 'examples', 'pipeline.mjs'), '3000', '3'], { timeout: 200_000 });
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /= 9004500500 \(correct\)/);
    assert.match(r.stdout, /transform ran on 3 host\(s\): node1 node2 node3/);
    assert.equal(await leftoversOn(NODES, 15_000), {}, 'things left on the nodes');
  });
}

test.run();
