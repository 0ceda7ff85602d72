#!/usr/bin/env node
// Question 12: how many trivial tasks per second does Pool.map run (100k
// `x => x * x`), with chunksize 1 (the per-task cost) and with the default
// chunking, against Python's multiprocessing.Pool (python3, chunksize=1 and
// default) and Piscina (worker threads in one process) with the same
// worker count? All three run in the same head process tree, interleaved
// in rounds. Then, when the virtual cluster is up, the same Pool.map on 1
// and 3 of its nodes (one worker per CPU of the job).
//   node bench/runtime/pool.mjs [--quick] [--reps N]
// (it starts the run-time itself, through runDragon(), and runs as its head)
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { header, line, main, medianRatio, note, parseArgs, ratio, stats, target } from '../ts/lib.mjs';

const root = new URL('../../', import.meta.url);
const TASKS = new URL('./pool-tasks.mjs', import.meta.url);
const WORKERS = 2;

const PYTHON = `
import multiprocessing as mp, sys, time, json
def square(x):
    return x * x
if __name__ == '__main__':
    n, workers, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with mp.Pool(workers) as p:
        p.map(square, range(2000), chunksize=1)
        out = {'cs1': [], 'default': []}
        for _ in range(reps):
            t = time.perf_counter(); p.map(square, range(n), chunksize=1); out['cs1'].append(n / (time.perf_counter() - t))
            t = time.perf_counter(); p.map(square, range(n)); out['default'].append(n / (time.perf_counter() - t))
    print(json.dumps(out))
`;

function python(n, reps) {
  return new Promise((resolve, reject) => {
    const c = spawn('python3', ['-c', PYTHON, String(n), String(WORKERS), String(reps)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`python3 exited with ${code}`))));
  });
}

// Our Pool.map: tasks/s with chunksize 1 and with the default chunking.
async function ours(pool, xs) {
  const task = { module: TASKS, fn: 'square' };
  let t = performance.now();
  const a = await pool.map(task, xs, { chunksize: 1 });
  const cs1 = (xs.length * 1000) / (performance.now() - t);
  t = performance.now();
  const b = await pool.map(task, xs);
  const dflt = (xs.length * 1000) / (performance.now() - t);
  const last = xs.length - 1;
  if (a[last] !== last * last || b[last] !== last * last) throw new Error('Pool.map gave a wrong result');
  return { cs1, default: dflt };
}

const CLUSTER_HEAD = process.argv.includes('--cluster-head');
if (CLUSTER_HEAD) process.argv.splice(process.argv.indexOf('--cluster-head'), 1);

async function head() {
  const o = parseArgs('Pool.map of trivial tasks vs multiprocessing.Pool and Piscina');
  if (CLUSTER_HEAD) return clusterHead(o);
  const { Pool } = await import(new URL('dist/src/index.js', root).href);
  const n = o.quick ? 20_000 : 100_000;
  const rounds = o.reps || (o.quick ? 2 : 5);
  const xs = Array.from({ length: n }, (_, i) => i);
  const pool = new Pool({ processes: WORKERS });
  await ours(pool, xs); // workers up, code warm (Python and Piscina are warmed too)
  let Piscina;
  try {
    Piscina = (await import('piscina')).Piscina;
  } catch {
    note('Piscina is not installed (npm install): its column is skipped');
  }
  const piscina = Piscina && new Piscina({ filename: fileURLToPath(TASKS), minThreads: WORKERS, maxThreads: WORKERS });
  const runPiscina = async () => {
    const t = performance.now();
    const r = await Promise.all(xs.map((x) => piscina.run(x)));
    if (r[n - 1] !== (n - 1) * (n - 1)) throw new Error('Piscina gave a wrong result');
    return (n * 1000) / (performance.now() - t);
  };
  if (piscina) await runPiscina();
  const fig = { ours1: [], oursD: [], py1: [], pyD: [], pis: [] };
  for (let r = 0; r < rounds; r++) {
    const py = await python(n, 1);
    fig.py1.push(py.cs1[0]);
    fig.pyD.push(py.default[0]);
    if (piscina) fig.pis.push(await runPiscina());
    const us = await ours(pool, xs);
    fig.ours1.push(us.cs1);
    fig.oursD.push(us.default);
  }
  pool.close();
  await pool.join();
  await piscina?.destroy();

  header('pool', `Pool.map of ${n} trivial tasks, ${WORKERS} workers: tasks/s vs multiprocessing.Pool and Piscina`, o, rounds);
  line('Pool.map chunksize 1', stats(fig.ours1), 'tasks/s');
  line('multiprocessing.Pool.map chunksize=1', stats(fig.py1), 'tasks/s');
  if (piscina) line('Piscina run() x n (worker threads)', stats(fig.pis), 'tasks/s');
  line('Pool.map default chunking', stats(fig.oursD), 'tasks/s');
  line('multiprocessing.Pool.map default chunking', stats(fig.pyD), 'tasks/s');
  const vsPy1 = medianRatio(fig.ours1, fig.py1);
  const vsPyD = medianRatio(fig.oursD, fig.pyD);
  ratio('Pool / Python, chunksize 1', vsPy1, 'median of per-round ratios (higher: ours faster)');
  if (piscina) ratio('Pool chunksize 1 / Piscina', medianRatio(fig.ours1, fig.pis), 'median of per-round ratios');
  ratio('Pool / Python, default chunking', vsPyD, 'median of per-round ratios');
  target('chunksize 1 >= 3x Python', vsPy1 >= 3);
  if (piscina) target('chunksize 1 within 2x of Piscina', medianRatio(fig.ours1, fig.pis) >= 0.5);
  target('default chunking >= Python', vsPyD >= 1);
}

