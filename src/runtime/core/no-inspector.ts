// Imported first by every process of the run-time (frontend, backend, head,
// Process children, warm processes, dragon-cleanup). In a Node process no
// one listens to, SIGUSR1 opens the inspector on 127.0.0.1:9229, a debugger
// any local user can attach to and run code as the job's owner; SIGUSR2 (and
// SIGUSR1 once its last listener is removed: libuv then restores SIG_DFL)
// kills it. A workload manager sends them as a warning before the time limit
// (sbatch --signal=USR1@60), so they must be harmless: ignored, unless the
// script listens (process.on('SIGUSR1', ...) still gets them as events).
//
// The watch is held below process.on, on a signal handle of our own: a script
// that removes every listener (process.removeAllListeners()) cannot take it
// away. Node 20 has no --disable-sigusr1; what is left is the time between
// Node's start and this module (before any script code runs).
import { constants } from 'node:os';

const GUARDED = ['SIGUSR1', 'SIGUSR2'] as const;

interface SignalHandle {
  onsignal: (signum: number) => void;
  unref(): void;
  start(signum: number): number;
}
type SignalHandleClass = new () => SignalHandle;

// Node's own class behind process.on(signal); reading it warns (DEP0111) on
// Node 20 unless deprecations are silenced for that one access.
function signalHandleClass(): SignalHandleClass | undefined {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    const binding = (process as unknown as { binding(name: string): { Signal?: SignalHandleClass } }).binding('signal_wrap');
    return typeof binding.Signal === 'function' ? binding.Signal : undefined;
  } catch {
    return undefined;
  } finally {
    process.noDeprecation = quiet;
  }
}

const ignore = () => {};

// Without the handle class (a future Node): a listener put back whenever the
// last one is removed.
function guardWithListeners(): void {
  for (const sig of GUARDED) process.on(sig, ignore);
  process.on('removeListener', (event: string | symbol) => {
    if ((GUARDED as readonly (string | symbol)[]).includes(event) && process.listenerCount(event) === 0) process.on(event as NodeJS.Signals, ignore);
  });
}

let guarded = false;
const handles: SignalHandle[] = []; // referenced for the life of the process

/** Makes SIGUSR1/SIGUSR2 harmless in this process for good (idempotent). */
export function guardUserSignals(): void {
  if (guarded || process.platform === 'win32') return;
  guarded = true;
  const Signal = signalHandleClass();
  if (!Signal) return guardWithListeners();
  for (const sig of GUARDED) {
    const handle = new Signal();
    handle.onsignal = ignore;
    handle.unref(); // never what keeps a process alive
    if (handle.start(constants.signals[sig]) !== 0) return guardWithListeners();
    handles.push(handle);
  }
}
guardUserSignals();
