// `npm test`: the C tests of libdragon (make test), then every compiled
// TypeScript test file (.build/test/**/*.test.js), each in its own Node
// process under its own run-time id, with a deadline, and a check that it
// left nothing in /dev/shm. Ends with one "N passed, N failed" line.
//   node .build/test/run.js [--no-c] [filter...]
//   node .build/test/run.js --cluster [filter...]   only test/cluster/ (needs
//     the virtual Slurm cluster up: scripts/virtual-cluster up 3); without
//     --cluster those files are left out.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { segmentsOf } from './helpers/shm.js';

const args = process.argv.slice(2);
const clusterOnly = args.includes('--cluster');
const FILE_DEADLINE_MS = clusterOnly ? 300_000 : 90_000;
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');

const runC = !args.includes('--no-c') && !clusterOnly;
const filters = args.filter((a) => !a.startsWith('--'));

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];

function runCTests(): void {
  console.log('# C tests (make -C native/libdragon test)');
  const r = spawnSync('make', ['-s', '-C', join(root, 'native/libdragon'), 'test'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout ?? '');
  const m = /c: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?/.exec(r.stdout ?? '');
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    skipped += Number(m[3] ?? 0);
    if (Number(m[2]) > 0) failures.push('C tests');
  }
  if (r.status !== 0 && (!m || Number(m[2]) === 0)) {
    failed += 1;
    failures.push(`C tests: make exited with ${r.status}`);
  }
  // The exec shim's own checks (process group, parent-death signal): one test.
  const shim = spawnSync('make', ['-s', '-C', join(root, 'native/exec-shim'), 'test'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(shim.stdout ?? '');
  if (shim.status === 0) {
    passed += 1;
  } else {
    failed += 1;
    failures.push(`exec shim checks: make exited with ${shim.status}`);
  }
}

function testFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'helpers') found.push(...testFiles(p));
    } else if (name.endsWith('.test.js')) {
      found.push(p);
    }
  }
  return found;
}

function runFile(file: string, rtid: string): Promise<void> {
  const name = relative(here, file);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, DRAGON_RT_UID: rtid, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), FILE_DEADLINE_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skip = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      let bad = total - ok;
      const ms = Date.now() - started;
      const problems: string[] = [];
      if (signal === 'SIGKILL') problems.push(`did not finish within ${FILE_DEADLINE_MS / 1000} s (a pending operation keeping it alive?)`);
      else if (code !== 0 && bad === 0) problems.push(`exited with ${code ?? signal}`);
      if (total === 0) problems.push('ran no test');
      const left = segmentsOf(rtid);
      if (left.length) problems.push(`left in /dev/shm: ${left.join(', ')}`);
      if (problems.length && bad === 0) bad = 1;
      passed += ok;
      failed += bad;
      skipped += skip;
      const status = bad ? 'FAIL' : 'ok  ';
      console.log(`${status} ${name} (${ok}/${total}, ${ms} ms)${problems.length ? ` - ${problems.join('; ')}` : ''}`);
      if (bad) {
        failures.push(name);
        console.log(out.replace(/^/gm, '     '));
      }
      resolve();
    });
  });
}

async function main(): Promise<void> {
  if (runC) runCTests();
  console.log('# TypeScript tests');
  // One run-time id per file: 40 random bits, the file's index below.
  const base = BigInt(`0x${randomBytes(5).toString('hex')}`) | 1n;
  const files = testFiles(here)
    .filter((f) => relative(here, f).startsWith('cluster/') === clusterOnly)
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  for (let i = 0; i < files.length; i++) {
    await runFile(files[i]!, ((base << 8n) | BigInt(i)).toString(16));
  }
  if (failures.length) console.log(`\nfailed: ${failures.join(', ')}`);
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}

await main();
