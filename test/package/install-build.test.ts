// The install script's build (`make -C native/libdragon`) on a machine
// without libfabric: it succeeds, builds no transport agent, and says so in
// one line naming what to install. pkg-config is pointed at an empty
// directory, which is what it sees where libfabric-dev is not installed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('install build');

test('without libfabric: one line says cross-node channels are off and what to install', () => {
  const r = spawnSync('make', ['-s', '-C', join(root, 'native/libdragon')], {
    encoding: 'utf8',
    env: { ...process.env, PKG_CONFIG_LIBDIR: '/nonexistent', PKG_CONFIG_PATH: '' },
  });
  assert.is(r.status, 0, r.stderr);
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line, got:\n${r.stdout}${r.stderr}`);
  assert.match(lines[0]!, /^libdragon: libfabric not found .*install libfabric-dev.*: cross-node channels off$/);
});

test.run();
