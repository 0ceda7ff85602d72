// Warm interpreters: idle `node proc/main.js --target` processes, started
// ahead of need, blocked reading fd 3 until Local Services hands one a
// request. A Process start then skips Node's own start-up (~70 ms here);
// the CPU it costs is paid earlier, on another core if there is one. A
// program that starts few processes never pays for it: the pool fills only
// after the first few module starts.
import type { ManagedProcess } from './managed-process.js';

export class WarmPool {
  readonly #idle = new Set<ManagedProcess>();
  #closed = false;

  constructor(
    private readonly spawnOne: () => ManagedProcess | undefined,
    private readonly target: number,
  ) {}

  get size(): number {
    return this.#idle.size;
  }

  take(): ManagedProcess | undefined {
    for (const p of this.#idle) {
      this.#idle.delete(p);
      if (!p.hasExited) return p;
    }
    return undefined;
  }

  /** Starts warm processes until `target` wait idle. */
  fill(): void {
    while (!this.#closed && this.#idle.size < this.target) {
      const p = this.spawnOne();
      if (!p) return;
      this.#idle.add(p);
      void p.exited.then(() => this.#idle.delete(p)); // died idle (killed, crashed)
    }
  }

  /** Stops refilling; the idle processes are returned for teardown. */
  close(): ManagedProcess[] {
    this.#closed = true;
    const idle = [...this.#idle];
    this.#idle.clear();
    return idle;
  }
}
