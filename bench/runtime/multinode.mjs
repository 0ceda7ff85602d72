#!/usr/bin/env node
// Question 9: what does bringing the run-time up and down cost on 1, 2, 3, 4
// and 8 nodes of the virtual Slurm cluster, next to a bare `srun -N n true`
// in the same allocation, and how do the frontend's CPU time and its
// control messages grow per node? On 2 cores every virtual node adds Node
// start-ups to the same CPUs, so wall time mostly measures contention: the
// per-node work on the frontend's critical path is the figure that scales.
//   node bench/runtime/multinode.mjs [--quick] [--reps N]
// Needs root (it brings up `scripts/virtual-cluster up 8` when no cluster of
// 8 nodes is up, and takes it down again); otherwise it says SKIP.
// The measurement itself runs inside one `salloc -N 8` (this file with --inner).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { header, line, main, note, parseArgs, stats, target } from '../ts/lib.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const vc = join(root, 'scripts', 'virtual-cluster');
const SIZES = [1, 2, 3, 4, 8];

if (process.argv[2] === '--inner') {
  await inner(Number(process.argv[3]));
} else {
  const o = parseArgs('run-time bring-up + teardown on 1, 2, 3, 4, 8 virtual Slurm nodes vs srun -N n true');
  const reps = o.reps || (o.quick ? 2 : 7);
  main(async () => {
    header('multinode', 'bring-up + teardown on n nodes vs a bare srun -N n true (virtual Slurm cluster)', o, reps);
    if (process.getuid?.() !== 0) return note('SKIP: needs root (the virtual cluster uses network namespaces)');
    const status = spawnSync(vc, ['status'], { encoding: 'utf8' });
    const wasUp = status.status === 0;
    const nodesUp = wasUp ? (status.stdout.match(/\bnode\d+\b/g) ?? []).filter((v, i, a) => a.indexOf(v) === i).length : 0;
    if (wasUp && nodesUp < 8) return note(`SKIP: a cluster of ${nodesUp} nodes is up; this needs 8 (scripts/virtual-cluster down, then run again)`);
    if (!wasUp) {
      const up = spawnSync(vc, ['up', '8'], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (up.status !== 0) throw new Error('scripts/virtual-cluster up 8 failed');
    }
    try {
      const r = spawnSync(vc, ['exec', 'salloc', '-N', '8', '--quiet', process.execPath, fileURLToPath(import.meta.url), '--inner', String(reps)], {
        encoding: 'utf8',
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`the measurement inside salloc failed (exit ${r.status}): ${r.stdout}`);
      report(JSON.parse(r.stdout.trim().split('\n').pop()), reps);
    } finally {
      if (!wasUp) spawnSync(vc, ['down'], { stdio: 'ignore' });
    }
  });
}

function report(results, reps) {
  const ok = (n) => results[n] && results[n].error === null;
  const base = new Map();
  for (const n of SIZES.filter(ok)) {
    const r = results[n];
    base.set(n, { srun: stats(r.srun), dragon: stats(r.dragon), cpu: stats(r.cpu), frames: stats(r.frames), bringUp: stats(r.bringUp) });
  }
  console.log(`   ${'nodes'.padEnd(6)} ${'srun true ms'.padStart(13)} ${'dragon ms'.padStart(10)} ${'extra ms'.padStart(9)} ${'bring-up ms'.padStart(12)} ${'fe CPU ms'.padStart(10)} ${'frames'.padStart(7)}`);
  for (const n of SIZES) {
    if (!ok(n)) {
      console.log(`   ${String(n).padEnd(6)} measurement failed: ${results[n]?.error ?? 'no result'}`);
      continue;
    }
    const b = base.get(n);
    const extra = stats(results[n].dragon.map((x, i) => x - results[n].srun[i]));
    console.log(
      `   ${String(n).padEnd(6)} ${b.srun.median.toFixed(0).padStart(13)} ${b.dragon.median.toFixed(0).padStart(10)} ${extra.median.toFixed(0).padStart(9)} ${b.bringUp.median.toFixed(0).padStart(12)} ${b.cpu.median.toFixed(0).padStart(10)} ${b.frames.median.toFixed(0).padStart(7)}`,
    );
  }
  if (ok(1) && ok(8)) {
    const slope = (f) => (base.get(8)[f].median - base.get(1)[f].median) / 7;
    line('frontend CPU per added node (1 -> 8)', { median: slope('cpu'), min: NaN, max: NaN }, 'ms');
    line('control frames per added node (1 -> 8)', { median: slope('frames'), min: NaN, max: NaN }, 'frames');
    target('frames per added node constant (<= 12)', slope('frames') <= 12);
  } else {
    note('per added node (1 -> 8): not computed, the measurement on 1 or 8 nodes failed (above)');
  }
  note('dragon ms: runDragon() of a head that waits for every node (jobNodes()), bring-up to the end of teardown, timed by the frontend;');
  note('srun true ms: `srun -N n true` from the same allocation, interleaved; median of ' + reps);
  if (ok(3)) target('dragon - srun <= 1000 ms on 3 nodes', stats(results[3].dragon.map((x, i) => x - results[3].srun[i])).median <= 1000);
  if (!SIZES.every(ok)) throw new Error(`the measurement failed on ${SIZES.filter((n) => !ok(n)).join(', ')} node(s) (see above)`);
}

// Inside `salloc -N 8`: for each size, interleaved: srun -N n true, then
// runDragon() on n nodes, with the frontend's CPU time. The head asks for
// the job's nodes (jobNodes(), answered once every node is up): node 0
// starts the head as soon as its own services are up, so an empty head
// could end, and the run-time be torn down, before the slowest node was
// ready; that run would measure no bring-up at all (bringUpMs null).
// A size that fails is recorded with the reason, and the next size runs.
async function inner(reps) {
  const { runDragon } = await import(join(root, 'dist/src/runtime/launch/index.js'));
  const { DragonConfig } = await import(join(root, 'dist/schemas/config.js'));
  const dir = mkdtempSync(join(root, '.bench-'));
  const head = join(dir, 'every-node.mjs');
  writeFileSync(head, `import { jobNodes } from ${JSON.stringify(join(root, 'dist/src/index.js'))};\nawait jobNodes();\n`);
  const results = {};
  try {
    for (const n of SIZES) {
      const r = (results[n] = { srun: [], dragon: [], cpu: [], frames: [], bringUp: [], error: null });
      try {
        for (let i = 0; i <= reps; i++) {
          const t = process.hrtime.bigint();
          const s = spawnSync('srun', ['-N', String(n), '--ntasks-per-node=1', '--overlap', 'true'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
          const srunMs = Number(process.hrtime.bigint() - t) / 1e6;
          if (s.status !== 0) throw new Error(`srun -N ${n} true: exit ${s.status}: ${s.stderr.trim().split('\n').pop()}`);
          const cpu0 = process.cpuUsage();
          let end;
          const code = await runDragon(DragonConfig.parse({ script: head, nodes: n, wlm: 'slurm', poolSize: '64M' }), { onEnd: (e) => (end = e), stdin: Readable.from([]) });
          const c = process.cpuUsage(cpu0);
          if (code !== 0) throw new Error(`runDragon on ${n} nodes: the head exited with ${code}`);
          if (end.bringUpMs === null) throw new Error(`runDragon on ${n} nodes: torn down before every node was ready`);
          if (i === 0) continue; // warm-up: file cache, slurmd's first step
          r.srun.push(srunMs);
          r.dragon.push(end.wallMs);
          r.cpu.push((c.user + c.system) / 1000);
          r.frames.push(end.frames);
          r.bringUp.push(end.bringUpMs);
        }
      } catch (err) {
        r.error = err.message.split('\n')[0];
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(results));
}
