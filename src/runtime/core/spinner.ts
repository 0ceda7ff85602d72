// Adaptive spinning before an async operation parks: retrying for a few
// microseconds beats the wake-up path (C thread -> pipe -> event loop, tens
// of microseconds) when the peer answers quickly, but on 2 cores a spinner
// steals the core its peer needs. So, per handle, the budget grows when
// spinning paid off, or when a parked operation turned out to complete
// soon enough that a longer spin would have caught it, and shrinks when
// spinning did not pay.
import { performance } from 'node:perf_hooks';
import { BLOCKED } from './blocked.js';

const MIN_US = 1;
const MAX_US = 50;
const START_US = 4;

export class Spinner {
  private budgetUs = START_US;

  spin<T>(attempt: () => T | typeof BLOCKED): T | typeof BLOCKED {
    const budgetMs = this.budgetUs / 1000;
    const start = performance.now();
    do {
      const r = attempt();
      if (r !== BLOCKED) {
        this.budgetUs = Math.min(MAX_US, this.budgetUs * 2);
        return r;
      }
    } while (performance.now() - start < budgetMs);
    this.budgetUs = Math.max(MIN_US, this.budgetUs / 2);
    return BLOCKED;
  }

  /** A parked operation completed `waitedMs` after it started. */
  parkedFor(waitedMs: number): void {
    const us = waitedMs * 1000;
    if (us <= MAX_US) this.budgetUs = Math.max(this.budgetUs, Math.min(MAX_US, us * 1.5));
  }
}
