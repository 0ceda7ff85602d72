// The command line as a user meets it, through bin/dragon.js: help,
// version, what reaches the script, and bad input: one line on stderr
// saying what and how to fix, exit code 2, nothing started or left behind.
import * as assert from 'uvu/assert';
import { processesMarked, run } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli command line');

test('--help shows the usage and every flag; exit 0', async () => {
  const r = await run('dragon', ['--help']);
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, 'USAGE\n  $ dragon [FLAGS] SCRIPT [ARGS...]');
  for (const flag of ['--[no-]label', '--log-level', '--pool-size', '--grace-period', '-N, --nodes', '--wlm', 'DRAGON_POOL_SIZE']) {
    assert.match(r.stdout, flag);
  }
  const c = await run('dragon-cleanup', ['--help']);
  assert.is(c.exitCode, 0, c.stderr);
  assert.match(c.stdout, 'USAGE\n  $ dragon-cleanup [--dry-run]');
});

test('--version', async () => {
  const r = await run('dragon', ['--version']);
  assert.is(r.exitCode, 0);
  assert.match(r.stdout, /^dragonhpc\/\d+\.\d+\.\d+ /);
});

test('everything after SCRIPT is the script\'s; flags beat variables', async () => {
  const r = await run('dragon', ['--print-config', '--label', '-N', '2', 'app.mjs', '-N', '3', '--help', '--', '--x', '--label'], {
    DRAGON_NODES: '5',
    DRAGON_POOL_SIZE: '1G',
  });
  assert.is(r.exitCode, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.is(c.script, 'app.mjs');
  assert.equal(c.args, ['-N', '3', '--help', '--', '--x', '--label']);
  assert.equal([c.nodes, c.label, c.poolSize], [2, true, '1G']);
});

test('"--" lets SCRIPT start with a dash', async () => {
  const r = await run('dragon', ['--print-config', '--', '-odd.mjs', 'a']);
  assert.is(r.exitCode, 0, r.stderr);
  assert.equal([JSON.parse(r.stdout).script, JSON.parse(r.stdout).args], ['-odd.mjs', ['a']]);
});

// [args, env, the start of the one line on stderr]
const bad: [string[], Record<string, string>, string][] = [
  [['--bogus', 'app.mjs'], {}, 'dragon: unknown flag --bogus: see dragon --help'],
  [[], {}, 'dragon: missing SCRIPT: give the file to run'],
  [['--label'], {}, 'dragon: missing SCRIPT'],
  [['--pool-size'], {}, 'dragon: Flag --pool-size expects a value'],
  [['--pool-size', 'lots', 'app.mjs'], {}, 'dragon: --pool-size="lots": expected a size like 512M, 2G, or a share like 25%'],
  [['app.mjs'], { DRAGON_POOL_SIZE: 'lots' }, 'dragon: DRAGON_POOL_SIZE="lots": expected a size like 512M, 2G, or a share like 25%. Fix or unset DRAGON_POOL_SIZE'],
  [['app.mjs'], { DRAGON_LABEL: 'maybe' }, 'dragon: DRAGON_LABEL="maybe": expected true or false'],
  [['-N', '1', 'app.mjs'], { DRAGON_GRACE_PERIOD: 'soon' }, 'dragon: DRAGON_GRACE_PERIOD="soon": expected a duration'],
  [['app.mjs'], { DRAGON_WARM_PROCESSES: '-3' }, 'dragon: DRAGON_WARM_PROCESSES="-3": expected a whole number from 0 (off) to 64. Fix or unset DRAGON_WARM_PROCESSES'],
  [['app.mjs'], { DRAGON_WARM_PROCESSES: 'lots' }, 'dragon: DRAGON_WARM_PROCESSES="lots": expected a whole number'],
  [['--log-level', 'loud', 'app.mjs'], {}, 'dragon: --log-level="loud": expected one of error, warn, info, debug'],
  [['--wlm=lsf', 'app.mjs'], {}, 'dragon: --wlm="lsf": expected one of local, slurm, pbs, ssh'],
];
for (const [args, env, line] of bad) {
  test(`bad input: dragon ${args.join(' ')} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`, async () => {
    const r = await run('dragon', args, env);
    assert.is(r.exitCode, 2, `exit code (stderr: ${r.stderr})`);
    assert.is(r.stdout, '');
    assert.ok(r.stderr.startsWith(line), r.stderr);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.equal(processesMarked(r.mark), [], 'nothing left running');
  });
}

test('dragon-cleanup: unknown flag is one line too', async () => {
  const r = await run('dragon-cleanup', ['--force']);
  assert.is(r.exitCode, 2);
  assert.ok(r.stderr.startsWith('dragon-cleanup: unknown flag --force'), r.stderr);
  assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
});

test.run();
