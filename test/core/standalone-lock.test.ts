// ts-bugs #1: a process using the binding without the launcher chose its
// own run-time id, so it holds that run-time's lock itself, set up like the
// backend's (core/rundir/rundir.ts): /tmp/dragon-<user>/<rtid>/lock, mode 0700,
// flock'd through an O_CLOEXEC descriptor, from its first segment (not at
// import) until it exits, when the directory goes. dragon-cleanup judges
// it by the lock like any run-time: live while it runs, dead once killed.
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { MemoryPool } from '../../src/index.js';
import { runtimeBase, runtimeDir } from '../../src/runtime/core/rundir/names.js';
import { scanRuntimes } from '../../src/runtime/cleanup/runtimes.js';
import { exitOf, forkFixture, nextMessage } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';

const test = suite('standalone lock');
const uid = process.geteuid!();
const O_CLOEXEC = 0o2000000;

function liveness(rtid: string): string | undefined {
  const scan = scanRuntimes(runtimeBase(), uid);
  scan.release();
  return scan.runtimes.find((r) => r.rtid === rtid)?.state;
}

// The descriptor of `path` the process holds, and its open flags (octal in fdinfo).
function heldFd(pid: number, path: string): { fd: string; flags: number } | undefined {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
    return { fd, flags: parseInt(flags ?? '0', 8) };
  }
  return undefined;
}

async function standalone() {
  const child = forkFixture('standalone-pool', [], { DRAGON_RT_UID: '' });
  const { rtid, pid } = await nextMessage<{ rtid: string; pid: number }>(child);
  const dir = runtimeDir(rtid);
  const create = async () => {
    child.send('create');
    return (await nextMessage<{ name: string }>(child)).name;
  };
  return { child, rtid, pid, dir, create };
}

test('held from the first segment until a normal exit, which removes the directory', async () => {
  const { child, rtid, pid, dir, create } = await standalone();
  assert.is.not(rtid, process.env.DRAGON_RT_UID, 'the child chose its own id');
  assert.not.ok(existsSync(dir), 'nothing at import or when the id is chosen');

  const name = await create();
  assert.ok(name.includes(`-${rtid}-p`), name);
  const st = lstatSync(dir);
  assert.ok(st.isDirectory());
  assert.is(st.mode & 0o777, 0o700);
  assert.is(st.uid, uid);
  assert.ok(existsSync(join(dir, 'lock')));
  assert.not.ok(existsSync(join(runtimeBase(), `.${rtid}.tmp`)), 'set up under the pending name, then renamed');
  const held = heldFd(pid, join(dir, 'lock'));
  assert.ok(held, 'the child keeps the lock file open');
  assert.ok(held!.flags & O_CLOEXEC, `close-on-exec (flags ${held!.flags.toString(8)})`);
  assert.is(liveness(rtid), 'live', 'dragon-cleanup sees a live run-time');

  child.send('end');
  assert.is(await exitOf(child), 0);
  assert.not.ok(existsSync(dir), 'removed at exit');
  assert.not.ok(existsSync(`/dev/shm${name}`));
});

test('killed, it leaves a lock nobody holds: dead for dragon-cleanup', async () => {
  const { child, rtid, dir, create } = await standalone();
  const name = await create();
  try {
    assert.is(liveness(rtid), 'live');
    child.kill('SIGKILL');
    await exitOf(child);
    assert.ok(existsSync(join(dir, 'lock')), 'no exit handler ran');
    assert.is(liveness(rtid), 'dead');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(`/dev/shm${name}`, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under a launcher (DRAGON_RT_UID set) the binding leaves the directory to the run-time', () => {
  const pool = MemoryPool.create({ bytes: 1 << 20 });
  try {
    assert.not.ok(existsSync(runtimeDir(process.env.DRAGON_RT_UID!)));
  } finally {
    pool.destroy();
  }
});

test.run();
