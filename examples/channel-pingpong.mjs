// Two processes play ping-pong over a pair of Dragon channels in shared
// memory. The parent creates a pool and two channels, starts a child with
// their descriptors, and sends values that the child sends back.
//   node examples/channel-pingpong.mjs [rounds]
import { fork } from 'node:child_process';
import { Channel, MemoryPool } from 'dragonhpc';

const [role, pingDesc, pongDesc] = process.argv.slice(2);

if (role === 'child') {
  // Attaching a channel also maps its pool in this process.
  const ping = Channel.attach(Buffer.from(pingDesc, 'hex'));
  const pong = Channel.attach(Buffer.from(pongDesc, 'hex'));
  for (;;) {
    const msg = await ping.recv();
    if (msg === 'stop') break;
    await pong.send(msg);
  }
  ping.detach();
  pong.detach();
} else {
  const rounds = Number(role ?? 10_000);
  const pool = MemoryPool.create({ bytes: 16 << 20 }); // a segment in /dev/shm
  const ping = Channel.create({ pool, capacity: 64 });
  const pong = Channel.create({ pool, capacity: 64 });
  const hex = (ch) => Buffer.from(ch.serialize()).toString('hex');
  // The child inherits DRAGON_RT_UID, so it joins this run-time.
  const child = fork(new URL(import.meta.url).pathname, ['child', hex(ping), hex(pong)]);

  // one round trip first: it waits for the child to start
  await ping.send('hello');
  console.log('child says:', await pong.recv({ timeout: 10_000 }));

  const start = performance.now();
  for (let i = 0; i < rounds; i++) {
    await ping.send({ i, text: `ping ${i}`, tags: ["a", "b"] });
    const back = await pong.recv({ timeout: 10_000 });
    if (back.i !== i) throw new Error(`out of order: ${back.i} != ${i}`);
  }
  const us = ((performance.now() - start) * 1000) / rounds;
  await ping.send('stop');
  await new Promise((resolve) => child.on('exit', resolve));

  console.log(`${rounds} round trips between two processes: ${us.toFixed(1)} µs each`);
  console.log('pool after the run:', pool.stats());
  ping.destroy();
  pong.destroy();
  pool.destroy(); // unlinks the segment: nothing is left in /dev/shm
}
