// `dragon` on the virtual Slurm cluster (3 nodes, each its own network,
// hostname, /tmp, /dev/shm and PID namespace): processes on every node,
// placement, requests between nodes, exit codes through sbatch, Ctrl-C, a
// killed backend, a node cut off, and dragon-cleanup after a SIGKILL of the
// whole job. Every test ends by checking that no node has a process or a
// segment of ours left.
import { execa, type ResultPromise } from 'execa';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftovers, leftoversOn, onNode, script as VC, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';

const test = suite('dragon on 3 Slurm nodes');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const CLEANUP = join(root, 'bin', 'dragon-cleanup.js');
const MULTI = join(root, '.build', 'test', 'fixtures', 'cluster', 'multi.js');
const skip = skipReason();

/** `dragon ARGS` inside `salloc -N n` (the frontend runs on the login host). */
function dragon(n: number, args: string[], env: Record<string, string> = {}) {
  return cluster(['salloc', '-N', String(n), '--quiet', process.execPath, DRAGON, ...args], { env, timeout: 90_000 });
}

/** The same, in the background, for tests that interrupt it. */
function startDragon(n: number, args: string[]): { run: ResultPromise; out: () => string; err: () => string } {
  const run = execa(VC, ['exec', 'salloc', '-N', String(n), '--quiet', process.execPath, DRAGON, ...args], { reject: false, stdin: 'ignore', timeout: 120_000, buffer: true });
  let out = '';
  let err = '';
  run.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  run.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { run, out: () => out, err: () => err };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What this user's run-times left on a node: processes carrying a run-time id, segments. */
async function assertClean(nodes: string[], ms = 10_000): Promise<void> {
  assert.equal(await leftoversOn(nodes, ms), {}, 'things left on the nodes');
}

function frontendPid(marker: string): number {
  const r = spawnSync('pgrep', ['-f', `^${process.execPath} ${DRAGON} .*${marker}`], { encoding: 'utf8' });
  const pids = r.stdout.split('\n').filter(Boolean).map(Number);
  if (pids.length !== 1) throw new Error(`expected one frontend matching ${marker}, found ${pids.length}`);
  return pids[0]!;
}

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  test('a hello on every node: each process prints its own hostname, output is labelled with it', async () => {
    const r = await dragon(3, ['--label', MULTI, 'hello', '3']);
    assert.is(r.exitCode, 0, r.stderr);
    for (const [i, n] of NODES.entries()) assert.match(r.stdout, new RegExp(`\\[${n}:\\d+\\] worker ${i} runs on ${n}`));
    assert.match(r.stdout, /\[node1:\d+\] head runs on node1/);
    assert.match(r.stdout, /PLACED \["node1","node2","node3"\] CODES \[0,0,0\]/);
    await assertClean(NODES);
  });

  test('a process placed on a named host runs there; an unknown host is refused with the node list', async () => {
    const r = await dragon(3, ['--label', MULTI, 'place', 'node3']);
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /\[node3:\d+\] node3/);
    assert.match(r.stdout, /PLACED node3 EXIT 0/);
    const bad = await dragon(2, [MULTI, 'bad-host', 'node9']);
    assert.is(bad.exitCode, 0, bad.stderr);
    assert.match(bad.stdout, /REFUSED .*no node named node9 in this run-time \(its nodes: node1, node2\)/);
    await assertClean(NODES);
  });

  test('requests between nodes: node2 starts a process on node3, remote terminate and exit codes', async () => {
    const r = await dragon(3, [MULTI, 'cross', 'node2', 'node3']);
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /grandchild of node2 runs on node3/);
    assert.match(r.stdout, /node2 started \d+ on node3: exit 0/);
    assert.match(r.stdout, /CROSS EXIT 0/);
    assert.match(r.stdout, /TERMINATED 143 SIGTERM/);
    assert.match(r.stdout, /REMOTE EXIT 5/);
    await assertClean(NODES);
  });

  test("the head's exit code is dragon's, and the sbatch job's", async () => {
    const direct = await dragon(3, [MULTI, 'exit', '7']);
    assert.is(direct.exitCode, 7, direct.stderr);
    const dir = mkdtempSync(join(root, '.cluster-test-'));
    try {
      const sub = await cluster(['sbatch', '-N', '3', '--parsable', '-o', join(dir, 'out.txt'), '--wrap', `${process.execPath} ${DRAGON} ${MULTI} exit 7`], { cwd: dir });
      assert.is(sub.exitCode, 0, sub.stderr);
      const job = sub.stdout.trim().split(';')[0]!;
      await until('the batch job to end', async () => (await cluster(['squeue', '-h', '-j', job])).stdout.trim() === '', 60_000);
      const show = await cluster(['scontrol', 'show', 'job', job]);
      assert.match(show.stdout, /ExitCode=7:0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await assertClean(NODES);
  });

  test('Ctrl-C of the frontend tears down every node: exit 130, nothing left', async () => {
    const marker = 'ctrl-c-test';
    const d = startDragon(3, [MULTI, 'hold', '3', marker]);
    await until('the processes to start', () => d.out().includes('HOLDING'));
    process.kill(frontendPid(marker), 'SIGINT');
    const r = await d.run;
    assert.is(r.exitCode, 130, d.err());
    await assertClean(NODES);
  });

  test('SIGUSR1 to the frontend reaches the head (a walltime warning)', async () => {
    const marker = 'usr1-test';
    const d = startDragon(2, [MULTI, 'hold', '2', marker]);
    await until('the processes to start', () => d.out().includes('HOLDING'));
    const pid = frontendPid(marker);
    process.kill(pid, 'SIGUSR1');
    await until('the head to get SIGUSR1', () => d.out().includes('HEAD GOT SIGUSR1'));
    process.kill(pid, 'SIGTERM');
    const r = await d.run;
    assert.is(r.exitCode, 143, d.err());
    await assertClean(NODES);
  });

  test('-N larger than the allocation: one line, nothing started', async () => {
    const r = await dragon(2, ['-N', '3', MULTI, 'exit', '0']);
    assert.is(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /^dragon: -N 3: the allocation has 2 nodes \(node\[1-2\]\)\. Ask for at most 2/);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    await assertClean(NODES);
  });

  test("the workload manager's SIGTERM to the step (scancel, the time limit) tears down cleanly: exit 143", async () => {
    const d = startDragon(3, [MULTI, 'hold', '3', 'scancel-test']);
    await until('the processes to start', () => d.out().includes('HOLDING'));
    const job = (await cluster(['squeue', '-h', '-o', '%i'])).stdout.trim().split('\n')[0]!;
    await cluster(['scancel', '--signal=TERM', job]);
    const r = await d.run;
    assert.is(r.exitCode, 143, d.err());
    await assertClean(NODES);
  });

  test('a backend killed with SIGKILL ends the job, naming the node; nothing is left, on its node either', async () => {
    const d = startDragon(3, [MULTI, 'hold', '3', 'kill-test']);
    await until('the processes to start', () => d.out().includes('HOLDING'));
    const t0 = Date.now();
    await onNode('node2', ['pkill', '-KILL', '-f', 'backend/main.js']);
    const r = await d.run;
    assert.ok(Date.now() - t0 < 30_000, 'ended within 30 s');
    assert.is.not(r.exitCode, 0);
    assert.match(d.err(), /node2/);
    assert.match(d.err(), /^dragon: .*lost node node2/m);
    // Its processes died with it (parent-death signal); the frontend ran dragon-cleanup there for the pool.
    await assertClean(NODES);
  });

  test('a node cut off from the network ends the job within the heartbeat timeout; every node cleans up', async () => {
    const d = startDragon(3, ['--heartbeat-timeout', '3s', MULTI, 'hold', '3', 'cut-test']);
    await until('the processes to start', () => d.out().includes('HOLDING'));
    const t0 = Date.now();
    await onNode('node3', ['ip', 'link', 'set', 'eth0', 'down']);
    try {
      const r = await d.run;
      assert.ok(Date.now() - t0 < 30_000, `ended within 30 s (took ${Date.now() - t0} ms)`);
      assert.is.not(r.exitCode, 0);
      assert.match(d.err(), /lost node node3/);
      await assertClean(['node1', 'node2']);
      await assertClean(['node3'], 15_000); // its backend heard nothing and tore down on its own
    } finally {
      await onNode('node3', ['ip', 'link', 'set', 'eth0', 'up']);
    }
  });

  test('dragon-cleanup in a new allocation removes what a SIGKILLed job left on every node', async () => {
    const d = startDragon(3, [MULTI, 'hold', '3', 'crash-test']);
    await until('the processes to start', () => d.out().includes('HOLDING'));
    // A crash of the whole job: the frontend stops (it cannot clean up), every backend dies, then the frontend.
    const frontend = frontendPid('crash-test');
    process.kill(frontend, 'SIGSTOP');
    for (const n of NODES) await onNode(n, ['pkill', '-KILL', '-f', 'backend/main.js']);
    process.kill(frontend, 'SIGKILL');
    await d.run;
    const before = await Promise.all(NODES.map((n) => leftovers(n)));
    assert.ok(before.every((l) => l.some((x) => x.startsWith('segment'))), `each node kept its pool: ${JSON.stringify(before)}`);
    const dry = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, CLEANUP, '--dry-run']);
    assert.is(dry.exitCode, 0, dry.stderr);
    for (const n of NODES) assert.match(dry.stdout, new RegExp(`${n}: would remove segment /dev/shm/dragon-`));
    assert.equal(await Promise.all(NODES.map((n) => leftovers(n))), before, 'a dry run removes nothing');
    const real = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, CLEANUP]);
    assert.is(real.exitCode, 0, real.stderr);
    for (const n of NODES) assert.match(real.stdout, new RegExp(`${n}: removed segment /dev/shm/dragon-`));
    await assertClean(NODES);
    const again = await cluster(['salloc', '-N', '3', '--quiet', process.execPath, CLEANUP]);
    assert.is(again.exitCode, 0, again.stderr);
    for (const n of NODES) assert.match(again.stdout, new RegExp(`${n}: nothing to clean`));
  });
}

test.run();
