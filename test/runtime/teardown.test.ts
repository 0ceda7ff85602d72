// Teardown: when the head exits, every process of the run-time is
// terminated (SIGTERM, grace, SIGKILL; also what user processes started on
// their own), every segment unlinked, the run-time directory removed. Ctrl-C
// (SIGINT to the frontend's process group, as a terminal sends it) does the
// same in bounded time, a second one hastens it; SIGKILL of the frontend
// alone takes everything down with it.
import { readFileSync, readdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { alive, dragon, fixture, killAll, leftovers, nothingLeft, startDragon } from './helpers/dragon.js';

const test = suite('teardown');
const heads = fixture('heads');
const GRACE = 500;

function readyPids(stdout: string): number[] {
  const m = /READY (\{.*\})/.exec(stdout);
  assert.ok(m, `the head got ready: ${stdout}`);
  return (JSON.parse(m![1]!) as { pids: number[] }).pids;
}

function unknownPid(stdout: string): number {
  return Number(/UNKNOWN (\d+)/.exec(stdout)![1]);
}

test('after the head exits, leftover processes (even a SIGTERM-proof one and an unregistered grandchild) and segments are removed', async () => {
  const r = await dragon(heads, ['leftovers'], { config: { gracePeriod: GRACE } });
  assert.is(r.code, 0, r.stderr);
  const pids = [...readyPids(r.stdout), unknownPid(r.stdout)];
  assert.match(r.stdout, /ARMED/);
  assert.equal(await nothingLeft(r.info!.runtimeId, 5000), []);
  for (const pid of pids) assert.not.ok(alive(pid), `process ${pid} is gone`);
});

test('a daemon that left the job\'s session and environment (env -i setsid) is re-parented to the backend, reaped when it ends, and ended at teardown', async () => {
  const long = `999.${process.pid}${Date.now() % 100000}`;
  const short = `2.${process.pid}`;
  const r = await dragon(heads, ['orphans', long, short]);
  assert.is(r.code, 0, r.stderr);
  const parents = JSON.parse(/PARENTS (\{.*\})/.exec(r.stdout)![1]!) as { backend: number; long: number; short: number };
  assert.is(parents.long, parents.backend, 'the long one is the backend\'s child now');
  assert.is(parents.short, parents.backend, 'the short one too');
  assert.match(r.stdout, 'SHORT reaped');
  const left = readdirSync('/proc').filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'latin1') === `sleep\0${long}\0`;
    } catch {
      return false;
    }
  });
  assert.equal(left, [], 'no such sleep is left');
  assert.equal(await nothingLeft(r.info!.runtimeId, 5000), []);
});

test('SIGINT to the frontend\'s process group tears everything down in bounded time; the head dies of SIGINT (130)', async () => {
  const run = startDragon(heads, ['leftovers', 'wait'], { detached: true, config: { gracePeriod: GRACE } });
  const info = await run.info;
  await run.waitFor('READY');
  const pids = [...readyPids(run.stdout().toString()), run.child.pid!];
  const t0 = Date.now();
  process.kill(-run.child.pid!, 'SIGINT'); // what a terminal's Ctrl-C does
  const { code } = await run.exit;
  const took = Date.now() - t0;
  assert.is(code, 130, run.stderr().toString());
  assert.ok(took < GRACE + 10_000, `took ${took} ms`);
  assert.equal(await nothingLeft(info.runtimeId, 5000), []);
  for (const pid of pids) assert.not.ok(alive(pid), `process ${pid} is gone`);
});

test('a second SIGINT hastens: no waiting for the grace period', async () => {
  const run = startDragon(heads, ['leftovers', 'wait'], { detached: true, config: { gracePeriod: 60_000 } });
  const info = await run.info;
  await run.waitFor('READY');
  const t0 = Date.now();
  process.kill(-run.child.pid!, 'SIGINT');
  await new Promise((r) => setTimeout(r, 300));
  process.kill(-run.child.pid!, 'SIGINT');
  const { code } = await run.exit;
  const took = Date.now() - t0;
  assert.is(code, 130, run.stderr().toString());
  assert.ok(took < 20_000, `took ${took} ms (the grace period is 60 s)`);
  assert.equal(await nothingLeft(info.runtimeId, 5000), []);
});

test('SIGKILL of the frontend alone: the backend and every user process die, nothing is left', async () => {
  const run = startDragon(heads, ['leftovers', 'wait'], { config: { gracePeriod: GRACE } });
  const info = await run.info;
  await run.waitFor('READY');
  await run.waitFor('UNKNOWN');
  const pids = [...readyPids(run.stdout().toString()), unknownPid(run.stdout().toString()), info.backendPid];
  assert.ok(leftovers(info.runtimeId).length > 0, 'the run-time is up');
  run.child.kill('SIGKILL');
  await run.exit;
  assert.equal(await nothingLeft(info.runtimeId, 15_000), []);
  for (const pid of pids) assert.not.ok(alive(pid), `process ${pid} is gone`);
});

test('SIGKILL of the backend: user processes die with it, the frontend cleans up and says so in one line', async () => {
  const run = startDragon(heads, ['leftovers', 'wait'], { config: { gracePeriod: GRACE } });
  const info = await run.info;
  await run.waitFor('READY');
  const pids = readyPids(run.stdout().toString());
  process.kill(info.backendPid, 'SIGKILL');
  const { code } = await run.exit;
  assert.is(code, 1);
  const lines = run.stderr().toString().split('\n').filter(Boolean);
  assert.is(lines.length, 1, run.stderr().toString());
  assert.match(lines[0]!, /^dragon: the run-time's backend on .* died \(killed by SIGKILL\)/);
  assert.equal(await nothingLeft(info.runtimeId, 10_000), []);
  for (const pid of pids) assert.not.ok(alive(pid), `process ${pid} is gone`);
});

test('SIGTERM to the frontend: graceful teardown, the head dies of SIGTERM (143)', async () => {
  const run = startDragon(heads, ['leftovers', 'wait'], { config: { gracePeriod: GRACE } });
  const info = await run.info;
  await run.waitFor('READY');
  run.child.kill('SIGTERM');
  const { code } = await run.exit;
  assert.is(code, 143, run.stderr().toString());
  assert.equal(await nothingLeft(info.runtimeId, 5000), []);
});

test.after(() => killAll());

test.run();
