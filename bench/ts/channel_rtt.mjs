// Question 4: what does a round trip between two Node processes cost
// through a dragon Channel, compared with what Node offers out of the box,
// measured in the same run?
//   - 64 B, sendBytesSync / recvBytesSync on both sides
//     (target: >= 10x faster than child_process IPC);
//   - 64 B with async sendBytes / recvBytes, and a small object with async
//     send / recv (targets: >= 3x faster than child_process IPC, and faster
//     than worker_threads postMessage);
//   - baselines: child_process.fork IPC with 'json' and 'advanced'
//     serialization, and worker_threads postMessage, all with the same
//     small object.
import { SYNC_TIMEOUT_MS, echoRtt, forkPeer, guardPool, header, line, loadDragon, main, medianRatio, note, nowNs, parseArgs, ratio, stats, target, workerPeer } from './lib.mjs';

const STOP = 0xff;
const T = { timeout: SYNC_TIMEOUT_MS };
const SMALL_OBJECT = { id: 12345, op: 'task', args: [1, 2, 3], ok: true };

main(async () => {
  const o = parseArgs('TypeScript Channel round trip vs child_process IPC and worker_threads');
  const reps = o.reps || (o.quick ? 5 : 11);
  const warmNs = o.quick ? 2e6 : 15e6;
  const runNs = o.quick ? 8e6 : 60e6;

  const { MemoryPool, Channel } = await loadDragon();
  // The pool first: it fixes the run-time id (exported in the environment)
  // that the forked peers inherit.
  const pool = guardPool(MemoryPool.create({ bytes: 4 << 20 }));
  const a = Channel.create({ pool, capacity: 16, blockSize: 1024 });
  const b = Channel.create({ pool, capacity: 16, blockSize: 1024 });
  const [dragonPeer, jsonPeer, advPeer, worker] = await Promise.all([
    forkPeer('json'),
    forkPeer('json'),
    forkPeer('advanced'),
    workerPeer(),
  ]);
  await dragonPeer.call({ cmd: 'attach', channels: { a: Buffer.from(a.serialize()).toString('hex'), b: Buffer.from(b.serialize()).toString('hex') } });

  // Each returns the mean round trip (us) over a timed window after a warm-up.
  const msg = Buffer.alloc(64, 0x5a);
  const stop = Buffer.alloc(64, STOP);

  async function dragonSync() {
    await dragonPeer.call({ cmd: 'echo', mode: 'sync', in: 'a', out: 'b' });
    const start = nowNs();
    let t0 = 0;
    let n = 0;
    let us = 0;
    for (let i = 0; ; i++) {
      a.sendBytesSync(msg, T);
      const r = b.recvBytesSync(T);
      if (r.length !== 64 || r[0] !== 0x5a) throw new Error('sync echo: corrupt reply');
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
    a.sendBytesSync(stop, T);
    b.recvBytesSync(T);
    await dragonPeer.next();
    return us;
  }

  async function dragonAsync(mode) {
    await dragonPeer.call({ cmd: 'echo', mode, in: 'a', out: 'b' });
    const bytes = mode === 'asyncBytes';
    const start = nowNs();
    let t0 = 0;
    let n = 0;
    let us = 0;
    for (let i = 0; ; i++) {
      if (bytes) {
        await a.sendBytes(msg);
        const r = await b.recvBytes();
        if (r.length !== 64 || r[0] !== 0x5a) throw new Error('async echo: corrupt reply');
      } else {
        await a.send(SMALL_OBJECT);
        const r = await b.recv();
        if (r.id !== SMALL_OBJECT.id) throw new Error('async echo: corrupt reply');
      }
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
    if (bytes) {
      await a.sendBytes(stop);
      await b.recvBytes();
    } else {
      await a.send(null);
      await b.recv();
    }
    await dragonPeer.next();
    return us;
  }

  // Node's own messaging: send, wait for the echo, repeat.

  const r = { sync: [], asyncBytes: [], asyncValue: [], json: [], adv: [], worker: [] };
  header('ts channel_rtt', 'round trip between two Node processes', o, reps);
  // Interleaved: every repetition measures each variant back to back.
  for (let i = 0; i < reps; i++) {
    r.sync.push(await dragonSync());
    r.json.push(await echoRtt(jsonPeer, SMALL_OBJECT, warmNs, runNs));
    r.asyncBytes.push(await dragonAsync('asyncBytes'));
    r.adv.push(await echoRtt(advPeer, SMALL_OBJECT, warmNs, runNs));
    r.asyncValue.push(await dragonAsync('asyncValue'));
    r.worker.push(await echoRtt(worker, SMALL_OBJECT, warmNs, runNs));
  }

  line('child_process IPC json, small object (base)', stats(r.json), 'us RTT');
  line('child_process IPC advanced, small object', stats(r.adv), 'us RTT');
  line('worker_threads postMessage, small object', stats(r.worker), 'us RTT');
  note(`small object: ${JSON.stringify(SMALL_OBJECT)}`);

  line('Channel 64 B sendBytesSync/recvBytesSync', stats(r.sync), 'us RTT');
  const syncX = medianRatio(r.json, r.sync);
  ratio('  faster than IPC json (median of ratios)', syncX, 'higher is better');
  target('sync 64 B >= 10x faster than IPC', syncX >= 10);

  for (const [key, label] of [
    ['asyncBytes', 'Channel 64 B async sendBytes/recvBytes'],
    ['asyncValue', 'Channel small object async send/recv'],
  ]) {
    line(label, stats(r[key]), 'us RTT');
    const ipcX = medianRatio(r.json, r[key]);
    const workerX = medianRatio(r.worker, r[key]);
    ratio('  faster than IPC json (median of ratios)', ipcX, 'higher is better');
    ratio('  faster than worker postMessage', workerX, 'higher is better');
    target(`${key === 'asyncBytes' ? 'async 64 B' : 'async object'} >= 3x faster than IPC`, ipcX >= 3);
    target(`${key === 'asyncBytes' ? 'async 64 B' : 'async object'} faster than worker`, workerX > 1);
  }

  await Promise.all([dragonPeer.close(), jsonPeer.close(), advPeer.close(), worker.close()]);
  a.destroy();
  b.destroy();
  pool.destroy();
});
