// The backend is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a process
// the job started that left its parent (a daemon started with `setsid`,
// `env -i`, a double fork) is re-parented to the backend instead of init, so
// teardown finds everything the job started by walking the process tree
// down from here, whatever its session, process group or environment.
// Orphans that end are reaped here (they would stay zombies); the children
// Node started itself are left to libuv, which waits for them.
import { closeSync, readFileSync, readdirSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { koffi } from '../core/ffi/koffi.js';
import { pidfdOpen, pidfdSignal } from '../core/ffi/syscalls.js';

type Fn = (...args: any[]) => number;
const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const SIGKILL = 9;

let libc: { prctl: Fn; waitpid: Fn } | undefined;
function lib(): { prctl: Fn; waitpid: Fn } {
  if (!libc) {
    const c = koffi().load('libc.so.6');
    libc = {
      prctl: c.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)') as Fn,
      waitpid: c.func('int waitpid(int pid, void *status, int options)') as Fn,
    };
  }
  return libc;
}

/** Children Node started (libuv reaps them): never waited for here. */
const startedByNode = new Set<number>();

export function trackNodeChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  startedByNode.add(pid);
  child.once('exit', () => startedByNode.delete(pid));
}

/** Makes this process the reaper of its orphaned descendants; false where the kernel or libc refuses. */
export function becomeSubreaper(): boolean {
  try {
    return lib().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
  } catch {
    return false;
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((t) => read(`/proc/${pid}/task/${t}/children`).split(' ').filter(Boolean).map(Number));
}

// /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and ')'.
function stateAndParent(pid: number): { state: string; ppid: number } | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: state!, ppid: Number(ppid) };
}

/** Waits for the ended orphans among our children; returns how many. */
export function reapOrphans(): number {
  let reaped = 0;
  for (const pid of childrenOf(process.pid)) {
    if (startedByNode.has(pid) || stateAndParent(pid)?.state !== 'Z') continue;
    if (lib().waitpid(pid, null, WNOHANG) === pid) reaped++;
  }
  return reaped;
}

/** Every live descendant of this process, with the parent it was found under. */
function descendants(): Array<{ pid: number; parent: number }> {
  const out: Array<{ pid: number; parent: number }> = [];
  const queue = [process.pid];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const pid of childrenOf(parent)) {
      queue.push(pid);
      const s = stateAndParent(pid);
      if (s && s.state !== 'Z' && s.state !== 'X') out.push({ pid, parent });
    }
  }
  return out;
}

/**
 * SIGKILLs every descendant still alive (for teardown, once the processes
 * we manage ended), reaping the orphans among them, until none is left or
 * `ms` passed; returns how many were killed.
 */
export async function killDescendants(ms: number): Promise<number> {
  const killed = new Set<number>();
  const deadline = Date.now() + ms;
  for (;;) {
    reapOrphans();
    const left = descendants();
    if (left.length === 0 || Date.now() > deadline) return killed.size;
    for (const { pid, parent } of left) {
      // Through a pidfd opened before checking the parent again: a pid reused meanwhile is never hit.
      const fd = pidfdOpen(pid);
      if (fd === -1) continue;
      try {
        if (stateAndParent(pid)?.ppid !== parent) continue;
        if (fd !== undefined ? pidfdSignal(fd, SIGKILL) : tryKill(pid)) killed.add(pid);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    await sleep(20);
  }
}

function tryKill(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
