// Question 14: what do a Queue round trip and one-way Queue throughput of
// small objects cost between two Node processes, compared with Node's own
// messaging and with Python's multiprocessing.Queue, measured in the same
// run?
//   - round trip: the head puts a small object on queue `a`, a forked peer
//     gets it and puts it back on queue `b` (await put / await get on both
//     sides). Targets: >= 5x faster than Python's multiprocessing.Queue and
//     faster than worker_threads postMessage.
//   - throughput: the head puts N small objects (await q.put) on an
//     unbounded queue, the peer gets them (await q.get) until a null; time
//     from the first put to the null's arrival. Target: >= 2x Python's.
//   - baselines: child_process.fork IPC ('json') and worker_threads
//     postMessage (the same object, echoed / counted by bench/ts/peer.mjs),
//     and python3 running the same two loops with multiprocessing.Queue
//     (fork start method), started from here once per repetition.
// The peer of the Queue figures is this file run with --peer (a forked
// child that attaches the queues from their descriptors).
import { spawnSync } from 'node:child_process';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { echoRtt, forkPeer, guardPool, header, line, loadDragon, main, medianRatio, note, nowNs, parseArgs, ratio, stats, target, workerPeer } from './lib.mjs';

const SMALL_OBJECT = { id: 12345, op: 'task', args: [1, 2, 3], ok: true };
const SELF = fileURLToPath(import.meta.url);

// ---- the peer ------------------------------------------------------------------
async function peer() {
  const { Queue } = await loadDragon();
  const queues = new Map();
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'attach') {
        for (const [name, hex] of Object.entries(m.queues)) queues.set(name, Queue.attach(Buffer.from(hex, 'hex')));
        process.send({ ok: true });
      } else if (m.cmd === 'echo') {
        const a = queues.get('a');
        const b = queues.get('b');
        process.send({ ready: true });
        let n = 0;
        for (;;) {
          const v = await a.get();
          await b.put(v);
          if (v === null) break;
          n++;
        }
        process.send({ done: true, n });
      } else if (m.cmd === 'sink') {
        const a = queues.get(m.q);
        process.send({ ready: true });
        let n = 0;
        for (;;) {
          const v = await a.get();
          if (v === null) break;
          if (v.id !== 12345) throw new Error('sink: corrupt item');
          n++;
        }
        process.send({ count: n, tLast: nowNs() });
      } else if (m.cmd === 'exit') {
        for (const q of queues.values()) q.detach();
        process.exit(0);
      }
    } catch (err) {
      process.send({ error: err.stack ?? String(err) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ hello: true });
}

// ---- Python's multiprocessing.Queue, the same two loops -------------------------
const PY = String.raw`
import json, multiprocessing as mp, sys, time
def echo(a, b):
    while True:
        v = a.get()
        b.put(v)
        if v is None: break
def sink(q, done):
    n = 0
    while True:
        v = q.get()
        if v is None: break
        n += 1
    done.put((n, time.monotonic_ns()))
if __name__ == '__main__':
    mp.set_start_method('fork')
    warm, run, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    obj = {'id': 12345, 'op': 'task', 'args': [1, 2, 3], 'ok': True}
    a, b = mp.Queue(), mp.Queue()
    p = mp.Process(target=echo, args=(a, b)); p.start()
    start = time.perf_counter(); t0 = 0; k = 0
    while True:
        a.put(obj); b.get()
        if t0: k += 1
        now = time.perf_counter()
        if not t0 and now - start >= warm: t0 = now
        elif t0 and now - t0 >= run: break
    rtt = (now - t0) / k * 1e6
    a.put(None); b.get(); p.join()
    q, done = mp.Queue(), mp.Queue()
    p = mp.Process(target=sink, args=(q, done)); p.start()
    q.put(obj); time.sleep(0.05)  # the sink is up and the feeder started
    t0 = time.monotonic_ns()
    for _ in range(n): q.put(obj)
    q.put(None)
    count, t_last = done.get(); p.join()
    print(json.dumps({'rtt_us': rtt, 'msgs_s': n / ((t_last - t0) / 1e9)}))
`;

