// The virtual Slurm cluster itself (scripts/virtual-cluster, 3 nodes up):
// Slurm runs steps and batch jobs on real separate "nodes", and the nodes are
// honest: their own hostname, /dev/shm, /tmp and PIDs, with the project
// directory at the same path everywhere.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { cluster, onNode, skipReason } from '../helpers/cluster.js';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('virtual cluster');
const reason = skipReason();

function ok(r: { exitCode: number | undefined; stdout: string; stderr: string }, what: string): string {
  assert.is(r.exitCode, 0, `${what}: exit ${r.exitCode}\n${r.stderr}`);
  return r.stdout;
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (reason) {
  console.log(`SKIP virtual cluster: ${reason}`);
  test.skip(`the virtual cluster (${reason})`, () => {});
} else {
  test('srun -N 3 hostname: one line from each node, its own hostname', async () => {
    const out = ok(await cluster(['srun', '-N', '3', 'hostname']), 'srun');
    assert.equal(out.trim().split('\n').sort(), ['node1', 'node2', 'node3']);
    assert.is(ok(await cluster(['hostname']), 'exec hostname').trim(), 'ctl');
  });

  test('each node has its own /dev/shm', async () => {
    const name = `vc-harness-${randomBytes(4).toString('hex')}`;
    try {
      ok(await onNode('node1', ['sh', '-c', `echo x > /dev/shm/${name}`]), 'create on node1');
      ok(await onNode('node1', ['test', '-e', `/dev/shm/${name}`]), 'seen on node1');
      assert.is((await onNode('node2', ['test', '-e', `/dev/shm/${name}`])).exitCode, 1, 'node2 sees node1\'s /dev/shm');
      assert.is((await cluster(['test', '-e', `/dev/shm/${name}`])).exitCode, 1, 'the login host sees node1\'s /dev/shm');
      // Big enough for the transport tests' 256 MiB messages.
      const size = Number(ok(await onNode('node3', ['df', '-B1', '--output=size', '/dev/shm']), 'df').trim().split('\n')[1]);
      assert.ok(size >= 1024 ** 3, `node3's /dev/shm holds ${size} bytes`);
    } finally {
      await onNode('node1', ['rm', '-f', `/dev/shm/${name}`]);
    }
  });

  test('each node has its own /tmp, but the project directory is at the same path everywhere', async () => {
    const name = `vc-harness-${randomBytes(4).toString('hex')}`;
    try {
      ok(await onNode('node2', ['sh', '-c', `echo x > /tmp/${name}`]), 'create on node2');
      assert.is((await onNode('node3', ['test', '-e', `/tmp/${name}`])).exitCode, 1, 'node3 sees node2\'s /tmp');
      assert.is((await cluster(['test', '-e', `/tmp/${name}`])).exitCode, 1, 'the login host sees node2\'s /tmp');
    } finally {
      await onNode('node2', ['rm', '-f', `/tmp/${name}`]);
    }
    const seen = ok(await cluster(['srun', '-N', '3', '--chdir', root, 'sh', '-c', 'test -f package.json && test -x scripts/virtual-cluster && pwd -P']), 'srun in the repo');
    const repo = root.replace(/\/$/, '');
    assert.equal(seen.trim().split('\n'), [repo, repo, repo]);
  });

  test('a job started from a new directory under /tmp runs there on every node', async () => {
    const dir = mkdtempSync('/tmp/vc-harness-');
    try {
      writeFileSync(join(dir, 'input'), 'shared\n');
      const out = ok(await cluster(['srun', '-N', '3', 'cat', 'input'], { cwd: dir }), 'srun from a /tmp directory');
      assert.equal(out.trim().split('\n'), ['shared', 'shared', 'shared']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('each node has its own PID namespace: its /proc shows only its processes', async () => {
    const ps = (node: string) => onNode(node, ['ps', '-e', '-o', 'pid=,comm=']);
    const one = ok(await ps('node1'), 'ps on node1');
    const lines = one.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.ok(lines.some(([pid]) => pid === '1'), 'node1 has its own PID 1');
    assert.is(lines.filter(([, comm]) => comm === 'slurmd').length, 1, `one slurmd on node1:\n${one}`);
    assert.not.ok(lines.some(([, comm]) => comm === 'slurmctld'), 'node1 sees slurmctld');
    // A step's process on node2 is not visible on node3.
    const mark = `vc${randomBytes(4).toString('hex')}`;
    const step = cluster(['srun', '-N', '1', '-w', 'node2', 'bash', '-c', `exec -a ${mark} sleep 30`]);
    try {
      await until('the step on node2', async () => ((await onNode('node2', ['pgrep', '-f', mark])).exitCode === 0 ? true : undefined));
      assert.is((await onNode('node3', ['pgrep', '-f', mark])).exitCode, 1, 'node3 sees node2\'s process');
    } finally {
      await onNode('node2', ['pkill', '-f', mark]);
      await step;
    }
  });

  test('a batch job\'s exit code (7) shows in scontrol show job', async () => {
    const dir = mkdtempSync('/tmp/vc-harness-');
    try {
      writeFileSync(join(dir, 'job.sh'), '#!/bin/sh\nsrun -N 2 hostname\nexit 7\n', { mode: 0o755 });
      const id = ok(await cluster(['sbatch', '--parsable', '-N', '2', '-o', 'out.txt', 'job.sh'], { cwd: dir }), 'sbatch').trim();
      assert.match(id, /^\d+$/);
      // Poll squeue: `sbatch --wait` polls only every few seconds.
      await until(`job ${id} to finish`, async () => ((await cluster(['squeue', '-h', '-j', id])).stdout.trim() === '' ? true : undefined));
      const show = ok(await cluster(['scontrol', 'show', 'job', id]), 'scontrol show job');
      assert.match(show, /ExitCode=7:0/);
      assert.match(show, /JobState=FAILED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
