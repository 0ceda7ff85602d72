// The backend of one node: Local Services and (node 0) Global Services in
// one Node process, started by the frontend in its own session (one per
// node, all in one workload-manager step). It checks in over TCP, creates
// the node's default pool and its GS request channel, serves its node, and
// tears everything down when the head exits (node 0), when the frontend
// asks (Ctrl-C, another node lost), or when the frontend is gone or silent
// longer than the heartbeat timeout (a node cut off from the job).
// Between nodes, GS's work travels as node messages (schemas/node.ts)
// routed by the frontend.
import { hostname } from 'node:os';
import type { BackendSettings, FrontendFrame } from '../../../schemas/control.js';
import type { GsReply } from '../../../schemas/gs.js';
import { ProcessSpec } from '../../../schemas/gs.js';
import type { NodeMessage } from '../../../schemas/node.js';
import { Log } from '../control/log.js';
import { killStrays } from '../control/strays.js';
import { removeSegments } from '../core/rundir/sweep.js';
import { Channel } from '../core/channel/channel.js';
import { decodeValue, encodeValue } from '../core/codec/codec.js';
import { MemoryPool } from '../core/memory/pool.js';
import { resolvePoolBytes } from '../launch/pool-size.js';
import { nodeInfo } from '../wlm/node-info.js';
import { ControlLink } from './control-link.js';
import type { EarlyHead } from './early-head.js';
import { runtimeVars, warmEnv } from './env.js';
import { GlobalServices, type Origin, type ProcessRecord } from './global-services.js';
import { LocalNode } from './local-node.js';
import { LocalServices } from './local-services.js';
import { killDescendants } from './orphans.js';
import type { ExitInfo, ManagedProcess } from './managed-process.js';
import { execShim } from '../package-files.js';
import { RemoteNode } from './remote-node.js';
import { RequestPort, hex } from './request-port.js';
import { RuntimeDir } from '../core/rundir/rundir.js';
import { TransportAgent, agentBinary } from './transport-agent.js';

/** GS's request channel: room for bursts of requests; env-sized ones fit inline. */
const GS_CAPACITY = 256;
/** Teardown's last sweep of what the job left in our process tree (SIGKILL, then waiting for it to go). */
const ORPHANS_MS = 2000;
const GS_BLOCK = 4096;
const GS_NODE = 0;

export class Backend {
  readonly #s: BackendSettings;
  readonly #index: number;
  readonly #token: string;
  readonly #host = hostname();
  /** The user's environment, as the frontend had it (NODE_OPTIONS given back). */
  readonly #baseEnv: Record<string, string | undefined>;
  #log: Log | undefined;
  #dir: RuntimeDir | undefined;
  #link: ControlLink | undefined;
  #pool: MemoryPool | undefined;
  /** The transport agent (jobs of more than one node, libdragon built with libfabric). */
  #agent: TransportAgent | undefined;
  #ls: LocalServices | undefined;
  #port: RequestPort | undefined;
  #local: LocalNode | undefined;
  /** Node 0 only. */
  #gs: GlobalServices | undefined;
  readonly #remotes = new Map<number, RemoteNode>();
  /** Hostname of each node by index, once every node is up. */
  #hosts: string[] = [];
  readonly #early: EarlyHead | undefined;
  #head: ProcessRecord | undefined;
  #teardown: Promise<void> | undefined;
  #lastHeard = Date.now();
  #watchdog: NodeJS.Timeout | undefined;
  #done!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#done = resolve));

