// What every blocking call takes: a timeout in milliseconds and an
// AbortSignal, and the one reading of a timeout that every object shares.
import { Errors } from '../errors/errors.js';

export interface WaitOptions {
  /** Milliseconds; omitted or Infinity waits for ever, 0 (or less) tries once. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Converts a WaitOptions timeout to milliseconds (Infinity = for ever). */
export function timeoutMs(op: string, timeout: number | undefined): number {
  if (timeout === undefined || timeout === null) return Infinity;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw Errors.invalidArgument(op, `timeout must be a number of milliseconds, got ${String(timeout)}`);
  }
  return timeout > 0 ? timeout : 0;
}

/** The C form: microseconds, -1 = for ever, 0 = try once. */
export function timeoutUs(op: string, timeout: number | undefined): number {
  const ms = timeoutMs(op, timeout);
  return ms === Infinity ? -1 : Math.ceil(ms * 1000);
}
