// A uvu suite whose last test fails if the file left shared-memory
// segments of its run-time behind.
import { suite as uvuSuite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ownRtidHex, segmentsOf } from './shm.js';

export function suite(name: string): Test {
  const s = uvuSuite(name);
  const run = s.run;
  s.run = () => {
    s('leaves nothing in /dev/shm', () => {
      const left = segmentsOf(ownRtidHex());
      assert.equal(left, [], `segments left in /dev/shm: ${left.join(', ')}`);
    });
    run();
  };
  return s;
}
