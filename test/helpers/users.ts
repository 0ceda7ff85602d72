// Test users for the scoping tests of dragon-cleanup: the tests run as root
// only to create two unprivileged users and act as them (as root they would
// pass vacuously: root may read and remove anything).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { bin, root } from './cli.js';

export const TEST_USERS = ['dragontest1', 'dragontest2'] as const;

export interface User {
  name: string;
  uid: number;
  gid: number;
}

/** Why the scoping tests cannot run here, or undefined when they can. */
export function cannotActAsUsers(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to create the test users and run as them)';
  for (const tool of ['useradd', 'runuser', 'flock', 'sleep']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool}`;
  }
  // The test users run bin/*.js from this checkout.
  for (let dir = root.replace(/\/$/, ''); dir; dir = dirname(dir) === dir ? '' : dirname(dir)) {
    if (!(statSync(dir).mode & 0o001)) return `${dir} is not searchable by other users (run the tests from a checkout they can read)`;
  }
  return undefined;
}

/** The user, created (without a home) if missing. */
export function ensureUser(name: string): User {
  if (spawnSync('id', ['-u', name]).status !== 0) {
    const r = spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr}`);
  }
  const id = (flag: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

/** Live (non-zombie) processes of `uid` whose environment holds `entry` ("NAME=value"). */
export function pidsWithEnv(uid: number, entry: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (statSync(`/proc/${p}`).uid !== uid) continue;
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(entry)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

/** Runs dragon-cleanup as `u` (through runuser, with a minimal environment). */
export async function cleanupAs(u: User, args: string[] = []): Promise<{ code: number | undefined; out: string; err: string }> {
  const r = await execa('runuser', ['-u', u.name, '--', process.execPath, bin('dragon-cleanup'), ...args], {
    reject: false,
    env: { PATH: process.env.PATH, HOME: '/tmp', LANG: 'C' },
    extendEnv: false,
    cwd: '/tmp',
    timeout: 30_000,
  });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

export async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
