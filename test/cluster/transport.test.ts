// Cross-node channels on the virtual Slurm cluster: processes on different
// nodes (each its own network, /dev/shm and PID namespace) use each other's
// channels through the transport agents (native/libdragon/transport/, over
// libfabric's tcp provider). Ping-pong async and sync, many senders on three
// nodes into one receiver, a 256 MiB message, a remote receive timeout, and
// a node killed mid-stream. Every test ends by checking that no node has a
// process or a segment of ours left.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftoversOn, onNode, script as VC, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';

const test = suite('cross-node channels on the virtual cluster');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const HEAD = join(root, '.build', 'test', 'fixtures', 'cluster', 'transport-head.js');
// DRAGON_TRANSPORT_BIN: another build of the agent (default: this one, native/libdragon/build/dragon-transport)
const AGENT = process.env.DRAGON_TRANSPORT_BIN ?? join(root, 'native', 'libdragon', 'build', 'dragon-transport');
const skip = skipReason() ?? (existsSync(AGENT) ? null : `the transport agent is not built (${AGENT}: libfabric-dev missing at build time?)`);

function dragon(n: number, args: string[], timeout = 120_000, env: Record<string, string> = {}) {
  return cluster(['salloc', '-N', String(n), '--quiet', process.execPath, DRAGON, ...args], { timeout, env });
}

async function assertClean(nodes: string[], ms = 10_000): Promise<void> {
  assert.equal(await leftoversOn(nodes, ms), {}, 'things left on the nodes');
}

if (skipReason()) {
  test(`SKIP: ${skipReason()}`, () => {});
} else {
  test('no transport agent (libdragon without libfabric): one warning line, the job runs, remote ops say NO_TRANSPORT', async () => {
    const r = await dragon(2, [HEAD, 'noagent'], 120_000, { DRAGON_TRANSPORT_BIN: '/nonexistent/dragon-transport' });
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    assert.equal(warnings, ['dragon: warning: cross-node channels are off: libdragon was built without libfabric (apt-get install libfabric-dev, then npm rebuild)']);
    assert.match(r.stdout, /NOAGENT send DRAGON_ERR_NO_TRANSPORT: .*apt-get install libfabric-dev, then npm rebuild/);
    assert.match(r.stdout, /NOAGENT recvSync DRAGON_ERR_NO_TRANSPORT/);
    assert.match(r.stdout, /NOAGENT exit 0/);
    await assertClean(NODES);
  });
}

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  test('ping-pong between processes on two nodes, async and sync, both directions', async () => {
    const r = await dragon(2, [HEAD, 'pingpong', '300']);
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /PINGPONG async 300 rounds with node2: .* exit 0/);
    assert.match(r.stdout, /PINGPONG sync 300 rounds with node2: .* exit 0/);
    assert.not.match(r.stderr, /warning/);
    await assertClean(NODES);
  });

  test('six senders on three nodes into one receiver: no loss, no duplicate, per-sender order', async () => {
    const r = await dragon(3, [HEAD, 'many', '500']);
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /MANY 3000 from node1,node2,node3 codes 0,0,0,0,0,0 extra none/);
    await assertClean(NODES);
  });

  test('a 256 MiB message each way between two nodes', async () => {
    const r = await dragon(2, ['--pool-size', '1G', HEAD, 'big', String(256 * 2 ** 20)], 180_000);
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /BIG 268435456 send OK \d+ ms recv OK \d+ ms exit 0/);
    console.log(r.stdout.trim());
    await assertClean(NODES);
  });

  test('remote receive timeouts are honoured, async and sync', async () => {
    const r = await dragon(2, [HEAD, 'timeout']);
    assert.is(r.exitCode, 0, r.stderr + r.stdout);
    const m = /TIMEOUT (\{.*\}) exit 0/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const t = JSON.parse(m![1]!) as Record<string, string | number>;
    assert.is(t.async, 'DRAGON_ERR_TIMEOUT');
    assert.is(t.sync, 'DRAGON_ERR_TIMEOUT');
    assert.is(t.once, 'DRAGON_ERR_TIMEOUT');
    assert.ok((t.asyncMs as number) >= 490 && (t.asyncMs as number) < 3000, `async took ${t.asyncMs} ms`);
    assert.ok((t.syncMs as number) >= 290 && (t.syncMs as number) < 3000, `sync took ${t.syncMs} ms`);
    assert.ok((t.onceMs as number) < 1000, `try-once took ${t.onceMs} ms`);
    assert.is(t.count, 0);
    assert.is(t.poll, 0);
    await assertClean(NODES);
  });

  test('a node killed mid-stream: the pending receive fails (PEER_LOST) or the job ends with lost node, in bounded time; nodes clean', async () => {
    const run = execa(VC, ['exec', 'salloc', '-N', '3', '--quiet', process.execPath, DRAGON, HEAD, 'killed'], { reject: false, stdin: 'ignore', timeout: 120_000, buffer: true });
    let out = '';
    let err = '';
    run.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    run.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const until = Date.now() + 60_000;
    while (!out.includes('STREAMING')) {
      if (Date.now() > until || run.exitCode !== null) throw new Error(`no stream: ${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = Date.now();
    await onNode('node3', ['pkill', '-KILL', '-f', 'backend/main.js']);
    const r = await run;
    const took = Date.now() - t0;
    assert.ok(took < 30_000, `ended within 30 s (took ${took} ms)`);
    assert.is.not(r.exitCode, 0);
    assert.match(err, /lost node node3/);
    // the receive pending on node3's channel failed with PEER_LOST, or the teardown ended the head first
    const ended = /STREAM ENDED after \d+ messages: (\S+):/.exec(out);
    if (ended) assert.ok(['DRAGON_ERR_PEER_LOST', 'DRAGON_ERR_CLOSED'].includes(ended[1]!), out);
    console.log(`killed mid-stream: ended after ${took} ms; ${ended ? ended[0] : 'the head was torn down first'}`);
    await assertClean(NODES, 15_000);
  });
}

test.run();
