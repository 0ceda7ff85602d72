// dragon-cleanup run by an unprivileged user (dragontest1) on the real
// /dev/shm and /tmp, with a second user (dragontest2) owning look-alike
// segments, directories and processes: exactly dragontest1's dead
// run-times go. As root it would pass vacuously (root may remove anything),
// so the test needs root only to create the users and run as them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { bin, root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';
import { TEST_USERS, cannotActAsUsers, cleanupAs, ensureUser as ensure, pidsWithEnv, until, type User } from '../helpers/users.js';

const test = suite('cleanup scoping');

const rtids: string[] = [];
const rt = () => {
  const id = (BigInt(`0x${randomBytes(6).toString('hex')}`) | 1n).toString(16);
  rtids.push(id);
  return id;
};
const users: User[] = [];
function ensureUser(name: string): User {
  const u = ensure(name);
  users.push(u);
  return u;
}
const children: ChildProcess[] = [];
const created: string[] = [];

function owned(path: string, u: User, kind: 'dir' | 'file'): string {
  if (kind === 'dir') mkdirSync(path, { recursive: true, mode: 0o700 });
  else writeFileSync(path, 'x'.repeat(4096), { mode: 0o600 });
  chownSync(path, u.uid, u.gid);
  created.push(path);
  return path;
}

function runtimeDir(u: User, rtid: string): string {
  const base = `/tmp/dragon-${u.name}`;
  if (!existsSync(base)) owned(base, u, 'dir');
  const dir = owned(join(base, rtid), u, 'dir');
  owned(join(dir, 'lock'), u, 'file');
  return dir;
}

const segment = (u: User, rtid: string, owner: User = u) => owned(`/dev/shm/dragon-${u.name}-${rtid}-p1`, owner, 'file');

// A process of `u` in run-time `rtid`; with a lock file, `flock -o` holds the
// lock while its child (the "user process", which does not inherit the lock) sleeps.
function start(u: User, rtid: string, lock?: string): ChildProcess {
  const argv = lock ? ['flock', '-o', lock, 'sleep', '300'] : ['sleep', '300'];
  const c = spawn(argv[0]!, argv.slice(1), { uid: u.uid, gid: u.gid, env: { PATH: process.env.PATH, DRAGON_RT_UID: rtid }, stdio: 'ignore' });
  children.push(c);
  return c;
}

const pidsWithRtid = (uid: number, rtid: string) => pidsWithEnv(uid, `DRAGON_RT_UID=${rtid}`);

