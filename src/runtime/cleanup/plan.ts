// What to remove, decided from what the scans found; no side effects here,
// so the rules can be tested without users, processes or /dev/shm.
//
//  - a run-time whose lock nobody holds is dead: its processes, segments
//    and directory go;
//  - a live (or starting) run-time keeps everything;
//  - a segment whose run-time has no directory at all (the binding used
//    without the launcher) is dead only if no process of ours still carries
//    that run-time id in its environment and none has the segment mapped;
//  - a process whose run-time has no directory is never killed: it may be a
//    standalone program's child, and nothing says it is dead.
import type { RuntimeProcess } from './processes.js';
import type { RuntimeDir } from './runtimes.js';
import type { Segment } from '../core/rundir/segments.js';

export interface CleanupPlan {
  processes: RuntimeProcess[];
  segments: Segment[];
  directories: RuntimeDir[];
  /** Run-time ids found alive (or starting): left alone. */
  kept: string[];
}

export interface PlanInput {
  runtimes: RuntimeDir[];
  processes: RuntimeProcess[];
  segments: Segment[];
  /** Segment names some process of ours maps; asked only for segments without a directory. */
  mapped: () => Set<string>;
}

export function planCleanup({ runtimes, processes, segments, mapped }: PlanInput): CleanupPlan {
  const byRtid = new Map(runtimes.map((r) => [r.rtid, r]));
  const dead = new Set(runtimes.filter((r) => r.state === 'dead').map((r) => r.rtid));
  const withProcesses = new Set(processes.map((p) => p.rtid));
  const orphans = segments.filter((s) => !byRtid.has(s.rtid));
  const inUse = orphans.length ? mapped() : new Set<string>();
  return {
    processes: processes.filter((p) => dead.has(p.rtid)),
    segments: segments.filter((s) =>
      byRtid.has(s.rtid) ? dead.has(s.rtid) : !withProcesses.has(s.rtid) && !inUse.has(s.name),
    ),
    directories: runtimes.filter((r) => dead.has(r.rtid)),
    kept: runtimes.filter((r) => r.state !== 'dead').map((r) => r.rtid),
  };
}
