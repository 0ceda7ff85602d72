// runDragon: the frontend as a library function. Reads the allocation
// (wlm/), starts one backend per node (a child process on this machine
// alone; one srun step / mpiexec / ssh per host otherwise), waits for every
// backend to check in (with a deadline that names the nodes that did not),
// has node 0 run SCRIPT as the head process, relays stdin to the head,
// every process's output to stdout/stderr, and messages between nodes;
// watches every node with heartbeats; and resolves with the head's exit
// code once every node is torn down. No process.exit, no handlers of
// SIGINT/SIGTERM: the caller turns those into aborts.
//   signal aborted (reason 'SIGINT' | 'SIGTERM'): graceful teardown; the head gets that signal first
//   hasten aborted: SIGKILL everything now
// Rejects with a DragonError when the run-time could not start, or a node
// was lost before the head ended.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DragonConfig, type DragonConfigInput } from '../../../schemas/config.js';
import type { BackendFrame, BackendSettings, FrontendFrame } from '../../../schemas/control.js';
import { integerFromText } from '../config/text.js';
import { Log } from '../control/log.js';
import { keptLogFile, runtimeDir } from '../core/rundir/paths.js';
import { ensurePrivateBase } from '../core/rundir/private-dir.js';
import { killStrays } from '../control/strays.js';
import { removeRuntimeDir, removeSegments } from '../core/rundir/sweep.js';
import { requireNativeBuild } from '../package-files.js';
import { DragonError, Errors } from '../errors/errors.js';
import { detectAllocation, explainLaunchFailure, launchPlans, selectNodes, type Allocation } from '../wlm/index.js';
import { ControlServer, type BackendConnection } from './control-server.js';
import { LaunchedStep, type StepSpec } from './launched-step.js';
import { FRONTEND_ADDR_ENV, listenAddress } from './listen-address.js';
import { OutputWriter } from './output.js';
import { resolvePoolBytes } from './pool-size.js';
import { checkScript } from './script.js';
import { relayStdin } from './stdin-relay.js';

export interface RunDragonOptions {
  /** First Ctrl-C / SIGTERM: graceful teardown. Abort with the signal's name as reason. */
  signal?: AbortSignal;
  /** Second signal: SIGKILL everything now. */
  hasten?: AbortSignal;
  /** Signals of this process to pass on to the head while it runs (the CLI: SIGUSR1, SIGUSR2). */
  relaySignals?: NodeJS.Signals[];
  /** Relayed to the head; default process.stdin. */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Called once the backends are being started (tests, embedding programs). */
  onStart?: (info: RuntimeInfo) => void;
  /** Called once everything is torn down, with what the run cost the frontend. */
  onEnd?: (stats: RunStats) => void;
  /** Milliseconds every backend has to come up; default 30 000. */
  startupTimeout?: number;
  /** The environment to read the allocation from and give the run-time; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface RuntimeInfo {
  /** Hex run-time id: in segment names, the run-time directory, DRAGON_RT_UID. */
  runtimeId: string;
  /** The pid of the backend (this machine alone) or of the launcher (srun...). */
  backendPid: number;
  runtimeDir: string;
  /** The nodes used, by index (node 0 runs the head). */
  nodes: string[];
  wlm: Allocation['kind'];
}

export interface RunStats {
  nodes: number;
  /** From the first backend's start to the end of teardown. */
  wallMs: number;
  /** Until every node reported ready. */
  bringUpMs: number | null;
  /** Control-plane frames the frontend sent and received (heartbeats included). */
  frames: number;
}

const STARTUP_TIMEOUT_MS = 30_000;
/** Beyond the grace period: how long teardown may take before the backends are killed. */
const TEARDOWN_MARGIN_MS = 5_000;
/** After the session: how long the backends' steps may take to exit before they are signalled. */
const STEP_EXIT_MS = 3_000;
const DEFAULT_WARM_PROCESSES = 2;
const WARM_PROCESSES_ENV = 'DRAGON_WARM_PROCESSES';
/** Clean-up of the nodes whose backend died: bounded, the user is waiting. */
const CLEANUP_MS = 10_000;
const BACKEND_ENTRY = fileURLToPath(new URL('../backend/main.js', import.meta.url));

