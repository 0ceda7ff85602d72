// --pool-size: a share is of the space a pool can use once its metadata
// (~1% + 1 MiB) is counted, so 100% is the largest pool that fits; a size
// that does not fit is refused with the margin spelled out.
import { statfsSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { resolvePoolBytes } from '../../src/runtime/launch/pool-size.js';
import { suite } from '../helpers/suite.js';

const test = suite('launch pool size');
const freeShm = () => {
  const st = statfsSync('/dev/shm');
  return Number(st.bavail) * Number(st.bsize);
};
const footprint = (bytes: number) => bytes + Math.ceil(bytes / 100) + (1 << 20);

test('100% and 99% are accepted: the pool and its metadata fit in what is free', () => {
  const before = freeShm();
  const all = resolvePoolBytes('100%');
  const most = resolvePoolBytes('99%');
  const after = freeShm();
  assert.ok(footprint(all) <= Math.max(before, after), `100% = ${all} bytes fits in ${before}/${after} free`);
  assert.ok(most < all, '99% is less than 100%');
  assert.ok(all > Math.min(before, after) * 0.95, 'and 100% is nearly all of it');
});

test('a size that does not fit names what is free, the margin and the largest that fits', () => {
  try {
    resolvePoolBytes('100000G');
    assert.unreachable('accepted');
  } catch (err) {
    assert.match((err as Error).message, /does not fit in \/dev\/shm \([\d.]+ GiB free, of which ~1% \+ 1 MiB go to the pool's metadata: at most [\d.]+ GiB for the pool\)\. Pass a smaller --pool-size/);
  }
});

test.run();
