// Question 5: how fast does data flow one way from one Node process to
// another through a dragon Channel?
//   - 64 B messages per second with sendBytesSync/recvBytesSync (target
//     >= 1 M msgs/s) and with async sendBytes/recvBytes, against
//     child_process IPC ('json') and worker_threads postMessage carrying a
//     64-character string, measured in the same run;
//     The same with recvBytesIntoSync / recvBytesInto (one receive buffer,
//     no allocation per message) is shown next to them;
//   - 1 MiB and 64 MiB messages in GB/s: the copy path (sendBytesSync copies
//     into the pool, recvBytesSync returns a fresh Buffer, and
//     recvBytesIntoSync copies into the receiver's own buffer) against an
//     in-process Buffer copy (memcpy); and zero-copy (pool.alloc +
//     sendAllocationSync, recvBytesSync({ zeroCopy: true }) + release()), in
//     microseconds per message whatever the size. child_process IPC with
//     'advanced' serialization is shown for 1 MiB as context.
import { SYNC_TIMEOUT_MS, forkPeer, guardPool, header, line, loadDragon, main, medianRatio, note, nowNs, parseArgs, ratio, stats, target, workerPeer } from './lib.mjs';

const MIB = 1 << 20;
const MARK = Buffer.from([0xfe]);
const T = { timeout: SYNC_TIMEOUT_MS };