/** config: at least { script }; the rest takes the defaults of `dragon` (schemas/config.ts). */
export async function runDragon(input: DragonConfigInput, opts: RunDragonOptions = {}): Promise<number> {
  const parsed = DragonConfig.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw Errors.badConfig(`runDragon config.${issue.path.join('.')}`, undefined, issue.message);
  }
  const config = parsed.data;
  const env = opts.env ?? process.env;
  const warm = warmProcesses(env);
  const script = checkScript(config.script);
  requireNativeBuild();
  ensurePrivateBase(); // before the first line of our log goes below it
  const alloc = await detectAllocation({
    ...(config.wlm ? { wlm: config.wlm } : {}),
    ...(config.hostfile ? { hostfile: config.hostfile } : {}),
    ...(config.hosts ? { hosts: config.hosts } : {}),
    env,
  });
  const nodes = selectNodes(alloc, config.nodes);
  // This machine alone: the pool is checked now (a clear error before anything starts);
  // on other nodes each backend sizes its own from its own /dev/shm.
  const poolBytes = alloc.kind === 'local' ? resolvePoolBytes(config.poolSize) : null;
  return new Launch(config, opts, env, script, alloc, nodes, poolBytes, warm).run();
}

/** One node of the job, as the frontend follows it. */
interface NodeState {
  name: string;
  conn: BackendConnection | undefined;
  ready: boolean;
  done: boolean;
  lost: string | undefined;
  /** Lost by silence (cut off, stopped): no use reaching it for a clean-up. */
  silent: boolean;
  lastHeard: number;
  /** Its transport agent's endpoint address (null: none there). */
  transport: string | null;
}

/** Printed once when a job of several nodes runs without transport agents. */
export const NO_TRANSPORT_WARNING =
  'dragon: warning: cross-node channels are off: libdragon was built without libfabric (apt-get install libfabric-dev, then npm rebuild)';

class Launch {
  readonly #rtid = newRuntimeId();
  readonly #token = randomBytes(32).toString('hex');
  readonly #host = hostname();
  readonly #log: Log;
  readonly #output: OutputWriter;
  readonly #nodes: NodeState[];
  #steps: LaunchedStep[] = [];
  #headExit: number | undefined;
  #failure: DragonError | undefined;
  #lostFailure: DragonError | undefined;
  #stopStdin: (() => void) | undefined;
  #abortedWith: NodeJS.Signals | undefined;
  #tearingDown = false;
  #finish!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#finish = resolve));
  /** Deadlines by name (startup, abort, teardown...). */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** Control messages sent and received (the benchmark's per-node cost). */
  #frames = 0;
  #readyAt: number | undefined;
  /** Files a launch plan made (pbsdsh's secrets): removed once every node checked in. */
  readonly #files: string[] = [];

  constructor(
    private readonly config: DragonConfig,
    private readonly opts: RunDragonOptions,
    private readonly env: NodeJS.ProcessEnv,
    private readonly script: string,
    private readonly alloc: Allocation,
    names: string[],
    private readonly poolBytes: number | null,
    private readonly warmProcesses: number,
  ) {
    this.#nodes = names.map((name) => ({ name, conn: undefined, ready: false, done: false, lost: undefined, silent: false, lastHeard: Date.now(), transport: null }));
    this.#log = new Log(keptLogFile(this.#rtid, 'frontend'), this.#rtid, this.#host, config.logLevel);
    this.#output = new OutputWriter(
      opts.stdout ?? process.stdout,
      opts.stderr ?? process.stderr,
      config.label,
      () => this.#each((n) => n.conn?.pause()),
      () => this.#each((n) => n.conn?.resume()),
    );
  }

