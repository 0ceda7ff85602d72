// The one reading of a `timeout` that every blocking call shares (queues,
// connections, locks, semaphores, events, conditions, barriers, channels,
// Process.join, JoinableQueue.join), so that none of them tries once where
// another throws. It is Python's multiprocessing rule: None waits for ever,
// and a timeout of 0 or less polls (tries once, without waiting).
import { Errors } from '../errors/errors.js';

export interface WaitOptions {
  /** Milliseconds; omitted or Infinity waits for ever, 0 or less tries once. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Milliseconds to wait: Infinity for ever (omitted, null, Infinity), 0 = try once (0 or negative). */
export function timeoutMs(op: string, timeout: number | null | undefined): number {
  if (timeout === undefined || timeout === null) return Infinity;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw Errors.invalidArgument(op, `timeout must be a number of milliseconds (0 or less tries once; omit it or pass Infinity to wait for ever), got ${String(timeout)}`);
  }
  return timeout > 0 ? timeout : 0;
}

/** The C form: microseconds, -1 = for ever, 0 = try once. */
export function timeoutUs(op: string, timeout: number | null | undefined): number {
  const ms = timeoutMs(op, timeout);
  return ms === Infinity ? -1 : Math.ceil(ms * 1000);
}
