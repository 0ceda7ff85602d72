// Pool on one node through the run-time: one run of a head
// (fixtures/mp/pool-head.ts) tries every scenario and prints its findings;
// each test below checks one of them.
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { dragon, nothingLeft, type DragonResult } from '../runtime/helpers/dragon.js';

const test = suite('Pool');
const HEAD = fileURLToPath(new URL('../fixtures/mp/pool-head.js', import.meta.url));
let run: DragonResult;
const results = new Map<string, any>();
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const squares = (n: number) => range(n).map((x) => x * x);

test.before(async () => {
  run = await dragon(HEAD, [], {}, 120_000);
  for (const m of run.stdout.matchAll(/^RESULT (\S+) (.*)$/gm)) results.set(m[1]!, JSON.parse(m[2]!));
});

function result(name: string): any {
  const r = results.get(name);
  assert.ok(r, `scenario ${name} ran (exit ${run.code}): ${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
  assert.not.ok(r.failed, `scenario ${name}: ${r.failed}`);
  return r;
}

test('the head closes and joins its pool, exits 0 and leaves nothing behind', async () => {
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /^DONE$/m);
  assert.equal(await nothingLeft(run.info!.runtimeId), []);
});

test('cpuCount() and jobNodes(): the CPUs of the one node', () => {
  const r = result('system');
  assert.is(r.cpus, r.expected);
  assert.is(r.nodes.length, 1);
  assert.equal(Object.keys(r.nodes[0]).sort(), ['cpus', 'host', 'index']);
});

test('processes defaults to cpuCount()', () => {
  const r = result('processes');
  assert.is(r.n, r.cpus);
});

test('map: results in input order, for any chunksize; iterables; default export; async tasks', () => {
  const r = result('map');
  for (const k of ['plain', 'cs1', 'cs7', 'big']) assert.equal(r[k], squares(200), k);
  assert.equal(r.empty, []);
  assert.equal(r.iter, [1, 4, 9]);
  assert.equal(r.def, [3, 6]);
  assert.equal(r.async, squares(20));
});

test('starmap spreads each argument list', () => {
  assert.equal(result('starmap'), [3, 7, 11]);
});

test('apply, applyAsync and mapAsync (callbacks before the Promise settles; a callback that throws rejects it)', () => {
  const r = result('apply');
  assert.equal(r, { a: 5, b: 15, cb: 15, m: [1, 4, 9], mcb: [1, 4, 9], e: 'bad input 1', ecb: 'bad input 1', cbThrows: 'callback failed', still: 2 });
});

test('imap is lazy over an endless input and stops (closing it) on break', () => {
  const r = result('imap-lazy');
  assert.equal(r.got, squares(10));
  assert.ok(r.pulled >= 10 && r.pulled < 1000, `bounded read-ahead: pulled ${r.pulled}`);
  assert.ok(r.closed, 'the generator was closed');
});

test('imap over an async iterable, with chunksize', () => {
  assert.equal(result('imap-async-input'), squares(50));
});

test('imapUnordered gives every result', () => {
  assert.equal(result('imap-unordered'), squares(300));
});

test('imap throws the task\'s error at its position', () => {
  const r = result('imap-error');
  assert.equal(r.got, []);
  assert.is(r.e.name, 'TypeError');
  assert.is(r.e.message, 'bad input 1');
});

test('initializer runs with initargs in each worker', () => {
  assert.equal(result('initializer'), range(6).map(() => ['hello', 42]));
});

test('an initializer that throws breaks the pool with a clear error', () => {
  const r = result('initializer-fails');
  assert.is(r.e.code, 'DRAGON_ERR_POOL_BROKEN');
  assert.match(r.e.message, /initializer failed in worker \d+: initializer failed on purpose/);
  assert.is(r.again.code, 'DRAGON_ERR_POOL_BROKEN');
});

test('maxtasksperchild: workers are replaced after N tasks', () => {
  const r = result('maxtasksperchild');
  assert.ok(r.distinct >= 5, `10 tasks, at most 2 per worker: ${r.distinct} workers`);
  assert.ok(r.maxPer <= 2);
});

test('a task\'s exception comes back with name, message and the remote stack', () => {
  const r = result('exception');
  assert.is(r.e.name, 'TypeError');
  assert.is(r.e.message, 'bad input 3');
  assert.match(r.e.stack, /at failingTask \(.*pool-tasks\.js/);
  assert.is(r.m.name, 'TypeError');
  assert.is(r.missing.code, 'DRAGON_ERR_EXPORT_NOT_FOUND');
  assert.match(r.missing.message, /no function export 'noSuchExport'/);
  assert.is(r.bad.code, 'DRAGON_ERR_MODULE_NOT_FOUND');
  assert.match(r.unsendable.message, /result cannot be sent back/);
  assert.match(r.badArg.message, /inputs of a task cannot be sent/);
  assert.equal(r.after, [1, 4, 9]);
});

test('a worker killed mid-task: its task fails naming the worker and the signal; the pool goes on', () => {
  const r = result('worker-killed');
  assert.is(r.e.code, 'DRAGON_ERR_WORKER_DIED');
  assert.match(r.e.message, /worker \d+ \(puid \d+ on \S+\) died \(killed by SIGKILL\)/);
  assert.is(r.many, 100);
  assert.is(r.m.code, 'DRAGON_ERR_WORKER_DIED');
  assert.equal(r.after, squares(10));
});

test('Dragon objects (Lock, Channel) travel to tasks', () => {
  const r = result('dragon-objects');
  assert.equal(r.r, range(8));
  assert.equal(r.s, range(5));
  assert.equal(r.got, [0, 10, 20, 30, 40]);
  // a task's handles are detached after it (no handle leak over many tasks)
  assert.ok(r.echoed, 'a Lock returned by its task arrives intact');
  assert.is(r.later, 'DRAGON_ERR_CLOSED');
});

test('terminate: unfinished tasks fail, the workers stop at once, no new tasks', () => {
  const r = result('terminate');
  assert.is(r.e.code, 'DRAGON_ERR_POOL_TERMINATED');
  assert.ok(r.ms < 10_000, `terminate took ${r.ms} ms`);
  assert.is(r.after.code, 'DRAGON_ERR_POOL_STATE');
  assert.match(r.after.message, /terminated/);
  assert.is(r.afterImap.code, 'DRAGON_ERR_POOL_STATE');
});

test('close: submitted work finishes, new submissions fail; join before close fails', () => {
  const r = result('close-join');
  assert.is(r.early.code, 'DRAGON_ERR_POOL_STATE');
  assert.match(r.early.message, /close\(\)/);
  assert.equal(r.r, [100, 100, 100]);
  assert.is(r.after.code, 'DRAGON_ERR_POOL_STATE');
  assert.match(r.after.message, /closed/);
  assert.is(r.afterApply.code, 'DRAGON_ERR_POOL_STATE');
});

test('Symbol.asyncDispose terminates the pool', () => {
  const r = result('async-dispose');
  assert.equal(r.r, [16]);
  assert.is(r.after.code, 'DRAGON_ERR_POOL_STATE');
});

test.run();
