// Bad descriptors give a DragonError that says what is wrong.
import * as assert from 'uvu/assert';
import { Channel, DragonError, Lock, MemoryPool } from '../../src/index.js';
import { exitOf, spawnFixture, unhex } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('descriptors');

function codeOf(fn: () => unknown): DragonError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, DragonError);
    return err as DragonError;
  }
  throw new Error('expected a DragonError');
}

test('garbage, truncated and corrupted descriptors', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using ch = Channel.create({ pool, capacity: 1 });
  const good = ch.serialize();
  assert.is(good.length, 96);
  assert.is(Buffer.from(good.subarray(0, 4)).toString(), 'DGN1');
  let e = codeOf(() => Channel.attach(new Uint8Array(96)));
  assert.is(e.code, 'DRAGON_ERR_BAD_DESCRIPTOR');
  assert.match(e.message, /Channel.attach: not a valid descriptor/);
  assert.match(e.message, /exact bytes that serialize\(\) returned/);
  e = codeOf(() => Channel.attach(good.subarray(0, 50)));
  assert.is(e.code, 'DRAGON_ERR_BAD_DESCRIPTOR');
  assert.match(e.message, /50 bytes, a descriptor has 96/);
  const flipped = good.slice();
  flipped[40]! ^= 1;
  assert.is(codeOf(() => Channel.attach(flipped)).code, 'DRAGON_ERR_BAD_DESCRIPTOR');
  e = codeOf(() => Channel.attach('not bytes' as unknown as Uint8Array));
  assert.is(e.code, 'DRAGON_ERR_INVALID_ARGUMENT');
  assert.match(e.message, /Uint8Array/);
});

test('a descriptor of another kind names the class to use', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  using lock = Lock.create({ pool });
  let e = codeOf(() => Channel.attach(pool.serialize()));
  assert.is(e.code, 'DRAGON_ERR_WRONG_KIND');
  assert.match(e.message, /names a MemoryPool, not a Channel/);
  e = codeOf(() => MemoryPool.attach(lock.serialize()));
  assert.is(e.code, 'DRAGON_ERR_WRONG_KIND');
  e = codeOf(() => Channel.attach(lock.serialize()));
  assert.is(e.code, 'DRAGON_ERR_WRONG_KIND');
});

test('a descriptor of another run-time is refused clearly', async () => {
  // a process of another run-time makes a pool and prints its descriptor
  const child = spawnFixture('foreign-pool', [], { DRAGON_RT_UID: 'f00d' });
  let line = '';
  while (!line.includes('\n')) {
    await new Promise((r) => setTimeout(r, 10));
    line = child.output();
    if (child.exitCode !== null) break;
  }
  const desc = unhex(line.trim());
  try {
    let e = codeOf(() => MemoryPool.attach(desc));
    assert.is(e.code, 'DRAGON_ERR_FOREIGN_RUNTIME');
    assert.match(e.message, /run-time 0xf00d/);
    assert.match(e.message, new RegExp(`this process is in run-time 0x${process.env.DRAGON_RT_UID}`));
    assert.match(e.message, /DRAGON_RT_UID/);
  } finally {
    child.kill('SIGTERM');
    await exitOf(child);
  }
});

test.run();
