// cleanupLocal() end to end for the current user, on a scratch /dev/shm and
// /tmp (real directories under the system's tmp dir) and real processes:
// dead run-times go (processes, segments, directory), live and starting ones
// stay, and so does everything that is not a run-time's.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { cleanupLocal } from '../../src/runtime/cleanup/index.js';
import { tryLockExclusive } from '../../src/runtime/core/ffi/syscalls.js';
import { runtimeBase, userTag } from '../../src/runtime/core/rundir/names.js';
import { suite } from '../helpers/suite.js';

const test = suite('cleanup local');
const tag = userTag();
const rt = () => randomBytes(6).toString('hex').replace(/^0+/, '') || '1';

let scratch: string;
let shm: string;
let tmp: string;
const children: ChildProcess[] = [];
const held: number[] = [];

function runtimeDir(rtid: string, lock: boolean): string {
  const d = join(runtimeBase(tmp, tag), rtid);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  if (lock) writeFileSync(join(d, 'lock'), '');
  return d;
}
const segment = (rtid: string, p: number) => writeFileSync(join(shm, `dragon-${tag}-${rtid}-p${p}`), 'x'.repeat(100), { mode: 0o600 });
function sleeper(rtid: string): ChildProcess {
  const c = spawn('sleep', ['300'], { env: { ...process.env, DRAGON_RT_UID: rtid }, stdio: 'ignore' });
  children.push(c);
  return c;
}
const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

test.before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'dragon-cleanup-test-'));
  shm = join(scratch, 'shm');
  tmp = join(scratch, 'tmp');
  mkdirSync(shm);
  mkdirSync(tmp);
});

test.after(() => {
  for (const c of children) if (!exited(c)) c.kill('SIGKILL');
  for (const fd of held) closeSync(fd);
  rmSync(scratch, { recursive: true, force: true });
});

test('dry run, then cleanup, then a second run with nothing to do', async () => {
  const dead = rt();
  const live = rt();
  const starting = rt();
  const stale = rt();
  const orphan = rt();
  const orphanInUse = rt();

  runtimeDir(dead, true);
  segment(dead, 1);
  segment(dead, 2);
  const deadProc = sleeper(dead);

  const liveDir = runtimeDir(live, true);
  const fd = openSync(join(liveDir, 'lock'), 'r');
  held.push(fd);
  assert.ok(tryLockExclusive(fd), 'the test holds the live run-time\'s lock');
  segment(live, 1);
  const liveProc = sleeper(live);

  runtimeDir(starting, false); // no lock file yet, just created: starting up
  const staleDir = runtimeDir(stale, false); // no lock file for an hour: dead
  utimesSync(staleDir, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));

  segment(orphan, 1); // no directory, no process: dead
  segment(orphanInUse, 1); // no directory, but a process carries the id: alive
  const orphanProc = sleeper(orphanInUse);

  // Not run-times' things: other names, another user's name, not-hex, a run-time being created, kept logs.
  writeFileSync(join(shm, `dragon-someoneelse-${dead}-p1`), '');
  writeFileSync(join(shm, `dragon-${tag}-nothex-p1`), '');
  writeFileSync(join(shm, 'unrelated'), '');
  mkdirSync(join(runtimeBase(tmp, tag), `.${dead}.tmp`));
  mkdirSync(join(runtimeBase(tmp, tag), 'logs'));
  const before = { shm: readdirSync(shm).sort(), tmp: readdirSync(runtimeBase(tmp, tag)).sort() };

  const lines: string[] = [];
  const dry = await cleanupLocal({ dryRun: true, shmDir: shm, tmpDir: tmp, report: (l) => lines.push(l) });
  assert.is(dry.removed, 6, lines.join('\n'));
  assert.equal({ shm: readdirSync(shm).sort(), tmp: readdirSync(runtimeBase(tmp, tag)).sort() }, before, 'dry run removes nothing');
  assert.not.ok(exited(deadProc), 'dry run kills nothing');
  assert.ok(lines.every((l) => l.startsWith('would ')), lines.join('\n'));

  lines.length = 0;
  const real = await cleanupLocal({ shmDir: shm, tmpDir: tmp, report: (l) => lines.push(l), graceMs: 2000 });
  assert.is(real.removed, 6, lines.join('\n'));
  assert.is(real.failed, 0);
  assert.equal(lines.map((l) => l.split(' ').slice(0, 2).join(' ')).sort(), [
    'killed process', 'removed run-time', 'removed run-time', 'removed segment', 'removed segment', 'removed segment',
  ]);
  assert.ok(lines.some((l) => l.startsWith(`killed process ${deadProc.pid} of dead run-time ${dead}`)), lines.join('\n'));

  await new Promise((r) => setTimeout(r, 50));
  assert.ok(exited(deadProc), 'the dead run-time\'s process was killed');
  assert.is(deadProc.signalCode, 'SIGTERM', 'SIGTERM first');
  assert.not.ok(exited(liveProc), 'a live run-time\'s process stays');
  assert.not.ok(exited(orphanProc), 'a process without a run-time directory stays');
  assert.equal(readdirSync(shm).sort(), [`dragon-${tag}-${live}-p1`, `dragon-${tag}-${orphanInUse}-p1`, `dragon-${tag}-nothex-p1`, `dragon-someoneelse-${dead}-p1`, 'unrelated'].sort());
  assert.equal(readdirSync(runtimeBase(tmp, tag)).sort(), [`.${dead}.tmp`, live, starting, 'logs'].sort());
  assert.equal(real.plan.kept.sort(), [live, starting].sort());

  lines.length = 0;
  const again = await cleanupLocal({ shmDir: shm, tmpDir: tmp, report: (l) => lines.push(l) });
  assert.is(again.removed, 0, lines.join('\n'));
  assert.ok(existsSync(join(runtimeBase(tmp, tag), live, 'lock')));
});

test('a base directory that is a symlink is left alone', async () => {
  const other = join(scratch, 'elsewhere');
  mkdirSync(join(other, rt()), { recursive: true });
  const base = join(scratch, 'tmp2');
  mkdirSync(base);
  const { symlinkSync } = await import('node:fs');
  symlinkSync(other, runtimeBase(base, tag));
  const warnings: string[] = [];
  const r = await cleanupLocal({ shmDir: shm, tmpDir: base, warn: (l) => warnings.push(l) });
  assert.is(r.removed, 0);
  assert.match(warnings.join('\n'), 'is not a directory owned by you');
  assert.is(readdirSync(other).length, 1);
});

test.run();
