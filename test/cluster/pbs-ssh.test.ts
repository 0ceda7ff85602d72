// The two other launch paths on the virtual cluster, end to end: SSH
// (`--hosts`/`--hostfile`, through the sshd each node runs) and PBS
// (PBS_JOBID + PBS_NODEFILE, backends started by MPICH's Hydra mpiexec,
// which itself reaches the nodes over ssh). There is no PBS server here:
// the job's two variables are what a PBS job gives its script; everything
// after them is the real launch.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { cluster, leftoversOn, skipReason } from '../helpers/cluster.js';
import { suite } from '../helpers/suite.js';

const test = suite('PBS and SSH launch on 3 nodes');
const NODES = ['node1', 'node2', 'node3'];
const DRAGON = join(root, 'bin', 'dragon.js');
const CLEANUP = join(root, 'bin', 'dragon-cleanup.js');
const MULTI = join(root, '.build', 'test', 'fixtures', 'cluster', 'multi.js');
const skip = skipReason() ?? (existsSync('/usr/bin/mpiexec.hydra') ? null : 'needs MPICH (apt-get install mpich) for the PBS path');
const dir = mkdtempSync(join(root, '.cluster-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

const pbsEnv = (nodefile: string) => ['env', 'PBS_JOBID=42.pbs-server', `PBS_NODEFILE=${nodefile}`];

async function assertClean(): Promise<void> {
  assert.equal(await leftoversOn(NODES), {}, 'things left on the nodes');
}

if (skip) {
  test(`SKIP: ${skip}`, () => {});
} else {
  test('ssh: --hosts runs a backend on each host; output labelled; exit code passed through', async () => {
    const r = await cluster([process.execPath, DRAGON, '--label', '--hosts', 'node1,node2,node3', MULTI, 'hello', '3']);
    assert.is(r.exitCode, 0, r.stderr);
    for (const [i, n] of NODES.entries()) assert.match(r.stdout, new RegExp(`\\[${n}:\\d+\\] worker ${i} runs on ${n}`));
    const hostfile = file('hosts', '# two of them\nnode2\nnode3\nnode2\n');
    const e = await cluster([process.execPath, DRAGON, '--hostfile', hostfile, MULTI, 'exit', '7']);
    assert.is(e.exitCode, 7, e.stderr);
    await assertClean();
  });

  test('ssh: a host that does not resolve is named in one line; nothing is left on the others', async () => {
    const r = await cluster([process.execPath, DRAGON, '--hosts', 'node1,node9', MULTI, 'hello', '2']);
    assert.ok(r.exitCode !== 0);
    assert.match(r.stderr, /^dragon: .*node9/);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    await assertClean();
  });

  test('PBS: PBS_NODEFILE (one line per core, deduplicated), mpiexec -ppn 1, processes on every node, exit code', async () => {
    const nodefile = file('nodefile', 'node1\nnode1\nnode2\nnode2\nnode3\nnode3\n');
    const r = await cluster([...pbsEnv(nodefile), process.execPath, DRAGON, '--label', MULTI, 'hello', '3']);
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /PLACED \["node1","node2","node3"\] CODES \[0,0,0\]/);
    const sub = await cluster([...pbsEnv(nodefile), process.execPath, DRAGON, '-N', '2', MULTI, 'hello', '2']);
    assert.is(sub.exitCode, 0, sub.stderr);
    assert.match(sub.stdout, /PLACED \["node1","node2"\]/);
    const e = await cluster([...pbsEnv(nodefile), process.execPath, DRAGON, MULTI, 'exit', '7']);
    assert.is(e.exitCode, 7, e.stderr);
    await assertClean();
  });

  test('PBS: dragon-cleanup reaches every node of the job through mpiexec', async () => {
    const nodefile = file('nodefile2', 'node1\nnode2\nnode3\n');
    const r = await cluster([...pbsEnv(nodefile), process.execPath, CLEANUP, '--dry-run']);
    assert.is(r.exitCode, 0, r.stderr);
    for (const n of NODES) assert.match(r.stdout, new RegExp(`${n}: nothing to clean`), `${r.stdout}\n${r.stderr}`);
  });
}

test.run();
