// Removes what a run-time left on this node: its /dev/shm segments and its
// run-time directory. The backend runs it at the end of teardown (for
// segments user processes created and never destroyed); the frontend runs
// it again after the backend exited, in case the backend died before.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SHM_DIR, keptLogFile, pendingRuntimeDir, runtimeDir, segmentPrefix } from './paths.js';

/** Unlinks every segment of the run-time; returns their names. */
export function removeSegments(rtidHex: string): string[] {
  const prefix = segmentPrefix(rtidHex);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(SHM_DIR);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    try {
      unlinkSync(join(SHM_DIR, name));
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/**
 * Removes the run-time directory (call only once its backend is dead: it
 * holds the lock), keeping non-empty logs; returns where they were kept.
 */
export function removeRuntimeDir(rtidHex: string): string[] {
  const kept: string[] = [];
  for (const dir of [runtimeDir(rtidHex), pendingRuntimeDir(rtidHex)]) {
    let logs: string[];
    try {
      logs = readdirSync(join(dir, 'logs'));
    } catch {
      logs = [];
    }
    for (const name of logs) {
      const from = join(dir, 'logs', name);
      const to = keptLogFile(rtidHex, name.replace(/\.log$/, ''));
      try {
        if (statSync(from).size === 0) continue;
        mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
        renameSync(from, to);
        kept.push(to);
      } catch {
        // lost with the directory
      }
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours to remove (the run-time's directory was refused at start-up)
    }
  }
  return kept;
}
