// Process: a process of the run-time, multiprocessing-shaped. start() asks
// Global Services, which has Local Services start it (never this process:
// so it is in the run-time's books, gets the run-time's environment, its
// output reaches the frontend and teardown finds it).
//   new Process({ module, fn, args, env, cwd, name })   fn exported by module, called with args
//   new Process({ command, args, env, cwd, name })      any executable, string args
// A target that throws ends with exitCode 1 and `error` holding what it
// threw (name, message, code, remote stack); join() itself resolves, like
// Python's. exitCode follows the shell: killed by signal n -> 128 + n, and
// signalCode names the signal.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { CreateReply, JoinReply, ProcessSpec, SignalReply } from '../../../schemas/gs.js';
import { decode } from '../core/codec/codec.js';
import { Errors } from '../errors/errors.js';
import { timeoutMs } from '../core/timeout.js';
import { encodeArgs } from './args.js';
import { GsClient } from './gs-client.js';
import { resolveModule } from '../core/module-url.js';
import { runtimeEnv } from '../core/runtime-env.js';

interface CommonOptions {
  /** Added to (or, with undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  /** Working directory; default: this process's. */
  cwd?: string;
  name?: string;
  /** Where to run it; default: the next node of the run-time, round-robin. */
  policy?: ProcessPolicy;
  /**
   * Python's daemon flag: the run-time terminates the process (SIGTERM) when
   * the process that started it exits, on whatever node it runs, and it may
   * not start processes itself. Default false.
   */
  daemon?: boolean;
}

export interface ProcessPolicy {
  /** A node's hostname (as `hostname` prints it there). */
  host?: string;
}

export interface ModuleProcessOptions extends CommonOptions {
  /** The module: a path (absolute, or relative to the working directory), a file: URL, or a package name. */
  module: string | URL;
  /** Export to call; default: the default export if it is a function, else loading the module is the work. */
  fn?: string;
  /** Structured-clone values; Dragon objects (Channel, MemoryPool, Lock...) arrive attached. */
  args?: unknown[];
  command?: never;
}

export interface CommandProcessOptions extends CommonOptions {
  /** An executable, looked up in PATH. */
  command: string;
  args?: string[];
  module?: never;
  fn?: never;
}

export type ProcessOptions = ModuleProcessOptions | CommandProcessOptions;
export type ProcessSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';

type State = 'new' | 'starting' | 'started' | 'exited' | 'closed';
const COMMON_OPTIONS = ['env', 'cwd', 'name', 'policy', 'daemon'];
const MODULE_OPTIONS = ['module', 'fn', 'args', ...COMMON_OPTIONS];
const COMMAND_OPTIONS = ['command', 'args', ...COMMON_OPTIONS];
// Set while currentProcess() builds the Process that describes this process.
let buildingSelf = false;

export class Process {
  readonly #options: ProcessOptions | undefined;
  #state: State = 'new';
  #puid: number | undefined;
  #pid: number | undefined;
  #startTime: string | undefined;
  #host: string | undefined;
  #exitCode: number | null = null;
  #signalCode: string | null = null;
  #error: Error | undefined;
  #name: string | undefined;
  #daemon = false;

  constructor(options: ProcessOptions) {
    if (buildingSelf) {
      const env = runtimeEnv();
      this.#state = 'started';
      this.#puid = env?.puid;
      this.#pid = process.pid;
      this.#host = env?.hostname;
      this.#name = env ? (env.name ?? `Process-${env.puid}`) : 'MainProcess';
      this.#daemon = env?.daemon ?? false;
      return;
    }
    checkOptions(options);
    this.#options = options;
    this.#name = options.name;
    this.#daemon = options.daemon ?? false;
  }

  /** Run-time-wide process id (assigned at start; undefined before, and outside a run-time). */
  get puid(): number | undefined {
    this.#checkClosed('Process.puid');
    return this.#puid;
  }

  /** OS process id on its node (once started). */
  get pid(): number | undefined {
    this.#checkClosed('Process.pid');
    return this.#pid;
  }

  /** The hostname of the node it runs on (once started). */
  get host(): string | undefined {
    this.#checkClosed('Process.host');
    return this.#host;
  }

  /** Python's daemon flag (see the option); set it before start(). */
  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (typeof value !== 'boolean') throw Errors.invalidArgument('Process.daemon', `daemon must be true or false, got ${String(value)}`);
    if (this.#state !== 'new' || !this.#options) throw Errors.processState('Process.daemon', 'the process has already started (set daemon before start())');
    this.#daemon = value;
  }

