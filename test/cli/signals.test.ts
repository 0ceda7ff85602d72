// SIGINT/SIGTERM become runDragon's AbortSignals: the first aborts (reason:
// the signal's name), the second hastens, the third exits at once.
import * as assert from 'uvu/assert';
import type { DragonConfig } from '../../schemas/config.js';
import { launch } from '../../src/runtime/cli/launch.js';
import { withSignals } from '../../src/runtime/cli/signals.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli signals');
const tick = () => new Promise((r) => setTimeout(r, 20));
const config: DragonConfig = { v: 1, script: 'app.mjs', args: [], label: false, logLevel: 'warn', poolSize: '10%', gracePeriod: 2000, nodes: 0, heartbeatTimeout: 20000 };

test('first signal aborts with its name, second hastens, third exits with 128+n', async () => {
  const exits: number[] = [];
  const seen: string[] = [];
  await withSignals(async ({ signal, hasten }) => {
    signal.addEventListener('abort', () => seen.push(`abort ${signal.reason}`));
    hasten.addEventListener('abort', () => seen.push(`hasten ${hasten.reason}`));
    process.kill(process.pid, 'SIGTERM');
    await tick();
    assert.equal(seen, ['abort SIGTERM']);
    process.kill(process.pid, 'SIGINT');
    await tick();
    assert.equal(seen, ['abort SIGTERM', 'hasten SIGINT']);
    process.kill(process.pid, 'SIGINT');
    await tick();
  }, (code) => exits.push(code));
  assert.equal(exits, [130]);
});

test('handlers are removed afterwards, also after a failure', async () => {
  const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  await withSignals(async () => {
    assert.is(process.listenerCount('SIGINT'), before[0]! + 1);
  });
  await withSignals(async () => {
    throw new Error('boom');
  }).catch(() => {});
  assert.equal([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
});

test('launch hands config and both signals to runDragon and returns its code', async () => {
  let got: any;
  const code = await launch(config, async (c, opts) => {
    got = { c, opts };
    process.kill(process.pid, 'SIGINT');
    await tick();
    return opts.signal?.aborted ? 130 : 0;
  });
  assert.is(code, 130);
  assert.is(got.c, config);
  assert.instance(got.opts.signal, AbortSignal);
  assert.instance(got.opts.hasten, AbortSignal);
  assert.is(got.opts.signal.reason, 'SIGINT');
  assert.not.ok(got.opts.hasten.aborted);
});

test.run();
