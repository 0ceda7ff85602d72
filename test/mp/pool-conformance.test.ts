// Pool where Python's multiprocessing is the contract: close()/join() of a
// pool that never got a task, AsyncResult, TypeScript task modules, a task
// whose promise never settles. One run of fixtures/mp/pool-conformance-head.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { dragon, nothingLeft, scenarios, type DragonResult } from '../runtime/helpers/dragon.js';

const test = suite('Pool (Python conformance)');
const HEAD = fileURLToPath(new URL('../fixtures/mp/pool-conformance-head.js', import.meta.url));
let run: DragonResult;
let dir: string;
let result: (name: string) => any = () => assert.unreachable('the head did not run');

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dragon-pool-ts-'));
  writeFileSync(
    join(dir, 'tasks.ts'),
    'let base: number = 0;\nexport function init(b: number): void {\n  base = b;\n}\n' +
      'export function cube(x: number): number {\n  return x ** 3;\n}\nexport function offset(x: number): number {\n  return base + x;\n}\n',
  );
  run = await dragon(HEAD, [dir], {}, 80_000);
  result = scenarios(run);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));


test('the head exits 0 and leaves nothing behind', async () => {
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /^DONE$/m);
  assert.equal(await nothingLeft(run.info!.runtimeId), []);
});

test('close() then join() before any task: join resolves', () => {
  assert.is(result('close-join-idle'), 'joined');
});

test('close() then join() before any task, with an initializer: it ran in every worker, join resolves', () => {
  assert.equal(result('close-join-initializer'), { joined: 'joined', inits: 2 });
});

test('applyAsync/mapAsync/starmapAsync give an AsyncResult: ready, successful, wait, get(timeout), thenable, callbacks', () => {
  const r = result('async-result');
  assert.equal(r.before.ready, false);
  assert.is(r.before.successful.code, 'DRAGON_ERR_VALUE');
  assert.match(r.before.successful.message, /not ready/);
  assert.is(r.waited, false);
  assert.is(r.timedOut.name, 'TimeoutError');
  assert.is(r.timedOut.code, 'DRAGON_ERR_TIMEOUT');
  assert.is(r.value, 400);
  assert.equal(r.after, { ready: true, successful: true, awaited: 400, waitedAfter: true });
  assert.match(r.badErr.message, /bad input 7/);
  assert.equal(r.badAfter.ready, true);
  assert.equal(r.badAfter.successful, false);
  assert.match(r.badAfter.awaited.message, /bad input 7/);
  assert.equal(r.mv, [1, 4, 9]);
  assert.equal(r.cb, [1, 4, 9]);
  assert.equal(r.sm, [3]);
  assert.match(r.ecb, /bad input 8/);
  assert.equal([r.eReady, r.eOk], [true, false]);
});

test('task and initializer modules written in TypeScript run in the workers (tsx, as for Process)', () => {
  assert.equal(result('ts-tasks'), { r: [1, 8, 27], a: 11 });
});

test('a task whose promise never settles: the error names the cause (exit code 13); the pool goes on', () => {
  const r = result('never-settles');
  assert.is(r.e.code, 'DRAGON_ERR_WORKER_DIED');
  assert.match(r.e.message, /the task's promise never settled and nothing kept the worker's event loop alive \(exit code 13\)/);
  assert.is(r.after, 9);
});

test.run();
