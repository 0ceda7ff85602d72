// A pool a plain `node` process (outside a run-time) creates goes with the
// process however it ends: normal exit with the pool and an allocation still
// open, process.exit, an uncaught exception, SIGINT/SIGTERM/SIGHUP (the
// process still dies of that signal); a script handling the signal itself
// keeps running. Inside a run-time Local Services owns what is left.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';

const test = suite('pool removed at exit outside a run-time');
const INDEX = fileURLToPath(new URL('../../src/index.js', import.meta.url));

// A plain node child that creates a pool and allocates in it (both left open),
// prints the segment, then runs `then`; "READY KILL:SIG" makes us send SIG.
function child(then: string): Promise<{ segment: string; code: number | null; signal: string | null; out: string }> {
  const src = `
    import { MemoryPool } from ${JSON.stringify(INDEX)};
    const pool = MemoryPool.create({ bytes: 1 << 20 });
    pool.alloc(1000);
    console.log('SEGMENT /dev/shm' + pool.name);
    ${then}
  `;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const p = spawn(process.execPath, ['--input-type=module', '-e', src], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('READY')) p.kill((/KILL:(\w+)/.exec(out) ?? [])[1] as NodeJS.Signals);
    });
    p.stderr.resume();
    p.on('exit', (code, signal) => resolve({ segment: /SEGMENT (\S+)/.exec(out)?.[1] ?? '', code, signal, out }));
  });
}

test('a normal exit with the pool and an allocation open removes the segment', async () => {
  const r = await child('');
  assert.match(r.segment, /^\/dev\/shm\/dragon-/);
  assert.is(r.code, 0);
  assert.not.ok(existsSync(r.segment));
});

test('process.exit and an uncaught exception remove it', async () => {
  const exited = await child('process.exit(3)');
  assert.is(exited.code, 3);
  assert.not.ok(existsSync(exited.segment));
  const threw = await child("setTimeout(() => { throw new Error('boom'); }, 1)");
  assert.is(threw.code, 1);
  assert.not.ok(existsSync(threw.segment));
});

test('SIGINT, SIGTERM and SIGHUP remove it and still end the process by that signal', async () => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const r = await child(`console.log('READY KILL:${sig}'); setInterval(() => {}, 1000);`);
    assert.is(r.signal, sig);
    assert.not.ok(existsSync(r.segment), `${sig}: segment left`);
  }
});

test('a script handling SIGTERM itself keeps running; the segment goes when it exits', async () => {
  const r = await child(`process.on('SIGTERM', () => { console.log('HANDLED'); setTimeout(() => process.exit(0), 10); }); console.log('READY KILL:SIGTERM'); setInterval(() => {}, 1000);`);
  assert.match(r.out, /HANDLED/);
  assert.is(r.code, 0);
  assert.not.ok(existsSync(r.segment));
});

test.run();
