// PBS: PBS_NODEFILE reading, the mpiexec line of each flavour (the flavour
// comes from a stand-in `mpiexec` that prints the version banner of that
// MPI: nothing is launched), the pbsdsh fallback and its secrets file.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { detectAllocation, launchPlans } from '../../src/runtime/wlm/index.js';
import { flavourFromVersion, parseNodefile } from '../../src/runtime/wlm/pbs.js';
import { parseSecrets } from '../../src/runtime/wlm/secrets.js';
import type { Allocation } from '../../src/runtime/wlm/types.js';
import { suite } from '../helpers/suite.js';
import { oneLine, scratch } from './util.js';

const test = suite('wlm pbs');
let tmp: ReturnType<typeof scratch>;
let nodefile: string;

const job: Allocation = { kind: 'pbs', nodes: ['n1', 'n2.cluster', 'n3'], jobId: '9.pbs' };
const argv = ['/usr/bin/node', '/abs/backend/main.js'];
const secrets = { DRAGON_TOKEN: 'tok-secret-456' };

test.before(() => {
  tmp = scratch();
  nodefile = join(tmp.dir, 'nodefile');
  writeFileSync(nodefile, 'N1\nn1\nn1\nn2.cluster\nn2.cluster\n# comment\n\nn3 \nn1.cluster\nN3\n');
});
test.after(() => tmp.remove());

const env = (extra: Record<string, string> = {}) => ({ PATH: tmp.bin, HOME: tmp.dir, PBS_JOBID: '9.pbs', PBS_NODEFILE: nodefile, DRAGON_LOG_LEVEL: 'info', ...extra });

test('PBS_NODEFILE: one line per slot -> unique nodes in order, lower-cased, domain-insensitive duplicates', () => {
  const nf = parseNodefile(readFileSync(nodefile, 'utf8'));
  assert.equal(nf.nodes, ['n1', 'n2.cluster', 'n3']);
  assert.equal([...nf.firstLine], [['n1', 0], ['n2.cluster', 3], ['n3', 7]]);
});

test('detection: PBS_JOBID/PBS_NODEFILE -> pbs; --wlm pbs outside a job, or an unreadable nodefile, is one line', async () => {
  assert.equal(await detectAllocation({ env: env() }), job);
  const e = await oneLine(detectAllocation({ wlm: 'pbs', env: { PATH: tmp.bin } }));
  assert.match(e.message, /^--wlm pbs: this is not inside a PBS job/);
  const gone = await oneLine(detectAllocation({ env: { PBS_NODEFILE: join(tmp.dir, 'nope') } }));
  assert.match(gone.message, /PBS_NODEFILE=.*nope cannot be read \(ENOENT\)/);
});

test('flavour from the version banner', () => {
  assert.is(flavourFromVersion('HYDRA build details:\n    Version: 4.0.2'), 'hydra');
  assert.is(flavourFromVersion('Intel(R) MPI Library for Linux* OS, Version 2021.10'), 'hydra');
  assert.is(flavourFromVersion('mpiexec (OpenRTE) 4.1.2\n\nReport bugs to http://www.open-mpi.org/community/help/'), 'openmpi');
  assert.is(flavourFromVersion('mpiexec (Open MPI) 5.0.3'), 'openmpi');
  assert.is(flavourFromVersion('mpiexec version 1.2.12 (PALS)'), 'pals');
  assert.is(flavourFromVersion('mpiexec version 1.2.12', '/opt/cray/pals/1.2/bin/mpiexec'), 'pals');
  assert.is(flavourFromVersion('something else'), undefined);
});

