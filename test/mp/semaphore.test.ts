// Conformance of semaphore with Python's multiprocessing semantics, with child
// processes of a one-node run-time (scenarios: test/fixtures/mp/sync-head.ts,
// checks: test/fixtures/mp/sync-checks.ts; the same on three nodes:
// test/cluster/mp-sync.test.ts).
import { conformance } from '../fixtures/mp/sync-run.js';
import { suite } from '../helpers/suite.js';

const test = suite('mp semaphore');
conformance(test, 'semaphore');
test.run();
