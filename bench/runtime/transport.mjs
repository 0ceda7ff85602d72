#!/usr/bin/env node
// Issue 5: cross-node channels. Round trip (64 B) and bandwidth (64 KiB,
// 4 MiB) through our channels between a process on node1 and one on node2
// of the virtual Slurm cluster (through the transport agents), next to
// `fi_pingpong -p "tcp;ofi_rxm" -e rdm` between the same two nodes in the
// same allocation. Targets: RTT within 2x of fi_pingpong's, 4 MiB bandwidth
// at least 70% of fi_pingpong's.
//   node bench/runtime/transport.mjs [--quick] [--reps N]
// Needs root and the virtual cluster (brought up with 3 nodes when down,
// and taken down again; a cluster that was up stays up). The measurement
// runs inside one `salloc -N 2` (this file with --inner); the dragon part
// runs this file as the head script (--head) and as the process on node2.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { header, line, main, note, parseArgs, ratio, stats, target } from '../ts/lib.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const self = fileURLToPath(import.meta.url);
const vc = join(root, 'scripts', 'virtual-cluster');
const DRAGON = join(root, 'bin', 'dragon.js');
const PROVIDER = process.env.FI_PROVIDER || 'tcp;ofi_rxm';
const SERVER_ADDR = '127.77.0.11'; // node1 in the virtual cluster
const SIZES = [64, 64 * 1024, 4 * 1024 * 1024];

const mode = process.argv[2];
if (mode === '--inner') await inner(Number(process.argv[3]), process.argv[4] === 'quick');
else if (mode === 'bench-head') await head(Number(process.argv[3]), process.argv[4] === 'quick');
else if (!process.env.DRAGON_PUID) outer();

