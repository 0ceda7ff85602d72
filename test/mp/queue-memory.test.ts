// An unbounded Queue fed more large items than its pool holds (200 items of
// ~30 KB on a 1 MiB pool, the scaled-down 200 x 1 MiB on 64 MiB) and read in
// the same process: the feeder waits for memory asleep (a timer fires, the
// CPU idles) and wakes on each free, every item arrives in order, and a get
// on the emptied queue raises Empty after its timeout. Run in a child: a
// feeder that spins starves the event loop, which only a kill ends.
import * as assert from 'uvu/assert';
import { MemoryPool } from '../../src/index.js';
import { exitOf, spawnFixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('Queue feeder waiting for pool memory');

test('a feeder short of pool memory sleeps and wakes on frees; gets keep their timeouts', async () => {
  const child = spawnFixture('queue-memory');
  let code: number | null;
  try {
    code = await exitOf(child, 30000);
  } catch (err) {
    // killed (spinning): remove the pool it left behind
    const pool = /POOL ([0-9a-f]+)/.exec(child.output())?.[1];
    if (pool) MemoryPool.attach(new Uint8Array(Buffer.from(pool, 'hex'))).destroy();
    throw err;
  }
  assert.is(code, 0, child.output());
  const line = child.output().trim().split('\n').pop()!;
  const r = JSON.parse(line) as { idle: { fired: boolean; cpuMs: number; wallMs: number }; inOrder: number; empty: string; emptyMs: number };
  assert.ok(r.idle.fired, 'a timer fired while the feeder waited');
  // a spinning feeder burns the whole wait; asleep it uses next to nothing
  assert.ok(r.idle.cpuMs < r.idle.wallMs / 2, `CPU ${r.idle.cpuMs} ms over ${r.idle.wallMs} ms of waiting`);
  assert.is(r.inOrder, 200);
  assert.is(r.empty, 'Empty');
  assert.ok(r.emptyMs >= 99 && r.emptyMs < 5000, `Empty after ${r.emptyMs} ms`);
});

test.run();
