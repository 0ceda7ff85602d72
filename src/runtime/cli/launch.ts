// What both ways into `dragon` (the fast path and the oclif command) do
// once the configuration is known: run the run-time under our signal
// handling and leave with the head's exit code.
import type { DragonConfig } from '../../../schemas/config.js';
import { withSignals } from './signals.js';

export interface RunOptions {
  signal?: AbortSignal;
  hasten?: AbortSignal;
  relaySignals?: NodeJS.Signals[];
}
export type RunDragon = (config: DragonConfig, opts: RunOptions) => Promise<number>;

// How long the process may linger after runDragon returned. Nothing should
// keep the event loop alive by then (a leaked handle, stdin still being
// read...), and a user must never be left waiting for one. Output is not at
// risk: on Linux, writes to stdout/stderr pipes, files and TTYs are synchronous.
const EXIT_SAFETY_MS = 100;

/** Runs SCRIPT under the run-time; resolves to the head's exit code. */
export async function launch(config: DragonConfig, run?: RunDragon): Promise<number> {
  // Loaded here, not at the top: `dragon --help` and config errors need none of it.
  const runDragon = run ?? (await import('../launch/index.js')).runDragon;
  // SIGUSR1/2 (a workload manager's warning before the time limit) go on to the head.
  return withSignals(({ signal, hasten }) => runDragon(config, { signal, hasten, relaySignals: ['SIGUSR1', 'SIGUSR2'] }));
}

/** Sets the exit code and lets the event loop drain (stdout flushes), with a deadline. */
export function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_SAFETY_MS).unref();
}
