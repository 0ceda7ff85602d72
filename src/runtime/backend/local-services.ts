// Local Services: starts the processes of this node (through the exec
// shim, in their own process groups), forwards their output, reclaims what
// a dead process held in the default pool, and at teardown terminates
// everything (SIGTERM, grace, SIGKILL), bounded in time.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { MemoryPool } from '../core/memory/pool.js';
import { native } from '../core/ffi/native.js';
import type { Log } from '../control/log.js';
import { encodePayload, type TargetHeader } from '../proc/payload.js';
import { ManagedProcess, type LaunchSpec, type OutputSink } from './managed-process.js';
import { needsTypeScript, procEntry, tsxImport } from '../package-files.js';
import { WarmPool } from './warm-pool.js';

/** Module starts before the warm pool begins to fill. */
const WARM_AFTER_STARTS = 3;
/** After SIGKILL: how long to wait for the processes to be gone. */
const KILL_WAIT_MS = 3000;

export interface LocalServicesOptions {
  shim: string;
  pool: MemoryPool;
  log: Log;
  sink: OutputSink;
  /** Environment of an idle warm process (the run-time's, no identity). */
  warmEnv: Record<string, string>;
  /** Idle warm processes to keep once the pool is in use (0: none). */
  warmTarget: number;
}

export interface TerminateResult {
  terminated: number;
  killed: number;
}

export class LocalServices {
  readonly #o: LocalServicesOptions;
  readonly #live = new Set<ManagedProcess>();
  /** Every process group we created: teardown kills what is left in each. */
  readonly #groups = new Set<number>();
  readonly #warm: WarmPool;
  #moduleStarts = 0;
  #hasten: (() => void) | undefined;
  readonly #hastened: Promise<void>;
  readonly #reclaimStats = new BigUint64Array(6);

  constructor(options: LocalServicesOptions) {
    this.#o = options;
    this.#warm = new WarmPool(() => this.#spawnWarm(), options.warmTarget);
    this.#hastened = new Promise((resolve) => (this.#hasten = resolve));
  }

  /** A process started elsewhere (the early head) becomes ours to reap and tear down. */
  adopt(p: ManagedProcess): void {
    this.#track(p);
  }

  startCommand(puid: number, command: string, args: string[], cwd: string, env: Record<string, string>): ManagedProcess {
    return this.#launch({ argv: [command, ...args], env, cwd, stdin: false, channel: false }, puid);
  }

  startModule(header: TargetHeader, args: Uint8Array): ManagedProcess {
    if (!isDirectory(header.cwd)) throw new Error(`the working directory ${header.cwd} does not exist`);
    const payload = encodePayload(header, args);
    const file = new URL(header.module).pathname;
    const warmOk = !needsTypeScript(file) && header.env.NODE_OPTIONS === this.#o.warmEnv.NODE_OPTIONS;
    let p = warmOk ? this.#warm.take() : undefined;
    if (p) {
      p.puid = header.puid;
      this.#o.log.debug('ls', `process ${header.puid}: warm pid ${p.pid}`);
    } else {
      const argv = [...this.#node(file), procEntry, '--target'];
      p = this.#launch({ argv, env: header.env, cwd: header.cwd, stdin: false, channel: true }, header.puid);
    }
    p.sendPayload(payload);
    if (++this.#moduleStarts >= WARM_AFTER_STARTS) this.#warm.fill();
    return p;
  }

  /** Gives back what a dead process held in the default pool (locks, allocations, half-done operations). */
  reclaim(puid: number): void {
    try {
      const rc = native.poolReclaim(this.#o.pool.handle.ptr, BigInt(puid), this.#reclaimStats);
      const [allocs, bytes, locks] = this.#reclaimStats;
      if (rc !== 0) this.#o.log.warn('ls', `reclaim of process ${puid} failed (status ${rc})`);
      else if (allocs || locks) this.#o.log.info('ls', `reclaimed from process ${puid}: ${allocs} allocations (${bytes} bytes), ${locks} locks`);
    } catch (err) {
      this.#o.log.warn('ls', `reclaim of process ${puid} failed: ${(err as Error).message}`);
    }
  }

  pauseOutput(): void {
    for (const p of this.#live) p.pauseOutput();
  }

  resumeOutput(): void {
    for (const p of this.#live) p.resumeOutput();
  }

  // SIGTERM (or `first.signal` for that one process: the head gets the
  // signal the user sent), then after `grace` ms, or at once when hastened,
  // SIGKILL to every group we ever created.
  async terminateAll(grace: number, first?: { puid: number; signal: NodeJS.Signals }): Promise<TerminateResult> {
    for (const p of this.#warm.close()) p.signal('SIGKILL');
    const live = [...this.#live].filter((p) => !p.hasExited && p.puid !== 0);
    for (const p of live) {
      const sig = first && p.puid === first.puid ? first.signal : 'SIGTERM';
      this.#o.log.info('ls', `teardown: ${sig} to process ${p.puid} (pid ${p.pid})`);
      p.signal(sig);
    }
    await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(grace), this.#hastened]);
    const still = live.filter((p) => !p.hasExited);
    for (const p of still) this.#o.log.warn('ls', `teardown: SIGKILL to process ${p.puid} (pid ${p.pid}) after ${grace} ms`);
    // Every group, also those whose leader is gone: what they started dies too.
    for (const g of this.#groups) killQuietly(-g);
    await Promise.race([Promise.all([...this.#live].map((p) => p.exited)), sleep(KILL_WAIT_MS)]);
    await this.#groupsGone(KILL_WAIT_MS);
    return { terminated: live.length, killed: still.length };
  }

  /** A second signal: stop waiting for the grace period. */
  hasten(): void {
    this.#hasten?.();
  }

  #node(file: string): string[] {
    return needsTypeScript(file) ? [process.execPath, '--import', tsxImport()] : [process.execPath];
  }

  #launch(spec: LaunchSpec, puid: number): ManagedProcess {
    if (!isDirectory(spec.cwd)) throw new Error(`the working directory ${spec.cwd} does not exist`);
    return this.#track(ManagedProcess.launch(this.#o.shim, spec, puid, this.#o.sink));
  }

  #track(p: ManagedProcess): ManagedProcess {
    this.#live.add(p);
    this.#groups.add(p.pid);
    void p.exited.then(() => this.#live.delete(p));
    return p;
  }

  #spawnWarm(): ManagedProcess | undefined {
    try {
      const argv = [process.execPath, procEntry, '--target'];
      return this.#launch({ argv, env: this.#o.warmEnv, cwd: '/', stdin: false, channel: true }, 0);
    } catch (err) {
      this.#o.log.warn('ls', `could not start a warm process: ${(err as Error).message}`);
      return undefined;
    }
  }

  // Members of our groups that are not our children (what a user process
  // started) cannot be awaited: watch /proc until none is left.
  async #groupsGone(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = membersOf(this.#groups);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        this.#o.log.warn('ls', `teardown: processes ${left.join(', ')} survived SIGKILL`);
        return;
      }
      for (const pid of left) killQuietly(pid);
      await sleep(20);
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

// Live (non-zombie) processes whose process group is one of `groups`.
function membersOf(groups: Set<number>): number[] {
  const out: number[] = [];
  if (groups.size === 0) return out;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z' && f[0] !== 'X' && groups.has(Number(f[2]))) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
