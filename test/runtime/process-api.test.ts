// The Process API end to end: one run of the run-time with a head
// (fixtures/runtime/process-api.ts) that tries each scenario and prints its
// findings; each test below checks one of them.
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { dragon, fixture, nothingLeft, scenarios, type DragonResult } from './helpers/dragon.js';

const test = suite('Process');
const FIRST_PUID = 2 ** 32;
let run: DragonResult;
let result: (name: string) => any = () => assert.unreachable('the head did not run');

test.before(async () => {
  run = await dragon(fixture('process-api'), [], {
    // our own launch's variables: user processes must not see them
    env: { SLURM_PROCID: '3', SLURM_STEP_ID: '7', PMI_RANK: '3', PMIX_RANK: '3', DRAGON_TOKEN: 'outer-secret', KEEP_ME: 'kept', REMOVED: 'here' },
    config: { label: true },
  });
  result = scenarios(run);
});


test('the head exits 0 and leaves nothing behind', async () => {
  assert.is(run.code, 0, run.stderr);
  assert.equal(await nothingLeft(run.info!.runtimeId), []);
});

test('currentProcess() in the head', () => {
  assert.equal(result('current'), { puid: FIRST_PUID, pid: true, alive: true, name: 'head' });
});

test('{ module, fn, args }: start gives puid and pid, join the exit code', () => {
  const r = result('module');
  assert.equal(r.before, { exitCode: null });
  assert.ok(r.puid > FIRST_PUID, 'a run-time-wide puid above the head\'s');
  assert.is(r.pid, 'number');
  assert.is(r.code, 7);
  assert.is(r.exitCode, 7);
  assert.is(r.alive, false);
});

test('module as a file: URL string or an absolute path', () => {
  assert.equal(result('module-path-string'), [0, 0]);
});

test('{ command, args }: any executable, output relayed', () => {
  const r = result('command');
  assert.is(r.code, 5);
  assert.match(run.stdout, new RegExp(`\\] CMD ${r.puid}$`, 'm'));
});

test('children start children of their own (three levels)', () => {
  const r = result('grandchildren');
  assert.is(r.code, 0);
  const levels = [...run.stdout.matchAll(/LEVEL (\d) puid (\d+) parent (\d+)/g)].map((m) => m.slice(1).map(Number));
  assert.is(levels.length, 3);
  assert.equal(levels[0], [1, r.puid, FIRST_PUID]);
  assert.is(levels[1]![2], levels[0]![1], 'level 2\'s parent is level 1');
  assert.is(levels[2]![2], levels[1]![1], 'level 3\'s parent is level 2');
});

test('a Channel passed as an argument arrives attached (also nested), values keep structured clone', () => {
  const r = result('channel-arg');
  assert.is(r.code, 0);
  assert.is(r.big, '12345678901234567890');
  assert.equal(r.list, [1, 2]);
  assert.ok(r.fromChild);
  assert.equal(r.nested, [10, 11]);
});

test('an error thrown in the child keeps name, message, code, own properties and the remote stack', () => {
  const r = result('error');
  assert.is(r.code, 1);
  assert.is(r.name, 'RangeError');
  assert.ok(r.isRangeError);
  assert.is(r.message, 'the value is out of range');
  assert.is(r.errCode, 'E_OUT_OF_RANGE');
  assert.is(r.detail, 42);
  assert.match(r.stack, /at boom \(file:\/\/.*workers\.js:\d+:\d+\)/);
  assert.match(run.stderr, /dragon: process \d+ \(boom from .*workers\.js\) failed: RangeError: the value is out of range/);
});

test('an async rejection in the child is its error too', () => {
  assert.equal(result('async-error'), { code: 1, message: 'async failure', errCode: 'E_ASYNC' });
});

test('the child\'s environment: no launch variables or secrets, the caller\'s own, env overrides, the run-time\'s', () => {
  const r = result('env');
  const seen = JSON.parse(new RegExp(`\\[[^:]+:${r.puid}\\] ENV (.*)$`, 'm').exec(run.stdout)![1]!);
  assert.is(seen.SLURM_PROCID, null);
  assert.is(seen.SLURM_STEP_ID, null);
  assert.is(seen.PMI_RANK, null);
  assert.is(seen.PMIX_RANK, null);
  assert.is(seen.DRAGON_TOKEN, null);
  assert.is(seen.DRAGON_BACKEND, null);
  assert.is(seen.KEEP_ME, 'kept');
  assert.is(seen.ADDED, 'yes');
  assert.is(seen.REMOVED, null);
  assert.is(seen.DRAGON_PUID, String(r.puid));
  assert.is(seen.DRAGON_RT_UID, run.info!.runtimeId);
  // the head too
  assert.is(r.head.SLURM_PROCID, null);
  assert.is(r.head.PMI_RANK, null);
  assert.is(r.head.DRAGON_TOKEN, null);
  assert.is(r.head.KEEP_ME, 'kept');
});

test('a module that does not exist: start() rejects in the caller, saying what to do', () => {
  const r = result('missing-module');
  assert.ok(r.threw);
  assert.is(r.code, 'DRAGON_ERR_MODULE_NOT_FOUND');
  assert.match(r.message, /no\/such\/module\.mjs not found\. Pass an absolute path/);
});

test('an export that does not exist, or is not a function: start() rejects saying so (nothing started, nothing printed)', () => {
  const r = result('missing-export');
  for (const fn of ['noSuchExport', 'here']) {
    assert.is(r[fn].code, 'DRAGON_ERR_EXPORT_NOT_FOUND', JSON.stringify(r[fn]));
    assert.match(r[fn].message, new RegExp(`^Process\\.start: .*workers\\.js has no function export '${fn}' \\(it exports .*boom.*\\)\\. Check the fn passed to Process`));
    assert.is(r[fn].puid, null);
    assert.is(r[fn].restart, 'DRAGON_ERR_EXPORT_NOT_FOUND'); // the Process may be started again
    assert.not.match(run.stderr, new RegExp(`export '${fn}'`));
  }
});

test('lifecycle: join before start, isAlive, join(timeout), terminate, kill, no restart', () => {
  assert.equal(result('lifecycle'), {
    joinBeforeStart: 'DRAGON_ERR_PROCESS_STATE',
    aliveAfterStart: true,
    timedOut: null,
    code: 143,
    signal: 'SIGTERM',
    aliveAfter: false,
    killed: 137,
    killedSignal: 'SIGKILL',
    restart: 'DRAGON_ERR_PROCESS_STATE',
  });
});

test.run();
