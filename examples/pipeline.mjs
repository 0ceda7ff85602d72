// A pipeline of processes connected by queues: generate -> transform ->
// reduce. The head creates the queues and starts the stages; the run-time
// places the processes round-robin over the nodes of the job, and the
// queues work from every node. The first queue is bounded (maxsize), so a
// fast generator waits for the transform stage instead of filling memory.
//   dragon examples/pipeline.mjs [count] [transform processes]
//   dragon examples/pipeline.mjs 2000 2          (the short mode the tests run)
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Process, Queue } from 'dragonhpc';

// Stage 1: the numbers 1..count, then one end mark per transform process.
export async function generate(out, count, transforms) {
  for (let n = 1; n <= count; n++) await out.put(n);
  for (let i = 0; i < transforms; i++) await out.put(null);
}

// Stage 2 (several processes): square each number, in batches of 64.
export async function transform(input, out) {
  let batch = [];
  for (;;) {
    const n = await input.get();
    if (n === null) break;
    batch.push(n * n);
    if (batch.length === 64) {
      await out.put(batch);
      batch = [];
    }
  }
  if (batch.length) await out.put(batch);
  await out.put({ done: hostname() });
}

// Stage 3: add everything up until every transform process said it is done.
export async function reduce(input, results, transforms) {
  let sum = 0n;
  let count = 0;
  const hosts = new Set();
  for (let done = 0; done < transforms; ) {
    const v = await input.get();
    if (Array.isArray(v)) {
      for (const x of v) sum += BigInt(x);
      count += v.length;
    } else {
      hosts.add(v.done);
      done++;
    }
  }
  await results.put({ sum, count, hosts: [...hosts], reducer: hostname() });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2] ?? 200_000);
  const transforms = Number(process.argv[3] ?? 3);
  const numbers = new Queue({ maxsize: 256 });
  const squares = new Queue();
  const results = new Queue();
  const here = new URL(import.meta.url);
  const stages = [
    new Process({ module: here, fn: 'generate', args: [numbers, count, transforms] }),
    ...Array.from({ length: transforms }, () => new Process({ module: here, fn: 'transform', args: [numbers, squares] })),
    new Process({ module: here, fn: 'reduce', args: [squares, results, transforms] }),
  ];
  const t0 = performance.now();
  await Promise.all(stages.map((p) => p.start()));
  const r = await results.get();
  const codes = await Promise.all(stages.map((p) => p.join()));
  const ms = performance.now() - t0;
  const N = BigInt(count);
  const expected = (N * (N + 1n) * (2n * N + 1n)) / 6n;
  console.log(`sum of squares of 1..${count} = ${r.sum} (${r.sum === expected ? 'correct' : `WRONG, expected ${expected}`})`);
  console.log(`${r.count} numbers through generate -> ${transforms} x transform -> reduce in ${ms.toFixed(0)} ms; transform ran on ${r.hosts.length} host(s): ${r.hosts.sort().join(' ')}; exit codes ${codes.join(' ')}`);
  for (const q of [numbers, squares, results]) q.destroy();
  if (r.sum !== expected || codes.some((c) => c !== 0)) process.exitCode = 1;
}
