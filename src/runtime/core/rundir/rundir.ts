// The run-time directory of this node, /tmp/dragon-<user>/<rtid hex>/
// (mode 0700): `lock`, flock'd for the run-time's whole life, and
// `logs/<host>.log`. It is set up as ".<rtid>.tmp" and renamed once the lock
// is held, so dragon-cleanup never sees it without a held lock. Removed at
// teardown; a log with something in it is kept first, as
// /tmp/dragon-<user>/logs/<rtid hex>-<host>.log.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LOCK_FILE, keptLogFile, pendingRuntimeDir, runtimeDir } from './paths.js';
import { ensurePrivateBase } from './private-dir.js';
import { Errors } from '../../errors/errors.js';
import { tryLockExclusive } from '../ffi/syscalls.js';

export class RuntimeDir {
  readonly path: string;
  readonly logFile: string;
  #lockFd: number;

  private constructor(path: string, logFile: string, lockFd: number) {
    this.path = path;
    this.logFile = logFile;
    this.#lockFd = lockFd;
  }

  static create(rtid: string, host: string): RuntimeDir {
    ensurePrivateBase();
    const pending = pendingRuntimeDir(rtid);
    const path = runtimeDir(rtid);
    mkdirSync(pending, { mode: 0o700 });
    let lockFd = -1;
    try {
      // Node opens with O_CLOEXEC: no user process inherits the lock.
      lockFd = openSync(join(pending, LOCK_FILE), 'wx', 0o600);
      if (!tryLockExclusive(lockFd)) throw Errors.runtimeLocked(pending);
      if (existsSync(path)) throw Errors.runtimeLocked(path); // an id collision
      renameSync(pending, path);
    } catch (err) {
      if (lockFd >= 0) closeSync(lockFd);
      rmSync(pending, { recursive: true, force: true });
      throw err;
    }
    return new RuntimeDir(path, join(path, 'logs', `${host}.log`), lockFd);
  }

  // Keeps a non-empty log, removes the directory, and releases the lock
  // last: until then dragon-cleanup sees a live run-time. Returns where the
  // log was kept.
  remove(rtid: string, host: string, logWritten: boolean): string | null {
    let kept: string | null = null;
    if (logWritten) {
      kept = keptLogFile(rtid, host);
      try {
        mkdirSync(dirname(kept), { recursive: true, mode: 0o700 });
        renameSync(this.logFile, kept);
      } catch {
        kept = null;
      }
    }
    try {
      rmSync(join(this.path, 'logs'), { recursive: true, force: true });
      unlinkSync(join(this.path, LOCK_FILE));
      rmSync(this.path, { recursive: true, force: true });
    } finally {
      if (this.#lockFd >= 0) closeSync(this.#lockFd);
      this.#lockFd = -1;
    }
    return kept;
  }
}
