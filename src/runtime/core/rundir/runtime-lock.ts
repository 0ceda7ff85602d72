// The liveness lock of a run-time this process started by itself. Used
// without the launcher, the binding chooses its own run-time id
// (identity.ts) and no backend holds /tmp/dragon-<user>/<rtid>/lock for it,
// so dragon-cleanup could not tell its segments from a dead run-time's. So
// before this process creates its first segment it sets that directory up
// exactly as the backend does (rundir.ts: mode 0700, built as
// ".<rtid>.tmp" and renamed once the lock is held, lock fd O_CLOEXEC) and
// holds flock(LOCK_EX) until it exits. Then every run-time with segments
// has a lock, and a free lock means dead.
// At exit the directory goes: the lock is exclusive, so nothing else holds
// it, and the processes this one started (which carry DRAGON_RT_UID from
// their start) are then judged by dragon-cleanup's rule for run-times
// without a directory, not taken for a dead run-time's.
import { hostname } from 'node:os';
import { RuntimeDir } from './rundir.js';
import { choseRuntimeId, runtimeIdHex } from '../identity.js';

let settled = false;

/** Before a segment is created: take the run-time's lock if this process chose the run-time id. */
export function holdRuntimeLock(): void {
  if (settled) return;
  settled = true;
  if (!choseRuntimeId()) return; // a launcher or the parent process holds it
  const rtid = runtimeIdHex();
  const host = hostname();
  let dir: RuntimeDir;
  try {
    dir = RuntimeDir.create(rtid, host);
  } catch (err) {
    // Shared memory still works: dragon-cleanup then keeps the segments
    // while a process maps them (its rule for run-times without a lock).
    process.emitWarning(`dragonhpc: no liveness lock for run-time ${rtid}: ${(err as Error).message}`);
    return;
  }
  process.once('exit', () => {
    try {
      dir.remove(rtid, host, false);
    } catch {
      // exiting: the lock goes with the process, dragon-cleanup removes the rest
    }
  });
}
