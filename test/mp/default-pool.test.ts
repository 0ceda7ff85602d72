// Outside a run-time the multiprocessing objects live in a pool private to
// the process: it must go with the process however it ends (normal exit
// with objects still open, process.exit, SIGTERM, SIGINT), and a script
// that handles the signal itself keeps running.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';

const test = suite('private default pool outside a run-time');
const INDEX = fileURLToPath(new URL('../../src/index.js', import.meta.url));

// Starts a plain node child that makes a Queue and a Lock (left open),
// prints its pool's segment, then runs `then`.
function child(then: string): Promise<{ segment: string; code: number | null; signal: string | null; out: string }> {
  const src = `
    import { Queue, Lock } from ${JSON.stringify(INDEX)};
    import { defaultPool } from ${JSON.stringify(INDEX.replace(/index\.js$/, 'runtime/core/memory/default-pool.js'))};
    const q = new Queue(); q.putNowait(1); new Lock();
    console.log('SEGMENT /dev/shm' + defaultPool().name);
    ${then}
  `;
  const env = { ...process.env };
  for (const k of ['DRAGON_RT_UID', 'DRAGON_PUID', 'DRAGON_DEFAULT_POOL', 'DRAGON_GS_CHANNEL']) delete env[k];
  const p = spawn(process.execPath, ['--input-type=module', '-e', src], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('READY')) p.kill((/KILL:(\w+)/.exec(out) ?? [])[1] as NodeJS.Signals);
    });
    p.on('exit', (code, signal) => resolve({ segment: /SEGMENT (\S+)/.exec(out)?.[1] ?? '', code, signal, out }));
  });
}

test('a normal exit with objects still open removes the segment', async () => {
  const r = await child('');
  assert.match(r.segment, /^\/dev\/shm\/dragon-/);
  assert.is(r.code, 0);
  assert.not.ok(existsSync(r.segment));
});

test('process.exit removes it', async () => {
  const r = await child('process.exit(3)');
  assert.is(r.code, 3);
  assert.not.ok(existsSync(r.segment));
});

test('SIGTERM and SIGINT remove it and still end the process by that signal', async () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    const r = await child(`console.log('READY KILL:${sig}'); setInterval(() => {}, 1000);`);
    assert.is(r.signal, sig);
    assert.not.ok(existsSync(r.segment), `${sig}: segment left`);
  }
});

test('a script handling SIGTERM itself keeps running', async () => {
  const r = await child(`process.on('SIGTERM', () => { console.log('HANDLED'); process.exit(0); }); console.log('READY KILL:SIGTERM'); setInterval(() => {}, 1000);`);
  assert.match(r.out, /HANDLED/);
  assert.is(r.code, 0);
  assert.not.ok(existsSync(r.segment));
});

test.run();
