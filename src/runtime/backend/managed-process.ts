// One process started by Local Services, through the exec shim (its own
// process group, killed by the kernel if the backend dies). Its stdout and
// stderr are cut into whole lines and handed to the output sink; a module
// process also gets a socket pair on fd 3 (payload in, error record out).
// `exited` resolves once the process exited AND its output was read to the
// end (bounded: a grandchild holding the pipes must not stall anything),
// so nothing printed just before exit is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { trackNodeChild } from './orphans.js';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { NOT_STARTED, READY, type NotStarted } from '../proc/payload.js';
import { LineSplitter } from './line-splitter.js';

/** How long after exit the output pipes may stay open before we stop waiting for them. */
const DRAIN_AFTER_EXIT_MS = 1000;

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Shell view: signal n -> 128 + n. */
  exitCode: number;
  /** What a module target threw, codec-encoded, if it reported it. */
  error: Buffer | null;
}

export type OutputSink = (puid: number, fd: 1 | 2, data: Buffer) => void;

export interface LaunchSpec {
  /** The program and its arguments (the shim goes in front). */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** A pipe for stdin (the head), else /dev/null. */
  stdin: boolean;
  /** The fd 3 socket pair of module processes. */
  channel: boolean;
}

export class ManagedProcess {
  /** 0 while a warm process waits for its request. */
  puid: number;
  readonly pid: number;
  readonly startTime: string;
  readonly exited: Promise<ExitInfo>;
  /**
   * A module process: resolves once it found its target (undefined), or
   * with why it never ran it (see payload.ts). A command: at once.
   */
  readonly started: Promise<NotStarted | undefined>;
  #startedDone!: (why: NotStarted | undefined) => void;
  readonly #child: ChildProcess;
  #exit: ExitInfo | undefined;
  readonly #errorChunks: Buffer[] = [];

  private constructor(child: ChildProcess, puid: number, sink: OutputSink) {
    this.#child = child;
    this.puid = puid;
    this.pid = child.pid!;
    this.startTime = readStartTime(this.pid);
    const out = new LineSplitter((b) => sink(this.puid, 1, b));
    const err = new LineSplitter((b) => sink(this.puid, 2, b));
    const streams: Array<Promise<void>> = [pump(child.stdout!, out), pump(child.stderr!, err)];
    this.started = new Promise((resolve) => (this.#startedDone = resolve));
    const fd3 = child.stdio[3] as Readable | null | undefined;
    if (!fd3) this.#startedDone(undefined);
    else {
      fd3.on('data', (c: Buffer) => {
        if (this.#errorChunks.length === 0 && c[0] === READY) this.#startedDone(undefined);
        this.#errorChunks.push(c);
      });
      fd3.on('error', () => {}); // the child may close its end first
      streams.push(ended(fd3));
    }
    child.stdin?.on('error', () => {}); // EPIPE once the head stops reading
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        const drained = Promise.all(streams);
        const timer = setTimeout(() => {
          out.flush();
          err.flush();
          finish();
        }, DRAIN_AFTER_EXIT_MS);
        const finish = () => {
          clearTimeout(timer);
          if (this.#exit) return;
          const fd3 = Buffer.concat(this.#errorChunks);
          const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
          this.#exit = { code, signal, exitCode, error: fd3[0] === READY && fd3.length > 1 ? fd3.subarray(1) : null };
          resolve(this.#exit);
          this.#startedDone(notStarted(fd3, exitCode, signal));
        };
        void drained.then(finish);
      });
    });
  }

  // Spawns `shim <our pid> argv...`. Throws what spawn throws synchronously;
  // an asynchronous spawn failure (e.g. EAGAIN) surfaces as an exit with 127.
  static launch(shim: string, spec: LaunchSpec, puid: number, sink: OutputSink): ManagedProcess {
    const child = spawn(shim, [String(process.pid), ...spec.argv], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', spec.channel ? 'pipe' : 'ignore'],
    });
    if (child.pid === undefined) {
      let failure: Error | undefined;
      child.once('error', (e) => (failure = e));
      throw failure ?? new Error(`could not start ${spec.argv[0]}`);
    }
    child.on('error', () => {}); // kill() on a dead process; exit is what we follow
    trackNodeChild(child);
    return new ManagedProcess(child, puid, sink);
  }

  get stdin(): Writable | null {
    return this.#child.stdin;
  }

  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  get hasExited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Hands a module process its request (fd 3) and closes our writing side. */
  sendPayload(payload: Buffer): void {
    const fd3 = this.#child.stdio[3] as Writable | null | undefined;
    fd3?.end(payload);
  }

  // Signals the process group (the process and what it started); before
  // the shim's setpgid the group does not exist yet: then the process.
  signal(sig: NodeJS.Signals): boolean {
    if (this.hasExited) return false;
    return killGroup(this.pid, sig) || kill(this.pid, sig);
  }

  /** Also after the leader exited: what it left behind in its group. */
  killGroup(sig: NodeJS.Signals): void {
    killGroup(this.pid, sig);
  }

  pauseOutput(): void {
    this.#child.stdout?.pause();
    this.#child.stderr?.pause();
  }

  resumeOutput(): void {
    this.#child.stdout?.resume();
    this.#child.stderr?.resume();
  }
}

// The process ended before it said READY: what it said instead, or how it ended.
function notStarted(fd3: Buffer, exitCode: number, signal: string | null): NotStarted {
  if (fd3[0] === NOT_STARTED) {
    try {
      return JSON.parse(fd3.toString('utf8', 1)) as NotStarted;
    } catch {
      // a torn record: say how it ended instead
    }
  }
  const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
  return { message: `the process ${how} before it found its target (see its output)`, code: 'DRAGON_ERR_SPAWN' };
}

function pump(stream: Readable, lines: LineSplitter): Promise<void> {
  stream.on('data', (c: Buffer) => lines.push(c));
  return ended(stream).then(() => lines.flush());
}

function ended(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

function killGroup(pgid: number, sig: NodeJS.Signals): boolean {
  return kill(-pgid, sig);
}

function kill(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

// Field 22 of /proc/<pid>/stat, after the command name (which may hold
// spaces and parentheses): with the pid, it names this process for good.
function readStartTime(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}
