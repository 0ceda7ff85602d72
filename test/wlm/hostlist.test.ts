// Slurm's hostlist notation: our expander (used when scontrol is missing)
// against fixed cases and, when scontrol can run, against scontrol itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DragonError } from '../../src/runtime/errors/errors.js';
import { compressHostlist, expandHostlist } from '../../src/runtime/wlm/hostlist.js';
import { suite } from '../helpers/suite.js';

const test = suite('wlm hostlist');

const CASES: [string, string[]][] = [
  ['node1', ['node1']],
  ['node[1-3,5],other[01-02],x', ['node1', 'node2', 'node3', 'node5', 'other01', 'other02', 'x']],
  ['n[8-11]', ['n8', 'n9', 'n10', 'n11']],
  ['z[09-10]', ['z09', 'z10']],
  ['a[1-2]-b[3-4]', ['a1-b3', 'a1-b4', 'a2-b3', 'a2-b4']],
  ['gpu[7],cpu[001-002]x', ['gpu7', 'cpu001x', 'cpu002x']],
  ['n1,n1,n[1-2]', ['n1', 'n2']],
  ['x3006c0s13b0n0', ['x3006c0s13b0n0']],
];

test('expands ranges, zero padding, several groups, plain names; drops duplicates', () => {
  for (const [text, want] of CASES) assert.equal(expandHostlist(text), want, text);
});

test('refuses broken lists with a one-line error naming the list', () => {
  for (const bad of ['n[1-', 'n[3-1]', 'n[a-b]', 'n]1[', 'n[[1]]', 'n[1-99999999]']) {
    try {
      expandHostlist(bad);
      assert.unreachable(bad);
    } catch (err) {
      assert.instance(err, DragonError, bad);
      assert.ok((err as Error).message.includes(JSON.stringify(bad)), (err as Error).message);
      assert.not.match((err as Error).message, /\n/);
    }
  }
});

test('agrees with scontrol show hostnames (a minimal slurm.conf, no controller needed)', () => {
  const have = spawnSync('scontrol', ['--version'], { encoding: 'utf8' });
  if (have.status !== 0) {
    console.log('SKIP: scontrol is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'dragon-wlm-'));
  try {
    const conf = join(dir, 'slurm.conf');
    writeFileSync(conf, 'ClusterName=t\nSlurmctldHost=localhost\nNodeName=n1\nPartitionName=p Nodes=n1\n');
    for (const [text] of CASES) {
      const r = spawnSync('scontrol', ['show', 'hostnames', text], { encoding: 'utf8', env: { ...process.env, SLURM_CONF: conf } });
      assert.is(r.status, 0, r.stderr);
      const fromScontrol = [...new Set(r.stdout.split('\n').filter(Boolean))];
      assert.equal(expandHostlist(text), fromScontrol, text);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compresses names for messages', () => {
  assert.is(compressHostlist(['node1', 'node2', 'node3']), 'node[1-3]');
  assert.is(compressHostlist(['node1', 'node2', 'node3', 'node5', 'login']), 'node[1-3,5],login');
  assert.is(compressHostlist(['a01', 'a02']), 'a[01-02]');
  assert.is(compressHostlist(['single7']), 'single7');
  assert.is(compressHostlist([]), '');
  for (const names of [['n1', 'n2', 'n4'], ['x08', 'x09'], ['a', 'b1', 'b2', 'c']]) assert.equal(expandHostlist(compressHostlist(names)), names);
});

test.run();
