// Process options and close()/daemon outside a run-time (plain node):
// what is checked before anything starts, with Python's semantics.
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { Process } from '../../src/index.js';

const test = suite('Process options');
const module = new URL('../fixtures/mp/pool-tasks.js', import.meta.url);

test('unknown options are an error naming the option and listing the accepted ones', () => {
  assert.throws(
    () => new Process({ module, fn: 'square', deamon: true } as never),
    (e: any) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT' && /unknown option 'deamon'/.test(e.message) && /module, fn, args, .*daemon/.test(e.message),
  );
  assert.throws(() => new Process({ module, daemon: 'yes' } as never), /daemon must be true or false/);
});

test('daemon: an option and a property, settable only before start() (Python\'s)', () => {
  const p = new Process({ module, fn: 'square' });
  assert.is(p.daemon, false);
  p.daemon = true;
  assert.is(p.daemon, true);
  assert.is(new Process({ module, daemon: true }).daemon, true);
  assert.throws(() => ((p as any).daemon = 'x'), /daemon must be true or false/);
});

test('close() of a process never started: then its methods and most attributes throw (Python\'s ValueError)', async () => {
  const p = new Process({ module, fn: 'square', name: 'kept' });
  p.close();
  p.close(); // again: nothing
  assert.is(p.name, 'kept');
  for (const get of [() => p.pid, () => p.puid, () => p.exitCode, () => p.isAlive()]) {
    assert.throws(get, (e: any) => e.code === 'DRAGON_ERR_VALUE' && /process object is closed/.test(e.message));
  }
  for (const call of [() => p.start(), () => p.join(), () => p.terminate(), () => p.kill()]) {
    try {
      await call();
      assert.unreachable('it should reject');
    } catch (e: any) {
      assert.is(e.code, 'DRAGON_ERR_VALUE');
    }
  }
});

test.run();
