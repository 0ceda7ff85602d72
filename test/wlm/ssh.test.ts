// SSH: hostfile and --hosts reading, the ssh line, quoting for the remote
// shell (checked by handing the command to real shells, as sshd does with
// `$SHELL -c`), the settings text on stdin, and the failure messages.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as assert from 'uvu/assert';
import { detectAllocation, explainLaunchFailure, launchPlans } from '../../src/runtime/wlm/index.js';
import { remoteCommand, shellQuote } from '../../src/runtime/wlm/remote.js';
import { formatSecrets, loadSecrets, parseSecrets } from '../../src/runtime/wlm/secrets.js';
import { parseHostfile } from '../../src/runtime/wlm/ssh.js';
import { suite } from '../helpers/suite.js';
import { oneLine, scratch } from './util.js';

const test = suite('wlm ssh');
let tmp: ReturnType<typeof scratch>;
const shells = ['/bin/sh', '/bin/bash', '/usr/bin/dash', '/bin/csh', '/usr/bin/tcsh', '/usr/bin/zsh'].filter((s) => spawnSync(s, ['-c', 'true']).status === 0);

test.before(() => {
  tmp = scratch();
  tmp.tool('ssh', 'exit 99');
});
test.after(() => tmp.remove());

test('hostfile: one per line, # comments, blank lines, "host slots=4" and "host:4", duplicates dropped', () => {
  assert.equal(parseHostfile('# cluster\nnode1\n\nnode2 slots=4\n  node3:8  # big one\nnode1\n'), ['node1', 'node2', 'node3']);
});

test('detection: --hosts / --hostfile -> ssh (hosts win over a Slurm job); missing or empty hostfile is one line', async () => {
  const hf = join(tmp.dir, 'hosts');
  writeFileSync(hf, 'a\nb\n');
  assert.equal(await detectAllocation({ hostfile: hf, hosts: ['c,a'], env: { SLURM_JOB_ID: '1' } }), { kind: 'ssh', nodes: ['a', 'b', 'c'], jobId: '' });
  let e = await oneLine(detectAllocation({ hostfile: join(tmp.dir, 'nope'), env: {} }));
  assert.match(e.message, /^--hostfile .*nope does not exist\. Give a file with one host name per line$/);
  writeFileSync(hf, '# nothing\n\n');
  e = await oneLine(detectAllocation({ hostfile: hf, env: {} }));
  assert.match(e.message, /names no host/);
  e = await oneLine(detectAllocation({ wlm: 'ssh', env: {} }));
  assert.match(e.message, /^--wlm ssh needs the hosts to use\. Pass --hostfile FILE/);
  e = await oneLine(detectAllocation({ wlm: 'slurm', hosts: ['a'], env: { SLURM_JOB_ID: '1' } }));
  assert.match(e.message, /go with --wlm ssh/);
  e = await oneLine(detectAllocation({ hosts: ['-oProxyCommand=x'], env: {} }));
  assert.match(e.message, /is not a host name/);
  e = await oneLine(detectAllocation({ wlm: 'lsf' as never, env: {} }));
  assert.match(e.message, /^--wlm="lsf": expected one of local, slurm, pbs, ssh$/);
});

