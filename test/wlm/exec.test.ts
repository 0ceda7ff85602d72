// Running the workload manager's tools (src/runtime/wlm/exec.ts, through
// execa): capture() of a short query, startLauncher() of a launcher, and
// execa loaded only by them, never by a run on this machine alone.
import * as assert from 'uvu/assert';
import { capture, startLauncher } from '../../src/runtime/wlm/exec.js';
import { exitOf, spawnFixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';
import { scratch } from './util.js';

const test = suite('wlm exec');
const tmp = scratch();
test.after(() => tmp.remove());
const env = { PATH: `${tmp.bin}:/usr/bin:/bin` };

test('capture: exit code, stdout and stderr of a query', async () => {
  const tool = tmp.tool('query', 'echo "node1"; echo "node2"; echo "warned" >&2; exit 3');
  const r = await capture(tool, [], env);
  assert.equal(r, { code: 3, stdout: 'node1\nnode2\n', stderr: 'warned\n', timedOut: false });
});

test('capture: a query that does not answer in time is killed, and says so', async () => {
  const tool = tmp.tool('hangs', 'exec sleep 60');
  const r = await capture(tool, [], env, 200);
  assert.is(r.code, null);
  assert.is(r.timedOut, true);
});

test('capture: a command that cannot run rejects with one line naming why', async () => {
  const err = await capture('/nonexistent/scontrol', ['show'], env).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, 'rejected');
  assert.match(err!.message, /ENOENT/);
  assert.not.match(err!.message, /\n/);
});

test('startLauncher: stdin is written and closed, the launcher leads its own session', async () => {
  const tool = tmp.tool('launcher', 'cat; echo "$LAUNCH_VAR"; cat /proc/self/stat >&2');
  const { child, exited } = await startLauncher({ command: tool, args: [], env: { ...env, LAUNCH_VAR: 'from-env' }, stdin: 'secrets\n' }, 'pipe');
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  assert.equal(await exited, { code: 0, signal: null, startError: undefined });
  assert.is(out, 'secrets\nfrom-env\n');
  // /proc/PID/stat after "(comm) ": state ppid pgrp session
  const [, , pgrp, session] = err.slice(err.lastIndexOf(')') + 2).split(' ');
  assert.is(Number(session), child.pid, 'its own session (detached)');
  assert.is(Number(pgrp), child.pid, 'its own process group');
});

test('startLauncher: a launcher that cannot start says why, exit undefined', async () => {
  const { exited } = await startLauncher({ command: '/nonexistent/srun', args: [], env, stdin: null }, 'ignore');
  const e = await exited;
  assert.is(e.code, null);
  assert.match(e.startError ?? '', /ENOENT/);
});

test('execa is loaded by the WLM tools only: a run on this machine alone does not load it', async () => {
  const child = spawnFixture('execa-lazy');
  assert.is(await exitOf(child), 0, child.output());
  const r = JSON.parse(child.output().trim().split('\n').pop()!) as Record<string, boolean>;
  assert.equal(r, { afterLocalRun: false, afterCapture: true });
});

test.run();
