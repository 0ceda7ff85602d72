// dragon-cleanup across nodes, the parts that need no cluster: the per-node
// JSON lines, their attribution to nodes, the gather with its deadline (with
// real processes standing in for the per-node runs), the messages for nodes
// that did not answer, and the command's local modes end to end. The
// multi-node run itself is a cluster test.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as assert from 'uvu/assert';
import {
  Gathering,
  cleanupArgv,
  cleanupLocalJson,
  formatRecord,
  missingLines,
  nodeLines,
  noAnswerMessage,
  parseRecord,
  runPlans,
  type NodeRecord,
} from '../../src/runtime/cleanup/across-nodes.js';
import { findOnPath } from '../../src/runtime/wlm/exec.js';
import type { LaunchPlan } from '../../src/runtime/wlm/types.js';
import { bin } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('cleanup across nodes');
const rec = (host: string, index: number, type: NodeRecord['type'], extra: Partial<NodeRecord> = {}) =>
  formatRecord({ host, index, type, ...extra });
const node = (script: string): LaunchPlan => ({ command: process.execPath, args: ['-e', script], env: process.env, stdin: null });
const printing = (lines: string[]) => node(`for (const l of ${JSON.stringify(lines)}) console.log(l)`);
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_') && !k.startsWith('SLURM_') && !k.startsWith('PBS_')));

test('records: our JSON lines parse, anything else is not a record', () => {
  const line = rec('node2', 1, 'report', { text: 'removed segment /dev/shm/x' });
  assert.equal(parseRecord(line), { dragonCleanup: 1, host: 'node2', index: 1, type: 'report', text: 'removed segment /dev/shm/x' });
  assert.equal(parseRecord(`  ${line}  `)?.host, 'node2');
  for (const other of ['', 'Welcome to node2', '{not json', '{"host":"a","index":0,"type":"done"}', '{"dragonCleanup":1,"host":"a","index":0,"type":"other"}', '{"dragonCleanup":1,"index":0,"type":"done"}', '[1]']) {
    assert.is(parseRecord(other), undefined, other);
  }
});

test('attribution: by plan when one plan per node, else by host (first label), else by index', () => {
  const g = new Gathering(['node1', 'node2.cluster', 'node3']);
  g.add(parseRecord(rec('whatever', 0, 'done', { removed: 0, failed: 0 }))!, 2); // plan 2 -> node3
  g.add(parseRecord(rec('NODE2', 0, 'report', { text: 'removed x' }))!); // host, although index 0
  g.add(parseRecord(rec('node2', 0, 'done', { removed: 1, failed: 0 }))!);
  g.add(parseRecord(rec('renamed-host', 0, 'warn', { text: 'w' }))!); // index 0 -> node1
  g.add(parseRecord(rec('elsewhere', 9, 'done'))!);
  assert.equal(g.outcomes.map((o) => [o.node, o.lines.length, o.done !== undefined]), [['node1', 1, false], ['node2.cluster', 1, true], ['node3', 0, true]]);
  assert.equal(g.stray.map((r) => r.host), ['elsewhere']);
  assert.equal(g.pending(), ['node1']);
  assert.equal(g.failedNodes(), ['node1']);
  g.add(parseRecord(rec('node1', 0, 'error', { text: 'cannot read /proc' }))!);
  assert.equal(g.pending(), []);
  assert.equal(g.failedNodes(), ['node1']);
});

