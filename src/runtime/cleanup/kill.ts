// Ends the processes of dead run-times: SIGTERM, a short grace, SIGKILL.
// Each process is signalled through a pidfd opened *before* re-reading its
// environment, so a pid reused since the scan is never hit: if the pidfd's
// process still has the dead run-time's id, it is the process we found.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidfdOpen, pidfdSignal } from '../core/ffi/syscalls.js';
import { isRunning, processRtid, type RuntimeProcess } from './processes.js';

interface Target {
  proc: RuntimeProcess;
  /** pidfd, or undefined on kernels without pidfds (then kill(2) after a re-check). */
  fd: number | undefined;
}

function signal(t: Target, signo: number): boolean {
  if (t.fd !== undefined) return pidfdSignal(t.fd, signo);
  if (processRtid(t.proc.pid) !== t.proc.rtid) return false;
  try {
    process.kill(t.proc.pid, signo);
    return true;
  } catch {
    return false;
  }
}

/**
 * Terminates `procs`; resolves to those that were ours to end (still
 * running with the same run-time id when we looked again).
 */
export async function terminate(procs: RuntimeProcess[], graceMs = 1000): Promise<RuntimeProcess[]> {
  const targets: Target[] = [];
  for (const proc of procs) {
    const fd = pidfdOpen(proc.pid);
    if (fd === -1) continue; // already gone
    if (processRtid(proc.pid) !== proc.rtid) {
      if (fd !== undefined) closeSync(fd);
      continue; // exited and the pid was reused: not ours any more
    }
    targets.push({ proc, fd });
  }
  try {
    const signalled = targets.filter((t) => signal(t, constants.signals.SIGTERM));
    const deadline = Date.now() + graceMs;
    while (signalled.some((t) => isRunning(t.proc.pid)) && Date.now() < deadline) await sleep(20);
    for (const t of signalled) if (isRunning(t.proc.pid)) signal(t, constants.signals.SIGKILL);
    return signalled.map((t) => t.proc);
  } finally {
    for (const t of targets) if (t.fd !== undefined) closeSync(t.fd);
  }
}
