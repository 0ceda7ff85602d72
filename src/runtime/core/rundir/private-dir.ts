// /tmp is shared: /tmp/dragon-<user> may have been planted by someone else
// (a symbolic link to their directory, a directory of theirs, one anyone can
// write) to receive our lock, logs and sockets. It is checked before anything
// is written below it, without following a link (lstat). Once it is ours and
// 0700, no one else can change what is inside, nor (sticky /tmp) rename it.
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { Errors } from '../../errors/errors.js';
import { runtimeBase } from './paths.js';

/** Creates `base` (0700) if missing; throws a one-line error unless it is a directory of this user that only they can use. */
export function ensurePrivateBase(base: string = runtimeBase()): string {
  try {
    mkdirSync(base, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw Errors.unsafeDirectory(base, `cannot be created (${code})`, 'Check that /tmp exists and is writable (mode 1777)');
  }
  const st = lstatSync(base);
  const removeIt = `Remove it (rm ${base}) and run again`;
  if (st.isSymbolicLink()) throw Errors.unsafeDirectory(base, `is a symbolic link (to ${linkTarget(base)}), not a directory`, removeIt);
  if (!st.isDirectory()) throw Errors.unsafeDirectory(base, 'is a file, not a directory', removeIt);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw Errors.unsafeDirectory(base, `belongs to uid ${st.uid}, not to you (uid ${uid})`, 'Ask its owner or root to remove it, then run again');
  }
  if ((st.mode & 0o077) !== 0) {
    throw Errors.unsafeDirectory(base, `has mode 0${(st.mode & 0o777).toString(8)}: other users can use it`, `Run chmod 700 ${base} (or remove it) and run again`);
  }
  return base;
}

function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}
