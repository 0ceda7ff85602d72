// The srun line and its environment, and the Slurm node list. No srun is
// run: argv building needs none (a stand-in `srun` file only has to exist
// on PATH); the cluster tests run the real one.
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { detectAllocation, launchPlans, selectNodes } from '../../src/runtime/wlm/index.js';
import { SLURM_SIZING_NAMES, isSlurmSizingVar, slurmNodes } from '../../src/runtime/wlm/slurm.js';
import type { Allocation } from '../../src/runtime/wlm/types.js';
import { suite } from '../helpers/suite.js';
import { oneLine, scratch } from './util.js';

const test = suite('wlm slurm');
let dir: string;
let bin: string;
let tmp: ReturnType<typeof scratch>;

const job: Allocation = { kind: 'slurm', nodes: ['node1', 'node2', 'node3'], jobId: '42' };
const argv = ['/usr/bin/node', '/abs/backend/main.js'];
const secrets = { DRAGON_TOKEN: 'tok-secret-123', DRAGON_BACKEND: '{"v":1}' };

test.before(() => {
  tmp = scratch();
  dir = tmp.dir;
  bin = tmp.bin;
  tmp.tool('srun', 'exit 99');
});
test.after(() => tmp.remove());

const callerEnv = () => ({
  PATH: bin,
  HOME: '/home/u',
  SLURM_JOB_ID: '42',
  SLURM_JOB_NODELIST: 'node[1-3]',
  SLURM_JOB_NUM_NODES: '3',
  SLURM_CPUS_PER_TASK: '4',
  SRUN_CPUS_PER_TASK: '4',
  SLURM_TRES_PER_TASK: 'cpu:4',
  SLURM_MEM_PER_CPU: '1000',
  SLURM_MEM_PER_NODE: '8000',
  SLURM_DISTRIBUTION: 'plane=2',
  SLURM_NTASKS: '24',
  SLURM_NPROCS: '24',
  SLURM_NTASKS_PER_NODE: '8',
  SLURM_CPU_BIND: 'cores',
  SLURM_CPU_BIND_TYPE: 'mask_cpu:',
  SLURM_HINT: 'nomultithread',
  SLURM_GPUS_PER_TASK: '1',
  SLURM_LABELIO: '1',
  SLURM_CPUS_ON_NODE: '8',
  CUDA_VISIBLE_DEVICES: '0,1',
  MY_VAR: 'kept',
});

test('all nodes: the one srun line of the brief, no --nodelist', async () => {
  const plans = await launchPlans(job, job.nodes, argv, callerEnv(), secrets);
  assert.is(plans.length, 1);
  const p = plans[0]!;
  assert.is(p.command, join(bin, 'srun'));
  assert.equal(p.args, [
    '--nodes=3',
    '--ntasks=3',
    '--ntasks-per-node=1',
    '--overlap',
    '--export=ALL',
    '--mpi=none',
    '--input=none',
    '--cpu-bind=none',
    '--',
    ...argv,
  ]);
  assert.is(p.stdin, null);
});

test('env: sizing variables gone, allocation facts kept, secrets in env and never in argv', async () => {
  const [p] = await launchPlans(job, job.nodes, argv, callerEnv(), secrets);
  for (const k of Object.keys(p!.env)) assert.not.ok(isSlurmSizingVar(k), `${k} should be unset`);
  for (const k of ['SLURM_CPUS_PER_TASK', 'SRUN_CPUS_PER_TASK', 'SLURM_MEM_PER_CPU', 'SLURM_DISTRIBUTION', 'SLURM_NTASKS_PER_NODE', 'SLURM_CPU_BIND_TYPE', 'SLURM_HINT', 'SLURM_LABELIO']) {
    assert.is(p!.env[k], undefined, k);
  }
  assert.is(p!.env.SLURM_JOB_ID, '42');
  assert.is(p!.env.SLURM_CPUS_ON_NODE, '8');
  assert.is(p!.env.CUDA_VISIBLE_DEVICES, '0,1');
  assert.is(p!.env.MY_VAR, 'kept');
  assert.is(p!.env.DRAGON_TOKEN, secrets.DRAGON_TOKEN);
  assert.is(p!.env.DRAGON_BACKEND, secrets.DRAGON_BACKEND);
  assert.not.ok(p!.args.join(' ').includes('tok-secret-123'));
  assert.ok(SLURM_SIZING_NAMES.includes('SLURM_MEM_PER_GPU'));
});

