// The other side of the Node benchmarks: a forked child process or a worker
// thread. Commands (objects with `cmd`) arrive over IPC / the worker port;
// any other message is baseline traffic: `{ s }` is counted (one-way
// throughput), anything else is echoed back as is (round trip).
// Dragon loops run until a stop message arrives on the channel and then
// report over IPC, so timing never depends on IPC.
import { parentPort } from 'node:worker_threads';

const port = parentPort ?? process;
const reply = (m, then) => {
  if (parentPort) {
    parentPort.postMessage(m);
    if (then) then();
  } else {
    // `then` runs once the message is written: a sync loop started after it
    // blocks the event loop, which would otherwise hold the write back.
    process.send(m, then ? () => then() : undefined);
  }
};
const nowNs = () => Number(process.hrtime.bigint());

const STOP = 0xff;
// sync waits end in an error rather than outlive a parent that died
const T = { timeout: 30000 };
const TZ = { timeout: 30000, zeroCopy: true };
const MARK = 0xfe;
let dragon;
const channels = new Map();
let sinkCount = 0;
let sinkFirst = 0;

async function attach(m) {
  dragon ??= await import(new URL('../../dist/src/index.js', import.meta.url).href);
  for (const [name, hex] of Object.entries(m.channels)) channels.set(name, dragon.Channel.attach(Buffer.from(hex, 'hex')));
  return { ok: true };
}

// Round trips: receive on `in`, send back on `out`.
async function echo(m) {
  const a = channels.get(m.in);
  const b = channels.get(m.out);
  let n = 0;
  if (m.mode === 'sync') {
    for (;;) {
      const buf = a.recvBytesSync(T);
      b.sendBytesSync(buf, T);
      n++;
      if (buf[0] === STOP) break;
    }
  } else if (m.mode === 'asyncBytes') {
    for (;;) {
      const buf = await a.recvBytes();
      await b.sendBytes(buf);
      n++;
      if (buf[0] === STOP) break;
    }
  } else if (m.mode === 'asyncValue') {
    for (;;) {
      const v = await a.recv();
      await b.send(v);
      n++;
      if (v === null) break;
    }
  } else {
    throw new Error(`unknown echo mode ${m.mode}`);
  }
  return { done: true, n };
}

// One-way: receive until a 1-byte MARK; tLast is when MARK arrived (right
// behind the last message), so no clock is read per message.
async function sink(m) {
  const a = channels.get(m.ch);
  let n = 0;
  let tFirst = 0;
  const size = m.size ?? 0;
  const check = (len, first) => {
    if (size && (len !== size || first !== (n & 0xff))) throw new Error(`sink: message ${n} has ${len} bytes, first byte ${first}`);
  };
  if (m.mode === 'sync' || m.mode === 'copy') {
    for (;;) {
      const buf = a.recvBytesSync(T);
      if (buf.length === 1 && buf[0] === MARK) break;
      check(buf.length, buf[0]);
      if (n++ === 0) tFirst = nowNs();
    }
  } else if (m.mode === 'into' || m.mode === 'copyInto') {
    // one receive buffer for every message: no allocation per message
    const buf = Buffer.alloc(Math.max(size, 64));
    for (;;) {
      const len = a.recvBytesIntoSync(buf, T);
      if (len === 1 && buf[0] === MARK) break;
      check(len, buf[0]);
      if (n++ === 0) tFirst = nowNs();
    }
  } else if (m.mode === 'async') {
    for (;;) {
      const buf = await a.recvBytes();
      if (buf.length === 1 && buf[0] === MARK) break;
      check(buf.length, buf[0]);
      if (n++ === 0) tFirst = nowNs();
    }
  } else if (m.mode === 'asyncInto') {
    const buf = Buffer.alloc(64);
    for (;;) {
      const len = await a.recvBytesInto(buf);
      if (len === 1 && buf[0] === MARK) break;
      if (n++ === 0) tFirst = nowNs();
    }
  } else if (m.mode === 'zc') {
    for (;;) {
      const view = a.recvBytesSync(TZ);
      const len = view.length;
      const first = view.bytes[0];
      view.release();
      if (len === 1 && first === MARK) break;
      check(len, first);
      if (n++ === 0) tFirst = nowNs();
    }
  } else {
    throw new Error(`unknown sink mode ${m.mode}`);
  }
  return { count: n, tFirst, tLast: nowNs() };
}

async function command(m) {
  switch (m.cmd) {
    case 'attach':
      return attach(m);
    case 'ipcSinkStart':
      sinkCount = 0;
      sinkFirst = 0;
      return { ready: true };
    case 'ipcSinkMark':
      return { count: sinkCount, tFirst: sinkFirst, tLast: nowNs() };
    case 'exit':
      for (const ch of channels.values()) ch.detach();
      channels.clear();
      process.exit(0);
      return undefined;
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

// Dragon loops answer `ready` first (written before the loop may block).
const loops = { echo, sink };

port.on('message', (m) => {
  if (m && typeof m === 'object' && typeof m.cmd === 'string') {
    const loop = loops[m.cmd];
    if (loop) {
      reply({ ready: true }, () => {
        loop(m).then(reply, (err) => reply({ error: err.stack ?? String(err) }));
      });
      return;
    }
    command(m).then(
      (r) => r !== undefined && reply(r),
      (err) => reply({ error: err.stack ?? String(err) }),
    );
  } else if (m && typeof m === 'object' && 's' in m) {
    if (sinkCount++ === 0) sinkFirst = nowNs();
  } else {
    port === process ? process.send(m) : parentPort.postMessage(m);
  }
});

// the parent went away (IPC closed): nothing left to serve
if (!parentPort) process.on('disconnect', () => process.exit(0));

reply({ hello: true });
