// Monte Carlo estimate of pi: several processes throw random darts at the
// unit square and report through a channel how many fell inside the
// quarter circle. The channel is created by the head and passed to the
// workers as an argument: it arrives attached.
//   dragon examples/pi.mjs [processes] [samples per process]
import { fileURLToPath } from 'node:url';
import { Channel, MemoryPool, Process } from 'dragonhpc';

export async function sample(results, samples, seed) {
  // xorshift32: reproducible per seed, and fast
  let x = seed * 2654435761 >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const a = next();
    const b = next();
    if (a * a + b * b <= 1) inside++;
  }
  await results.send({ inside, samples });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const workers = Number(process.argv[2] ?? 4);
  const samples = Number(process.argv[3] ?? 5_000_000);
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  const results = Channel.create({ pool, capacity: workers });
  const procs = Array.from(
    { length: workers },
    (_, i) => new Process({ module: new URL(import.meta.url), fn: 'sample', args: [results, samples, i + 1] }),
  );
  const t0 = performance.now();
  await Promise.all(procs.map((p) => p.start()));
  // A worker that fails never reports: stop waiting for it then.
  const joined = procs.map((p) => p.join());
  const failed = new Promise((_, reject) => {
    for (const j of joined) void j.then((code) => code !== 0 && reject(new Error(`a worker failed with exit code ${code}`)));
  });
  let inside = 0;
  let total = 0;
  for (let i = 0; i < workers; i++) {
    const r = await Promise.race([results.recv(), failed]);
    inside += r.inside;
    total += r.samples;
  }
  await Promise.all(joined);
  const pi = (4 * inside) / total;
  const ms = performance.now() - t0;
  console.log(`pi ~ ${pi.toFixed(6)} (error ${Math.abs(pi - Math.PI).toExponential(1)}) from ${total} samples in ${workers} processes, ${ms.toFixed(0)} ms`);
  results.destroy();
  pool.destroy();
}
