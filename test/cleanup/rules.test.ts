// What dragon-cleanup removes, decided from what it found (no side
// effects), and the names it matches.
import * as assert from 'uvu/assert';
import { normalizeRtid, segmentRtid, tagFor } from '../../src/runtime/core/rundir/names.js';
import { planCleanup } from '../../src/runtime/cleanup/plan.js';
import type { RuntimeDir } from '../../src/runtime/cleanup/runtimes.js';
import { suite } from '../helpers/suite.js';

const test = suite('cleanup rules');

const dir = (rtid: string, state: RuntimeDir['state']): RuntimeDir => ({ rtid, state, path: `/tmp/dragon-u/${rtid}` });
const seg = (rtid: string, p = 1) => ({ name: `dragon-u-${rtid}-p${p}`, path: `/dev/shm/dragon-u-${rtid}-p${p}`, rtid, bytes: 1 });
const proc = (pid: number, rtid: string) => ({ pid, rtid, command: 'node x' });

test('dead run-time: its processes, segments and directory go; a live one keeps all', () => {
  const plan = planCleanup({
    runtimes: [dir('a', 'dead'), dir('b', 'live'), dir('c', 'starting')],
    processes: [proc(10, 'a'), proc(11, 'b'), proc(12, 'c')],
    segments: [seg('a'), seg('a', 2), seg('b'), seg('c')],
    mapped: () => new Set(),
  });
  assert.equal(plan.processes.map((p) => p.pid), [10]);
  assert.equal(plan.segments.map((s) => s.name), ['dragon-u-a-p1', 'dragon-u-a-p2']);
  assert.equal(plan.directories.map((d) => d.rtid), ['a']);
  assert.equal(plan.kept, ['b', 'c']);
});

test('segment without a directory: dead unless a process carries its id or maps it', () => {
  let asked = 0;
  const plan = planCleanup({
    runtimes: [],
    processes: [proc(20, 'e')],
    segments: [seg('d'), seg('e'), seg('f')],
    mapped: () => {
      asked++;
      return new Set(['dragon-u-f-p1']);
    },
  });
  assert.equal(plan.segments.map((s) => s.rtid), ['d']);
  assert.equal(plan.processes, [], 'a process without a run-time directory is never killed');
  assert.is(asked, 1);
});

test('the mappings are only read when some segment has no directory', () => {
  planCleanup({ runtimes: [dir('a', 'dead')], processes: [], segments: [seg('a')], mapped: () => assert.unreachable('read maps') as never });
});

test('segment names: only this user\'s, with a hex run-time id', () => {
  assert.is(segmentRtid('dragon-alice-1a2b-p3', 'alice'), '1a2b');
  assert.is(segmentRtid('dragon-alice-1a2b-p123456', 'alice'), '1a2b');
  assert.is(segmentRtid('dragon-alice_x-1a2b-p3', 'alice'), undefined);
  assert.is(segmentRtid('dragon-bob-1a2b-p3', 'alice'), undefined);
  assert.is(segmentRtid('dragon-alice-xyz-p3', 'alice'), undefined);
  assert.is(segmentRtid('dragon-alice-1a2b', 'alice'), undefined);
  assert.is(segmentRtid('dragon-alice-1a2b-p3.tmp', 'alice'), undefined);
});

test('user names are spelled as libdragon does', () => {
  assert.is(tagFor('alice', 1000), 'alice');
  assert.is(tagFor('john-doe', 1000), 'john_doe');
  assert.is(tagFor('a.b_C9', 1000), 'a.b_C9');
  assert.is(tagFor('é', 1000), '__', 'per byte, as the C code');
  assert.is(tagFor('x'.repeat(40), 1000), 'x'.repeat(32));
  assert.is(tagFor('', 4242), 'u4242');
});

test('run-time ids are normalised', () => {
  assert.is(normalizeRtid('0x00AB'), 'ab');
  assert.is(normalizeRtid('1a2b'), '1a2b');
  assert.is(normalizeRtid('0'), undefined);
  assert.is(normalizeRtid('zz'), undefined);
  assert.is(normalizeRtid(''), undefined);
});

test.run();
