// Files a process outside a run-time must remove itself, however it ends
// (no Local Services will): its pools' segments. They go at 'exit' (a
// normal end, process.exit(), an uncaught exception) and on SIGINT, SIGTERM
// and SIGHUP, whose default action skips 'exit': there the files go, then
// the process dies of the same signal, unless the script handles it itself.
import { rmSync } from 'node:fs';

const paths = new Set<string>();
let installed = false;

/** Removes `path` when this process ends; the returned function cancels that (the file went another way). */
export function removeAtExit(path: string): () => void {
  install();
  paths.add(path);
  return () => paths.delete(path);
}

function removeAll(): void {
  for (const path of paths) rmSync(path, { force: true });
  paths.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', removeAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      removeAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}
