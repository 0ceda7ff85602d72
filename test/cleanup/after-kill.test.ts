// The situation dragon-cleanup exists for: a real `dragon` run (frontend,
// backend, head) whose whole process tree was SIGKILLed, so no teardown ran.
// Its run-time directory and segments stay behind; dragon-cleanup, run by
// the same unprivileged user, removes them, and a second run finds nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { bin } from '../helpers/cli.js';
import { fixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';
import { TEST_USERS, cannotActAsUsers, cleanupAs, ensureUser, pidsWithEnv, until } from '../helpers/users.js';

const test = suite('cleanup after kill -9');
const children: ChildProcess[] = [];
let madeBase: string | undefined;

const reason = cannotActAsUsers();
if (reason) {
  console.log(`SKIP cleanup after kill -9: ${reason}`);
  test.skip(`a SIGKILLed run is cleaned up (${reason})`, () => {});
} else {
  test('a SIGKILLed run is cleaned up by its user', async () => {
    const u = ensureUser(TEST_USERS[0]);
    const mark = `DRAGON_TEST_MARK=kill${process.pid}${Date.now()}`;
    if (!existsSync(`/tmp/dragon-${u.name}`)) madeBase = `/tmp/dragon-${u.name}`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
    const c = spawn(process.execPath, [bin('dragon'), fixture('cli-head'), 'sleep'], {
      uid: u.uid,
      gid: u.gid,
      cwd: '/tmp',
      env: { ...env, HOME: '/tmp', [mark.split('=')[0]!]: mark.split('=')[1]! },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(c);
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    const rtid = await new Promise<string>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d) => {
        out += d;
        const m = /ready (\w+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      c.once('exit', (code) => reject(new Error(`dragon exited (${code}) before the head was ready: ${err}`)));
    });
    const dir = `/tmp/dragon-${u.name}/${rtid}`;
    const segments = () => readdirSync('/dev/shm').filter((n) => n.startsWith(`dragon-${u.name}-${rtid}-`));
    assert.ok(existsSync(dir), 'the run-time directory exists while it runs');
    assert.ok(segments().length > 0, 'the run-time has segments');

    // A running run-time is left alone.
    const live = await cleanupAs(u, ['--dry-run']);
    assert.not.match(live.out, rtid, live.out);

    // kill -9 of the whole tree at once: frontend, backend, head (their own sessions and groups).
    const tree = pidsWithEnv(u.uid, mark);
    assert.ok(tree.length >= 3, `frontend, backend and head: ${tree}`);
    for (const pid of tree) process.kill(pid, 'SIGKILL');
    await until('the tree to be gone', () => pidsWithEnv(u.uid, mark).length === 0);
    assert.ok(existsSync(dir) && segments().length > 0, 'a SIGKILLed run-time leaves its files behind');

    const r = await cleanupAs(u);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, `removed run-time directory ${dir}`);
    assert.match(r.out, `removed segment /dev/shm/dragon-${u.name}-${rtid}-p`);
    assert.not.ok(existsSync(dir));
    assert.is(segments().length, 0);

    const again = await cleanupAs(u);
    assert.match(again.out, /^nothing to clean/m);
  });

  test.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (madeBase) rmSync(madeBase, { recursive: true, force: true }); // the user's base directory, if this test made it
  });
}

test.run();
