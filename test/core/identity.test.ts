// Run-time identity: DRAGON_RT_UID (hex) or a random id exported to
// children; DRAGON_PUID or the pid.
import * as assert from 'uvu/assert';
import { exitOf, spawnFixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('identity');

async function identity(env: NodeJS.ProcessEnv): Promise<any> {
  const child = spawnFixture('identity', [], env);
  assert.is(await exitOf(child), 0);
  return JSON.parse(child.output());
}

test('DRAGON_RT_UID and DRAGON_PUID are used when set', async () => {
  const r = await identity({ DRAGON_RT_UID: 'ABC123', DRAGON_PUID: '77' });
  assert.is(r.rtid, 'abc123');
  assert.is(r.puid, '77');
});

test('without DRAGON_RT_UID a random 48-bit id is chosen and exported', async () => {
  const a = await identity({ DRAGON_RT_UID: '', DRAGON_PUID: '' });
  const b = await identity({ DRAGON_RT_UID: '', DRAGON_PUID: '' });
  assert.match(a.rtid, /^[0-9a-f]{1,12}$/);
  assert.is.not(a.rtid, b.rtid);
  assert.is(a.inherited, a.rtid, 'children inherit it through process.env');
  assert.is(a.puid, String(a.pid));
});

test('a malformed DRAGON_RT_UID is a clear error', async () => {
  for (const bad of ['xyz', '0', '-1']) {
    const r = await identity({ DRAGON_RT_UID: bad });
    assert.is(r.error, 'DRAGON_ERR_BAD_ENV');
    assert.match(r.message, /DRAGON_RT_UID/);
  }
});

test.run();
