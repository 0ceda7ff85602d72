// ts-bugs #3: importing dragonhpc loads neither koffi nor libdragon; the
// first use of shared memory does. A Process target that never touches
// shared memory (examples/hello.mjs's greet) pays nothing for them.
import * as assert from 'uvu/assert';
import { exitOf, spawnFixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('lazy load');

test('koffi and libdragon load at the first pool, not at import', async () => {
  const child = spawnFixture('lazy-import');
  assert.is(await exitOf(child), 0);
  const r = JSON.parse(child.output());
  assert.equal(r.afterImport, { koffi: false, libdragon: false }, 'import');
  assert.equal(r.afterProcessApi, { koffi: false, libdragon: false }, 'identity, currentProcess, Process, argument codec');
  assert.equal(r.afterPool, { koffi: true, libdragon: true }, 'MemoryPool.create');
});

test.run();
