// Helpers shared by the Node benchmarks: flags, medians, the report format
// (the same as the C benchmarks'), and the peers they talk to (a forked
// child process or a worker thread running peer.mjs).
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
const DIST = new URL('../../dist/src/index.js', import.meta.url);

// Exits 2 on a bad flag: a benchmark fails only on errors, never on a
// missed target.
export function parseArgs(what) {
  const o = { quick: false, reps: 0 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--reps' && i + 1 < argv.length && Number(argv[i + 1]) >= 1) o.reps = Math.floor(Number(argv[++i]));
    else {
      const help = a === '--help' || a === '-h';
      (help ? console.log : console.error)(
        `usage: node ${process.argv[1]} [--quick] [--reps N]\n  ${what}\n` +
          '  --quick   short smoke run, figures are rough\n  --reps N  repetitions to take the median of',
      );
      process.exit(help ? 0 : 2);
    }
  }
  return o;
}

// The built package; a missing build is an error with the fix in the message.
export async function loadDragon() {
  try {
    return await import(DIST.href);
  } catch (err) {
    console.error(`cannot load ${fileURLToPath(DIST)}: ${err.message}\n  run \`npm run build\` (and \`make -C native/libdragon\`) first`);
    process.exit(1);
  }
}

// CLOCK_MONOTONIC in ns: the same clock in every process, so a receiver's
// timestamp can be compared with the sender's.
export const nowNs = () => Number(process.hrtime.bigint());

export function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const median = n === 0 ? NaN : n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { median, min: v[0], max: v[n - 1], n };
}

export function header(name, question, o, reps) {
  console.log(`== ${name}: ${question}`);
  console.log(`   ${o.quick ? 'quick (smoke: figures are rough)' : 'full'} run, median of ${reps} repetitions (min..max in brackets), node ${process.version}`);
}

const fix = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function line(label, s, unit) {
  console.log(`   ${label.padEnd(44)} ${fix(s.median).padStart(10)} ${unit.padEnd(8)} [${fix(s.min)}..${fix(s.max)}]`);
}

export function ratio(label, r, how) {
  console.log(`   ${label.padEnd(44)} ${fix(r, 2).padStart(10)}x  ${how}`);
}

export function note(text) {
  console.log(`   ${text}`);
}

// "target met/missed" next to the figure; never changes the exit code.
export function target(what, met) {
  console.log(`   target ${what.padEnd(37)} ${met ? 'target met' : 'target missed'}`);
}

// Median of per-repetition ratios: each ratio compares two figures taken
// back to back, under the same placement and the same neighbours.
/**
 * Round trip (µs) of `object` through a Node peer (forkPeer/workerPeer) that
 * echoes it back: warm for warmNs, then time for runNs.
 */
export async function echoRtt(peer, object, warmNs, runNs) {
  const start = nowNs();
  let t0 = 0;
  let n = 0;
  for (let i = 0; ; i++) {
    peer.send(object);
    const r = await peer.next();
    if (r.id !== object.id) throw new Error(`${peer.kind} echo: corrupt reply`);
    if (t0) n++;
    if ((i & 15) === 0) {
      const now = nowNs();
      if (!t0 && now - start >= warmNs) t0 = now;
      else if (t0 && now - t0 >= runNs) return (now - t0) / 1e3 / n;
    }
  }
}

export const medianRatio = (a, b) => stats(a.map((x, i) => x / b[i])).median;

// A peer speaking to us over a message port (child IPC or worker): replies
// arrive in order, `next()` takes the next one. A peer that dies is an error.
class Peer {
  #queue = [];
  #waiting = [];
  #failed;
  constructor(port, kind) {
    this.port = port;
    this.kind = kind;
    port.on('message', (m) => {
      const w = this.#waiting.shift();
      if (w) w.resolve(m);
      else this.#queue.push(m);
    });
    const fail = (err) => {
      this.#failed = err;
      for (const w of this.#waiting.splice(0)) w.reject(err);
    };
    port.on('error', fail);
    port.on('exit', (code, signal) => {
      this.exited = true;
      if (code !== 0 || signal) fail(new Error(`${kind} peer exited with ${signal ?? `code ${code}`}`));
      else fail(new Error(`${kind} peer exited`));
    });
  }
  send(m) {
    if (this.kind === 'worker') this.port.postMessage(m);
    else this.port.send(m);
  }
  next() {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift());
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }
  // Sends a command and waits for its reply.
  async call(m) {
    this.send(m);
    const r = await this.next();
    if (r && r.error) throw new Error(`peer: ${r.error}`);
    return r;
  }
  async close() {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.port.once('exit', resolve));
    this.send({ cmd: 'exit' });
    const t = setTimeout(() => (this.kind === 'worker' ? this.port.terminate() : this.port.kill('SIGKILL')), 5000);
    await gone;
    clearTimeout(t);
  }
}

// A forked Node process running peer.mjs. serialization: 'json' | 'advanced'.
export async function forkPeer(serialization = 'json') {
  const child = fork(PEER, [], { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const p = new Peer(child, `child(${serialization})`);
  const hello = await p.next();
  if (hello?.hello !== true) throw new Error('peer did not start');
  return p;
}

export async function workerPeer() {
  const w = new Worker(PEER);
  const p = new Peer(w, 'worker');
  const hello = await p.next();
  if (hello?.hello !== true) throw new Error('worker did not start');
  return p;
}

// Segments this run created are unlinked when the process exits, even on
// an error or a signal, so no run leaves anything in /dev/shm (after a
// normal destroy() this finds nothing to remove).
const segments = new Set();
export function guardPool(pool) {
  segments.add(pool.name);
  return pool;
}
process.on('exit', () => {
  for (const name of segments) rmSync(`/dev/shm${name}`, { force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));

// Blocking calls in the benchmarks carry this timeout (ms): a peer that died
// turns into an error instead of a hang.
export const SYNC_TIMEOUT_MS = 30000;

// Ends the benchmark with exit 1 on any error (never on a missed target),
// or when it runs far longer than it should (an async wait that never ends).
export function main(fn, watchdogMs = 300000) {
  setTimeout(() => {
    console.error(`benchmark still running after ${watchdogMs / 1000} s: giving up`);
    process.exit(1);
  }, watchdogMs).unref();
  fn().then(
    () => process.exit(0),
    (err) => {
      console.error(err?.stack ?? String(err));
      process.exit(1);
    },
  );
}
