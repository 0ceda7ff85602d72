#!/usr/bin/env node
// Question 7: what do the run-time's start-up and teardown add to a script's
// own run? `dragon SCRIPT` vs `node SCRIPT`, interleaved, same machine:
//   empty.mjs              nothing to do: the pure overhead of the run-time
//   examples/hello.mjs     under dragon the head starts 3 processes; under
//                          plain node it only prints (no run-time to start them)
// `dragon` is bin/dragon.js (the CLI, see question 6 for its share);
// `runDragon()` is the library call from a 3-line script (no CLI).
//   node bench/runtime/startup.mjs [--quick] [--reps N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { header, line, main, note, parseArgs, ratio, stats, target } from '../ts/lib.mjs';

const o = parseArgs('start-up + teardown of the run-time: dragon SCRIPT vs node SCRIPT');
const reps = o.reps || (o.quick ? 3 : 15);
const root = fileURLToPath(new URL('../../', import.meta.url));
const dragonBin = join(root, 'bin', 'dragon.js');
const hello = join(root, 'examples', 'hello.mjs');
const BUDGET_MS = 300;

main(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-bench-'));
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, '');
  const lib = join(dir, 'run-dragon.mjs');
  writeFileSync(
    lib,
    `import { runDragon } from ${JSON.stringify(join(root, 'dist/src/runtime/launch/index.js'))};\n` +
      `process.exitCode = await runDragon({ v: 1, script: process.argv[2], args: process.argv.slice(3), label: false, logLevel: 'warn', poolSize: '10%', gracePeriod: 2000, nodes: 0 });\n`,
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const variants = [
    ['node empty.mjs', [empty]],
    ['dragon empty.mjs', [dragonBin, empty]],
    ['runDragon() empty.mjs', [lib, empty]],
    ['node examples/hello.mjs', [hello]],
    ['dragon examples/hello.mjs', [dragonBin, hello]],
  ];
  const once = ([name, argv]) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${name}: exit ${r.status}: ${r.stderr}`);
    return ms;
  };
  const times = new Map(variants.map(([n]) => [n, []]));
  try {
    for (const v of variants) once(v); // file cache, tsx-free warm-up
    for (let i = 0; i < reps; i++) for (const v of variants) times.get(v[0]).push(once(v));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  header('startup', 'what do start-up and teardown of the run-time add to a script?', o, reps);
  for (const [name] of variants) line(name, stats(times.get(name)), 'ms');
  const diff = (a, b) => stats(times.get(a).map((x, i) => x - times.get(b)[i]));
  const over = diff('dragon empty.mjs', 'node empty.mjs');
  const overLib = diff('runDragon() empty.mjs', 'node empty.mjs');
  line('dragon - node (empty.mjs)', over, 'ms');
  line('runDragon() - node (empty.mjs)', overLib, 'ms');
  line('dragon - node (hello.mjs)', diff('dragon examples/hello.mjs', 'node examples/hello.mjs'), 'ms');
  ratio('dragon / node (empty.mjs)', stats(times.get('dragon empty.mjs').map((x, i) => x / times.get('node empty.mjs')[i])).median, 'median of per-repetition ratios');
  ratio('dragon / node (hello.mjs)', stats(times.get('dragon examples/hello.mjs').map((x, i) => x / times.get('node examples/hello.mjs')[i])).median, 'median of per-repetition ratios');
  note('hello.mjs under dragon also starts and joins 3 processes (node start-up each)');
  target(`dragon - node <= ${BUDGET_MS} ms (empty.mjs)`, over.median <= BUDGET_MS);
});
