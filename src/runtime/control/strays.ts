// Processes of a run-time that escaped its process groups (a user process
// that started a daemon with its own session) or outlived a backend that
// died: found by DRAGON_RT_UID=<rtid> in their environment, the way
// dragon-cleanup finds them, and ended the same way (through pidfds, so a
// reused pid is never hit).
import { scanProcesses } from '../cleanup/processes.js';

/** Ends every process of run-time `rtid` but this one and its ancestors; returns how many. */
export async function killStrays(rtid: string, graceMs: number): Promise<number> {
  const uid = process.geteuid?.() ?? 0;
  const procs = scanProcesses(uid).processes.filter((p) => p.rtid === rtid);
  if (procs.length === 0) return 0;
  const { terminate } = await import('../cleanup/kill.js'); // loads libc through koffi: only when needed
  return (await terminate(procs, graceMs)).length;
}
