// Settings: flag, then DRAGON_* variable, then default; one schema checks
// the merge, and an error names the flag or variable and what would be valid.
import * as assert from 'uvu/assert';
import { DragonError } from '../../src/runtime/errors/errors.js';
import { resolveConfig, type ConfigSources } from '../../src/runtime/config/resolve.js';
import { poolSizeBytes } from '../../src/runtime/config/text.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli config');
const resolve = (s: Partial<ConfigSources>) => resolveConfig({ script: 'app.mjs', env: {}, ...s });

function failure(s: Partial<ConfigSources>): DragonError {
  try {
    resolve(s);
  } catch (err) {
    assert.instance(err, DragonError);
    return err as DragonError;
  }
  throw new Error('expected an error');
}

test('defaults', () => {
  assert.equal(resolve({}), {
    v: 1, script: 'app.mjs', args: [], label: false, logLevel: 'warn', poolSize: '10%', gracePeriod: 2000, nodes: 0, heartbeatTimeout: 20000,
  });
});

test('multi-node settings: hosts as a list, heartbeat timeout as a duration, bad ones named', () => {
  const c = resolve({ env: { DRAGON_HOSTS: 'node1, node2,node3', DRAGON_HEARTBEAT_TIMEOUT: '3s' } });
  assert.equal(c.hosts, ['node1', 'node2', 'node3']);
  assert.is(c.heartbeatTimeout, 3000);
  assert.throws(() => resolve({ flags: { hosts: 'node1,bad host' } }), /--hosts.*expected host names separated by commas/);
  assert.throws(() => resolve({ flags: { heartbeatTimeout: 'soon' } }), /--heartbeat-timeout.*expected a duration/);
});

test('variables set what flags do not; flags win', () => {
  const env = { DRAGON_LABEL: 'yes', DRAGON_LOG_LEVEL: 'INFO', DRAGON_POOL_SIZE: '2G', DRAGON_GRACE_PERIOD: '1.5s', DRAGON_NODES: '4', DRAGON_WLM: 'local' };
  const c = resolve({ env });
  assert.equal([c.label, c.logLevel, c.poolSize, c.gracePeriod, c.nodes, c.wlm], [true, 'info', '2G', 1500, 4, 'local']);
  const f = resolve({ env, flags: { label: false, poolSize: '25%', gracePeriod: '500ms', nodes: '1' } });
  assert.equal([f.label, f.logLevel, f.poolSize, f.gracePeriod, f.nodes], [false, 'info', '25%', 500, 1]);
});

test('an empty variable counts as unset', () => {
  assert.is(resolve({ env: { DRAGON_POOL_SIZE: '', DRAGON_NODES: '' } }).poolSize, '10%');
});

test('spellings of booleans and durations', () => {
  for (const [t, v] of [['1', true], ['on', true], ['TRUE', true], ['0', false], ['off', false], ['no', false]] as const) {
    assert.is(resolve({ env: { DRAGON_LABEL: t } }).label, v, t);
  }
  for (const [t, ms] of [['2s', 2000], ['250ms', 250], ['2000', 2000], ['1m', 60000], ['0', 0]] as const) {
    assert.is(resolve({ flags: { gracePeriod: t } }).gracePeriod, ms, t);
  }
});

const bad: [Partial<ConfigSources>, string][] = [
  [{ env: { DRAGON_POOL_SIZE: 'lots' } }, 'DRAGON_POOL_SIZE="lots": expected a size like 512M, 2G, or a share like 25%. Fix or unset DRAGON_POOL_SIZE'],
  [{ flags: { poolSize: 'lots' } }, '--pool-size="lots": expected a size like 512M, 2G, or a share like 25%'],
  [{ flags: { poolSize: '150%' } }, '--pool-size="150%": expected a share between 0% and 100%'],
  [{ flags: { poolSize: '0' } }, '--pool-size="0": expected a size above 0'],
  [{ env: { DRAGON_LABEL: 'maybe' } }, 'DRAGON_LABEL="maybe": expected true or false'],
  [{ env: { DRAGON_LOG_LEVEL: 'loud' } }, 'DRAGON_LOG_LEVEL="loud": expected one of error, warn, info, debug'],
  [{ flags: { gracePeriod: 'soon' } }, '--grace-period="soon": expected a duration like 2s'],
  [{ flags: { gracePeriod: '11m' } }, '--grace-period="11m": expected a duration'],
  [{ env: { DRAGON_NODES: '-1' } }, 'DRAGON_NODES="-1": expected a whole number of nodes'],
  [{ flags: { nodes: 'two' } }, '--nodes="two": expected a whole number of nodes'],
  [{ env: { DRAGON_WLM: 'lsf' } }, 'DRAGON_WLM="lsf": expected one of local, slurm, pbs, ssh'],
  [{ script: undefined }, 'missing SCRIPT'],
];
for (const [sources, message] of bad) {
  test(`error: ${message.split(':')[0]}`, () => {
    const err = failure(sources);
    assert.ok(err.message.startsWith(message), err.message);
    assert.not.match(err.message, /\n/, 'one line');
    assert.ok(['DRAGON_ERR_BAD_CONFIG', 'DRAGON_ERR_USAGE'].includes(err.code), err.code);
  });
}

test('a flag is blamed, not the variable it overrides', () => {
  const err = failure({ env: { DRAGON_NODES: '2' }, flags: { nodes: 'x' } });
  assert.match(err.message, /^--nodes="x"/);
});

test('poolSizeBytes', () => {
  assert.is(poolSizeBytes('512M', 0), 512 * 2 ** 20);
  assert.is(poolSizeBytes('2G', 0), 2 * 2 ** 30);
  assert.is(poolSizeBytes('1.5GiB', 0), 1.5 * 2 ** 30);
  assert.is(poolSizeBytes('2GB', 0), 2 * 2 ** 30);
  assert.is(poolSizeBytes('4096', 0), 4096);
  assert.is(poolSizeBytes('25%', 1000), 250);
  assert.is(poolSizeBytes('10%', 24 * 2 ** 30), Math.floor(2.4 * 2 ** 30));
});

test.run();