test('MPICH Hydra: -ppn 1 -hosts -bind-to none -genvall; secrets in env, not argv', async () => {
  tmp.tool('mpiexec', 'echo "HYDRA build details:"; echo "    Version: 4.0.2"');
  const plans = await launchPlans(job, job.nodes, argv, env(), secrets);
  assert.is(plans.length, 1);
  assert.equal(plans[0]!.args, ['-n', '3', '-ppn', '1', '-hosts', 'n1,n2.cluster,n3', '-bind-to', 'none', '-genvall', ...argv]);
  assert.is(plans[0]!.env.DRAGON_TOKEN, 'tok-secret-456');
  assert.not.ok(plans[0]!.args.join(' ').includes('tok-secret'));
});

test('PALS: --ppn 1 --hosts --cpu-bind none', async () => {
  tmp.tool('mpiexec', 'echo "mpiexec version 1.2.12 (PALS)"');
  const [p] = await launchPlans(job, ['n1', 'n3'], argv, env(), secrets);
  assert.equal(p!.args, ['-n', '2', '--ppn', '1', '--hosts', 'n1,n3', '--cpu-bind', 'none', ...argv]);
});

test('Open MPI: --map-by ppr:1:node, every variable forwarded by name with -x (values stay off argv)', async () => {
  tmp.tool('mpiexec', 'echo "mpiexec (OpenRTE) 4.1.2"');
  const [p] = await launchPlans(job, job.nodes, argv, env({ OMPI_MCA_x: '1' }), secrets);
  const a = p!.args;
  assert.equal(a.slice(0, 8), ['-n', '3', '--map-by', 'ppr:1:node', '--host', 'n1:1,n2.cluster:1,n3:1', '--bind-to', 'none']);
  assert.equal(a.slice(-2), argv);
  const forwarded = a.flatMap((x, i) => (a[i - 1] === '-x' ? [x] : []));
  for (const k of ['DRAGON_TOKEN', 'DRAGON_LOG_LEVEL', 'PATH', 'PBS_NODEFILE']) assert.ok(forwarded.includes(k), k);
  assert.not.ok(forwarded.includes('OMPI_MCA_x'));
  assert.not.ok(a.join(' ').includes('tok-secret'));
});

test('an mpiexec nobody knows: one line quoting its banner', async () => {
  tmp.tool('mpiexec', 'echo "weird launcher 0.1"');
  const e = await oneLine(launchPlans(job, job.nodes, argv, env(), secrets));
  assert.match(e.message, /is not an mpiexec dragon knows \(--version says "weird launcher 0\.1"\)/);
});

test('no mpiexec: pbsdsh -n <first line of the node> per node, settings in a 0600 file named on the line', async () => {
  const s2 = scratch();
  try {
    const pbsdsh = s2.tool('pbsdsh', 'exit 99');
    const plans = await launchPlans(job, job.nodes, argv, { ...env(), PATH: s2.bin }, secrets);
    assert.is(plans.length, 3);
    assert.equal(plans.map((p) => p.args.slice(0, 2)), [['-n', '0'], ['-n', '3'], ['-n', '7']]);
    const file = plans[0]!.files![0]!;
    for (const [i, p] of plans.entries()) {
      assert.is(p.command, pbsdsh);
      assert.equal(p.args.slice(2, 5), ['--', '/bin/sh', '-c']);
      assert.ok(p.args[5]!.includes(`DRAGON_NODE_INDEX=${i} DRAGON_SECRETS_FILE=${file}`), p.args[5]);
      assert.not.ok(p.args.join(' ').includes('tok-secret'));
      assert.is(p.env.DRAGON_TOKEN, undefined);
    }
    assert.is(statSync(file).mode & 0o777, 0o600);
    assert.is(statSync(join(tmp.dir, '.dragon')).mode & 0o777, 0o700);
    const sent = parseSecrets(readFileSync(file, 'utf8'));
    assert.equal(sent, { DRAGON_LOG_LEVEL: 'info', DRAGON_TOKEN: 'tok-secret-456' });
    const none = await oneLine(launchPlans(job, job.nodes, argv, { ...env(), PATH: tmp.dir }, secrets));
    assert.match(none.message, /^neither mpiexec nor pbsdsh is on PATH/);
  } finally {
    s2.remove();
  }
});

test.run();
