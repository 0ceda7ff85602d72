// The backend of one node: Local Services and (node 0) Global Services in
// one Node process, started by the frontend in its own session. It checks
// in over TCP, creates the node's default pool and GS's request channel,
// lets the head (started early by main.ts) run, and tears everything down
// when the head exits, when the frontend asks (Ctrl-C), or when the
// frontend is gone.
import { hostname } from 'node:os';
import type { BackendSettings, FrontendFrame } from '../../../schemas/control.js';
import { Log } from '../control/log.js';
import { killStrays } from '../control/strays.js';
import { removeSegments } from '../control/sweep.js';
import { Channel } from '../core/channel.js';
import { MemoryPool } from '../core/pool.js';
import { ControlLink } from './control-link.js';
import type { EarlyHead } from './early-head.js';
import { runtimeVars, warmEnv } from './env.js';
import { GlobalServices, type ProcessRecord } from './global-services.js';
import { LocalServices } from './local-services.js';
import type { ManagedProcess } from './managed-process.js';
import { execShim } from './paths.js';
import { RuntimeDir } from './rundir.js';

/** GS's request channel: room for bursts of requests; env-sized ones fit inline. */
const GS_CAPACITY = 256;
const GS_BLOCK = 4096;

export class Backend {
  readonly #s: BackendSettings;
  readonly #token: string;
  readonly #host = hostname();
  /** The user's environment, as the frontend had it (NODE_OPTIONS given back). */
  readonly #baseEnv: Record<string, string | undefined>;
  #log: Log | undefined;
  #dir: RuntimeDir | undefined;
  #link: ControlLink | undefined;
  #pool: MemoryPool | undefined;
  #ls: LocalServices | undefined;
  #gs: GlobalServices | undefined;
  readonly #early: EarlyHead | undefined;
  #head: ProcessRecord | undefined;
  #teardown: Promise<void> | undefined;
  #done!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#done = resolve));

  /** env: the user's environment (NODE_OPTIONS given back); head: started already by main.ts. */
  constructor(settings: BackendSettings, token: string, env: Record<string, string | undefined>, head: EarlyHead | undefined) {
    this.#s = settings;
    this.#token = token;
    this.#baseEnv = { ...env };
    this.#early = head;
  }

  /** Runs the node until teardown is complete; returns the backend's exit code. */
  async run(): Promise<number> {
    const linking = ControlLink.connect(this.#s.frontend, {
      frame: (f) => this.#onFrame(f),
      invalid: (why) => this.#log?.warn('control', `invalid frame from the frontend: ${why}`),
      lost: (why) => void this.teardown(`the frontend is gone (${why})`),
    });
    try {
      this.#dir = RuntimeDir.create(this.#s.rtid, this.#host);
      this.#log = new Log(this.#dir.logFile, this.#s.rtid, this.#host, this.#s.logLevel);
      this.#link = await linking;
    } catch (err) {
      process.stderr.write(`dragon backend: ${(err as Error).message}\n`);
      this.#early?.proc.signal('SIGKILL');
      this.#dir?.remove(this.#s.rtid, this.#host, this.#log?.written ?? false);
      return 1;
    }
    this.#link.send({ type: 'hello', token: this.#token, host: this.#host, nodeIndex: this.#s.nodeIndex, pid: process.pid });
    try {
      this.#startServices();
    } catch (err) {
      const e = err as { message?: string; code?: string };
      this.#log.error('backend', `start-up failed: ${e.message}`);
      this.#link.send({ type: 'failed', message: e.message ?? String(err), code: e.code ?? 'DRAGON_ERR_STARTUP' });
      this.#early?.abandon();
      this.#early?.proc.signal('SIGKILL');
      await this.teardown('start-up failed');
      return 1;
    }
    if (this.#link.lost) void this.teardown('the frontend is gone');
    await this.#finished;
    return 0;
  }