main(async () => {
  const o = parseArgs('TypeScript one-way Channel throughput: 64 B msgs/s, 1/64 MiB GB/s');
  const reps = o.reps || (o.quick ? 3 : 7);
  const largeReps = o.reps || (o.quick ? 1 : 5);
  const runNs = o.quick ? 15e6 : 100e6;
  const nodeMsgs = o.quick ? 3000 : 20000;

  const { MemoryPool, Channel } = await loadDragon();
  // 64 MiB messages take 128 MiB blocks (a header sits in front): two
  // queued, one held by the receiver and one being filled fit in 1 GiB.
  const pool = guardPool(MemoryPool.create({ bytes: 1024 * MIB }));
  const small = Channel.create({ pool, capacity: 1024, blockSize: 64 });
  const large = Channel.create({ pool, capacity: 2, blockSize: 64 });
  const [dragonPeer, jsonPeer, advPeer, worker] = await Promise.all([forkPeer('json'), forkPeer('json'), forkPeer('advanced'), workerPeer()]);
  const hex = (ch) => Buffer.from(ch.serialize()).toString('hex');
  await dragonPeer.call({ cmd: 'attach', channels: { small: hex(small), large: hex(large) } });

  // ---- 64 B ------------------------------------------------------------------
  const msg = Buffer.alloc(64, 0x11);

  // Messages per second: sender sends for runNs, then MARK; the receiver
  // reports when MARK arrived.
  async function dragonSmall(mode) {
    dragonPeer.send({ cmd: 'sink', mode, ch: 'small' });
    await dragonPeer.next(); // ready
    const t0 = nowNs();
    let n = 0;
    if (mode === 'sync' || mode === 'into') {
      for (;;) {
        for (let k = 0; k < 256; k++) small.sendBytesSync(msg, T);
        n += 256;
        if (nowNs() - t0 >= runNs) break;
      }
      small.sendBytesSync(MARK, T);
    } else {
      for (;;) {
        for (let k = 0; k < 256; k++) await small.sendBytes(msg);
        n += 256;
        if (nowNs() - t0 >= runNs) break;
      }
      await small.sendBytes(MARK);
    }
    const r = await dragonPeer.next();
    if (r.error) throw new Error(r.error);
    if (r.count !== n) throw new Error(`sent ${n}, received ${r.count}`);
    return n / ((r.tLast - t0) / 1e9) / 1e6;
  }

  // Node's messaging: fire nodeMsgs messages, then ask for the count.
  const STR64 = 'x'.repeat(64);
  async function nodeSmall(peer) {
    await peer.call({ cmd: 'ipcSinkStart' });
    const t0 = nowNs();
    for (let i = 0; i < nodeMsgs; i++) peer.send({ s: STR64 });
    const r = await peer.call({ cmd: 'ipcSinkMark' });
    if (r.count !== nodeMsgs) throw new Error(`${peer.kind}: sent ${nodeMsgs}, received ${r.count}`);
    return nodeMsgs / ((r.tLast - t0) / 1e9) / 1e6;
  }

  header('ts channel_throughput', 'one-way throughput between two Node processes', o, reps);
  const s = { sync: [], async: [], ipc: [], worker: [], into: [], asyncInto: [] };
  for (let i = 0; i < reps; i++) {
    s.sync.push(await dragonSmall('sync'));
    s.ipc.push(await nodeSmall(jsonPeer));
    s.async.push(await dragonSmall('async'));
    s.worker.push(await nodeSmall(worker));
    s.into.push(await dragonSmall('into'));
    s.asyncInto.push(await dragonSmall('asyncInto'));
  }
  line('child_process IPC json, 64-char string (base)', stats(s.ipc), 'M msg/s');
  line('worker_threads postMessage, 64-char string', stats(s.worker), 'M msg/s');
  line('Channel 64 B sendBytesSync/recvBytesSync', stats(s.sync), 'M msg/s');
  ratio('  vs IPC json (median of ratios)', medianRatio(s.sync, s.ipc), 'higher is better');
  target('sync 64 B >= 1 M msgs/s', stats(s.sync).median >= 1);
  line('Channel 64 B async sendBytes/recvBytes', stats(s.async), 'M msg/s');
  ratio('  vs IPC json (median of ratios)', medianRatio(s.async, s.ipc), 'higher is better');
  ratio('  vs worker postMessage (median of ratios)', medianRatio(s.async, s.worker), 'higher is better');
  target('async 64 B >= 1 M msgs/s', stats(s.async).median >= 1);
  line('Channel 64 B sendBytesSync/recvBytesIntoSync', stats(s.into), 'M msg/s');
  line('Channel 64 B async sendBytes/recvBytesInto', stats(s.asyncInto), 'M msg/s');

  // ---- large messages ----------------------------------------------------------
  note(`-- large messages: median of ${largeReps} repetitions`);

  // Messages of `size` for at least `min` messages and windowNs: the sender
  // stamps t0, the receiver reports when MARK arrived. Returns
  // { n, ns } for the whole batch.
  async function dragonLarge(mode, size, min, windowNs) {
    dragonPeer.send({ cmd: 'sink', mode, ch: 'large', size });
    await dragonPeer.next();
    const t0 = nowNs();
    let n = 0;
    for (; n < min || nowNs() - t0 < windowNs; n++) {
      if (mode === 'copy' || mode === 'copyInto') {
        src[0] = n & 0xff;
        large.sendBytesSync(src, T);
      } else {
        // zero-copy: allocate, mark, hand over; the receiver views it and
        // releases it
        const al = pool.alloc(size, { timeout: SYNC_TIMEOUT_MS });
        al.bytes[0] = n & 0xff;
        large.sendAllocationSync(al, T);
      }
    }
    large.sendBytesSync(MARK, T);
    const r = await dragonPeer.next();
    if (r.error) throw new Error(r.error);
    if (r.count !== n) throw new Error(`${mode}: sent ${n}, received ${r.count}`);
    return { n, ns: r.tLast - t0 };
  }
  const dragonCopy = async (size, min, windowNs) => {
    const { n, ns } = await dragonLarge('copy', size, min, windowNs);
    return (size * n) / ns; // GB/s
  };
  const dragonCopyInto = async (size, min, windowNs) => {
    const { n, ns } = await dragonLarge('copyInto', size, min, windowNs);
    return (size * n) / ns; // GB/s
  };
  const dragonZeroCopy = async (size, min, windowNs) => {
    const { n, ns } = await dragonLarge('zc', size, min, windowNs);
    return ns / 1e3 / n; // us per message
  };

  function memcpy(dst, src, batch) {
    const t0 = nowNs();
    for (let i = 0; i < batch; i++) src.copy(dst, 0, 0, src.length);
    return (src.length * batch) / (nowNs() - t0);
  }

  async function ipcLarge(src, batch) {
    await advPeer.call({ cmd: 'ipcSinkStart' });
    const t0 = nowNs();
    for (let i = 0; i < batch; i++) advPeer.send({ s: src });
    const r = await advPeer.call({ cmd: 'ipcSinkMark' });
    if (r.count !== batch) throw new Error(`ipc advanced: sent ${batch}, received ${r.count}`);
    return (src.length * batch) / (r.tLast - t0);
  }

  const windowNs = o.quick ? 10e6 : 60e6;
  let zc1 = 0;
  let src;
  for (const [size, memcpyBatch] of [
    [MIB, o.quick ? 20 : 100],
    [64 * MIB, o.quick ? 1 : 4],
  ]) {
    const mib = size / MIB;
    src = Buffer.alloc(size, 0x22);
    const dst = Buffer.alloc(size, 0x33);
    // a few messages each way first: the first touch of pool blocks (their
    // reservation in /dev/shm, page faults in both processes) is a one-time
    // cost, not what the steady figures ask about
    await dragonCopy(size, 4, 0);
    await dragonZeroCopy(size, 8, 0);
    await dragonCopyInto(size, 2, 0);
    const l = { mc: [], copy: [], into: [], zc: [], ipc: [] };
    for (let i = 0; i < largeReps; i++) {
      l.mc.push(memcpy(dst, src, memcpyBatch));
      l.copy.push(await dragonCopy(size, 2, windowNs));
      l.into.push(await dragonCopyInto(size, 2, windowNs));
      l.zc.push(await dragonZeroCopy(size, 8, windowNs));
      if (size === MIB) l.ipc.push(await ipcLarge(src, o.quick ? 5 : 20));
    }
    line(`${mib} MiB Buffer.copy, one process (baseline)`, stats(l.mc), 'GB/s');
    if (l.ipc.length) line(`${mib} MiB child_process IPC advanced`, stats(l.ipc), 'GB/s');
    line(`${mib} MiB Channel copy path`, stats(l.copy), 'GB/s');
    ratio('  copy path / memcpy (median of ratios)', medianRatio(l.copy, l.mc), 'higher is better');
    line(`${mib} MiB Channel copy path into one buffer`, stats(l.into), 'GB/s');
    const intoX = medianRatio(l.into, l.mc);
    ratio('  copy into / memcpy (median of ratios)', intoX, 'higher is better');
    target('copy path (into) >= 0.5x memcpy', intoX >= 0.5);
    line(`${mib} MiB Channel zero-copy view`, stats(l.zc), 'us/msg');
    note(`${''.padEnd(44)} ${(size / (stats(l.zc).median * 1e3)).toFixed(1).padStart(10)} GB/s (size / time per message)`);
    if (!zc1) zc1 = stats(l.zc).median;
    else {
      const x = stats(l.zc).median / zc1;
      ratio('  zero-copy time, this size / 1 MiB', x, '~1 means independent of size');
      target('zero-copy time independent of size (<2x)', x < 2);
    }
  }

  await Promise.all([dragonPeer.close(), jsonPeer.close(), advPeer.close(), worker.close()]);
  small.destroy();
  large.destroy();
  pool.destroy();
});