  get name(): string {
    return this.#name ?? (this.#puid === undefined ? 'Process' : `Process-${this.#puid}`);
  }

  /** Exit status once join() saw the process end, else null. Signal n gives 128 + n. */
  get exitCode(): number | null {
    this.#checkClosed('Process.exitCode');
    return this.#exitCode;
  }

  /** The signal that killed the process, if one did. */
  get signalCode(): string | null {
    this.#checkClosed('Process.signalCode');
    return this.#signalCode;
  }

  /** What the target threw, once join() saw the process end with it. */
  get error(): Error | undefined {
    this.#checkClosed('Process.error');
    return this.#error;
  }

  /**
   * Python's close(): forgets the process (most methods and attributes then
   * throw DRAGON_ERR_VALUE). Throws DRAGON_ERR_VALUE while it may still run:
   * join() or terminate() first (on another node only join() tells it ended).
   */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'starting' || this.isAlive()) {
      throw Errors.valueError('Process.close', 'the process is still running', 'Call join() (or terminate() and then join()) before close()');
    }
    this.#state = 'closed';
    children.delete(this);
  }

  #checkClosed(op: string): void {
    if (this.#state === 'closed') throw Errors.valueError(op, 'the process object is closed', 'close() was called: nothing about the process is kept; read what you need before close()');
  }

  /** Starts the process; resolves once it runs (puid and pid known). */
  async start(): Promise<void> {
    const op = 'Process.start';
    this.#checkClosed(op);
    if (this.#state !== 'new' || !this.#options) throw Errors.processState(op, 'it was already started');
    this.#state = 'starting';
    try {
      const spec = buildSpec(this.#options, this.#daemon, op);
      const r = await GsClient.get(op).request<CreateReply>({ type: 'create', spec }, op);
      this.#puid = r.puid;
      this.#pid = r.pid;
      this.#startTime = r.startTime;
      this.#host = r.host;
      this.#state = 'started';
      children.add(this);
    } catch (err) {
      this.#state = 'new';
      throw err;
    }
  }

  /**
   * Waits until the process exits; resolves with its exitCode, or with null
   * when `timeout` (ms) passed first (0 or less: looks once, as Python).
   */
  async join(timeout?: number | null): Promise<number | null> {
    const op = 'Process.join';
    this.#checkClosed(op);
    const ms = timeoutMs(op, timeout);
    if (this.#state === 'exited') return this.#exitCode;
    if (this.#state !== 'started') throw Errors.processState(op, 'it was not started');
    if (this.#options === undefined) throw Errors.processState(op, 'a process cannot join itself');
    const r = await GsClient.get(op).request<JoinReply>({ type: 'join', puid: this.#puid!, timeout: ms === Infinity ? null : ms }, op);
    if (r.exited && this.#state === 'started') {
      this.#state = 'exited';
      children.delete(this);
      this.#exitCode = r.exitCode;
      this.#signalCode = r.signal;
      if (r.error) this.#error = decodeError(r.error);
    }
    return this.#exitCode;
  }

  /** True while the process runs (checked on the spot, not from what join() saw). */
  isAlive(): boolean {
    this.#checkClosed('Process.isAlive');
    if (this.#state !== 'started' || this.#pid === undefined) return false;
    if (this.#options === undefined) return true; // the current process
    // On another node its pid means nothing here: alive until join() saw it end
    // (`await p.join(0)` asks Global Services afresh).
    if (this.#host !== undefined && this.#host !== hostname()) return true;
    return alive(this.#pid, this.#startTime);
  }

  /** Sends SIGTERM (to the process and what it started in its process group). */
  terminate(): Promise<void> {
    return this.#signal('Process.terminate', 'SIGTERM');
  }

  /** Sends SIGKILL. */
  kill(): Promise<void> {
    return this.#signal('Process.kill', 'SIGKILL');
  }

  async #signal(op: string, signal: ProcessSignal): Promise<void> {
    this.#checkClosed(op);
    if (this.#state === 'exited') return;
    if (this.#state !== 'started' || this.#puid === undefined) throw Errors.processState(op, 'it was not started');
    await GsClient.get(op).request<SignalReply>({ type: 'signal', puid: this.#puid, signal }, op);
  }
}

let current: Process | undefined;
// Processes this process started whose exit no join() has seen yet.
const children = new Set<Process>();

/**
 * Python's active_children(): the Processes this process started that are
 * still running. Like Python it reaps: each child not known to have exited
 * is asked about with join(0) (one Global Services round trip each, in
 * parallel), so the answer is current when the promise resolves (async for
 * that reason). Processes started by other processes are not included.
 */
export async function activeChildren(): Promise<Process[]> {
  const all = [...children];
  await Promise.all(all.map((p) => p.join(0)));
  return all.filter((p) => p.exitCode === null);
}

/** This process as a Process (puid undefined when not started by a Dragon run-time). */
export function currentProcess(): Process {
  if (!current) {
    buildingSelf = true;
    try {
      current = new Process(undefined as unknown as ProcessOptions);
    } finally {
      buildingSelf = false;
    }
  }
  return current;
}

function checkOptions(o: ProcessOptions): void {
  const op = 'new Process';
  if (!o || typeof o !== 'object') throw Errors.invalidArgument(op, 'pass { module, fn, args } or { command, args }');
  const hasModule = o.module !== undefined;
  const hasCommand = o.command !== undefined;
  if (hasModule === hasCommand) throw Errors.invalidArgument(op, 'pass exactly one of module or command');
  const accepted = hasModule ? MODULE_OPTIONS : COMMAND_OPTIONS;
  for (const k of Object.keys(o)) {
    if (!accepted.includes(k)) throw Errors.invalidArgument(op, `unknown option '${k}'; ${hasModule ? 'a module' : 'a command'} process takes ${accepted.join(', ')}`);
  }
  if (o.daemon !== undefined && typeof o.daemon !== 'boolean') throw Errors.invalidArgument(op, `daemon must be true or false, got ${String(o.daemon)}`);
  if (hasCommand && typeof o.command !== 'string') throw Errors.invalidArgument(op, 'command must be a string');
  if (o.fn !== undefined && (typeof o.fn !== 'string' || o.fn === '')) throw Errors.invalidArgument(op, 'fn must be the name of an export');
  if (o.args !== undefined && !Array.isArray(o.args)) throw Errors.invalidArgument(op, 'args must be an array');
  if (hasCommand && o.args?.some((a) => typeof a !== 'string')) throw Errors.invalidArgument(op, 'a command\'s args must be strings');
  if (o.cwd !== undefined && typeof o.cwd !== 'string') throw Errors.invalidArgument(op, 'cwd must be a string');
  if (o.env !== undefined && (o.env === null || typeof o.env !== 'object')) throw Errors.invalidArgument(op, 'env must be an object of strings');
  const policy = o.policy as unknown;
  if (policy !== undefined) {
    if (policy === null || typeof policy !== 'object') throw Errors.invalidArgument(op, 'policy must be an object like { host: "node2" }');
    const extra = Object.keys(policy).filter((k) => k !== 'host');
    if (extra.length) throw Errors.invalidArgument(op, `policy has unknown fields (${extra.join(', ')}); it takes { host }`);
    const host = (policy as ProcessPolicy).host;
    if (host !== undefined && (typeof host !== 'string' || host === '')) throw Errors.invalidArgument(op, 'policy.host must be a hostname');
  }
}

function buildSpec(o: ProcessOptions, daemon: boolean, op: string): ProcessSpec {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = String(v);
  }
  const common = {
    env,
    cwd: o.cwd ?? process.cwd(),
    ...(o.name ? { name: o.name } : {}),
    ...(o.policy?.host ? { policy: { host: o.policy.host } } : {}),
    ...(daemon ? { daemon } : {}),
  };
  if (o.command !== undefined) {
    return { target: { kind: 'command', command: o.command, args: o.args ?? [] }, ...common };
  }
  const module = resolveModule(o.module, op);
  const { bytes, hasObjects } = encodeArgs(o.args ?? [], op);
  return { target: { kind: 'module', module, ...(o.fn ? { fn: o.fn } : {}), args: bytes, hasObjects }, ...common };
}

function decodeError(bytes: Uint8Array): Error {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  try {
    return decode(b, 0, b.length, true, 'Process.error') as Error;
  } catch (err) {
    return err as Error;
  }
}

// /proc/<pid>/stat: state (field 3) and start time (field 22), read after
// the command name, which may itself hold spaces and parentheses.
function alive(pid: number, startTime: string | undefined): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return f[0] !== 'Z' && f[0] !== 'X' && (startTime === undefined || f[19] === startTime);
  } catch {
    return false;
  }
}