  /** env: the user's environment (NODE_OPTIONS given back); head: started already by main.ts (node 0). */
  constructor(settings: BackendSettings, index: number, token: string, env: Record<string, string | undefined>, head: EarlyHead | undefined) {
    this.#s = settings;
    this.#index = index;
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
      process.stderr.write(`dragon backend on ${this.#host}: cannot reach the frontend at ${this.#s.frontend}: ${(err as Error).message}\n`);
      this.#early?.proc.signal('SIGKILL');
      this.#dir?.remove(this.#s.rtid, this.#host, this.#log?.written ?? false);
      return 1;
    }
    this.#link.send({ type: 'hello', token: this.#token, host: this.#host, nodeIndex: this.#index, pid: process.pid, info: infoOf() });
    this.#startWatchdog();
    try {
      await this.#startServices();
    } catch (err) {
      const e = err as { message?: string; code?: string };
      if (this.#teardown) {
        // Torn down while starting (the head already exited, the frontend
        // asked): teardown ends what was starting (the agent, SIGKILLed with
        // the other descendants), which is not a start-up failure to report.
        this.#log.info('backend', `start-up stopped by the teardown: ${e.message}`);
        await this.#teardown;
        return 0;
      }
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

  async #startServices(): Promise<void> {
    const log = this.#log!;
    const shim = execShim();
    const poolBytes = this.#s.poolBytes ?? resolvePoolBytes(this.#s.poolSize);
    this.#pool = MemoryPool.create({ bytes: poolBytes, poolId: 1 + this.#index, hostId: this.#index });
    // Cross-node channels: the agent (and its gateway channel) exists before
    // any process of the node starts, so every one finds DRAGON_GATEWAY.
    const bin = this.#s.nodeCount > 1 ? agentBinary() : undefined;
    if (this.#s.nodeCount > 1 && !bin) log.warn('transport', 'no transport agent (libdragon was built without libfabric): cross-node channels are off');
    if (bin) {
      const addr = this.#link!.localAddress;
      if (!addr) throw new Error('the control connection has no local address for the transport agent');
      const agent = await TransportAgent.start(bin, {
        rtid: this.#s.rtid,
        token: this.#token,
        node: this.#index,
        pool: this.#pool.serialize(),
        addr: addr.replace(/^::ffff:/, ''),
        provider: this.#baseEnv.DRAGON_TRANSPORT_PROVIDER || undefined,
        logLevel: this.#s.logLevel,
        log,
        env: this.#baseEnv,
        onExit: (why) => void this.teardown(why),
      });
      this.#agent = agent;
      if (this.#teardown) {
        // torn down while the agent started: nothing more to start
        await agent.stop();
        return;
      }
    }
    const channel = Channel.create({ pool: this.#pool, capacity: GS_CAPACITY, blockSize: GS_BLOCK });
    const rt = runtimeVars({
      rtid: this.#s.rtid,
      defaultPool: this.#pool.serialize(),
      gsChannel: channel.serialize(),
      gateway: this.#agent?.gateway,
      hostname: this.#host,
      nodeIndex: this.#index,
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
    const onGsNode = this.#index === GS_NODE;
    this.#port = new RequestPort(channel, log, (msg, bytes) => {
      if (onGsNode) this.#gs!.request(msg, this.#index);
      else this.#route(GS_NODE, { kind: 'gs-request', data: b64(bytes) });
    });
    this.#local = new LocalNode({ ls: this.#ls, port: this.#port, log, runtimeVars: rt, onExit: (puid, exit) => this.#localExit(puid, exit) });
    if (onGsNode) {
      this.#gs = new GlobalServices({
        log,
        node: (i) => (i === this.#index ? this.#local! : this.#remote(i)),
        reply: (origin, reply) => this.#reply(origin, reply),
        onExit: (r) => this.#onExit(r),
        // what a process held on other nodes' objects through the transport
        reclaim: (node, puid) => (node === this.#index ? this.#ls?.reclaim(puid) : this.#route(node, { kind: 'reclaim', puid })),
      });
      if (this.#s.nodeCount === 1) this.#gs.setNodes([this.#host], [infoOf().cpus]);
    }
    this.#port.serve();
    log.info('backend', `node ${this.#index} up: pool ${this.#pool.name} (${poolBytes} bytes), pid ${process.pid}`);
    const link = this.#link!;
    const transport = this.#agent ? { provider: this.#agent.provider, address: this.#agent.address } : null;
    link.send({ type: 'ready', pool: this.#pool.name, poolBytes, logFile: this.#dir!.logFile, transport });
    const early = this.#early;
    if (early && this.#gs) {
      this.#local.adopt(early.puid, early.proc);
      this.#head = this.#gs.adoptHead(early.puid, early.proc.pid);
      early.connect((puid, fd, data) => this.#output(puid, fd, data));
      early.release(rt);
      link.send({ type: 'head-started', puid: early.puid, pid: early.proc.pid });
    }
  }

  #onFrame(f: FrontendFrame): void {
    this.#lastHeard = Date.now();
    switch (f.type) {
      case 'ping':
        this.#link?.send({ type: 'pong' });
        return;
      case 'routed':
        return this.#onNodeMessage(f.from, f.msg);
      case 'nodes':
        this.#hosts = f.hosts;
        this.#gs?.setNodes(f.hosts, f.cpus);
        this.#agent?.peers(f.transports.flatMap((address, node) => (address && node !== this.#index ? [{ node, address }] : [])));
        return;
      case 'node-lost':
        this.#log?.warn('transport', `node ${f.node} is lost`);
        this.#agent?.lost(f.node);
        return;
      case 'stdin':
        this.#headStdin()?.write(Buffer.from(f.data, 'base64'));
        return;
      case 'stdin-end':
        this.#headStdin()?.end();
        return;
      case 'signal-head':
        if (this.#head && !this.#head.exit) this.#local?.signal(this.#head.puid, f.signal);
        return;
      case 'teardown':
        void this.teardown(`the frontend asked (${f.signal}${f.hasten ? ', hasten' : ''})`, f.signal as NodeJS.Signals, f.hasten);
        return;
    }
  }

  #onNodeMessage(from: number, msg: NodeMessage): void {
    switch (msg.kind) {
      case 'gs-request':
        return this.#gs?.request(decodeValue(Buffer.from(msg.data, 'base64'), 'GS request'), from);
      case 'gs-reply':
        return this.#port?.replyBytes(msg.reply, Buffer.from(msg.data, 'base64'));
      case 'start':
        return this.#startFor(from, msg.puid, msg.parent, msg.spec);
      case 'started':
      case 'start-failed':
        return this.#remotes.get(from)?.answered(msg);
      case 'exited':
        return this.#gs?.exited(msg.puid, { code: msg.code, signal: msg.signal, exitCode: msg.exitCode, error: msg.error === null ? null : Buffer.from(msg.error, 'base64') });
      case 'signal':
        return this.#local?.signal(msg.puid, msg.signal);
      case 'reclaim':
        return this.#ls?.reclaim(msg.puid);
    }
  }

  // GS (on node `from`) asks this node to start a process.
  #startFor(from: number, puid: number, parent: number, specB64: string): void {
    const fail = (message: string, code: string) => this.#route(from, { kind: 'start-failed', puid, message, code });
    if (this.#teardown || !this.#local) return fail('the run-time is shutting down: no new processes', 'DRAGON_ERR_SHUTTING_DOWN');
    const parsed = ProcessSpec.safeParse(decodeValue(Buffer.from(specB64, 'base64'), 'process spec'));
    if (!parsed.success) return fail(`invalid process spec: ${parsed.error.issues[0]?.message}`, 'DRAGON_ERR_BAD_REQUEST');
    this.#local.start({ puid, parent, spec: parsed.data }).then(
      (r) => this.#route(from, { kind: 'started', puid, pid: r.pid, startTime: r.startTime }),
      (err: Error & { code?: string }) => fail(err.message, err.code ?? 'DRAGON_ERR_SPAWN'),
    );
  }

  #localExit(puid: number, exit: ExitInfo): void {
    if (this.#gs) return this.#gs.exited(puid, exit);
    this.#route(GS_NODE, { kind: 'exited', puid, code: exit.code, signal: exit.signal, exitCode: exit.exitCode, error: exit.error ? b64(exit.error) : null });
  }

  #reply(origin: Origin, reply: GsReply): void {
    if (origin.node === this.#index) return this.#port?.reply(origin.reply, reply);
    this.#route(origin.node, { kind: 'gs-reply', reply: hex(origin.reply), data: b64(encodeValue(reply, 'GS reply').bytes) });
  }

  #remote(i: number): RemoteNode {
    let r = this.#remotes.get(i);
    if (!r) {
      r = new RemoteNode(i, this.#hosts[i] ?? `node ${i}`, (msg) => this.#route(i, msg));
      this.#remotes.set(i, r);
    }
    return r;
  }

  #route(to: number, msg: NodeMessage): void {
    const link = this.#link;
    if (link && !link.lost) link.send({ type: 'route', to, msg });
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

  // A node cut off from the job (its network down, the frontend stopped)
  // hears nothing: past the timeout it tears itself down.
  #startWatchdog(): void {
    const ms = this.#s.heartbeatTimeout;
    if (ms === 0) return;
    this.#watchdog = setInterval(() => {
      const silent = Date.now() - this.#lastHeard;
      if (silent > ms) void this.teardown(`nothing heard from the frontend for ${Math.round(silent / 1000)} s (heartbeat timeout ${ms / 1000} s)`);
    }, Math.min(1000, ms / 4));
    this.#watchdog.unref();
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
    clearInterval(this.#watchdog);
    this.#gs?.stopAccepting();
    for (const r of this.#remotes.values()) r.close();
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
    // the agent served the processes until they ended; it goes before the strays are killed (it is one)
    await this.#agent?.stop();
    // What left its process group and its environment too (`env -i setsid`): re-parented to us (orphans.ts).
    const orphans = await killDescendants(ORPHANS_MS);
    if (orphans) log?.warn('teardown', `${orphans} processes had left their process groups: killed`);
    const strays = await killStrays(this.#s.rtid, 0);
    if (strays) log?.warn('teardown', `${strays} processes of the run-time outside our process tree: killed`);
    this.#gs?.close();
    this.#port?.close();
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

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

function infoOf(): { cpus: number; affinity: number[]; memoryLimit: number; gpus: string[] } {
  const i = nodeInfo();
  return { cpus: i.cpus, affinity: i.affinity, memoryLimit: i.memoryLimit, gpus: i.gpus };
}
