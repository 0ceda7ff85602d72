// This node as Global Services sees it: starts and signals processes
// through Local Services, and when one exits gives back what it held (pool
// reclaim, its reply channels) before reporting the exit (`onExit`: to GS
// directly on node 0, over the control plane elsewhere).
import type { ProcessSpec } from '../../../schemas/gs.js';
import type { Log } from '../control/log.js';
import { processEnv } from './env.js';
import type { NodeOps, ProcessStart } from './global-services.js';
import type { LocalServices } from './local-services.js';
import type { ExitInfo, ManagedProcess } from './managed-process.js';
import type { RequestPort } from './request-port.js';

export interface LocalNodeOptions {
  ls: LocalServices;
  port: RequestPort;
  log: Log;
  /** The run-time's variables of this node (env.ts runtimeVars). */
  runtimeVars: Record<string, string>;
  onExit(puid: number, exit: ExitInfo): void;
}

export class LocalNode implements NodeOps {
  readonly #o: LocalNodeOptions;
  readonly #procs = new Map<number, ManagedProcess>();

  constructor(options: LocalNodeOptions) {
    this.#o = options;
  }

  /** A process started elsewhere (the early head) becomes this node's. */
  adopt(puid: number, proc: ManagedProcess): void {
    this.#o.ls.adopt(proc);
    this.#watch(puid, proc);
  }

  // Resolves once a module process found its target (Process.start()'s
  // contract: a missing export is an error there, not an exit code later).
  async start(s: ProcessStart): Promise<{ pid: number; startTime: string }> {
    const proc = this.#launch(s.puid, s.parent, s.spec);
    this.#watch(s.puid, proc);
    const failed = await proc.started;
    if (failed) throw Object.assign(new Error(failed.message), { code: failed.code });
    return { pid: proc.pid, startTime: proc.startTime };
  }

  signal(puid: number, signal: string): void {
    const p = this.#procs.get(puid);
    if (p && !p.hasExited) p.signal(signal as NodeJS.Signals);
  }

  #launch(puid: number, parent: number, spec: ProcessSpec): ManagedProcess {
    const env = processEnv(spec.env, this.#o.runtimeVars, { puid, parentPuid: parent, ...(spec.name ? { name: spec.name } : {}), ...(spec.daemon ? { daemon: true } : {}) });
    const t = spec.target;
    if (t.kind === 'command') return this.#o.ls.startCommand(puid, t.command, t.args, spec.cwd, env);
    return this.#o.ls.startModule(
      { v: 1, puid, module: t.module, ...(t.fn ? { fn: t.fn } : {}), hasObjects: t.hasObjects, env, cwd: spec.cwd, ...(spec.name ? { name: spec.name } : {}) },
      t.args,
    );
  }

  #watch(puid: number, proc: ManagedProcess): void {
    this.#procs.set(puid, proc);
    void proc.exited.then((exit) => {
      this.#procs.delete(puid);
      this.#o.port.forget(puid);
      this.#o.ls.reclaim(puid);
      this.#o.onExit(puid, exit);
    });
  }
}