function python(warmS, runS, n) {
  const r = spawnSync('python3', ['-c', PY, String(warmS), String(runS), String(n)], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---- the head --------------------------------------------------------------------
async function head() {
  const o = parseArgs('Queue round trip and throughput vs child_process IPC, worker_threads and Python multiprocessing.Queue');
  const reps = o.reps || (o.quick ? 3 : 7);
  const warmNs = o.quick ? 2e6 : 20e6;
  const runNs = o.quick ? 8e6 : 80e6;
  const N = o.quick ? 20_000 : 200_000;

  const { MemoryPool, Queue } = await loadDragon();
  const pool = guardPool(MemoryPool.create({ bytes: 64 << 20 }));
  const a = new Queue({ pool });
  const b = new Queue({ pool });
  const t = new Queue({ pool });
  const qPeer = fork(SELF, ['--peer'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox = [];
  const waiting = [];
  qPeer.on('message', (m) => (waiting.length ? waiting.shift()(m) : inbox.push(m)));
  const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiting.push(r)));
  const call = async (m) => {
    if (m) qPeer.send(m);
    const r = await next();
    if (r.error) throw new Error(`queue peer: ${r.error}`);
    return r;
  };
  await call();
  const hex = (q) => Buffer.from(q.serialize()).toString('hex');
  await call({ cmd: 'attach', queues: { a: hex(a), b: hex(b), t: hex(t) } });
  const [ipc, worker] = await Promise.all([forkPeer('json'), workerPeer()]);

  async function queueRtt() {
    await call({ cmd: 'echo' });
    const start = nowNs();
    let t0 = 0;
    let n = 0;
    let us = 0;
    for (let i = 0; ; i++) {
      await a.put(SMALL_OBJECT);
      const r = await b.get();
      if (r.id !== 12345) throw new Error('queue echo: corrupt reply');
      if (t0) n++;
      if ((i & 15) === 0) {
        const now = nowNs();
        if (!t0 && now - start >= warmNs) t0 = now;
        else if (t0 && now - t0 >= runNs) {
          us = (now - t0) / 1e3 / n;
          break;
        }
      }
    }
    await a.put(null);
    await b.get();
    await call();
    return us;
  }


  async function queueThroughput() {
    await call({ cmd: 'sink', q: 't' });
    const t0 = nowNs();
    for (let i = 0; i < N; i++) await t.put(SMALL_OBJECT);
    await t.put(null);
    const r = await call();
    if (r.count !== N) throw new Error(`queue: put ${N}, got ${r.count}`);
    return N / ((r.tLast - t0) / 1e9) / 1e3;
  }

  const COUNTED = { s: 1, ...SMALL_OBJECT };
  async function nodeThroughput(p) {
    await p.call({ cmd: 'ipcSinkStart' });
    const t0 = nowNs();
    for (let i = 0; i < N; i++) p.send(COUNTED);
    const r = await p.call({ cmd: 'ipcSinkMark' });
    if (r.count !== N) throw new Error(`${p.kind}: sent ${N}, received ${r.count}`);
    return N / ((r.tLast - t0) / 1e9) / 1e3;
  }

  const r = { qRtt: [], ipcRtt: [], wRtt: [], pyRtt: [], qTp: [], ipcTp: [], wTp: [], pyTp: [] };
  let pyError;
  header('ts queue', 'Queue round trip and one-way throughput between two processes', o, reps);
  const progress = (what) => process.stderr.write(`   .. ${what}\n`);
  for (let i = 0; i < reps; i++) {
    progress(`repetition ${i + 1}`);
    r.qRtt.push(await queueRtt());
    r.ipcRtt.push(await echoRtt(ipc, SMALL_OBJECT, warmNs, runNs));
    r.wRtt.push(await echoRtt(worker, SMALL_OBJECT, warmNs, runNs));
    progress('throughput');
    r.qTp.push(await queueThroughput());
    r.ipcTp.push(await nodeThroughput(ipc));
    r.wTp.push(await nodeThroughput(worker));
    progress('python');
    const py = python(warmNs / 1e9, runNs / 1e9, N);
    if (py.error) pyError = py.error;
    else {
      r.pyRtt.push(py.rtt_us);
      r.pyTp.push(py.msgs_s / 1e3);
    }
  }

  note(`small object: ${JSON.stringify(SMALL_OBJECT)}; throughput: ${N} objects per repetition`);
  if (pyError) note(`python3 multiprocessing.Queue could not run: ${pyError}`);
  line('Python multiprocessing.Queue (base)', stats(r.pyRtt), 'us RTT');
  line('child_process IPC json', stats(r.ipcRtt), 'us RTT');
  line('worker_threads postMessage', stats(r.wRtt), 'us RTT');
  line('Queue put/get (async)', stats(r.qRtt), 'us RTT');
  const rttPy = r.pyRtt.length === reps ? medianRatio(r.pyRtt, r.qRtt) : NaN;
  const rttW = medianRatio(r.wRtt, r.qRtt);
  ratio('  faster than Python Queue (median of ratios)', rttPy, 'higher is better');
  ratio('  faster than IPC json', medianRatio(r.ipcRtt, r.qRtt), 'higher is better');
  ratio('  faster than worker postMessage', rttW, 'higher is better');
  target('RTT >= 5x faster than Python Queue', rttPy >= 5);
  target('RTT faster than postMessage', rttW > 1);

  line('Python multiprocessing.Queue (base)', stats(r.pyTp), 'k msg/s');
  line('child_process IPC json', stats(r.ipcTp), 'k msg/s');
  line('worker_threads postMessage', stats(r.wTp), 'k msg/s');
  line('Queue put/get (async)', stats(r.qTp), 'k msg/s');
  const tpPy = r.pyTp.length === reps ? medianRatio(r.qTp, r.pyTp) : NaN;
  ratio('  vs Python Queue (median of ratios)', tpPy, 'higher is better');
  ratio('  vs IPC json', medianRatio(r.qTp, r.ipcTp), 'higher is better');
  ratio('  vs worker postMessage', medianRatio(r.qTp, r.wTp), 'higher is better');
  target('throughput >= 2x Python Queue', tpPy >= 2);

  qPeer.send({ cmd: 'exit' });
  await Promise.all([ipc.close(), worker.close(), new Promise((res) => (qPeer.exitCode !== null ? res() : qPeer.once('exit', res)))]);
  a.destroy();
  b.destroy();
  t.destroy();
  pool.destroy();
}

if (process.argv.includes('--peer')) void peer();
else main(head, 900_000);
