// System calls Node does not offer (dragon-cleanup, the run-time directory):
// flock(2) to test a run-time's liveness lock, and pidfd_open(2) +
// pidfd_send_signal(2) to signal exactly the process whose environment we
// read, even if its pid is reused meanwhile. Loaded from libc with koffi,
// without libdragon (the cleanup must work when the build is broken too).
import { koffi } from './koffi.js';

type Fn = (...args: any[]) => number;

const LOCK_EX = 2;
const LOCK_NB = 4;
const EINTR = 4;
const ENOSYS = 38;
const EWOULDBLOCK = 11;
// Generic syscall numbers, the same on x86-64, arm64 and every arch since 5.1.
const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;

let libc: { flock: Fn; syscall: Fn } | undefined;

function lib(): { flock: Fn; syscall: Fn } {
  if (!libc) {
    const c = koffi().load('libc.so.6');
    libc = {
      flock: c.func('int flock(int fd, int op)') as Fn,
      syscall: c.func('long syscall(long number, ...)') as Fn,
    };
  }
  return libc;
}

/**
 * flock(fd, LOCK_EX | LOCK_NB): true when we got the lock (nobody holds it),
 * false when another open file holds it. The lock stays ours until `fd` closes.
 */
export function tryLockExclusive(fd: number): boolean {
  for (;;) {
    if (lib().flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
    const err = koffi().errno();
    if (err === EWOULDBLOCK) return false;
    if (err !== EINTR) throw new Error(`flock failed (errno ${err})`);
  }
}

/** A pidfd for `pid` (-1 if the process is gone), or undefined where the kernel has no pidfds. */
export function pidfdOpen(pid: number): number | undefined {
  const fd = Number(lib().syscall(SYS_pidfd_open, 'int', pid, 'uint', 0));
  if (fd >= 0) return fd;
  return koffi().errno() === ENOSYS ? undefined : -1;
}

/** Sends `signo` through a pidfd; false if the process already exited. */
export function pidfdSignal(pidfd: number, signo: number): boolean {
  return Number(lib().syscall(SYS_pidfd_send_signal, 'int', pidfd, 'int', signo, 'void *', null, 'uint', 0)) === 0;
}