const reason = cannotActAsUsers();
if (reason) {
  console.log(`SKIP cleanup scoping: ${reason}`);
  test.skip(`scoping as an unprivileged user (${reason})`, () => {});
} else {
  test('as dragontest1: exactly its dead run-times go; its live one and dragontest2\'s stay', async () => {
    const [u1, u2] = TEST_USERS.map(ensureUser) as [User, User];
    const readable = spawnSync('runuser', ['-u', u1.name, '--', 'test', '-r', bin('dragon-cleanup')]);
    assert.is(readable.status, 0, `${u1.name} cannot read ${bin('dragon-cleanup')}`);
    const dead = rt();
    const live = rt();
    const orphan = rt();
    const other = rt();

    // dragontest1, dead run-time: the backend (flock) was SIGKILLed, a user process survived.
    const deadDir = runtimeDir(u1, dead);
    segment(u1, dead);
    const holder = start(u1, dead, join(deadDir, 'lock'));
    await until('the dead run-time\'s user process', () => pidsWithRtid(u1.uid, dead).length === 2);
    const survivor = pidsWithRtid(u1.uid, dead).find((p) => p !== holder.pid)!;
    holder.kill('SIGKILL');
    await until('the lock holder to die', () => holder.exitCode !== null || holder.signalCode !== null);

    // dragontest1, live run-time: its lock is held.
    const liveDir = runtimeDir(u1, live);
    segment(u1, live);
    start(u1, live, join(liveDir, 'lock'));
    await until('the live run-time to start', () => pidsWithRtid(u1.uid, live).length === 2);

    // dragontest1: a segment with no directory and nobody using it (dead), and a
    // segment of another rtid with no directory but a process that carries it (alive).
    segment(u1, orphan);
    const keptOrphan = rt();
    segment(u1, keptOrphan);
    start(u1, keptOrphan);

    // dragontest2: the same run-time id as dragontest1's dead one, nothing holding its lock.
    runtimeDir(u2, dead);
    segment(u2, dead);
    start(u2, dead);
    // and a segment in dragontest1's name that dragontest2 owns.
    segment(u1, other, u2);
    await until('dragontest2\'s process', () => pidsWithRtid(u2.uid, dead).length === 1);

    const expected = [
      `process ${survivor} of dead run-time ${dead}`,
      `segment /dev/shm/dragon-${u1.name}-${dead}-p1`,
      `segment /dev/shm/dragon-${u1.name}-${orphan}-p1`,
      `run-time directory /tmp/dragon-${u1.name}/${dead}`,
    ];
    const mentioned = (out: string, verb: RegExp) =>
      expected.every((e) => out.split('\n').some((l) => verb.test(l) && l.includes(e)));

    const dry = await cleanupAs(u1, ['--dry-run']);
    assert.is(dry.code, 0, dry.err);
    assert.is(dry.out.trim().split('\n').length, 4, dry.out);
    assert.ok(mentioned(dry.out, /^would (kill|remove) /), dry.out);
    assert.ok(existsSync(deadDir) && pidsWithRtid(u1.uid, dead).includes(survivor), 'a dry run removes nothing');

    const real = await cleanupAs(u1, []);
    assert.is(real.code, 0, real.err);
    assert.is(real.out.trim().split('\n').length, 4, real.out);
    assert.ok(mentioned(real.out, /^(killed|removed) /), real.out);

    await until('the survivor to be gone', () => !pidsWithRtid(u1.uid, dead).includes(survivor));
    assert.not.ok(existsSync(deadDir), 'dead run-time directory removed');
    assert.not.ok(existsSync(`/dev/shm/dragon-${u1.name}-${dead}-p1`));
    assert.not.ok(existsSync(`/dev/shm/dragon-${u1.name}-${orphan}-p1`));
    assert.ok(existsSync(join(liveDir, 'lock')), 'live run-time kept');
    assert.ok(existsSync(`/dev/shm/dragon-${u1.name}-${live}-p1`));
    assert.is(pidsWithRtid(u1.uid, live).length, 2, 'live run-time\'s processes kept');
    assert.ok(existsSync(`/dev/shm/dragon-${u1.name}-${keptOrphan}-p1`), 'segment whose id a live process carries kept');
    assert.ok(existsSync(`/tmp/dragon-${u2.name}/${dead}/lock`), 'dragontest2\'s directory kept');
    assert.ok(existsSync(`/dev/shm/dragon-${u2.name}-${dead}-p1`), 'dragontest2\'s segment kept');
    assert.is(pidsWithRtid(u2.uid, dead).length, 1, 'dragontest2\'s process kept');
    assert.ok(existsSync(`/dev/shm/dragon-${u1.name}-${other}-p1`), 'a look-alike owned by dragontest2 kept');

    const again = await cleanupAs(u1, []);
    assert.is(again.code, 0, again.err);
    assert.match(again.out, /^nothing to clean \(1 live run-time left alone\)$/m);
  });

  test('the library used without the launcher: its segment is alive while its process maps it', async () => {
    const u1 = ensureUser(TEST_USERS[0]);
    const index = `${root}dist/src/index.js`;
    const script = `const m = await import(${JSON.stringify(index)}); const p = m.MemoryPool.create({ bytes: 1 << 20 }); console.log(p.name); setInterval(() => {}, 1000);`;
    const c = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: u1.uid, gid: u1.gid, env: { PATH: process.env.PATH, HOME: '/tmp' }, cwd: '/tmp', stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(c);
    const name = await new Promise<string>((resolve, reject) => {
      c.stdout!.once('data', (d) => resolve(String(d).trim().replace(/^\//, '')));
      c.once('exit', (code) => reject(new Error(`standalone process exited (${code})`)));
    });
    created.push(`/dev/shm/${name}`);
    assert.ok(existsSync(`/dev/shm/${name}`), name);
    const r = await cleanupAs(u1, []);
    assert.is(r.code, 0, r.err);
    assert.not.match(r.out, name);
    assert.ok(existsSync(`/dev/shm/${name}`), 'kept while mapped');
    c.kill('SIGKILL');
    await until('the standalone process to die', () => c.exitCode !== null || c.signalCode !== null);
    const after = await cleanupAs(u1, []);
    assert.match(after.out, `removed segment /dev/shm/${name}`);
    assert.not.ok(existsSync(`/dev/shm/${name}`));
  });

  test.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // The flock children were not spawned by us directly: find them by the ids we gave them.
    for (const u of users) for (const id of rtids) for (const pid of pidsWithRtid(u.uid, id)) process.kill(pid, 'SIGKILL');
    for (const p of created.reverse()) rmSync(p, { recursive: true, force: true });
  });
}

test.run();
