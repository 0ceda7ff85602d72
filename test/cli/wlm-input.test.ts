// Bad workload-manager input through the real CLI: one line naming the
// problem and the fix, a non-zero exit code, and nothing left behind (no
// process, no segment, no run-time directory). The multi-node ones that
// need an allocation (-N beyond it) are in test/cluster/.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { processesMarked, run, type Run } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('workload-manager input');
const dir = mkdtempSync(join(tmpdir(), 'dragon-wlm-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const script = join(dir, 'app.mjs');
writeFileSync(script, 'console.log("never")\n');
const ours = () => readdirSync('/dev/shm').filter((f) => f.startsWith('dragon-')).sort();
const before = new Set(ours());
// Segments that appeared since the file started and stay: another test
// running at the same time (a second checkout, a helper) may create and
// remove its own meanwhile, so a new one must outlive a short wait to count.
function newSegments(): string[] {
  const deadline = Date.now() + 3000;
  for (;;) {
    const fresh = ours().filter((f) => !before.has(f));
    if (fresh.length === 0 || Date.now() > deadline) return fresh;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

function refused(r: Run, pattern: RegExp, exitCode = 2): void {
  assert.is(r.exitCode, exitCode, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^dragon: /);
  assert.match(lines[0]!, pattern);
  assert.is(r.stdout, '');
  assert.equal(processesMarked(r.mark), []);
  assert.equal(newSegments(), [], 'no new segment');
}

test('--wlm slurm outside an allocation', async () => {
  refused(await run('dragon', ['--wlm', 'slurm', script], { SLURM_JOB_ID: '' }), /--wlm slurm: this is not inside a Slurm job .*Run inside an allocation/);
});

test('an unknown --wlm (and DRAGON_WLM) lists the known ones', async () => {
  refused(await run('dragon', ['--wlm', 'lsf', script]), /--wlm="lsf": expected one of local, slurm, pbs, ssh/);
  refused(await run('dragon', [script], { DRAGON_WLM: 'lsf' }), /DRAGON_WLM="lsf": expected one of local, slurm, pbs, ssh.*Fix or unset DRAGON_WLM/);
});

test('-N beyond this machine without an allocation', async () => {
  refused(await run('dragon', ['-N', '3', script]), /-N 3: without an allocation there is 1 node .*Ask for at most 1/);
});

test('a missing hostfile', async () => {
  refused(await run('dragon', ['--hostfile', join(dir, 'nope'), script]), /--hostfile .*nope does not exist/);
});

test('inside a Slurm job without srun on PATH', async () => {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const r = await run('dragon', [script], { PATH: bin, SLURM_JOB_ID: '77', SLURM_JOB_NODELIST: 'n[1-2]', SLURM_JOB_NUM_NODES: '2' });
  refused(r, /srun.*(not found|missing|PATH)/i, r.exitCode ?? 1);
  assert.ok(r.exitCode !== 0);
});

test('a host that does not resolve is named', async () => {
  const r = await run('dragon', ['--hosts', 'no-such-host.invalid', script]);
  refused(r, /no-such-host\.invalid/, r.exitCode ?? 1);
  assert.ok(r.exitCode !== 0);
});

test.run();