test('printing: per node, "node: text"; warnings apart; "nothing to clean" when so', () => {
  const g = new Gathering(['n1', 'n2', 'n3']);
  g.add(parseRecord(rec('n1', 0, 'report', { text: 'would remove segment /dev/shm/dragon-u-1a-p1 (4.0 KiB) of run-time 1a' }))!);
  g.add(parseRecord(rec('n1', 0, 'warn', { text: 'cannot remove /dev/shm/y: EPERM' }))!);
  g.add(parseRecord(rec('n1', 0, 'done', { removed: 1, failed: 1, kept: 0 }))!);
  g.add(parseRecord(rec('n2', 1, 'done', { removed: 0, failed: 0, kept: 2 }))!);
  g.add(parseRecord(rec('n3', 2, 'error', { text: 'boom' }))!);
  assert.equal(nodeLines(g.outcomes[0]!), {
    out: ['n1: would remove segment /dev/shm/dragon-u-1a-p1 (4.0 KiB) of run-time 1a'],
    err: ['n1: cannot remove /dev/shm/y: EPERM'],
  });
  assert.equal(nodeLines(g.outcomes[1]!), { out: ['n2: nothing to clean (2 live run-times left alone)'], err: [] });
  assert.equal(nodeLines(g.outcomes[2]!), { out: [], err: ['n3: boom'] });
  assert.equal(g.failedNodes(), ['n1', 'n3']);
});

test('deadline message names the nodes, compressed, with the time and what to do', () => {
  assert.is(
    noAnswerMessage(['node3', 'node4'], 60_000),
    'no answer from node[3-4] within 60 s: they may be down or hung; run dragon-cleanup --local there when they are back, or give more time with --timeout',
  );
  assert.match(noAnswerMessage(['n7'], 1500, 'ssh: x'), /^no answer from n7 within 1500 ms \(ssh: x\): it may be down/);
});

test('missing nodes: one line per host for ssh (its own reason), one line for a single srun', () => {
  const a = { kind: 'ssh' as const, nodes: ['a', 'b'], jobId: '' };
  const exits = [
    { plan: 0, code: 255, signal: null, stderr: 'ssh: Could not resolve hostname a: Name or service not known\n' },
    { plan: 1, code: 255, signal: null, stderr: 'ssh: connect to host b port 22: Connection refused\n' },
  ];
  assert.equal(missingLines(a, true, ['a', 'b'], exits, false, 1000), [
    'no report from a: cannot reach host a: its name does not resolve. Fix the name in --hostfile/--hosts',
    'no report from b: cannot reach host b: connection refused. Check that the host is up and runs sshd, or remove it from --hostfile/--hosts',
  ]);
  const s = { kind: 'slurm' as const, nodes: ['n1', 'n2', 'n3'], jobId: '1' };
  assert.equal(missingLines(s, false, ['n2', 'n3'], [{ plan: 0, code: 1, signal: null, stderr: 'srun: error: n2: task 1: Killed\n' }], false, 1000), [
    'no report from n[2-3]: dragon-cleanup on n2 failed: killed',
  ]);
  assert.equal(missingLines(s, false, ['n3'], [{ plan: 0, code: null, signal: 'SIGTERM', stderr: '' }], true, 2000), [noAnswerMessage(['n3'], 2000)]);
});

test('runPlans: gathers the records of every launcher; one that hangs is stopped at the deadline and named', async () => {
  const g = new Gathering(['n1', 'n2', 'n3']);
  const other: string[] = [];
  const t0 = Date.now();
  const { exits, timedOut } = await runPlans(
    [
      printing(['motd line', rec('n1', 0, 'report', { text: 'removed a' }), rec('n1', 0, 'done', { removed: 1, failed: 0 })]),
      printing([rec('n2', 1, 'done', { removed: 0, failed: 0 })]),
      node(`console.log(${JSON.stringify(rec('n3', 2, 'report', { text: 'half' }))}); setInterval(() => {}, 1000)`),
    ],
    g,
    { deadlineMs: 1500, killGraceMs: 200, onOther: (l) => other.push(l) },
  );
  assert.ok(timedOut);
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(other, ['motd line']);
  assert.equal(g.pending(), ['n3']);
  assert.equal(g.outcomes[2]!.lines.map((r) => r.text), ['half']);
  assert.equal(exits.map((e) => [e.plan, e.code]), [[0, 0], [1, 0], [2, null]]);
  assert.is(exits[2]!.signal, 'SIGTERM');
});

