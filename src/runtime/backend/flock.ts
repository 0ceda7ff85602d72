// flock(2), which Node does not offer: the run-time's liveness lock. The
// kernel drops it when the holder dies, however it dies, so dragon-cleanup
// can tell a dead run-time from a live one without trusting PIDs.
import koffi from 'koffi';

const LOCK_EX = 2;
const LOCK_NB = 4;

let flockFn: ((fd: number, op: number) => number) | undefined;

/** Takes an exclusive lock on fd without waiting; false when another process holds it. */
export function tryLockExclusive(fd: number): boolean {
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int op)') as (fd: number, op: number) => number;
  return flockFn(fd, LOCK_EX | LOCK_NB) === 0;
}