// On the virtual cluster: the head of `salloc -N k dragon pool.mjs --cluster-head`.
async function clusterHead(o) {
  const { Pool, cpuCount } = await import(new URL('dist/src/index.js', root).href);
  const n = o.quick ? 20_000 : 100_000;
  const reps = o.reps || (o.quick ? 2 : 3);
  const xs = Array.from({ length: n }, (_, i) => i);
  const pool = new Pool();
  await ours(pool, xs);
  const cs1 = [];
  const dflt = [];
  for (let r = 0; r < reps; r++) {
    const us = await ours(pool, xs);
    cs1.push(us.cs1);
    dflt.push(us.default);
  }
  pool.close();
  await pool.join();
  console.log(`POOLBENCH ${JSON.stringify({ cpus: await cpuCount(), workers: pool.processes, cs1: stats(cs1).median, default: stats(dflt).median })}`);
}

function clusterRuns(o) {
  const n = o.quick ? 20_000 : 100_000;
  const vc = fileURLToPath(new URL('scripts/virtual-cluster', root));
  const up = spawnSync(vc, ['status'], { encoding: 'utf8' });
  if (up.status !== 0) return note('virtual cluster: not up (scripts/virtual-cluster up 3): the 1- and 3-node runs are skipped');
  const rows = [];
  for (const k of [1, 3]) {
    const args = ['exec', 'salloc', '-N', String(k), '--quiet', process.execPath, fileURLToPath(new URL('bin/dragon.js', root)), fileURLToPath(import.meta.url), '--cluster-head', ...(o.quick ? ['--quick'] : []), ...(o.reps ? ['--reps', String(o.reps)] : [])];
    const r = spawnSync(vc, args, { encoding: 'utf8', cwd: fileURLToPath(root), timeout: 300_000 });
    const m = /^POOLBENCH (\{.*\})$/m.exec(r.stdout ?? '');
    if (!m) return note(`virtual cluster: the ${k}-node run failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`);
    rows.push([k, JSON.parse(m[1])]);
  }
  console.log(`== pool (virtual cluster): the same Pool.map of ${n} trivial tasks, one worker per CPU of the job`);
  for (const [k, f] of rows) {
    line(`${k} node(s), ${f.workers} workers, chunksize 1`, { median: f.cs1, min: f.cs1, max: f.cs1 }, 'tasks/s');
    line(`${k} node(s), ${f.workers} workers, default chunking`, { median: f.default, min: f.default, max: f.default }, 'tasks/s');
  }
  note('all virtual nodes share this machine\'s 2 CPUs: more nodes add workers, not CPU; cross-node chunks go through the transport agents');
}

if (process.env.DRAGON_PUID) {
  main(head);
} else {
  main(async () => {
    const { runDragon } = await import(new URL('dist/src/runtime/launch/index.js', root).href);
    const code = await runDragon({ v: 1, script: fileURLToPath(import.meta.url), args: process.argv.slice(2), label: false, logLevel: 'warn', poolSize: '256M', gracePeriod: 2000, nodes: 0 });
    if (code !== 0) throw new Error(`the head exited with ${code}`);
    clusterRuns(parseArgs('Pool.map of trivial tasks vs multiprocessing.Pool and Piscina'));
  });
}
