// The examples run (in a short mode) under the run-time of the built
// package (dist/): they import 'dragonhpc' itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { ROOT, dragon, nothingLeft } from './helpers/dragon.js';

const test = suite('examples');
const dist = join(ROOT, 'dist', 'src', 'runtime', 'launch', 'index.js');
const built = existsSync(dist);
const root = pathToFileURL(join(ROOT, 'dist') + '/').href;

test('hello.mjs: the head and three processes greet', async () => {
  if (!built) return console.log('  SKIP: dist/ is not built (npm run build)');
  const r = await dragon(join(ROOT, 'examples', 'hello.mjs'), ['3'], { root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /starts 3 processes/);
  assert.is(r.stdout.match(/^hello from process \d of 3 \(puid \d+, pid \d+\)$/gm)?.length, 3, r.stdout);
  assert.match(r.stdout, /all done, exit codes 0 0 0/);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('pi.mjs: workers report through a channel', async () => {
  if (!built) return console.log('  SKIP: dist/ is not built (npm run build)');
  const r = await dragon(join(ROOT, 'examples', 'pi.mjs'), ['2', '20000'], { root });
  assert.is(r.code, 0, r.stderr);
  const m = /pi ~ (\d\.\d+) .* from 40000 samples in 2 processes/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Math.abs(Number(m![1]) - Math.PI) < 0.1);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('pool-map.mjs: pi from a Pool.map over the node', async () => {
  if (!built) return console.log('  SKIP: dist/ is not built (npm run build)');
  const r = await dragon(join(ROOT, 'examples', 'pool-map.mjs'), ['8', '20000'], { root });
  assert.is(r.code, 0, r.stderr);
  const m = /pi ~ (\d\.\d+) .* from 160000 darts in 8 tasks/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Math.abs(Number(m![1]) - Math.PI) < 0.1);
  assert.match(r.stdout, /\d+ workers \(\d+ CPUs\) on 1 node\(s\)/);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('pipeline.mjs: generate -> transform -> reduce through queues', async () => {
  if (!built) return console.log('  SKIP: dist/ is not built (npm run build)');
  const r = await dragon(join(ROOT, 'examples', 'pipeline.mjs'), ['2000', '2'], { root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /sum of squares of 1\.\.2000 = 2668667000 \(correct\)/);
  assert.match(r.stdout, /2000 numbers through generate -> 2 x transform -> reduce .* exit codes 0 0 0 0/);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test.run();