  #startServices(): void {
    const log = this.#log!;
    const shim = execShim();
    this.#pool = MemoryPool.create({ bytes: this.#s.poolBytes, poolId: 1 + this.#s.nodeIndex, hostId: this.#s.nodeIndex });
    const channel = Channel.create({ pool: this.#pool, capacity: GS_CAPACITY, blockSize: GS_BLOCK });
    const rt = runtimeVars({
      rtid: this.#s.rtid,
      defaultPool: this.#pool.serialize(),
      gsChannel: channel.serialize(),
      hostname: this.#host,
      nodeIndex: this.#s.nodeIndex,
      logLevel: this.#s.logLevel,
    });
    this.#ls = new LocalServices({
      shim,
      pool: this.#pool,
      log,
      sink: (puid, fd, data) => this.#output(puid, fd, data),
      warmEnv: warmEnv(this.#baseEnv, rt),
      warmTarget: this.#s.warmProcesses,
    });
    this.#gs = new GlobalServices({ ls: this.#ls, channel, log, runtimeVars: rt, onExit: (r) => this.#onExit(r) });
    this.#gs.serve();
    log.info('backend', `up: pool ${this.#pool.name} (${this.#s.poolBytes} bytes), pid ${process.pid}`);
    const link = this.#link!;
    link.send({ type: 'ready', pool: this.#pool.name, poolBytes: this.#s.poolBytes, logFile: this.#dir!.logFile });
    const early = this.#early;
    if (early) {
      this.#ls.adopt(early.proc);
      this.#head = this.#gs.adoptHead(early.puid, early.proc);
      early.connect((puid, fd, data) => this.#output(puid, fd, data));
      early.release(rt);
      link.send({ type: 'head-started', puid: early.puid, pid: early.proc.pid });
    }
  }

  #onFrame(f: FrontendFrame): void {
    switch (f.type) {
      case 'stdin':
        this.#headStdin()?.write(Buffer.from(f.data, 'base64'));
        return;
      case 'stdin-end':
        this.#headStdin()?.end();
        return;
      case 'teardown':
        void this.teardown(`the frontend asked (${f.signal}${f.hasten ? ', hasten' : ''})`, f.signal as NodeJS.Signals, f.hasten);
        return;
    }
  }

  #headStdin(): NodeJS.WritableStream | null {
    const p: ManagedProcess | undefined = this.#early?.proc;
    return p && !p.hasExited ? p.stdin : null;
  }

  #onExit(r: ProcessRecord): void {
    if (r !== this.#head || !r.exit) return;
    this.#link!.send({ type: 'head-exited', puid: r.puid, exitCode: r.exit.exitCode, signal: r.exit.signal });
    void this.teardown(`the head process exited (${r.exit.signal ?? `code ${r.exit.code}`})`);
  }

  // Output keeps the order of each process's lines; when the frontend does
  // not keep up, the processes' pipes are paused (they block on write).
  #output(puid: number, fd: 1 | 2, data: Buffer): void {
    const link = this.#link;
    if (!link || link.lost) return;
    if (puid === 0) {
      this.#log?.warn('ls', `output of an idle warm process: ${data.toString('utf8').trimEnd()}`);
      return;
    }
    if (!link.send({ type: 'output', host: this.#host, puid, fd, data: data.toString('base64') })) {
      this.#ls?.pauseOutput();
      link.onDrain(() => this.#ls?.resumeOutput());
    }
  }

  /**
   * Terminates every process (the head gets `signal` first), destroys the
   * pools, removes the run-time directory and reports. A second call with
   * hasten skips the grace period of the teardown in progress.
   */
  teardown(reason: string, signal: NodeJS.Signals = 'SIGTERM', hasten = false): Promise<void> {
    if (hasten) this.#ls?.hasten();
    this.#teardown ??= this.#tearDown(reason, signal, hasten).finally(() => this.#done());
    return this.#teardown;
  }

  async #tearDown(reason: string, signal: NodeJS.Signals, hasten: boolean): Promise<void> {
    const log = this.#log;
    log?.info('teardown', reason);
    this.#gs?.stopAccepting();
    let terminated = 0;
    let killed = 0;
    const early = this.#early;
    if (!this.#ls && early && !early.proc.hasExited) {
      // The services never came up: the head never ran the script.
      early.abandon();
      early.proc.signal('SIGKILL');
      await Promise.race([early.proc.exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    if (this.#ls) {
      const head = this.#head && !this.#head.exit ? { puid: this.#head.puid, signal } : undefined;
      ({ terminated, killed } = await this.#ls.terminateAll(hasten ? 0 : this.#s.gracePeriod, head));
    }
    const strays = await killStrays(this.#s.rtid, 0);
    if (strays) log?.warn('teardown', `${strays} processes had left their process groups: killed`);
    this.#gs?.close();
    let segments = 0;
    try {
      if (this.#pool) {
        this.#pool.destroy();
        segments++;
      }
    } catch (err) {
      log?.error('teardown', `default pool: ${(err as Error).message}`);
    }
    segments += removeSegments(this.#s.rtid).length;
    log?.info('teardown', `done: ${terminated} processes terminated (${killed} with SIGKILL), ${segments} segments removed`);
    log?.close();
    let kept: string | null = null;
    try {
      kept = this.#dir?.remove(this.#s.rtid, this.#host, log?.written ?? false) ?? null;
    } catch (err) {
      process.stderr.write(`dragon backend: cannot remove ${this.#dir?.path}: ${(err as Error).message}\n`);
    }
    const link = this.#link;
    if (link && !link.lost) {
      link.send({ type: 'done', terminated, killed, segmentsRemoved: segments, logFile: kept });
      await link.close(2000);
    }
  }
}
