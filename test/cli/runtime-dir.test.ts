// /tmp/dragon-<user> planted by someone else (a symbolic link, a file, a
// directory of another user, one anyone can write) and a bad
// DRAGON_FRONTEND_ADDR: `dragon` refuses with one line naming the cause and
// the fix, exits non-zero, writes nothing below the planted path and leaves
// no process. The directory cases run as `nobody` (the tests run as root):
// its /tmp/dragon-nobody can be planted without touching anyone's runs.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { bin, processesMarked, root, run } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli runtime dir');
const HELLO = `${root}examples/hello.mjs`;
const PLANTED = '/tmp/dragon-nobody';
const asRoot = process.getuid?.() === 0 && spawnSync('id', ['-u', 'nobody']).status === 0;
const nobodyUid = asRoot ? Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim()) : -1;

async function dragonAsNobody(args: string[]): Promise<{ code: number | undefined; err: string; mark: string }> {
  const mark = randomBytes(6).toString('hex');
  const r = await execa('runuser', ['-u', 'nobody', '--', process.execPath, bin('dragon'), ...args], {
    reject: false,
    env: { PATH: process.env.PATH, HOME: '/tmp', LANG: 'C', DRAGON_TEST_MARK: mark },
    extendEnv: false,
    cwd: '/tmp',
    timeout: 60_000,
  });
  return { code: r.exitCode, err: String(r.stderr), mark };
}

function oneLine(err: string, pattern: RegExp): void {
  assert.is(err.trimEnd().split('\n').length, 1, err);
  assert.not.match(err, /unexpected error|\n\s+at /, err);
  assert.match(err, pattern, err);
}

const clear = () => rmSync(PLANTED, { recursive: true, force: true });

if (asRoot) {
  test.before.each(clear);
  test.after.each(clear);

  test('a symbolic link planted at /tmp/dragon-<user>: refused before anything is written through it', async () => {
    const target = mkdtempSync('/tmp/planted-target-');
    chmodSync(target, 0o777); // anyone may write there: what an attacker would point us at
    try {
      symlinkSync(target, PLANTED);
      const r = await dragonAsNobody(['--log-level', 'debug', HELLO]);
      assert.is(r.code, 1);
      oneLine(r.err, /^dragon: the run-time directory \/tmp\/dragon-nobody is a symbolic link \(to \/tmp\/planted-target-\w+\), not a directory\. Remove it/);
      assert.equal(readdirSync(target), [], 'nothing written through the link');
      assert.equal(processesMarked(r.mark), []);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  test('a file at /tmp/dragon-<user>: one line, exit 1', async () => {
    writeFileSync(PLANTED, '');
    const r = await dragonAsNobody([HELLO]);
    assert.is(r.code, 1);
    oneLine(r.err, /is a file, not a directory\. Remove it \(rm \/tmp\/dragon-nobody\)/);
    assert.equal(processesMarked(r.mark), []);
  });

  test('a directory of another user (root, 0700): one line naming the owner, exit 1', async () => {
    mkdirSync(PLANTED, { mode: 0o700 });
    const r = await dragonAsNobody([HELLO]);
    assert.is(r.code, 1);
    oneLine(r.err, new RegExp(`belongs to uid 0, not to you \\(uid ${nobodyUid}\\)\\. Ask its owner or root to remove it`));
    assert.equal(readdirSync(PLANTED), []);
    assert.equal(processesMarked(r.mark), []);
  });

  test('its own directory with mode 0777: one line with the chmod that fixes it, exit 1', async () => {
    mkdirSync(PLANTED);
    chownSync(PLANTED, nobodyUid, -1);
    chmodSync(PLANTED, 0o777);
    const r = await dragonAsNobody(['--log-level', 'debug', HELLO]);
    assert.is(r.code, 1);
    oneLine(r.err, /has mode 0777: other users can use it\. Run chmod 700 \/tmp\/dragon-nobody/);
    assert.equal(readdirSync(PLANTED), []);
    assert.equal(processesMarked(r.mark), []);
  });

  test('no /tmp/dragon-<user> yet: created 0700 and the run succeeds', async () => {
    const r = await dragonAsNobody([HELLO]);
    assert.is(r.code, 0, r.err);
    assert.ok(existsSync(PLANTED));
  });
}

for (const addr of ['bogus.invalid', '10.255.255.254']) {
  test(`DRAGON_FRONTEND_ADDR=${addr}: one line naming the variable and the fix, exit 2, nothing left`, async () => {
    const r = await run('dragon', [HELLO], { DRAGON_FRONTEND_ADDR: addr });
    assert.is(r.exitCode, 2, r.stderr);
    oneLine(r.stderr, new RegExp(`^dragon: DRAGON_FRONTEND_ADDR="${addr.replace(/\./g, '\\.')}" cannot be listened on \\(\\w+\\)\\. Set it to an IP address`));
    assert.equal(processesMarked(r.mark), []);
  });
}

test.run();
