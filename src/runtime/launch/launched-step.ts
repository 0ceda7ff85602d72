// A process that starts backends: the backend itself (this machine only),
// or a workload manager's launcher (one `srun` step for every node, an
// `mpiexec`, one `ssh` per host). Started detached (its own session, so a
// terminal's Ctrl-C reaches only the frontend: two SIGINTs to srun would
// make it SIGKILL every backend), with the job's secrets in the environment
// or on stdin (never in argv, which every user can read in /proc). Its
// stderr is kept (the last few KiB) to explain a step that fails before
// its backends check in.
// Launchers go through execa (wlm/exec.ts); the backend on this machine
// alone is a plain spawn: execa's import would add 140-230 ms to the
// start-up of every local run (measured; README, "On several nodes").
import { spawn, type ChildProcess } from 'node:child_process';
import { startLauncher } from '../wlm/exec.js';

const STDERR_KEEP = 4096;

export interface StepExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StepSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Written to the step's stdin, then closed; null: no stdin. */
  stdin: string | null;
}

export class LaunchedStep {
  readonly pid: number;
  readonly exited: Promise<StepExit>;
  #stderr = '';

  private constructor(
    readonly spec: StepSpec,
    private readonly child: ChildProcess,
    exited: Promise<StepExit>,
  ) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => this.#keep(s));
    this.exited = exited;
    this.pid = child.pid ?? -1;
  }

  /** The backend of a run on this machine alone (no stdin). */
  static local(spec: StepSpec): LaunchedStep {
    const child = spawn(spec.command, spec.args, { detached: true, env: spec.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<StepExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: 127, signal: null }));
    });
    return new LaunchedStep(spec, child, exited);
  }

  /** A workload manager's launcher (srun, mpiexec, ssh, pbsdsh). */
  static async launcher(spec: StepSpec): Promise<LaunchedStep> {
    const { child, exited } = await startLauncher(spec, 'ignore');
    let step: LaunchedStep | undefined;
    const ended = exited.then((e) => {
      if (e.startError) step!.#keep(`${spec.command}: ${e.startError}\n`);
      return { code: e.code ?? (e.signal ? null : 127), signal: e.signal };
    });
    step = new LaunchedStep(spec, child, ended);
    return step;
  }

  #keep(s: string): void {
    this.#stderr = (this.#stderr + s).slice(-STDERR_KEEP);
  }

  /** What the step wrote on stderr (start-up failures, crashes). */
  get stderr(): string {
    return this.#stderr.trim();
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.pid > 0;
  }

  /** Signals the step's process group (it leads its own session). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // exited meanwhile
      }
    }
  }
}
