// This user's processes that belong to a run-time: recognised by
// DRAGON_RT_UID=<rtid> in /proc/<pid>/environ (the environment they were
// exec'd with: Local Services sets it for every process it starts). Only
// processes whose /proc entry is owned by our uid are looked at, even as root.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeRtid } from '../core/rundir/names.js';

export interface RuntimeProcess {
  pid: number;
  rtid: string;
  /** Command line, for the report. */
  command: string;
}

export interface ProcessScan {
  /** Our processes carrying a DRAGON_RT_UID. */
  processes: RuntimeProcess[];
  /** Every pid of ours (to look for segment mappings). */
  pids: number[];
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/** The DRAGON_RT_UID a process was started with, normalised; undefined if none. */
export function processRtid(pid: number, procDir = '/proc'): string | undefined {
  const env = readText(join(procDir, String(pid), 'environ'));
  if (!env) return undefined;
  for (const entry of env.split('\0')) {
    if (entry.startsWith('DRAGON_RT_UID=')) return normalizeRtid(entry.slice('DRAGON_RT_UID='.length));
  }
  return undefined;
}

function parentOf(pid: number, procDir: string): number | undefined {
  // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and ')'.
  const stat = readText(join(procDir, String(pid), 'stat'));
  if (!stat) return undefined;
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** This process and its ancestors: never signalled, whatever their environment says. */
export function selfAndAncestors(procDir = '/proc'): Set<number> {
  const out = new Set<number>();
  for (let pid: number | undefined = process.pid; pid && pid > 1 && !out.has(pid); pid = parentOf(pid, procDir)) {
    out.add(pid);
  }
  return out;
}

/** True while `pid` exists and is not a zombie. */
export function isRunning(pid: number, procDir = '/proc'): boolean {
  const stat = readText(join(procDir, String(pid), 'stat'));
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export function scanProcesses(uid: number, procDir = '/proc'): ProcessScan {
  const skip = selfAndAncestors(procDir);
  const processes: RuntimeProcess[] = [];
  const pids: number[] = [];
  for (const name of readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (skip.has(pid)) continue;
    try {
      if (statSync(join(procDir, name)).uid !== uid) continue;
    } catch {
      continue; // exited while we looked
    }
    pids.push(pid);
    const rtid = processRtid(pid, procDir);
    if (!rtid) continue;
    const cmdline = readText(join(procDir, name, 'cmdline')) ?? '';
    processes.push({ pid, rtid, command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 120) });
  }
  return { processes, pids };
}

/** Names of /dev/shm segments mapped by any of `pids` (from /proc/<pid>/maps). */
export function mappedSegments(pids: number[], procDir = '/proc', shmDir = '/dev/shm'): Set<string> {
  const out = new Set<string>();
  const marker = `${shmDir}/`;
  for (const pid of pids) {
    const maps = readText(join(procDir, String(pid), 'maps'));
    if (!maps) continue;
    for (const line of maps.split('\n')) {
      const at = line.indexOf(marker);
      if (at < 0) continue;
      out.add(line.slice(at + marker.length).replace(/ \(deleted\)$/, ''));
    }
  }
  return out;
}
