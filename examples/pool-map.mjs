// Monte Carlo estimate of pi with a Pool spread over every node of the
// job: Pool.map sends each batch of darts to a worker (a process of the
// run-time, on any node) and gathers, in order, how many fell inside the
// quarter circle and where they were thrown.
//   dragon examples/pool-map.mjs [batches] [darts per batch]
// The same file is the task module: the workers import it and call `darts`
// (the guard below keeps the head's code out of them).
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool, cpuCount } from 'dragonhpc';

export function darts([n, seed]) {
  // xorshift32: reproducible per seed, and fast
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const a = next();
    const b = next();
    if (a * a + b * b <= 1) inside++;
  }
  return { inside, host: hostname() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const batches = Number(process.argv[2] ?? 64);
  const perBatch = Number(process.argv[3] ?? 1_000_000);
  const cpus = await cpuCount();
  const pool = new Pool(); // one worker per CPU of the job
  const t0 = performance.now();
  const inputs = Array.from({ length: batches }, (_, i) => [perBatch, i + 1]);
  const results = await pool.map({ module: new URL(import.meta.url), fn: 'darts' }, inputs, { chunksize: 1 });
  const ms = performance.now() - t0;
  pool.close();
  await pool.join();
  const inside = results.reduce((s, r) => s + r.inside, 0);
  const total = batches * perBatch;
  const hosts = [...new Set(results.map((r) => r.host))].sort();
  const pi = (4 * inside) / total;
  console.log(`pi ~ ${pi.toFixed(6)} (error ${Math.abs(pi - Math.PI).toExponential(1)}) from ${total} darts in ${batches} tasks`);
  console.log(`${pool.processes} workers (${cpus} CPUs) on ${hosts.length} node(s): ${hosts.join(', ')}; ${ms.toFixed(0)} ms`);
}