test('a subset (-N 2) adds --nodelist with exactly those nodes', async () => {
  const nodes = selectNodes(job, 2);
  assert.equal(nodes, ['node1', 'node2']);
  const [p] = await launchPlans(job, nodes, argv, callerEnv(), secrets);
  assert.ok(p!.args.includes('--nodes=2'));
  assert.ok(p!.args.includes('--ntasks=2'));
  assert.ok(p!.args.includes('--nodelist=node1,node2'));
  assert.ok(p!.args.indexOf('--nodelist=node1,node2') < p!.args.indexOf('--'));
});

test('srun missing from PATH: one line that names srun and the fix', async () => {
  const e = await oneLine(launchPlans(job, job.nodes, argv, { ...callerEnv(), PATH: dir }, secrets));
  assert.match(e.message, /^srun not found on PATH/);
  assert.match(e.message, /--wlm local/);
});

test('nodes outside the allocation are refused', async () => {
  const e = await oneLine(launchPlans(job, ['node9'], argv, callerEnv(), secrets));
  assert.match(e.message, /node9 is not in the allocation \(node\[1-3\]\)/);
});

test('selectNodes: 0 = all; more than the allocation is one line with the count and the names', async () => {
  assert.equal(selectNodes(job, 0), job.nodes);
  assert.equal(selectNodes(job, 3), job.nodes);
  const e = await oneLine(() => selectNodes(job, 5));
  assert.is(e.code, 'DRAGON_ERR_USAGE');
  assert.match(e.message, /^-N 5: the allocation has 3 nodes \(node\[1-3\]\)\. Ask for at most 3/);
  assert.match(e.message, /salloc -N 5/);
  const local = await oneLine(() => selectNodes({ kind: 'local', nodes: ['me'], jobId: '' }, 2));
  assert.match(local.message, /^-N 2: without an allocation there is 1 node \(me\)/);
  await oneLine(() => selectNodes(job, -1));
});

test('node list without scontrol: our expander; SLURM_JOB_NUM_NODES must agree', async () => {
  const env = { PATH: dir, SLURM_JOB_ID: '42', SLURM_JOB_NODELIST: 'node[1-3],gpu[01-02]', SLURM_JOB_NUM_NODES: '5' };
  assert.equal(await slurmNodes(env), ['node1', 'node2', 'node3', 'gpu01', 'gpu02']);
  const e = await oneLine(slurmNodes({ ...env, SLURM_JOB_NUM_NODES: '4' }));
  assert.match(e.message, /names 5 nodes but SLURM_JOB_NUM_NODES=4/);
  const none = await oneLine(slurmNodes({ PATH: dir, SLURM_JOB_ID: '42' }));
  assert.match(none.message, /SLURM_JOB_NODELIST is not/);
});

test('detection: SLURM_JOB_ID -> slurm (nodes, job id); --wlm slurm outside a job is one line', async () => {
  const a = await detectAllocation({ env: { PATH: dir, SLURM_JOB_ID: '7', SLURM_JOB_NODELIST: 'c[1-2]', SLURM_JOB_NUM_NODES: '2' } });
  assert.equal(a, { kind: 'slurm', nodes: ['c1', 'c2'], jobId: '7' });
  const e = await oneLine(detectAllocation({ wlm: 'slurm', env: { PATH: dir } }));
  assert.is(e.code, 'DRAGON_ERR_USAGE');
  assert.match(e.message, /^--wlm slurm: this is not inside a Slurm job \(SLURM_JOB_ID is not set\)\. Run inside an allocation/);
});

test.run();
