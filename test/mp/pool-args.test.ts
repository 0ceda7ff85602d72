// Pool and cpuCount() outside a run-time (plain node): what works there
// and the errors that say what to do.
import { availableParallelism, hostname } from 'node:os';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { Pool, cpuCount, jobNodes } from '../../src/index.js';

const test = suite('Pool (outside a run-time)');

test('cpuCount() is this machine\'s os.availableParallelism()', async () => {
  assert.is(await cpuCount(), availableParallelism());
  assert.equal(await jobNodes(), [{ index: 0, host: hostname(), cpus: availableParallelism() }]);
});

test('new Pool() outside a run-time says how to run it', () => {
  assert.throws(() => new Pool(), (e: any) => e.code === 'DRAGON_ERR_NOT_IN_RUNTIME' && /dragon script\.mjs/.test(e.message));
});

test('bad options are named before anything starts', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ processes: 0 }, /processes must be a positive integer/],
    [{ processes: 1.5 }, /processes must be a positive integer/],
    [{ maxtasksperchild: 0 }, /maxtasksperchild must be a positive integer/],
    [{ initargs: [1] }, /initargs given without an initializer/],
    [{ initializer: { module: './no/such.mjs', fn: 'x' } }, /not found/],
    [{ initializer: 'x' }, /a task is \{ module, fn \}/],
    [{ initializer: {}, initargs: 3 }, /initargs must be an array/],
  ];
  for (const [opts, re] of bad) assert.throws(() => new Pool(opts as never), re, JSON.stringify(opts));
});

test('unknown options are an error naming the option and listing the accepted ones', () => {
  assert.throws(
    () => new Pool({ procesess: 2 } as never),
    (e: any) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT' && /unknown option 'procesess'/.test(e.message) && /processes, initializer, initargs, maxtasksperchild/.test(e.message),
  );
  assert.throws(
    () => new Pool({ processes: 2, policy: { host: 'x' } } as never),
    (e: any) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT' && /policy is not supported yet/.test(e.message),
  );
});

test.run();
