// Adaptive spinning before an async operation parks: retrying for a few
// microseconds beats the wake-up path (C thread -> futex -> pipe -> event
// loop: 35-60 µs here, of which pipe -> 'data' event alone is 20-30 µs)
// when the peer answers quickly, but on 2 cores a spinner steals the core
// its peer needs. So, per handle:
// - the budget grows when spinning paid off, or when a parked operation
//   turned out to complete soon enough that a longer spin would have caught
//   it, and shrinks when spinning did not pay;
// - a budget that shrank cannot learn on its own that spinning would pay
//   again (a parked operation completes only after the wake-up path, which
//   takes longer than the longest spin), so every PROBE_EVERY-th spin with
//   a low budget is a probe with the full budget;
// - the spinner yields the CPU now and then. When a yield comes back late,
//   something else (typically the peer) ran on our CPU: then it yields at
//   every retry, and a peer sharing the CPU answers in ~10 µs instead of
//   after our whole budget. When yields come back at once, nobody else
//   wants this CPU and it yields rarely.
import { performance } from 'node:perf_hooks';
import { BLOCKED } from './blocked.js';
import { schedYield } from '../ffi/libc.js';

const MIN_US = 1;
const MAX_US = 50;
const START_US = 4;
const PROBE_EVERY = 16;
/** Yield at least this often (µs) while spinning... */
const YIELD_MAX_US = 20;
/** ...and at every retry once a yield showed that the CPU is shared. */
const YIELD_START_US = 5;
/** A yield that took longer than this (µs) means another thread ran. */
const SWITCHED_US = 3;

export class Spinner {
  private budgetUs = START_US;
  private sinceProbe = 0;
  private yieldUs = YIELD_START_US;

  spin<T>(attempt: () => T | typeof BLOCKED): T | typeof BLOCKED {
    let budgetUs = this.budgetUs;
    const probe = budgetUs < MAX_US && ++this.sinceProbe >= PROBE_EVERY;
    if (probe) {
      budgetUs = MAX_US;
      this.sinceProbe = 0;
    }
    const start = performance.now();
    const end = start + budgetUs / 1000;
    let nextYield = start + this.yieldUs / 1000;
    let shared = false;
    for (;;) {
      const r = attempt();
      let now = performance.now();
      if (r !== BLOCKED) {
        // enough for this answer, twice over
        this.budgetUs = Math.min(MAX_US, Math.max(this.budgetUs * 2, (now - start) * 2000));
        this.yieldUs = shared ? 0 : Math.min(YIELD_MAX_US, this.yieldUs + 1);
        return r;
      }
      if (now >= end) break;
      if (now >= nextYield) {
        schedYield();
        const back = performance.now();
        if ((back - now) * 1000 > SWITCHED_US) shared = true;
        now = back;
        nextYield = now + (shared ? 0 : this.yieldUs / 1000);
      }
    }
    if (shared) this.yieldUs = 0;
    if (!probe) this.budgetUs = Math.max(MIN_US, this.budgetUs / 2);
    return BLOCKED;
  }

  /** A parked operation completed `waitedMs` after it started. */
  parkedFor(waitedMs: number): void {
    const us = waitedMs * 1000;
    if (us <= MAX_US) this.budgetUs = Math.max(this.budgetUs, Math.min(MAX_US, us * 1.5));
  }
}
