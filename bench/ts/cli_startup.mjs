#!/usr/bin/env node
// Question 6: what does the `dragon` command line add to node's own start-up,
// before the run-time starts? The whole `dragon SCRIPT` run has 300 ms over
// node for start-up and teardown; the CLI's share should stay small.
//   fast path   `dragon SCRIPT` (no flag before SCRIPT: oclif is not loaded), timed
//               up to the hand-off to runDragon: DRAGON_NODES=x makes it stop there
//               with a config error, after everything before runDragon has run.
//   oclif path  `dragon --print-config SCRIPT` (any flag: oclif parses the line)
//   --help      `dragon --help`
// Baseline, in the same run and interleaved: `node empty.mjs`.
//   node bench/ts/cli_startup.mjs [--quick] [--reps N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : quick ? 5 : 21;
const dragon = fileURLToPath(new URL('../../bin/dragon.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dragon-bench-'));
const empty = join(dir, 'empty.mjs');
writeFileSync(empty, '');

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
const variants = [
  { name: 'node empty.mjs (baseline)', argv: [empty], env, code: 0 },
  { name: 'dragon SCRIPT, fast path', argv: [dragon, empty], env: { ...env, DRAGON_NODES: 'x' }, code: 2 },
  { name: 'dragon --print-config SCRIPT', argv: [dragon, '--print-config', empty], env, code: 0 },
  { name: 'dragon --help', argv: [dragon, '--help'], env, code: 0 },
];
const targets = { 'dragon SCRIPT, fast path': 50, 'dragon --print-config SCRIPT': 150 };

function once(v) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, v.argv, { env: v.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== v.code) throw new Error(`${v.name}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

const times = new Map(variants.map((v) => [v.name, []]));
const over = new Map(variants.map((v) => [v.name, []]));
try {
  for (const v of variants) once(v); // warm the file cache
  for (let i = 0; i < reps; i++) {
    const base = once(variants[0]);
    times.get(variants[0].name).push(base);
    for (const v of variants.slice(1)) {
      const ms = once(v);
      times.get(v.name).push(ms);
      over.get(v.name).push(ms - base);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(1).padStart(7)} ms`;
console.log(`# 6. dragon CLI start-up (${reps} repetitions, interleaved)`);
for (const v of variants) {
  const t = times.get(v.name);
  const extra = v === variants[0] ? '' : `   +${median(over.get(v.name)).toFixed(1)} ms over node (median of differences)`;
  console.log(`   ${v.name.padEnd(32)} ${fmt(median(t))}   [${Math.min(...t).toFixed(1)}..${Math.max(...t).toFixed(1)}]${extra}`);
}
for (const [name, limit] of Object.entries(targets)) {
  const m = median(over.get(name));
  console.log(`   target ${name} <= +${limit} ms over node`.padEnd(60) + (m <= limit ? 'target met' : 'target missed'));
}
