// This user's run-time directories, /tmp/dragon-<user>/<rtid>/, and whether
// each run-time is alive. The backend holds flock(LOCK_EX) on <dir>/lock for
// the whole life of the run-time, and the kernel drops it when the backend
// dies, however it dies: if we can take the lock, nobody is left to hold it.
// PIDs are not used for this (they are reused).
import { closeSync, constants, lstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tryLockExclusive } from '../core/ffi/syscalls.js';
import { LOCK_FILE, isRtid } from '../core/rundir/names.js';

export type Liveness = 'live' | 'dead' | 'starting';

export interface RuntimeDir {
  rtid: string;
  path: string;
  state: Liveness;
}

/** A directory without a lock file is given this long to be a run-time starting up. */
export const NO_LOCK_GRACE_MS = 30_000;

export interface RuntimeScan {
  runtimes: RuntimeDir[];
  /** Why something was left alone (not ours, unreadable...). */
  warnings: string[];
  /** Locks we took: hold them until the dead run-times are removed, then release(). */
  release: () => void;
}

function liveness(dir: string, heldFds: number[], now: number): Liveness {
  let fd: number;
  try {
    fd = openSync(join(dir, LOCK_FILE), constants.O_RDONLY | constants.O_NOFOLLOW); // libuv adds O_CLOEXEC
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return 'live'; // cannot tell: keep it
    return now - lstatSync(dir).mtimeMs < NO_LOCK_GRACE_MS ? 'starting' : 'dead';
  }
  if (tryLockExclusive(fd)) {
    heldFds.push(fd);
    return 'dead';
  }
  closeSync(fd);
  return 'live';
}

export function scanRuntimes(base: string, uid: number, now = Date.now()): RuntimeScan {
  const heldFds: number[] = [];
  const release = () => {
    for (const fd of heldFds.splice(0)) closeSync(fd);
  };
  const runtimes: RuntimeDir[] = [];
  const warnings: string[] = [];
  let entries: string[];
  try {
    const st = lstatSync(base);
    // /tmp is shared: a base that is not our own real directory may be a trap.
    if (!st.isDirectory() || st.uid !== uid) {
      warnings.push(`${base} is not a directory owned by you: left alone`);
      return { runtimes, warnings, release };
    }
    entries = readdirSync(base);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`cannot read ${base}: ${(err as Error).message}`);
    return { runtimes, warnings, release };
  }
  for (const name of entries.sort()) {
    if (!isRtid(name)) continue; // ".<rtid>.tmp": a run-time being created
    const path = join(base, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.uid !== uid) continue;
      runtimes.push({ rtid: name, path, state: liveness(path, heldFds, now) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`cannot check ${path}: ${(err as Error).message}`);
    }
  }
  return { runtimes, warnings, release };
}
