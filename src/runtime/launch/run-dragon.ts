// runDragon: the frontend as a library function. Starts the backend of this
// node (Local + Global Services), waits for it to check in (with a
// deadline), has Global Services run SCRIPT as the head process, relays
// stdin to the head and every process's output to stdout/stderr, and
// resolves with the head's exit code once everything is torn down. No
// process.exit, no signal handlers: the caller turns signals into aborts.
//   signal aborted (reason 'SIGINT' | 'SIGTERM'): graceful teardown; the head gets that signal first
//   hasten aborted: SIGKILL everything now
// Rejects with a DragonError when the run-time could not start or died.
import { randomBytes } from 'node:crypto';
import { constants, hostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { DragonConfig } from '../../../schemas/config.js';
import type { BackendFrame } from '../../../schemas/control.js';
import { Log } from '../control/log.js';
import { keptLogFile, runtimeDir } from '../control/paths.js';
import { killStrays } from '../control/strays.js';
import { removeRuntimeDir, removeSegments } from '../control/sweep.js';
import { DragonError, Errors } from '../core/errors.js';
import { BackendProcess } from './backend-process.js';
import { ControlServer, type BackendConnection } from './control-server.js';
import { OutputWriter } from './output.js';
import { resolvePoolBytes } from './pool-size.js';
import { checkScript } from './script.js';
import { relayStdin } from './stdin-relay.js';

export interface RunDragonOptions {
  /** First Ctrl-C / SIGTERM: graceful teardown. Abort with the signal's name as reason. */
  signal?: AbortSignal;
  /** Second signal: SIGKILL everything now. */
  hasten?: AbortSignal;
  /** Relayed to the head; default process.stdin. */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Called once the backend is spawned (tests, embedding programs). */
  onStart?: (info: RuntimeInfo) => void;
  /** Milliseconds the backend has to come up; default 30 000. */
  startupTimeout?: number;
}

export interface RuntimeInfo {
  /** Hex run-time id: in segment names, the run-time directory, DRAGON_RT_UID. */
  runtimeId: string;
  backendPid: number;
  runtimeDir: string;
}

const STARTUP_TIMEOUT_MS = 30_000;
/** Beyond the grace period: how long teardown may take before the backend is SIGKILLed. */
const TEARDOWN_MARGIN_MS = 5_000;
/** After the session: how long the backend may take to exit before SIGKILL. */
const BACKEND_EXIT_MS = 3_000;
const DEFAULT_WARM_PROCESSES = 2;

export async function runDragon(config: DragonConfig, opts: RunDragonOptions = {}): Promise<number> {
  // This layer runs on this machine only; asking for more must not silently run on one.
  if (config.nodes > 1) throw Errors.usage(`--nodes ${config.nodes}: multi-node runs are not available yet`, 'Run without --nodes (or with --nodes 1) to use this machine');
  const script = checkScript(config.script);
  const poolBytes = resolvePoolBytes(config.poolSize);
  return new Launch(config, opts, script, poolBytes).run();
}

class Launch {
  readonly #rtid = newRuntimeId();
  readonly #token = randomBytes(32).toString('hex');
  readonly #host = hostname();
  readonly #log: Log;
  readonly #output: OutputWriter;
  #backend: BackendProcess | undefined;
  #conn: BackendConnection | undefined;
  #headExit: number | undefined;
  #failure: DragonError | undefined;
  #stopStdin: (() => void) | undefined;
  #abortedWith: NodeJS.Signals | undefined;
  #doneFrame = false;
  #finish!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#finish = resolve));
  /** Deadlines by name (startup, abort, teardown...). */
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly config: DragonConfig,
    private readonly opts: RunDragonOptions,
    private readonly script: string,
    private readonly poolBytes: number,
  ) {
    this.#log = new Log(keptLogFile(this.#rtid, 'frontend'), this.#rtid, this.#host, config.logLevel);
    this.#output = new OutputWriter(
      opts.stdout ?? process.stdout,
      opts.stderr ?? process.stderr,
      config.label,
      () => this.#conn?.pause(),
      () => this.#conn?.resume(),
    );
  }

  async run(): Promise<number> {
    const { signal, hasten } = this.opts;
    if (signal?.aborted) return exitCodeFor(signalOf(signal.reason));
    const server = await ControlServer.listen(this.#token, this.#log);
    const onAbort = () => this.#abort(signalOf(signal?.reason), false);
    const onHasten = () => this.#abort(this.#abortedWith ?? 'SIGTERM', true);
    signal?.addEventListener('abort', onAbort, { once: true });
    hasten?.addEventListener('abort', onHasten, { once: true });
    try {
      server.onBackend((conn) => this.#connected(conn));
      this.#backend = new BackendProcess(
        {
          v: 1,
          rtid: this.#rtid,
          frontend: server.address,
          nodeIndex: 0,
          poolBytes: this.poolBytes,
          logLevel: this.config.logLevel,
          gracePeriod: this.config.gracePeriod,
          nodeOptions: process.env.NODE_OPTIONS ?? null,
          warmProcesses: warmProcesses(),
          head: { script: this.script, args: this.config.args, cwd: process.cwd() },
        },
        this.#token,
        process.env,
      );
      const backend = this.#backend;
      void backend.exited.then((e) => this.#backendExited(e.code, e.signal));
      this.opts.onStart?.({ runtimeId: this.#rtid, backendPid: backend.pid, runtimeDir: runtimeDir(this.#rtid) });
      const ms = this.opts.startupTimeout ?? STARTUP_TIMEOUT_MS;
      this.#timer('startup', ms, () => {
        this.#fail(
          Errors.startup(
            `the backend on ${this.#host} did not come up within ${ms / 1000} s`,
            'The machine may be overloaded: try again, or look at the log with --log-level debug',
          ),
        );
        backend.signal('SIGTERM'); // it tears down what it set up, if it can
        this.#timer('startup-kill', BACKEND_EXIT_MS, () => this.#finish());
      });
      await this.#finished;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      hasten?.removeEventListener('abort', onHasten);
      for (const t of this.#timers.values()) clearTimeout(t);
      this.#stopStdin?.();
      this.#conn?.close();
      server.close();
      await this.#reapBackend();
      await this.#sweep();
      await this.#output.flush();
      this.#log.close();
    }
    if (this.#headExit !== undefined) return this.#headExit;
    if (this.#failure) throw this.#failure;
    if (this.#abortedWith) return exitCodeFor(this.#abortedWith);
    throw Errors.backendLost(`the run-time's backend on ${this.#host} stopped before the head process ended`, 'Run again; look at the kept log (--log-level debug) for what happened');
  }

  #connected(conn: BackendConnection): void {
    if (this.#conn) {
      this.#log.warn('control', `a second backend checked in from ${conn.host}: refused`);
      return conn.close();
    }
    this.#conn = conn;
    conn.attach({ frame: (f) => this.#onFrame(f), lost: (why) => this.#lost(why) });
  }

  #onFrame(f: BackendFrame): void {
    switch (f.type) {
      case 'hello':
        return;
      case 'ready':
        this.#clearTimer('startup');
        this.#log.info('control', `${this.#conn!.host} ready: pool ${f.pool} (${f.poolBytes} bytes)`);
        if (this.#abortedWith) this.#conn!.send({ type: 'teardown', signal: this.#abortedWith, hasten: false });
        return;
      case 'failed':
        this.#clearTimer('startup');
        return this.#fail(Errors.startup(`the run-time could not start on ${this.#host}: ${f.message}`, 'See the message above for what to change'));
      case 'head-started':
        this.#log.info('control', `head process ${f.puid} started (pid ${f.pid})`);
        this.#relayStdin();
        return;
      case 'output':
        return this.#output.write(f.host, f.puid, f.fd, Buffer.from(f.data, 'base64'));
      case 'head-exited':
        this.#headExit = f.exitCode;
        this.#stopStdin?.();
        this.#log.info('control', `head process ${f.puid} exited with ${f.exitCode}`);
        this.#timer('teardown', this.config.gracePeriod + TEARDOWN_MARGIN_MS, () => this.#teardownOverdue());
        return;
      case 'done':
        this.#doneFrame = true;
        this.#log.info('control', `${this.#conn!.host} torn down: ${f.terminated} processes terminated, ${f.killed} killed, ${f.segmentsRemoved} segments removed`);
        return this.#finish();
    }
  }

  #relayStdin(): void {
    const conn = this.#conn!;
    this.#stopStdin = relayStdin(this.opts.stdin ?? process.stdin, {
      data: (chunk) => conn.send({ type: 'stdin', data: chunk.toString('base64') }),
      end: () => conn.send({ type: 'stdin-end' }),
      onDrain: (fn) => conn.onDrain(fn),
    });
  }

  // First abort: graceful teardown (the head gets `sig` first); hasten:
  // SIGKILL now. Either way bounded: past the deadline the backend is killed.
  #abort(sig: NodeJS.Signals, hasten: boolean): void {
    this.#abortedWith ??= sig;
    this.#log.info('control', `${hasten ? 'hasten' : 'abort'} (${sig})`);
    const conn = this.#conn;
    if (conn && !conn.lost) {
      conn.send({ type: 'teardown', signal: sig, hasten });
      const ms = (hasten ? 0 : this.config.gracePeriod) + TEARDOWN_MARGIN_MS;
      this.#timer(hasten ? 'hasten' : 'abort', ms, () => this.#teardownOverdue());
    } else {
      // Not checked in yet: the backend tears down what it set up on SIGTERM.
      this.#backend?.signal(hasten ? 'SIGKILL' : 'SIGTERM');
      this.#timer('abort', BACKEND_EXIT_MS, () => this.#finish());
    }
  }

  #teardownOverdue(): void {
    this.#log.error('control', `the backend of ${this.#conn?.host ?? this.#host} did not finish teardown in time: killing it`);
    this.#backend?.signal('SIGKILL');
    this.#finish();
  }

  #lost(why: string): void {
    if (this.#doneFrame) return;
    this.#log.warn('control', `connection to ${this.#conn?.host} lost: ${why}`);
    this.#finish();
  }

  #backendExited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#doneFrame) return;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    this.#log.warn('control', `the backend exited (${how}) before it reported the end of teardown`);
    if (this.#headExit === undefined && !this.#abortedWith) {
      const tail = this.#backend?.stderr;
      this.#fail(
        this.#conn
          ? Errors.backendLost(`the run-time's backend on ${this.#host} died (${how})${tail ? `: ${lastLine(tail)}` : ''}`, 'Run again; run `dragon-cleanup` if processes or segments were left')
          : Errors.startup(`the run-time's backend on ${this.#host} failed to start (${how})${tail ? `: ${lastLine(tail)}` : ''}`, 'Check that dragonhpc is installed completely (`npm install` builds libdragon and the exec shim)'),
      );
    }
    this.#finish();
  }

  #fail(err: DragonError): void {
    this.#failure ??= err;
    this.#log.error('control', err.message);
  }

  async #reapBackend(): Promise<void> {
    const b = this.#backend;
    if (!b?.running) return;
    if (await settlesWithin(b.exited, BACKEND_EXIT_MS)) return;
    this.#log.error('control', `the backend (pid ${b.pid}) did not exit: SIGKILL`);
    b.signal('SIGKILL');
    await settlesWithin(b.exited, BACKEND_EXIT_MS);
  }

  // The backend removes all this itself; if it died first, we do (same node).
  async #sweep(): Promise<void> {
    if (!this.#doneFrame) {
      const n = await killStrays(this.#rtid, 200);
      if (n) this.#log.warn('control', `killed ${n} processes the backend left`);
    }
    const segs = removeSegments(this.#rtid);
    const kept = removeRuntimeDir(this.#rtid);
    if (segs.length) this.#log.warn('control', `removed segments the backend left: ${segs.join(', ')}`);
    if (kept.length) this.#log.warn('control', `kept the services' log: ${kept.join(', ')}`);
  }

  #timer(name: string, ms: number, fn: () => void): void {
    this.#clearTimer(name);
    this.#timers.set(
      name,
      setTimeout(() => {
        this.#timers.delete(name);
        fn();
      }, ms),
    );
  }

  #clearTimer(name: string): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }
}

function newRuntimeId(): string {
  let id = 0n;
  while (id === 0n) id = BigInt(`0x${randomBytes(6).toString('hex')}`);
  return id.toString(16);
}

function signalOf(reason: unknown): NodeJS.Signals {
  return typeof reason === 'string' && /^SIG[A-Z0-9]+$/.test(reason) && reason in constants.signals ? (reason as NodeJS.Signals) : 'SIGTERM';
}

/** What a shell reports for a process killed by `sig`. */
function exitCodeFor(sig: NodeJS.Signals): number {
  return 128 + (constants.signals[sig] ?? 15);
}

function warmProcesses(): number {
  const n = Number(process.env.DRAGON_WARM_PROCESSES ?? DEFAULT_WARM_PROCESSES);
  return Number.isInteger(n) && n >= 0 && n <= 64 ? n : DEFAULT_WARM_PROCESSES;
}

function lastLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim());
  return lines[lines.length - 1] ?? '';
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}
