// A backend's view of itself: its index in the step (from whichever
// launcher started it) and what it reports about its node.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { localAllocation, localPlan } from '../../src/runtime/wlm/local.js';
import { affinityFromStatus, memoryLimit, parseCpuList, visibleGpus } from '../../src/runtime/wlm/node-info.js';
import { detectAllocation, launchPlans, nodeIndexFromEnv, nodeInfo } from '../../src/runtime/wlm/index.js';
import { suite } from '../helpers/suite.js';
import { oneLine, scratch } from './util.js';

const test = suite('wlm node');
let tmp: ReturnType<typeof scratch>;
test.before(() => {
  tmp = scratch();
});
test.after(() => tmp.remove());

test('nodeIndexFromEnv: ours first, then each launcher\'s rank; 0 when none', async () => {
  assert.is(nodeIndexFromEnv({}), 0);
  assert.is(nodeIndexFromEnv({ SLURM_PROCID: '2', SLURM_NODEID: '5' }), 2);
  assert.is(nodeIndexFromEnv({ SLURM_NODEID: '5' }), 5);
  assert.is(nodeIndexFromEnv({ PALS_RANKID: '3', PMI_RANK: '4' }), 3);
  assert.is(nodeIndexFromEnv({ PMI_RANK: '4' }), 4);
  assert.is(nodeIndexFromEnv({ OMPI_COMM_WORLD_RANK: '6' }), 6);
  assert.is(nodeIndexFromEnv({ PBS_VNODENUM: '7' }), 7);
  assert.is(nodeIndexFromEnv({ DRAGON_NODE_INDEX: '1', SLURM_PROCID: '2' }), 1);
  assert.is(nodeIndexFromEnv({ SLURM_PROCID: 'x', PMI_RANK: '9' }), 9, 'a launcher\'s odd value is skipped');
  const e = await oneLine(() => nodeIndexFromEnv({ DRAGON_NODE_INDEX: '-1' }));
  assert.is(e.code, 'DRAGON_ERR_BAD_ENV');
});

test('nodeInfo: this machine, sane numbers', () => {
  const info = nodeInfo();
  assert.is(info.host, hostname());
  assert.ok(info.cpus >= 1 && info.cpus <= availableParallelism() * 4, String(info.cpus));
  assert.ok(info.affinity.length === 0 || info.affinity.length === info.cpus);
  assert.ok(info.affinity.every((c) => Number.isInteger(c) && c >= 0));
  assert.ok(info.memoryLimit > 0 && info.memoryLimit <= totalmem());
  assert.ok(Array.isArray(info.gpus));
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) nodeInfo();
  console.log(`nodeInfo: ${((performance.now() - t0) / 20).toFixed(3)} ms per call`);
});

test('CPU lists and affinity from /proc/self/status', () => {
  assert.equal(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
  assert.equal(parseCpuList('5\n'), [5]);
  assert.equal(affinityFromStatus('Name:\tnode\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,4\n'), [0, 1, 4]);
  assert.equal(affinityFromStatus(undefined), []);
});

test('memory limit: the tightest of the cgroup and its parents (v2 and v1), capped by the machine', () => {
  const cg = join(tmp.dir, 'cg');
  mkdirSync(join(cg, 'job/step'), { recursive: true });
  writeFileSync(join(cg, 'job/memory.max'), '1073741824\n');
  writeFileSync(join(cg, 'job/step/memory.max'), 'max\n');
  writeFileSync(join(tmp.dir, 'self-v2'), '0::/job/step\n');
  assert.is(memoryLimit(join(tmp.dir, 'self-v2'), cg, 8 * 2 ** 30), 2 ** 30);
  assert.is(memoryLimit(join(tmp.dir, 'self-v2'), cg, 512 << 20), 512 << 20);
  mkdirSync(join(cg, 'memory/slurm/uid'), { recursive: true });
  writeFileSync(join(cg, 'memory/slurm/uid/memory.limit_in_bytes'), '2147483648\n');
  writeFileSync(join(cg, 'memory/slurm/memory.limit_in_bytes'), '9223372036854771712\n');
  writeFileSync(join(tmp.dir, 'self-v1'), '12:cpuset:/slurm/uid\n11:memory:/slurm/uid\n');
  assert.is(memoryLimit(join(tmp.dir, 'self-v1'), cg, 8 * 2 ** 30), 2 * 2 ** 30);
  assert.is(memoryLimit(join(tmp.dir, 'missing'), cg, 123), 123);
});

test('GPUs: the visibility variables first (empty = none), else /dev/nvidiaN', () => {
  assert.equal(visibleGpus({ CUDA_VISIBLE_DEVICES: '0,2' }), ['0', '2']);
  assert.equal(visibleGpus({ CUDA_VISIBLE_DEVICES: '' }), []);
  assert.equal(visibleGpus({ ROCR_VISIBLE_DEVICES: 'GPU-abc' }), ['GPU-abc']);
  assert.equal(visibleGpus({ ZE_AFFINITY_MASK: '0.0,1' }), ['0.0', '1']);
  const dev = join(tmp.dir, 'dev');
  mkdirSync(dev);
  for (const n of ['nvidia1', 'nvidia0', 'nvidiactl', 'nvidia-uvm', 'nvidia10']) writeFileSync(join(dev, n), '');
  assert.equal(visibleGpus({}, dev), ['0', '1', '10']);
  assert.equal(visibleGpus({}, join(tmp.dir, 'nodev')), []);
});

test('local: no allocation variables -> this machine; the plan runs argv with index 0', async () => {
  assert.equal(await detectAllocation({ env: {} }), { kind: 'local', nodes: [hostname()], jobId: '' });
  assert.equal(localAllocation().nodes, [hostname()]);
  const [p] = await launchPlans(localAllocation(), [hostname()], ['/n', 'a.js'], { X: '1' }, { DRAGON_TOKEN: 't' });
  assert.equal(p, localPlan(['/n', 'a.js'], { X: '1' }, { DRAGON_TOKEN: 't' }));
  assert.equal({ command: p!.command, args: p!.args, env: p!.env }, { command: '/n', args: ['a.js'], env: { X: '1', DRAGON_TOKEN: 't', DRAGON_NODE_INDEX: '0' } });
});

test.run();