test('runPlans: a launcher that cannot start is an exit with its error, not a throw; stdin is delivered', async () => {
  const g = new Gathering(['a', 'b']);
  const echo: LaunchPlan = {
    command: process.execPath,
    args: ['-e', `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(${JSON.stringify(rec('b', 1, 'done', { removed: 0, failed: 0 }))}.replace('"b"', JSON.stringify(s.trim()))))`],
    env: process.env,
    stdin: 'b\n',
  };
  const { exits, timedOut } = await runPlans([{ command: '/nonexistent/launcher', args: [], env: {}, stdin: null }, echo], g, { deadlineMs: 10_000 });
  assert.not.ok(timedOut);
  assert.match(exits[0]!.stderr, /ENOENT/);
  assert.equal(g.pending(), ['a']);
  assert.ok(g.outcomes[1]!.done);
});

test('cleanupLocalJson: a report line per thing and a done line, all with host and index', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-across-'));
  try {
    mkdirSync(join(dir, 'shm'));
    mkdirSync(join(dir, 'tmp'));
    const lines: string[] = [];
    const result = await cleanupLocalJson((l) => lines.push(l), { dryRun: true, shmDir: join(dir, 'shm'), tmpDir: join(dir, 'tmp') }, { SLURM_PROCID: '4' });
    assert.ok(result);
    const recs = lines.map((l) => parseRecord(l));
    assert.equal(recs.at(-1), { dragonCleanup: 1, host: hostname(), index: 4, type: 'done', removed: 0, failed: 0, kept: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the per-node command line: this node binary, bin/dragon-cleanup.js, --local --json', () => {
  const argv = cleanupArgv(true);
  assert.is(argv[0], process.execPath);
  assert.match(argv[1]!, /\/bin\/dragon-cleanup\.js$/);
  assert.equal(argv.slice(2), ['--local', '--json', '--dry-run']);
});

test('dragon-cleanup --local --json --dry-run prints records; outside an allocation it cleans this node', async () => {
  const env = cleanEnv();
  let r = await execa(process.execPath, [bin('dragon-cleanup'), '--local', '--json', '--dry-run'], { env, extendEnv: false, reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  const recs = r.stdout.split('\n').map(parseRecord);
  assert.ok(recs.every(Boolean), r.stdout);
  assert.is(recs.at(-1)!.type, 'done');
  r = await execa(process.execPath, [bin('dragon-cleanup'), '--dry-run'], { env, extendEnv: false, reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.not.match(r.stdout, /dragonCleanup/);
});

test('dragon-cleanup bad input: one line each, non-zero exit', async () => {
  const env = cleanEnv();
  const cases: [string[], RegExp, number][] = [
    [['--wlm', 'slurm'], /^dragon-cleanup: --wlm slurm: this is not inside a Slurm job/, 2],
    [['--hostfile', '/nonexistent/hosts'], /^dragon-cleanup: --hostfile \/nonexistent\/hosts does not exist/, 2],
    [['--timeout', 'soon'], /^dragon-cleanup: --timeout soon: not a duration/, 2],
    [['--local', '--hosts', 'a'], /^dragon-cleanup: --hosts=a cannot also be provided when using --local/, 2],
    findOnPath('ssh', env)
      ? [['--hosts', 'nosuchhost.invalid', '--dry-run'], /^dragon-cleanup: no report from nosuchhost\.invalid: cannot reach host nosuchhost\.invalid: its name does not resolve/, 1]
      : [['--hosts', 'nosuchhost.invalid', '--dry-run'], /^dragon-cleanup: ssh not found on PATH/, 1],
  ];
  for (const [args, want, code] of cases) {
    const r = await execa(process.execPath, [bin('dragon-cleanup'), ...args], { env, extendEnv: false, reject: false, timeout: 30_000 });
    assert.match(r.stderr, want, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.is(r.exitCode, code, args.join(' '));
  }
});

test.run();
