// Views on pool memory (zero-copy messages, Allocation.bytes) are Buffers
// on one ArrayBuffer per pool mapping: no external ArrayBuffer per
// message, so receiving large messages in place does not make V8 collect
// garbage over and over.
import * as assert from 'uvu/assert';
import { Channel, MemoryPool } from '../../src/index.js';
import { suite } from '../helpers/suite.js';

const test = suite('pool views');

test('zero-copy views and allocations of a pool share one ArrayBuffer', async () => {
  using pool = MemoryPool.create({ bytes: 8 << 20 });
  using ch = Channel.create({ pool, capacity: 4, blockSize: 64 });
  await ch.sendBytes(Buffer.alloc(100_000, 1));
  await ch.sendBytes(Buffer.alloc(200_000, 2));
  using a = await ch.recvBytes({ zeroCopy: true });
  using b = ch.recvBytesSync({ zeroCopy: true });
  using alloc = pool.alloc(1000);
  assert.is(a.bytes.buffer, b.bytes.buffer);
  assert.is(alloc.bytes.buffer, a.bytes.buffer);
  assert.is(a.bytes[99_999], 1);
  assert.is(b.bytes[199_999], 2);
  assert.is(a.bytes.length, 100_000);
  alloc.bytes.fill(7);
  assert.ok(alloc.bytes.every((x) => x === 7));
});

test('receiving large messages in place costs the same whatever their size', async () => {
  using pool = MemoryPool.create({ bytes: 80 << 20 });
  using ch = Channel.create({ pool, capacity: 2, blockSize: 64 });
  const perMessageUs = (size: number): number => {
    let best = Infinity;
    for (let i = 0; i < 40; i++) {
      const al = pool.alloc(size);
      al.bytes[0] = i;
      ch.sendAllocationSync(al);
      const t0 = process.hrtime.bigint();
      const view = ch.recvBytesSync({ zeroCopy: true });
      assert.is(view.bytes[0], i & 0xff);
      view.release();
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3);
    }
    return best;
  };
  perMessageUs(1 << 20); // warm-up: first touch of the blocks
  const small = perMessageUs(1 << 20);
  const big = perMessageUs(32 << 20);
  // generous: the point is "not proportional to size" (32x the bytes)
  assert.ok(big < Math.max(small * 8, 200), `1 MiB: ${small.toFixed(1)} us, 32 MiB: ${big.toFixed(1)} us`);
});

test('views longer than a Buffer can be, or outside the mapping, are refused cleanly', () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const h = pool.handle;
  assert.throws(() => h.bytesAt(0, 2 ** 33, 'test'), (e: { code: string }) => e.code === 'DRAGON_ERR_TOO_LARGE');
  assert.throws(() => h.bytesAt(0, 16, 'test'), (e: { code: string }) => e.code === 'DRAGON_ERR_INTERNAL');
});

test('mappings above 4 GiB are viewed through overlapping windows', () => {
  // A pretend 10 GiB mapping (nothing is read or written through these
  // views: only their placement is checked).
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const h = pool.handle;
  const fields = h as unknown as { mapBase: number; mapLength: number; windows: unknown[] };
  const real = { mapBase: fields.mapBase, mapLength: fields.mapLength, windows: fields.windows };
  const GiB = 2 ** 30;
  const base = 0x7000_0000_0000;
  Object.assign(h, { mapBase: base, mapLength: 10 * GiB, windows: [] });
  try {
    const at = (offset: number, len: number) => h.bytesAt(base + offset, len, 'test');
    const a = at(100, 1000);
    assert.is(a.byteOffset, 100);
    assert.is(a.buffer.byteLength, 4 * GiB);
    const b = at(3 * GiB - 10, 2 * GiB); // crosses the 4 GiB line: window 1 (from 2 GiB)
    assert.is(b.byteOffset, GiB - 10);
    assert.is(b.length, 2 * GiB);
    const c = at(9 * GiB, GiB); // the last window is shorter
    assert.is(c.byteOffset, GiB);
    assert.is(c.buffer.byteLength, 2 * GiB);
    const d = at(5 * GiB, 3 * GiB); // longer than a window step: a view of its own
    assert.is(d.byteOffset, 0);
    assert.is(d.buffer.byteLength, 3 * GiB);
    assert.is(at(2 * GiB + 5, 10).buffer, b.buffer, 'windows are made once');
  } finally {
    Object.assign(h, real);
  }
});

test.run();
