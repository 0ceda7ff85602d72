// `dragon SCRIPT` through the real run-time, as far as the command line is
// concerned: the script gets its arguments untouched, dragon exits with the
// script's code, and SIGINT to the whole process group (a terminal's Ctrl-C)
// or two SIGTERMs to dragon alone end everything and leave nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { runtimeDir, segmentPrefix } from '../../src/runtime/core/rundir/names.js';
import { bin, processesMarked, run } from '../helpers/cli.js';
import { fixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli head');
const head = fixture('cli-head');

function nothingLeft(rtid: string, mark: string): void {
  assert.equal(processesMarked(mark), [], 'no process of the run left');
  assert.equal(readdirSync('/dev/shm').filter((n) => n.startsWith(`${segmentPrefix()}${rtid}-`)), [], 'no segment left');
  assert.not.ok(existsSync(runtimeDir(rtid)), 'run-time directory removed');
}

test('the script gets everything after SCRIPT, flag-like or not (fast path)', async () => {
  const r = await run('dragon', [head, '-N', '3', '--help', '--', '--label', '']);
  assert.is(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.argv, ['-N', '3', '--help', '--', '--label', '']);
  nothingLeft(out.rtid, r.mark);
});

test('... and with flags before SCRIPT (oclif path)', async () => {
  const r = await run('dragon', ['--log-level', 'info', '--grace-period=1s', head, '--log-level', 'x']);
  assert.is(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.argv, ['--log-level', 'x']);
});

for (const code of [0, 3, 42]) {
  test(`exit code ${code} of the head is dragon's`, async () => {
    const r = await run('dragon', [head, 'exit', String(code)]);
    assert.is(r.exitCode, code, r.stderr);
  });
}

test('a script that does not exist: one line from the run-time, exit 1, nothing left', async () => {
  const r = await run('dragon', ['/nonexistent/app.mjs']);
  assert.is(r.exitCode, 1, r.stderr);
  assert.ok(r.stderr.startsWith('dragon: '), r.stderr);
  assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, '/nonexistent/app.mjs');
  assert.equal(processesMarked(r.mark), []);
});

async function startSleeping(): Promise<{ child: ReturnType<typeof spawn>; rtid: string; mark: string; exit: Promise<number | null> }> {
  const mark = `sig${process.pid}${Date.now()}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const child = spawn(process.execPath, [bin('dragon'), head, 'sleep'], {
    env: { ...env, DRAGON_TEST_MARK: mark, DRAGON_GRACE_PERIOD: '1s' },
    detached: true, // its own process group, like a job in a shell
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? -1 : null))));
  const rtid = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /ready (\w+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    setTimeout(() => reject(new Error(`no "ready" within 20 s: ${out}`)), 20_000).unref();
  });
  return { child, rtid, mark, exit };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms).unref())]);

test('Ctrl-C (SIGINT to the process group): exit 130, nothing left', async () => {
  const { child, rtid, mark, exit } = await startSleeping();
  process.kill(-child.pid!, 'SIGINT');
  assert.is(await within(exit, 15_000, 'teardown after SIGINT'), 130);
  nothingLeft(rtid, mark);
});

test('SIGTERM twice to dragon alone: it ends at once, nothing left', async () => {
  const { child, rtid, mark, exit } = await startSleeping();
  child.kill('SIGTERM');
  child.kill('SIGTERM');
  const code = await within(exit, 10_000, 'teardown after two SIGTERMs');
  assert.ok(code !== 0 && code !== null, `exit code ${code}`);
  nothingLeft(rtid, mark);
});

test.run();
