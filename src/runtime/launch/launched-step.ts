// A process that starts backends: the backend itself (this machine only),
// or a workload manager's launcher (one `srun` step for every node, an
// `mpiexec`, one `ssh` per host). Started detached (its own session, so a
// terminal's Ctrl-C reaches only the frontend: two SIGINTs to srun would
// make it SIGKILL every backend), with the job's secrets in the environment
// or on stdin (never in argv, which every user can read in /proc). Its
// stderr is kept (the last few KiB) to explain a step that fails before
// its backends check in.
import { spawn, type ChildProcess } from 'node:child_process';

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
  readonly #child: ChildProcess;

  constructor(readonly spec: StepSpec) {
    this.#child = spawn(spec.command, spec.args, { detached: true, env: spec.env, stdio: [spec.stdin === null ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    if (spec.stdin !== null) {
      this.#child.stdin!.on('error', () => {}); // the step may exit without reading
      this.#child.stdin!.end(spec.stdin);
    }
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_KEEP);
    });
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => resolve({ code, signal }));
      this.#child.once('error', () => resolve({ code: 127, signal: null }));
    });
    this.pid = this.#child.pid ?? -1;
  }

  /** What the step wrote on stderr (start-up failures, crashes). */
  get stderr(): string {
    return this.#stderr.trim();
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null && this.pid > 0;
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
