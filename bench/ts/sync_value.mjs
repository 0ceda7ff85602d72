// Question 12: what do the multiprocessing-shaped Lock and Value cost per
// operation in one process (uncontended), against Python's
// multiprocessing.Lock / Value measured in the same run?
//   - Lock: acquireSync + release, and async acquire + release;
//   - Value('i'): an increment under its lock (acquireSync, value += 1,
//     release) — Python: `with v.get_lock(): v.value += 1`;
//   - Array('d'): get(i)+set(i) and the getObj() typed view — Python: a[i] += 1.0
//     on multiprocessing.Array('d', n, lock=False).
// No target in the issue: figures to read.
import { spawnSync } from 'node:child_process';
import { guardPool, header, line, loadDragon, main, medianRatio, note, nowNs, parseArgs, ratio, stats } from './lib.mjs';

const PY = `
import multiprocessing as mp, time, sys
n = int(sys.argv[1])
l = mp.Lock()
t = time.perf_counter_ns()
for _ in range(n):
    l.acquire(); l.release()
lock_ns = (time.perf_counter_ns() - t) / n
v = mp.Value('i', 0)
t = time.perf_counter_ns()
for _ in range(n):
    with v.get_lock():
        v.value += 1
value_ns = (time.perf_counter_ns() - t) / n
a = mp.Array('d', 1000, lock=False)
t = time.perf_counter_ns()
for i in range(n):
    a[i % 1000] += 1.0
array_ns = (time.perf_counter_ns() - t) / n
print(lock_ns, value_ns, array_ns)
`;

function python(n) {
  const r = spawnSync('python3', ['-c', PY, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [lock, value, array] = r.stdout.trim().split(/\s+/).map(Number);
  return { lock, value, array };
}

function timed(n, fn) {
  const t = nowNs();
  for (let i = 0; i < n; i++) fn(i);
  return (nowNs() - t) / n;
}

async function timedAsync(n, fn) {
  const t = nowNs();
  for (let i = 0; i < n; i++) await fn(i);
  return (nowNs() - t) / n;
}

main(async () => {
  const o = parseArgs('Lock / Value / Array per-operation cost vs Python multiprocessing');
  const reps = o.reps || (o.quick ? 3 : 7);
  const n = o.quick ? 20_000 : 200_000;
  const { MemoryPool, Lock, Value, Array: SharedArray } = await loadDragon();
  const pool = guardPool(MemoryPool.create({ bytes: 8 << 20 }));
  const lock = new Lock({ pool });
  const v = new Value('i', 0, { pool });
  const vl = v.getLock();
  const arr = new SharedArray('d', 1000, { pool, lock: false });
  const view = arr.getObj();

  const r = { lockSync: [], lockAsync: [], value: [], arrGetSet: [], arrView: [], pyLock: [], pyValue: [], pyArray: [] };
  for (let k = 0; k < reps; k++) {
    r.lockSync.push(timed(n, () => {
      lock.acquireSync();
      lock.release();
    }));
    r.lockAsync.push(await timedAsync(n / 4, async () => {
      await lock.acquire();
      lock.release();
    }));
    r.value.push(timed(n, () => {
      vl.acquireSync();
      v.value += 1;
      vl.release();
    }));
    r.arrGetSet.push(timed(n, (i) => arr.set(i % 1000, arr.get(i % 1000) + 1)));
    r.arrView.push(timed(n, (i) => {
      view[i % 1000] += 1;
    }));
    const py = python(n);
    if (py) {
      r.pyLock.push(py.lock);
      r.pyValue.push(py.value);
      r.pyArray.push(py.array);
    }
  }
  header('sync_value', 'Lock / Value / Array per operation, one process, uncontended', o, reps);
  const us = (a) => stats(a.map((x) => x / 1e3));
  line('Lock acquireSync+release', us(r.lockSync), 'us');
  line('Lock await acquire()+release', us(r.lockAsync), 'us');
  line("Value('i') += 1 under its RLock (sync)", us(r.value), 'us');
  line("Array('d') set(i, get(i) + 1)", us(r.arrGetSet), 'us');
  line("Array('d') getObj()[i] += 1", us(r.arrView), 'us');
  if (r.pyLock.length) {
    line('python Lock acquire+release', us(r.pyLock), 'us');
    line('python with v.get_lock(): v.value += 1', us(r.pyValue), 'us');
    line('python Array a[i] += 1.0', us(r.pyArray), 'us');
    ratio('Lock: python / ours (sync)', medianRatio(r.pyLock, r.lockSync), 'higher is better');
    ratio('Value increment: python / ours', medianRatio(r.pyValue, r.value), 'higher is better');
    ratio('Array element update: python / ours (get/set)', medianRatio(r.pyArray, r.arrGetSet), 'higher is better');
  } else note('python3 with multiprocessing not found: no baseline');
  if (v.value <= 0) throw new Error('the Value did not count');
  arr.destroy();
  v.destroy();
  lock.destroy();
  pool.destroy();
});
