// Process daemon and close() with Python's semantics, through the
// run-time: one run of fixtures/runtime/daemon-head.ts.
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { dragon, fixture, nothingLeft, scenarios, type DragonResult } from './helpers/dragon.js';

const test = suite('Process daemon and close');
let run: DragonResult;
let result: (name: string) => any = () => assert.unreachable('the head did not run');

test.before(async () => {
  run = await dragon(fixture('daemon-head'), [], {}, 80_000);
  result = scenarios(run);
});


test('the head exits 0 and leaves nothing behind', async () => {
  assert.is(run.code, 0, run.stderr);
  assert.equal(await nothingLeft(run.info!.runtimeId), []);
});

test('when a process exits, the run-time terminates its daemonic children; the others keep running', () => {
  assert.equal(result('parent-exits'), { code: 0, daemonFlag: true, daemonGone: true, plainAlive: true, plainGone: true });
});

test('Pool workers are daemonic (as in Python): a process that exits without closing its pool takes them along', () => {
  assert.equal(result('pool-workers-are-daemonic'), { code: 0, workers: 2, gone: [true, true] });
});

test('a daemonic process may not start processes; daemon cannot change after start()', () => {
  const r = result('daemon-no-children');
  assert.is(r.r.me, true);
  assert.is(r.r.code, 'DRAGON_ERR_PROCESS_STATE');
  assert.match(r.r.message, /is daemonic, and a daemonic process may not start processes/);
  assert.is(r.late.code, 'DRAGON_ERR_PROCESS_STATE');
  assert.is(r.code, 0);
});

test('close(): refused while running (DRAGON_ERR_VALUE), then the object is closed', () => {
  const r = result('close');
  assert.is(r.running.code, 'DRAGON_ERR_VALUE');
  assert.match(r.running.message, /still running/);
  assert.is(r.code, 143);
  assert.is(r.after.code, 'DRAGON_ERR_VALUE');
  assert.match(r.after.message, /process object is closed/);
  assert.is(r.join.code, 'DRAGON_ERR_VALUE');
  assert.is(r.name, 'closer');
});

test.run();