  get #local(): boolean {
    return this.alloc.kind === 'local';
  }

  async run(): Promise<number> {
    const { signal, hasten } = this.opts;
    if (signal?.aborted) return exitCodeFor(signalOf(signal.reason));
    const host = listenAddress(!this.#local, this.env);
    const server = await ControlServer.listen(this.#token, this.#log, host).catch((err: NodeJS.ErrnoException) => {
      throw Errors.cannotListen(host, this.env[FRONTEND_ADDR_ENV] !== undefined && this.env[FRONTEND_ADDR_ENV]!.trim() !== '', err.code ?? err.message);
    });
    const onAbort = () => this.#abort(signalOf(signal?.reason), false);
    const onHasten = () => this.#abort(this.#abortedWith ?? 'SIGTERM', true);
    const onRelay = (sig: NodeJS.Signals) => this.#relaySignal(sig);
    signal?.addEventListener('abort', onAbort, { once: true });
    hasten?.addEventListener('abort', onHasten, { once: true });
    for (const s of this.opts.relaySignals ?? []) process.on(s, onRelay);
    try {
      server.onBackend((conn) => this.#connected(conn));
      const started = Date.now();
      const specs = await this.#stepSpecs(server.address);
      this.#steps = this.#local ? specs.map((spec) => LaunchedStep.local(spec)) : await Promise.all(specs.map((spec) => LaunchedStep.launcher(spec)));
      for (const step of this.#steps) void step.exited.then((e) => this.#stepExited(step, e.code, e.signal));
      this.#log.info('control', `${this.alloc.kind}: starting ${this.#nodes.length} backend(s) on ${this.#nodes.map((n) => n.name).join(', ')}`);
      this.opts.onStart?.({ runtimeId: this.#rtid, backendPid: this.#steps[0]!.pid, runtimeDir: runtimeDir(this.#rtid), nodes: this.#nodes.map((n) => n.name), wlm: this.alloc.kind });
      const ms = this.opts.startupTimeout ?? STARTUP_TIMEOUT_MS;
      this.#timer('startup', ms, () => this.#startupOverdue(ms));
      this.#startHeartbeat();
      await this.#finished;
      const wallMs = Date.now() - started;
      this.#log.info('control', `run-time over after ${wallMs} ms, ${this.#frames} control frames`);
      this.opts.onEnd?.({ nodes: this.#nodes.length, wallMs, bringUpMs: this.#readyAt === undefined ? null : this.#readyAt - started, frames: this.#frames });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      hasten?.removeEventListener('abort', onHasten);
      for (const s of this.opts.relaySignals ?? []) process.off(s, onRelay);
      for (const t of this.#timers.values()) clearTimeout(t);
      clearInterval(this.#heartbeat);
      this.#stopStdin?.();
      this.#removeFiles();
      this.#each((n) => n.conn?.close());
      server.close();
      await this.#reapSteps();
      await this.#sweep();
      await this.#output.flush();
      this.#log.close();
    }
    if (this.#failure ?? this.#lostFailure) throw this.#failure ?? this.#lostFailure;
    if (this.#headExit !== undefined) return this.#headExit;
    if (this.#abortedWith) return exitCodeFor(this.#abortedWith);
    throw Errors.backendLost(`the run-time's backend on ${this.#nodes[0]!.name} stopped before the head process ended`, 'Run again; look at the kept log (--log-level debug) for what happened');
  }

  /** How the backends are started: one child here, or the workload manager's launcher. */
  async #stepSpecs(frontend: string): Promise<StepSpec[]> {
    const settings: BackendSettings = {
      v: 1,
      rtid: this.#rtid,
      frontend,
      nodeIndex: this.#local ? 0 : null,
      nodeCount: this.#nodes.length,
      heartbeatTimeout: this.config.heartbeatTimeout,
      poolBytes: this.poolBytes,
      poolSize: this.config.poolSize,
      logLevel: this.config.logLevel,
      gracePeriod: this.config.gracePeriod,
      nodeOptions: this.env.NODE_OPTIONS ?? null,
      warmProcesses: this.warmProcesses,
      head: { script: this.script, args: this.config.args, cwd: process.cwd() },
    };
    const secrets = { DRAGON_TOKEN: this.#token, DRAGON_BACKEND: JSON.stringify(settings) };
    const env: NodeJS.ProcessEnv = { ...this.env, DRAGON_RT_UID: this.#rtid };
    delete env.NODE_OPTIONS; // the user's, for the user's processes (settings.nodeOptions)
    const argv = [process.execPath, BACKEND_ENTRY];
    if (this.#local) return [{ command: argv[0]!, args: argv.slice(1), env: { ...env, ...secrets }, stdin: null }];
    const names = this.#nodes.map((n) => n.name);
    const plans = await launchPlans(this.alloc, names, argv, env, secrets);
    for (const p of plans) this.#files.push(...(p.files ?? []));
    return plans;
  }

  #connected(conn: BackendConnection): void {
    const i = conn.hello.nodeIndex;
    const node = this.#nodes[i];
    if (!node || node.conn) {
      this.#log.warn('control', `a backend checked in from ${conn.host} as node ${i}, ${node ? 'which has one already' : `but the job has ${this.#nodes.length} nodes`}: refused`);
      return conn.close();
    }
    node.conn = conn;
    node.lastHeard = Date.now();
    const { cpus, memoryLimit, gpus } = conn.hello.info;
    this.#log.info('control', `node ${i} (${conn.host}): ${cpus} CPUs, ${Math.round(memoryLimit / 2 ** 20)} MiB, ${gpus.length} GPUs`);
    conn.attach({ frame: (f) => this.#onFrame(i, f), lost: (why) => this.#lost(i, why) });
    if (this.#tearingDown || this.#abortedWith) this.#send(i, { type: 'teardown', signal: this.#abortedWith ?? 'SIGTERM', hasten: false });
  }

  #onFrame(i: number, f: BackendFrame): void {
    const node = this.#nodes[i]!;
    node.lastHeard = Date.now();
    this.#frames++;
    switch (f.type) {
      case 'hello':
      case 'pong':
        return;
      case 'route':
        return this.#route(i, f.to, f);
      case 'ready':
        node.ready = true;
        node.transport = f.transport?.address ?? null;
        this.#log.info('control', `${node.conn!.host} ready: pool ${f.pool} (${f.poolBytes} bytes)${f.transport ? `, transport ${f.transport.provider}` : ''}`);
        if (this.#nodes.every((n) => n.ready)) this.#allReady();
        return;
      case 'failed':
        this.#clearTimer('startup');
        this.#fail(Errors.startup(`the run-time could not start on ${node.conn!.host}: ${f.message}`, 'See the message above for what to change'));
        return this.#teardownAll('SIGTERM', false);
      case 'head-started':
        this.#log.info('control', `head process ${f.puid} started (pid ${f.pid})`);
        this.#relayStdin(i);
        return;
      case 'output':
        return this.#output.write(f.host, f.puid, f.fd, Buffer.from(f.data, 'base64'));
      case 'head-exited':
        this.#headExit = f.exitCode;
        this.#stopStdin?.();
        this.#log.info('control', `head process ${f.puid} exited with ${f.exitCode}`);
        return this.#teardownAll('SIGTERM', false);
      case 'done':
        node.done = true;
        this.#log.info('control', `${node.conn!.host} torn down: ${f.terminated} processes terminated, ${f.killed} killed, ${f.segmentsRemoved} segments removed`);
        if (!this.#tearingDown) {
          // A node tore down on its own: the workload manager signalled the step (scancel,
          // the time limit). The job ends as if the frontend had been sent SIGTERM.
          this.#log.warn('control', `${node.name} tore down on its own (signalled by the workload manager?): ending the job`);
          this.#abortedWith ??= 'SIGTERM';
          this.#teardownAll('SIGTERM', false);
        }
        return this.#maybeFinished();
    }
  }

  #allReady(): void {
    this.#clearTimer('startup');
    this.#readyAt = Date.now();
    this.#removeFiles();
    const hosts = this.#nodes.map((n) => n.conn!.host);
    this.#log.info('control', `all ${hosts.length} nodes ready`);
    if (this.#nodes.length > 1) {
      const transports = this.#nodes.map((n) => n.transport);
      if (transports.some((t) => t === null)) {
        this.#log.warn('control', 'cross-node channels are off: no transport agent on some nodes');
        (this.opts.stderr ?? process.stderr).write(`${NO_TRANSPORT_WARNING}\n`);
      }
      const cpus = this.#nodes.map((n) => n.conn!.hello.info.cpus);
      this.#each((_, i) => this.#send(i, { type: 'nodes', hosts, transports, cpus }));
    }
  }

  #route(from: number, to: number, f: Extract<BackendFrame, { type: 'route' }>): void {
    if (!this.#send(to, { type: 'routed', from, msg: f.msg }) && !this.#nodes[to]) {
      this.#log.warn('control', `node ${from} sent a message to node ${to}, which does not exist`);
    }
  }

  #send(i: number, frame: DistributiveOmit<FrontendFrame, 'v'>): boolean {
    const conn = this.#nodes[i]?.conn;
    if (!conn || conn.lost) return false;
    this.#frames++;
    conn.send(frame);
    return true;
  }

  #relayStdin(i: number): void {
    const conn = this.#nodes[i]!.conn!;
    this.#stopStdin = relayStdin(this.opts.stdin ?? process.stdin, {
      data: (chunk) => conn.send({ type: 'stdin', data: chunk.toString('base64') }),
      end: () => conn.send({ type: 'stdin-end' }),
      onDrain: (fn) => conn.onDrain(fn),
    });
  }

  #relaySignal(sig: NodeJS.Signals): void {
    this.#log.info('control', `${sig} received: passed on to the head`);
    if (this.#headExit === undefined) this.#send(0, { type: 'signal-head', signal: sig });
  }

  // Every node tears down; bounded: past the deadline the steps are killed.
  #teardownAll(sig: NodeJS.Signals, hasten: boolean): void {
    const first = !this.#tearingDown;
    this.#tearingDown = true;
    this.#stopStdin?.();
    this.#each((n, i) => {
      if (!n.done && !n.lost) this.#send(i, { type: 'teardown', signal: sig, hasten });
    });
    if (first || hasten) {
      const ms = (hasten ? 0 : this.config.gracePeriod) + TEARDOWN_MARGIN_MS;
      this.#timer('teardown', ms, () => this.#teardownOverdue());
    }
    this.#maybeFinished();
  }

  // First abort: graceful teardown (the head gets `sig` first); hasten: SIGKILL now.
  #abort(sig: NodeJS.Signals, hasten: boolean): void {
    this.#abortedWith ??= sig;
    this.#log.info('control', `${hasten ? 'hasten' : 'abort'} (${sig})`);
    if (this.#nodes.some((n) => n.conn)) return this.#teardownAll(sig, hasten);
    // Nobody checked in yet: the backends tear down what they set up on SIGTERM.
    for (const s of this.#steps) s.signal(hasten ? 'SIGKILL' : 'SIGTERM');
    this.#timer('abort', STEP_EXIT_MS, () => this.#finish());
  }

  #startupOverdue(ms: number): void {
    const missing = this.#nodes.filter((n) => !n.ready).map((n) => n.name);
    const one = this.#nodes.length === 1;
    this.#fail(
      Errors.startup(
        one ? `the backend on ${missing[0]} did not come up within ${ms / 1000} s` : `${missing.length} of ${this.#nodes.length} nodes did not come up within ${ms / 1000} s: ${missing.join(', ')}`,
        'The machine may be overloaded: try again, or look at the log with --log-level debug',
      ),
    );
    this.#teardownAll('SIGTERM', false);
    for (const s of this.#steps) s.signal('SIGTERM');
    this.#timer('startup-kill', STEP_EXIT_MS, () => this.#finish());
  }

  #teardownOverdue(): void {
    const late = this.#nodes.filter((n) => !n.done && !n.lost).map((n) => n.name);
    this.#log.error('control', `${late.join(', ')} did not finish teardown in time: killing the backends`);
    for (const s of this.#steps) s.signal('SIGKILL');
    this.#finish();
  }

  // Heartbeats: a ping to every node; a node silent past the timeout
  // (stopped, cut off) is lost like one whose connection closed.
  #startHeartbeat(): void {
    const timeout = this.config.heartbeatTimeout;
    if (timeout === 0) return;
    this.#heartbeat = setInterval(
      () => {
        const now = Date.now();
        this.#each((n, i) => {
          if (!n.conn || n.lost || n.done) return;
          if (now - n.lastHeard > timeout) {
            n.conn.close();
            n.silent = true;
            return this.#lost(i, `silent for ${Math.round((now - n.lastHeard) / 1000)} s, heartbeat timeout ${timeout / 1000} s`);
          }
          this.#send(i, { type: 'ping' });
        });
      },
      Math.min(2000, Math.max(100, timeout / 5)),
    );
  }

  #lost(i: number, why: string): void {
    const node = this.#nodes[i]!;
    if (node.done || node.lost) return;
    node.lost = why;
    this.#log.error('control', `lost node ${node.name}: ${why}`);
    // the transport agents fail what waits on its channels at once (before the teardown's grace period)
    this.#each((n, k) => {
      if (k !== i && !n.lost && !n.done) this.#send(k, { type: 'node-lost', node: i });
    });
    if (!this.#tearingDown && this.#headExit === undefined && !this.#abortedWith) {
      // Weaker than what the step's exit says (a backend killed on this machine: by which signal).
      this.#lostFailure ??= Errors.backendLost(
        `lost node ${node.name} (${why})`,
        'The job ended; run `dragon-cleanup` in the allocation if processes or segments were left on that node',
      );
      this.#log.error('control', this.#lostFailure.message);
    }
    this.#teardownAll('SIGTERM', false);
  }

  #stepExited(step: LaunchedStep, code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    // Backends of this step that never finished: the step took them along.
    const mine = this.#steps.length === 1 ? this.#nodes : [this.#nodes[this.#steps.indexOf(step)]!];
    const unfinished = mine.filter((n) => !n.done);
    if (unfinished.length === 0) return this.#maybeFinished();
    const tail = step.stderr;
    const names = unfinished.map((n) => n.name);
    this.#log.warn('control', `${step.spec.command} ended (${how}) before ${names.join(', ')} reported the end of teardown${tail ? `: ${lastLine(tail)}` : ''}`);
    if (this.#headExit === undefined && !this.#abortedWith) {
      const where = this.#local ? `the run-time's backend on ${this.#host}` : `the backend${names.length > 1 ? 's' : ''} on ${names.join(', ')}`;
      if (unfinished.every((n) => !n.conn)) {
        const host = this.#steps.length > 1 ? unfinished[0]!.name : undefined;
        const explained = explainLaunchFailure(this.alloc.kind, code ?? 128, tail, host);
        // An explained failure carries its own fix.
        const hint = explained ? '' : this.#local ? 'Check that dragonhpc is installed completely (`npm install` builds libdragon and the exec shim)' : 'dragonhpc must be installed at the same path on every node';
        this.#fail(Errors.startup(explained ?? `${where} failed to start (${how})${tail ? `: ${lastLine(tail)}` : ''}`, hint));
      } else {
        const died = Errors.backendLost(`${where} died (${how})${tail ? `: ${lastLine(tail)}` : ''}`, 'Run again; run `dragon-cleanup` if processes or segments were left');
        // This machine: the step is the backend, its exit says it all. A WLM step: "lost node X" said more.
        if (this.#local) this.#fail(died);
        else this.#lostFailure ??= died;
      }
    }
    for (const n of unfinished) n.lost ??= `its step ended (${how})`;
    this.#teardownAll('SIGTERM', false);
  }

  #maybeFinished(): void {
    if (!this.#tearingDown) return;
    // Every node finished (or is lost) and the steps ended; the teardown deadline bounds the wait.
    const stepsEnded = this.#steps.every((s) => !s.running);
    if (this.#nodes.every((n) => n.done || (n.lost && stepsEnded) || (!n.conn && stepsEnded))) return this.#finish();
    // Only lost nodes left: their step may hang on an unreachable node; give it a moment, not the whole deadline.
    if (this.#nodes.every((n) => n.done || n.lost) && !this.#timers.has('lost-steps')) this.#timer('lost-steps', STEP_EXIT_MS, () => this.#finish());
  }

  #fail(err: DragonError): void {
    this.#failure ??= err;
    this.#log.error('control', err.message);
  }

  async #reapSteps(): Promise<void> {
    const running = this.#steps.filter((s) => s.running);
    if (running.length === 0) return;
    if (this.#nodes.some((n) => n.lost) && !this.#local) {
      // A step that outlived the wait for its lost node hangs on it (srun waits for an
      // unreachable slurmd): kill it; the lost node's backend tears down on its own.
      this.#log.warn('control', `${running.map((s) => s.spec.command).join(', ')} still running after a lost node: SIGKILL`);
      for (const s of running) s.signal('SIGKILL');
      await settlesWithin(Promise.all(running.map((s) => s.exited)), STEP_EXIT_MS);
      return;
    }
    if (await settlesWithin(Promise.all(running.map((s) => s.exited)), STEP_EXIT_MS)) return;
    for (const s of running) {
      if (!s.running) continue;
      this.#log.error('control', `${s.spec.command} (pid ${s.pid}) did not exit: SIGTERM`);
      s.signal('SIGTERM');
    }
    if (await settlesWithin(Promise.all(running.map((s) => s.exited)), STEP_EXIT_MS)) return;
    for (const s of running) s.signal('SIGKILL');
    await settlesWithin(Promise.all(running.map((s) => s.exited)), STEP_EXIT_MS);
  }

  // The backend removes all this itself; if it died first, we do: on this
  // machine directly, on another node by dragon-cleanup through the
  // workload manager (only where the node still answers).
  async #sweep(): Promise<void> {
    const dead = this.#nodes.filter((n) => n.lost && !n.silent && n.conn).map((n) => n.name);
    if (!this.#local && dead.length) await this.#cleanNodes(dead);
    if (this.#nodes.some((n) => !n.done)) {
      const n = await killStrays(this.#rtid, 200);
      if (n) this.#log.warn('control', `killed ${n} processes the backend left`);
    }
    const segs = removeSegments(this.#rtid);
    const kept = removeRuntimeDir(this.#rtid);
    if (segs.length) this.#log.warn('control', `removed segments the backend left: ${segs.join(', ')}`);
    if (kept.length) this.#log.warn('control', `kept the services' log: ${kept.join(', ')}`);
  }

  async #cleanNodes(names: string[]): Promise<void> {
    this.#log.info('control', `dragon-cleanup on ${names.join(', ')}, whose backends died`);
    const warn = (line: string) => this.#log.warn('cleanup', line);
    try {
      const { cleanupAcrossNodes } = await import('../cleanup/across-nodes.js');
      await cleanupAcrossNodes(this.alloc, { nodes: names, dryRun: false, deadlineMs: CLEANUP_MS, env: this.env, print: warn, warn });
    } catch (err) {
      warn(`dragon-cleanup on ${names.join(', ')} failed: ${(err as Error).message}`);
    }
  }

  #removeFiles(): void {
    for (const f of this.#files.splice(0)) rmSync(f, { force: true });
  }

  #each(fn: (n: NodeState, i: number) => void): void {
    this.#nodes.forEach(fn);
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

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

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

const MAX_WARM_PROCESSES = 64;

// Not a setting of the config schema (no flag): checked here, refused like one.
function warmProcesses(env: NodeJS.ProcessEnv): number {
  const text = env[WARM_PROCESSES_ENV];
  if (text === undefined || text.trim() === '') return DEFAULT_WARM_PROCESSES; // empty = unset, as for every DRAGON_* setting
  const n = integerFromText(text);
  if (typeof n !== 'number' || n < 0 || n > MAX_WARM_PROCESSES) {
    throw Errors.badConfig(WARM_PROCESSES_ENV, text, `expected a whole number from 0 (off) to ${MAX_WARM_PROCESSES}`, `Fix or unset ${WARM_PROCESSES_ENV}`);
  }
  return n;
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
