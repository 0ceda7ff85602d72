#!/usr/bin/env node
// Runs every benchmark (`npm run bench`): builds the C ones, then runs the
// C and Node programs one after the other (never two at once: on 2 vCPUs
// they would measure each other) and prints a summary. Exits non-zero only
// when a benchmark failed with an error; a missed target is a figure to
// read, not a failure.
//   node bench/run.mjs [--quick] [--reps N] [name ...]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lib = `${root}native/libdragon`;
const cBin = (name) => `${lib}/build/bench/${name}`;
const tsBin = (name) => `${root}bench/${name}.mjs`;

// One program per question, in the order of bench/README.md.
const BENCHES = [
  { name: 'channel_rtt', kind: 'c', question: '1. C channel round trip vs raw shared-memory ping-pong' },
  { name: 'channel_throughput', kind: 'c', question: '2. C one-way throughput (64 B, 1/64 MiB)' },
  { name: 'idle_waiter', kind: 'c', question: '3. CPU of idle waiters' },
  { name: 'ts/channel_rtt', kind: 'ts', question: '4. TypeScript Channel round trip vs Node IPC' },
  { name: 'ts/channel_throughput', kind: 'ts', question: '5. TypeScript one-way throughput' },
  { name: 'ts/cli_startup', kind: 'ts', question: '6. dragon CLI start-up over node' },
  { name: 'runtime/startup', kind: 'ts', question: '7. run-time start-up + teardown over node' },
  { name: 'runtime/process-start', kind: 'ts', question: '8. Process start+join vs child_process.fork' },
  { name: 'runtime/multinode', kind: 'ts', question: '9. bring-up + teardown on 1-8 Slurm nodes vs srun true' },
  { name: 'transport_rtt', kind: 'c', question: '10. transport agents on loopback vs fi_pingpong (C)', needs: 'libfabric' },
  { name: 'runtime/transport', kind: 'ts', question: '11. cross-node Channel round trip and bandwidth vs fi_pingpong' },
  { name: 'runtime/pool', kind: 'ts', question: '12. Pool.map of 100k trivial tasks vs multiprocessing.Pool and Piscina; 1 and 3 nodes' },
  { name: 'ts/sync_value', kind: 'ts', question: '13. Lock / Value / Array per operation vs Python multiprocessing' },
  { name: 'ts/queue', kind: 'ts', question: '14. Queue round trip and throughput vs IPC, postMessage, Python multiprocessing.Queue' },
];

const args = process.argv.slice(2);
const flags = [];
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--quick') flags.push('--quick');
  else if (args[i] === '--reps' && i + 1 < args.length) flags.push('--reps', args[++i]);
  else if (args[i] === '--help' || args[i] === '-h') {
    console.log(`usage: node bench/run.mjs [--quick] [--reps N] [name ...]\nbenchmarks:\n${BENCHES.map((b) => `  ${b.name.padEnd(24)} ${b.question}`).join('\n')}`);
    process.exit(0);
  } else names.push(args[i]);
}
const chosen = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
if (names.length && chosen.length !== names.length) {
  console.error(`unknown benchmark in: ${names.join(' ')} (see --help)`);
  process.exit(2);
}

if (chosen.some((b) => b.kind === 'c')) {
  const make = spawnSync('make', ['-s', '-C', lib, 'bench'], { stdio: 'inherit' });
  if (make.status !== 0) {
    console.error('bench: `make -C native/libdragon bench` failed');
    process.exit(1);
  }
}
if (chosen.some((b) => b.kind === 'ts')) {
  if (!existsSync(`${root}dist/src/index.js`)) {
    console.error('bench: dist/src/index.js is missing: run `npm run build` first');
    process.exit(1);
  }
  // figures of a stale build would be read as figures of the current code
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = `${dir}/${e.name}`;
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  if (existsSync(`${root}src`) && newest(`${root}src`) > statSync(`${root}dist/src/index.js`).mtimeMs) {
    console.error('bench: warning: src/ is newer than dist/: run `npm run build` to measure the current code');
  }
}

function run(b) {
  if (b.needs && b.kind === 'c' && !existsSync(cBin(b.name))) {
    console.log(`== ${b.name}: SKIP (not built: ${b.needs} was missing when libdragon was built)`);
    return Promise.resolve({ code: 0, out: '' });
  }
  const [cmd, argv] = b.kind === 'c' ? [cBin(b.name), flags] : [process.execPath, [tsBin(b.name), ...flags]];
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('error', (err) => resolve({ code: 1, out, err }));
    child.on('close', (code, signal) => resolve({ code: signal ? 1 : code, out }));
  });
}

const started = Date.now();
let failed = 0;
let met = 0;
let missed = 0;
for (const b of chosen) {
  const r = await run(b);
  if (r.err) console.error(`bench: cannot run ${b.name}: ${r.err.message}`);
  if (r.code !== 0) {
    failed++;
    console.error(`bench: ${b.name} FAILED (exit ${r.code})`);
  }
  met += (r.out.match(/target met/g) ?? []).length;
  missed += (r.out.match(/target missed/g) ?? []).length;
  console.log('');
}
console.log(`bench: ${chosen.length} benchmarks run, ${failed} with errors; targets: ${met} met, ${missed} missed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
