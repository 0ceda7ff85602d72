// Starts the backend of this node: `node backend/main.js`, detached (its own
// session, so a terminal's Ctrl-C reaches only the frontend), with its
// settings and the job's token in the environment (never in argv, which
// every user can read in /proc). Its stderr is kept (the last few KiB) to
// explain a backend that dies before it can report.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendSettings } from '../../../schemas/control.js';

const BACKEND_ENTRY = fileURLToPath(new URL('../backend/main.js', import.meta.url));
const STDERR_KEEP = 4096;

export interface BackendExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class BackendProcess {
  readonly pid: number;
  readonly exited: Promise<BackendExit>;
  #stderr = '';
  readonly #child: ChildProcess;

  constructor(settings: BackendSettings, token: string, env: NodeJS.ProcessEnv) {
    const childEnv: NodeJS.ProcessEnv = { ...env, DRAGON_TOKEN: token, DRAGON_BACKEND: JSON.stringify(settings), DRAGON_RT_UID: settings.rtid };
    delete childEnv.NODE_OPTIONS; // the user's, for the user's processes (settings.nodeOptions)
    this.#child = spawn(process.execPath, [BACKEND_ENTRY], { detached: true, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
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

  /** What the backend wrote on stderr (start-up failures, crashes). */
  get stderr(): string {
    return this.#stderr.trim();
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null && this.pid > 0;
  }

  /** Signals the backend's process group (it leads its own session). */
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
