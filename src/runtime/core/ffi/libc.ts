// The libc calls the binding needs beside libdragon (glibc, through
// koffi), loaded with libdragon (native.ts) or on first call. Where libc
// cannot be loaded they degrade as documented.
import { koffi } from './koffi.js';

type Fn = (...args: any[]) => any;
type Libc = { dlopen: Fn; dup: Fn; schedYield: Fn };

function load(): Libc | null {
  try {
    const c = koffi().load('libc.so.6');
    return {
      dlopen: c.func('void *dlopen(const char *file, int flags)') as Fn,
      dup: c.func('int dup(int fd)') as Fn,
      schedYield: c.func('int sched_yield(void)') as Fn,
    };
  } catch {
    return null;
  }
}

// undefined: not loaded yet; null: no glibc here.
let libc: Libc | null | undefined;
const lib = (): Libc | null => (libc === undefined ? (libc = load()) : libc);

const RTLD_NOW = 2;
const RTLD_NODELETE = 0x1000;

// koffi dlclose()s a library when the process (or a worker) tears down,
// while libdragon's waiter thread may still run code in it: a SIGSEGV at
// exit. One more dlopen with RTLD_NODELETE keeps the code mapped for good.
// (Without glibc, the waiter is stopped on 'exit' instead: waiter.ts.)
export function pinLibrary(path: string): void {
  lib()?.dlopen(path, RTLD_NOW | RTLD_NODELETE);
}

/** dup(2), or -1 where libc could not be loaded. */
export function dupFd(fd: number): number {
  const c = lib();
  return c ? (c.dup(fd) as number) : -1;
}

/** sched_yield(2) (a spinning async wait lets a peer on its CPU run); nothing without libc. */
export function schedYield(): void {
  lib()?.schedYield();
}
