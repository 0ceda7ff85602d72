// dragon-cleanup, the part that runs on one node: after a run-time was
// killed without its teardown (SIGKILL of the whole tree, a node reboot of
// the services...), removes this user's dead run-times' processes, /dev/shm
// segments and run-time directories, and nothing else. Safe to run at any
// time and any number of times: live run-times are recognised by their lock.
import { rmSync, unlinkSync } from 'node:fs';
import { terminate } from './kill.js';
import { SHM_DIR, TMP_DIR, runtimeBase, userTag } from '../core/rundir/names.js';
import { planCleanup, type CleanupPlan } from './plan.js';
import { mappedSegments, scanProcesses } from './processes.js';
import { scanRuntimes } from './runtimes.js';
import { scanSegments } from '../core/rundir/segments.js';

export interface CleanupOptions {
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
  /** Receives one line per thing removed (or that would be). */
  report?: (line: string) => void;
  /** Receives what was left alone and why, and failures. */
  warn?: (line: string) => void;
  /** Milliseconds between SIGTERM and SIGKILL for leftover processes. */
  graceMs?: number;
  /** Overridable for tests; default /dev/shm, /tmp, /proc. */
  shmDir?: string;
  tmpDir?: string;
  procDir?: string;
}

export interface CleanupResult {
  plan: CleanupPlan;
  /** Things removed (or, with dryRun, that would be). */
  removed: number;
  /** Things that could not be removed. */
  failed: number;
}

function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export async function cleanupLocal(options: CleanupOptions = {}): Promise<CleanupResult> {
  const { dryRun = false, report = () => {}, warn = () => {}, graceMs = 1000 } = options;
  const shmDir = options.shmDir ?? SHM_DIR;
  const procDir = options.procDir ?? '/proc';
  const uid = process.geteuid?.() ?? 0;
  const tag = userTag();

  const rts = scanRuntimes(runtimeBase(options.tmpDir ?? TMP_DIR, tag), uid);
  try {
    rts.warnings.forEach((w) => warn(w));
    const procs = scanProcesses(uid, procDir);
    const plan = planCleanup({
      runtimes: rts.runtimes,
      processes: procs.processes,
      segments: scanSegments(shmDir, uid, tag),
      mapped: () => mappedSegments(procs.pids, procDir, shmDir),
    });
    let removed = 0;
    let failed = 0;
    const verb = (done: string, would: string) => (dryRun ? would : done);

    const ended = dryRun ? plan.processes : await terminate(plan.processes, graceMs);
    for (const p of ended) {
      report(`${verb('killed', 'would kill')} process ${p.pid} of dead run-time ${p.rtid}: ${p.command}`);
      removed++;
    }
    for (const s of plan.segments) {
      try {
        if (!dryRun) unlinkSync(s.path);
        report(`${verb('removed', 'would remove')} segment ${s.path} (${size(s.bytes)}) of run-time ${s.rtid}`);
        removed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by someone else meanwhile
        warn(`cannot remove ${s.path}: ${(err as Error).message}`);
        failed++;
      }
    }
    for (const d of plan.directories) {
      try {
        if (!dryRun) rmSync(d.path, { recursive: true, force: true });
        report(`${verb('removed', 'would remove')} run-time directory ${d.path}`);
        removed++;
      } catch (err) {
        warn(`cannot remove ${d.path}: ${(err as Error).message}`);
        failed++;
      }
    }
    return { plan, removed, failed };
  } finally {
    rts.release();
  }
}
