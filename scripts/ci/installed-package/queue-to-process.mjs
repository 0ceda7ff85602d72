// Run in a fresh project that installed the dragonhpc tarball, through that
// project's `npx dragon`: a Queue passed to a Process, the child puts, the
// parent gets and checks. Uses libdragon through koffi, the exec shim and
// the package's own exports; any problem is an exception (exit 1).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Process, Queue } from 'dragonhpc';

export async function child(queue, token) {
  await queue.put({ token, from: 'child', pid: process.pid });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const token = Math.random().toString(36).slice(2);
  const queue = new Queue();
  const p = new Process({ module: new URL(import.meta.url), fn: 'child', args: [queue, token] });
  await p.start();
  const got = await queue.get({ timeout: 60_000 });
  assert.equal(await p.join(60_000), 0, `the child exited with ${p.exitCode}: ${p.error?.message ?? ''}`);
  assert.equal(got.token, token);
  assert.equal(got.from, 'child');
  assert.notEqual(got.pid, process.pid);
  console.log(`queue-to-process: ok (the child ${got.pid} put, the parent got)`);
}
