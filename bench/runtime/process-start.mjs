#!/usr/bin/env node
// Question 8: how many processes per second can the run-time start and
// join (`new Process({ module, fn }).start()` then `join()`), against
// Node's own `child_process.fork` of the same module + its exit? Both are
// measured inside one head process under the run-time, interleaved in
// rounds: one at a time, and 4 at once.
//   node bench/runtime/process-start.mjs [--quick] [--reps N]
// (it starts the run-time itself, through runDragon(), and runs as its head)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { header, line, main, note, parseArgs, ratio, stats, target } from '../ts/lib.mjs';

const o = parseArgs('Process start+join per second vs child_process.fork');
const root = new URL('../../', import.meta.url);
const noop = new URL('./noop.mjs', import.meta.url);
const rounds = o.reps || (o.quick ? 3 : 9);
const perRound = o.quick ? 4 : 12;

async function head() {
  const { Process } = await import(new URL('dist/src/index.js', root).href);
  const viaDragon = async (n) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const p = new Process({ module: noop, fn: 'noop' });
      await p.start();
      if ((await p.join()) !== 0) throw new Error('a Process failed');
    }
    return (n * 1000) / (performance.now() - t);
  };
  const viaFork = async (n) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const c = fork(fileURLToPath(noop), [], { stdio: 'ignore' });
      const code = await new Promise((resolve) => c.once('exit', resolve));
      if (code !== 0) throw new Error('a fork failed');
    }
    return (n * 1000) / (performance.now() - t);
  };
  const batch = (fn) => async (n) => {
    const t = performance.now();
    for (let i = 0; i < n; i += 4) await Promise.all([0, 1, 2, 3].map(() => fn(1)));
    return (n * 1000) / (performance.now() - t);
  };
  const variants = [
    ['child_process.fork, one at a time', viaFork],
    ['Process start+join, one at a time', viaDragon],
    ['child_process.fork, 4 at once', batch(viaFork)],
    ['Process start+join, 4 at once', batch(viaDragon)],
  ];
  const rates = new Map(variants.map(([n]) => [n, []]));
  await viaDragon(4); // the run-time's warm processes fill after the first starts
  await viaFork(2);
  for (let r = 0; r < rounds; r++) for (const [name, fn] of variants) rates.get(name).push(await fn(perRound));
  header('process-start', 'Process start+join per second vs child_process.fork of the same module', o, rounds);
  for (const [name] of variants) line(name, stats(rates.get(name)), '/s');
  const r1 = stats(rates.get('Process start+join, one at a time').map((x, i) => x / rates.get('child_process.fork, one at a time')[i])).median;
  const r4 = stats(rates.get('Process start+join, 4 at once').map((x, i) => x / rates.get('child_process.fork, 4 at once')[i])).median;
  ratio('Process / fork, one at a time', r1, 'median of per-round ratios (higher: Process faster)');
  ratio('Process / fork, 4 at once', r4, 'median of per-round ratios');
  note(`${perRound} processes per round; warm interpreters: DRAGON_WARM_PROCESSES (default 2, 0 = off)`);
  target('Process >= fork (one at a time)', r1 >= 1);
}

if (process.env.DRAGON_PUID) {
  main(head);
} else {
  // Not under the run-time yet: start it, with this file as the head.
  main(async () => {
    const { runDragon } = await import(new URL('dist/src/runtime/launch/index.js', root).href);
    const code = await runDragon({ v: 1, script: fileURLToPath(import.meta.url), args: process.argv.slice(2), label: false, logLevel: 'warn', poolSize: '64M', gracePeriod: 2000, nodes: 0 });
    if (code !== 0) throw new Error(`the head exited with ${code}`);
  });
}