function outer() {
  const o = parseArgs('cross-node round trip and bandwidth through channels vs fi_pingpong (virtual Slurm cluster)');
  const reps = o.reps || (o.quick ? 2 : 5);
  main(async () => {
    header('transport', 'cross-node channels (node1 <-> node2) vs fi_pingpong, same allocation', o, reps);
    if (process.getuid?.() !== 0) return note('SKIP: needs root (the virtual cluster uses network namespaces)');
    if (!existsSync(join(root, 'native', 'libdragon', 'build', 'dragon-transport')) && !process.env.DRAGON_TRANSPORT_BIN) {
      return note('SKIP: the transport agent is not built (libfabric-dev missing when libdragon was built)');
    }
    const wasUp = spawnSync(vc, ['status'], { stdio: 'ignore' }).status === 0;
    if (!wasUp && spawnSync(vc, ['up', '3'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error('scripts/virtual-cluster up 3 failed');
    try {
      const r = spawnSync(vc, ['exec', 'salloc', '-N', '2', '--quiet', process.execPath, self, '--inner', String(reps), o.quick ? 'quick' : 'full'], {
        encoding: 'utf8',
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 900_000,
      });
      if (r.status !== 0) throw new Error(`the measurement inside salloc failed (exit ${r.status}): ${r.stdout}`);
      report(JSON.parse(r.stdout.trim().split('\n').pop()), reps);
    } finally {
      if (!wasUp) spawnSync(vc, ['down'], { stdio: 'ignore' });
    }
  });
}

function report(res, reps) {
  const fi = res.fi;
  const us = (v) => ({ median: v, min: NaN, max: NaN });
  note(`fi_pingpong provider ${PROVIDER}; our agents: ${res.provider ?? 'their default provider'}; ${reps} repetitions each`);
  const rtt = stats(res.dragon.map((d) => d.rtt64));
  const fiRtt = stats(fi.map((f) => 2 * f[64].usec));
  line('channels 64 B round trip (async)', rtt, 'us');
  line('channels 64 B round trip (sync)', stats(res.dragon.map((d) => d.rtt64sync)), 'us');
  line(`fi_pingpong 64 B round trip (2 x usec/xfer)`, fiRtt, 'us');
  for (const size of [64 * 1024, 4 * 1024 * 1024]) {
    const label = size === 65536 ? '64 KiB' : '4 MiB';
    line(`channels ${label} bandwidth (one way, node1 -> node2)`, stats(res.dragon.map((d) => d.bw[size])), 'GB/s');
    line(`fi_pingpong ${label} bandwidth`, stats(fi.map((f) => f[size].mbps / 1000)), 'GB/s');
  }
  void us;
  const rttRatio = rtt.median / fiRtt.median;
  const bw4 = stats(res.dragon.map((d) => d.bw[4194304])).median / stats(fi.map((f) => f[4194304].mbps / 1000)).median;
  const bw64 = stats(res.dragon.map((d) => d.bw[65536])).median / stats(fi.map((f) => f[65536].mbps / 1000)).median;
  ratio('64 B round trip: channels / fi_pingpong', rttRatio, 'lower is better');
  ratio('64 KiB bandwidth: channels / fi_pingpong', bw64, 'higher is better');
  ratio('4 MiB bandwidth: channels / fi_pingpong', bw4, 'higher is better');
  target('64 B round trip within 2x of fi_pingpong', rttRatio <= 2);
  target('4 MiB bandwidth >= 70% of fi_pingpong', bw4 >= 0.7);
}

// ---- inside `salloc -N 2` -----------------------------------------------------

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

// fi_pingpong's table: "bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec"
function parseFi(out) {
  const rows = {};
  for (const l of out.split('\n')) {
    // sizes print as 64, 64k, 4m
    const m = /^\s*(\d+)([kmg]?)\s+\S+\s+\S+\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(l);
    if (m) rows[Number(m[1]) * { '': 1, k: 1024, m: 1 << 20, g: 1 << 30 }[m[2]]] = { mbps: Number(m[3]), usec: Number(m[4]) };
  }
  return rows;
}

async function fiPingpong(size, iters) {
  const args = ['-p', PROVIDER, '-e', 'rdm', '-S', String(size), '-I', String(iters)];
  const server = run('srun', ['--overlap', '-N', '1', '-n', '1', '-w', 'node1', 'fi_pingpong', ...args]);
  await new Promise((r) => setTimeout(r, 1500));
  const client = await run('srun', ['--overlap', '-N', '1', '-n', '1', '-w', 'node2', 'fi_pingpong', ...args, SERVER_ADDR]);
  const s = await server;
  const rows = parseFi(client.out);
  if (!rows[size]) throw new Error(`fi_pingpong ${size} B: no result (client exit ${client.code}: ${client.err.trim()} / server: ${s.err.trim()})`);
  return rows[size];
}

async function inner(reps, quick) {
  const fi = [];
  const dragon = [];
  let provider;
  for (let r = 0; r < reps; r++) {
    // interleaved: fi_pingpong, then our channels, in the same allocation
    const f = {};
    for (const size of SIZES) f[size] = await fiPingpong(size, size >= 1 << 20 ? (quick ? 50 : 200) : quick ? 2000 : 10000);
    fi.push(f);
    const d = await run(process.execPath, [DRAGON, self, 'bench-head', String(r), quick ? 'quick' : 'full'], { cwd: root });
    const m = /^RESULT (.*)$/m.exec(d.out);
    if (!m) throw new Error(`dragon run failed (exit ${d.code}): ${d.err.trim()}\n${d.out}`);
    const res = JSON.parse(m[1]);
    provider = res.provider;
    dragon.push(res);
  }
  console.log(JSON.stringify({ fi, dragon, provider }));
}

// ---- the head (node1) and its peer (node2) -----------------------------------------
// Each owns the channel it receives from; the other sends into it remotely
// (a send of another node: request through the local agent, performed and
// acknowledged by the far agent). A round trip: head -> node2's channel,
// peer's local recv, peer -> node1's channel, head's local recv.

function plan(quick) {
  const rounds = quick ? 2000 : 10000;
  const warm = 500;
  const bw = [64 * 1024, 4 * 1024 * 1024].map((size) => {
    const total = size >= 1 << 20 ? (quick ? 256 << 20 : 1 << 30) : quick ? 64 << 20 : 256 << 20;
    return { size, n: Math.max(8, Math.floor(total / size)) };
  });
  return { rounds, warm, bw };
}

async function head(_rep, quick) {
  const { Channel, MemoryPool, Process } = await import('dragonhpc');
  const { rounds, warm, bw: sizes } = plan(quick);
  const pool = MemoryPool.attach(new Uint8Array(Buffer.from(process.env.DRAGON_DEFAULT_POOL, 'base64')));
  const pong = Channel.create({ pool, capacity: 64, blockSize: 1024 });
  const p = new Process({ module: new URL(import.meta.url), fn: 'peer', args: [pong, quick], policy: { host: 'node2' } });
  await p.start();
  const ping = await pong.recv();
  const msg = Buffer.alloc(64, 1);
  for (let i = 0; i < warm; i++) {
    await ping.sendBytes(msg);
    await pong.recvBytes();
  }
  let t = performance.now();
  for (let i = 0; i < rounds; i++) {
    await ping.sendBytes(msg);
    await pong.recvBytes();
  }
  const rtt64 = ((performance.now() - t) * 1000) / rounds;
  for (let i = 0; i < warm; i++) {
    ping.sendBytesSync(msg);
    pong.recvBytesSync();
  }
  t = performance.now();
  for (let i = 0; i < rounds; i++) {
    ping.sendBytesSync(msg);
    pong.recvBytesSync();
  }
  const rtt64sync = ((performance.now() - t) * 1000) / rounds;
  const bw = {};
  for (const { size, n } of sizes) {
    const buf = Buffer.alloc(size, 7);
    const window = 8; // sends in flight
    t = performance.now();
    const inflight = [];
    for (let i = 0; i < n; i++) {
      inflight.push(ping.sendBytes(buf));
      if (inflight.length >= window) await inflight.shift();
    }
    await Promise.all(inflight);
    await pong.recv(); // the peer received them all
    bw[size] = (n * size) / ((performance.now() - t) / 1000) / 1e9;
  }
  await p.join();
  ping.detach();
  pong.destroy();
  pool.detach();
  console.log(`RESULT ${JSON.stringify({ rtt64, rtt64sync, bw, provider: process.env.DRAGON_TRANSPORT_PROVIDER ?? null })}`);
}

/** On node2: echoes the round trips, then receives the bandwidth streams. */
export async function peer(pong, quick) {
  const { Channel, MemoryPool } = await import('dragonhpc');
  const { rounds, warm, bw } = plan(quick);
  const pool = MemoryPool.attach(new Uint8Array(Buffer.from(process.env.DRAGON_DEFAULT_POOL, 'base64')));
  const ping = Channel.create({ pool, capacity: 16, blockSize: 1024 });
  await pong.send(ping);
  for (let i = 0; i < warm + rounds; i++) await pong.sendBytes(await ping.recvBytes());
  for (let i = 0; i < warm + rounds; i++) pong.sendBytesSync(ping.recvBytesSync());
  for (const { n } of bw) {
    for (let i = 0; i < n; i++) {
      const v = await ping.recvBytes({ zeroCopy: true });
      v.release();
    }
    await pong.send('done');
  }
  ping.destroy();
  pool.detach();
}