test('the ssh line: one per host, BatchMode, the index on the command line, settings on stdin only', async () => {
  const env = { PATH: tmp.bin, DRAGON_LOG_LEVEL: 'debug', HOME: '/h' };
  const plans = await launchPlans({ kind: 'ssh', nodes: ['a', 'b'], jobId: '' }, ['a', 'b'], ['/opt/node', '/x y/main.js'], env, { DRAGON_TOKEN: 'tok-789' });
  assert.is(plans.length, 2);
  assert.equal(plans[1]!.args.slice(0, 7), ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-T', '--', 'b']);
  assert.is(plans[1]!.args[7], `cd ${shellQuote(process.cwd())} && exec env DRAGON_NODE_INDEX=1 DRAGON_SECRETS_STDIN=1 /opt/node '/x y/main.js'`);
  assert.equal(parseSecrets(plans[0]!.stdin!), { DRAGON_LOG_LEVEL: 'debug', DRAGON_TOKEN: 'tok-789' });
  for (const p of plans) {
    assert.not.ok(p.args.join(' ').includes('tok-789'));
    assert.is(p.env.DRAGON_TOKEN, undefined);
  }
  const e = await oneLine(launchPlans({ kind: 'ssh', nodes: ['a'], jobId: '' }, ['a'], ['/opt/node'], { PATH: tmp.dir }, {}));
  assert.match(e.message, /^ssh not found on PATH/);
});

const WORDS = ['plain', '', 'two words', "it's", 'a"b', '$HOME', '`id`', 'x!y', '!!', "'", '\\', 'a\\b', 'tab\there', '=eq', '%1', '~', '*', 'é ü', ';&|<>()', "mix 'of' \"all\" $x !y"];

test(`shellQuote: every word comes back unchanged through ${shells.map((s) => s.split('/').pop()).join(', ')}`, () => {
  for (const sh of shells) {
    const cmd = `printf '%s\\n' ${WORDS.map(shellQuote).join(' ')}`;
    const r = spawnSync(sh, ['-c', cmd], { encoding: 'utf8', env: { HOME: '/home/zz', PATH: process.env.PATH } });
    assert.is(r.status, 0, `${sh}: ${r.stderr}`);
    assert.equal(r.stdout.split('\n').slice(0, -1), WORDS, sh);
  }
  assert.is(shellQuote('/abs/path-1.js'), '/abs/path-1.js');
  assert.throws(() => shellQuote('a\nb'), /newline/);
});

test('remoteCommand enters the directory and execs argv with the variables (run by a real shell)', () => {
  const d = join(tmp.dir, "odd dir 'x' !");
  mkdirSync(d);
  const cmd = remoteCommand(d, { DRAGON_NODE_INDEX: '3' }, [process.execPath, '-e', 'console.log(process.cwd(), process.env.DRAGON_NODE_INDEX, process.argv.length)']);
  for (const sh of shells) {
    const r = spawnSync(sh, ['-c', cmd], { encoding: 'utf8' });
    assert.is(r.stdout.trim(), `${d} 3 1`, `${sh}: ${r.stderr}`);
  }
});

test('settings text: any value round-trips; malformed text is refused in one line', () => {
  const values = { A: 'x', B: '', C: 'line1\nline2=3 \u00e9', D_1: '{"json":true}' };
  const text = formatSecrets(values);
  assert.match(text, /^A=eA==\nB=\nC=/);
  assert.ok(text.endsWith('\n\n'));
  assert.equal(parseSecrets(text), values);
  assert.equal(parseSecrets(`${text}ignored after the blank line`), values);
  assert.throws(() => parseSecrets('Welcome to node1!\n'), /not NAME=base64/);
  assert.throws(() => formatSecrets({ 'BAD NAME': 'x' }), /not a variable name/);
});

test('loadSecrets: from stdin (DRAGON_SECRETS_STDIN=1) into env, markers removed', async () => {
  const env: NodeJS.ProcessEnv = { DRAGON_SECRETS_STDIN: '1', KEEP: 'k' };
  const got = await loadSecrets(env, Readable.from([Buffer.from(formatSecrets({ DRAGON_TOKEN: 't' }))]));
  assert.equal(got, { DRAGON_TOKEN: 't' });
  assert.equal(env, { KEEP: 'k', DRAGON_TOKEN: 't' });
  const file = join(tmp.dir, 'secrets');
  writeFileSync(file, formatSecrets({ DRAGON_TOKEN: 'f' }));
  const env2: NodeJS.ProcessEnv = { DRAGON_SECRETS_FILE: file };
  await loadSecrets(env2, Readable.from([]));
  assert.equal(env2, { DRAGON_TOKEN: 'f' });
  const env3: NodeJS.ProcessEnv = { X: '1' };
  assert.equal(await loadSecrets(env3, Readable.from([])), {});
  assert.equal(env3, { X: '1' });
});

test('explainLaunchFailure: ssh 255 names the host; srun names the node; other exits say nothing', () => {
  assert.is(
    explainLaunchFailure('ssh', 255, 'ssh: Could not resolve hostname nodex: Name or service not known\n', 'nodex'),
    'cannot reach host nodex: its name does not resolve. Fix the name in --hostfile/--hosts',
  );
  assert.match(explainLaunchFailure('ssh', 255, 'ssh: connect to host node2 port 22: Connection refused\n')!, /^cannot reach host node2: connection refused\. /);
  assert.match(explainLaunchFailure('ssh', 255, 'user@node3: Permission denied (publickey).\n', 'node3')!, /^ssh to node3 was refused \(permission denied \(publickey\)\.\)\. Set up key-based login/);
  assert.match(explainLaunchFailure('ssh', 255, '', 'node4')!, /^ssh to node4 failed \(exit 255\)/);
  assert.is(explainLaunchFailure('ssh', 3, 'whatever'), null);
  assert.is(explainLaunchFailure('ssh', 0, ''), null);
  assert.is(explainLaunchFailure('slurm', 1, 'srun: error: node2: task 1: Exited with exit code 3\n'), 'the backend on node2 failed: exited with exit code 3');
  assert.is(explainLaunchFailure('slurm', 1, 'srun: error: node2: task 1: Killed\n'), 'the backend on node2 failed: killed');
  assert.match(explainLaunchFailure('slurm', 1, 'srun: error: Unable to create step for job 42: Requested node configuration is not available\n')!, /^srun could not start the backend on the nodes: Requested node configuration is not available\. Check -N/);
  assert.is(explainLaunchFailure('slurm', 1, 'srun: error: Node failure on node3\n'), 'node node3 failed (Slurm reports a node failure)');
  assert.is(explainLaunchFailure('slurm', 1, 'nothing recognisable'), null);
  assert.is(explainLaunchFailure('pbs', 255, 'ssh: connect to host n2 port 22: No route to host'), 'mpiexec cannot reach node n2: no route to host');
  for (const m of [explainLaunchFailure('ssh', 255, 'ssh: connect to host a port 22: x\nmore\n'), explainLaunchFailure('slurm', 1, 'srun: error: a: task 0: b\nsrun: error: c\n')]) {
    assert.not.match(m!, /\n/);
  }
});

test.run();
