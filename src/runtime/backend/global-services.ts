// Global Services: the run-time's registry of processes (puid -> record),
// their placement over the nodes, and the handler of user processes'
// requests (create, join, signal, system). It runs in the backend of node 0.
// Requests reach it from every node's request port (request-port.ts:
// directly on node 0, over the control plane from the others), and replies
// go back the same way (`reply`). Starting and signalling a process is
// asked of the node it runs on (`node(i)`: this node's Local Services, or a
// remote node through the control plane), and every node reports its
// processes' exits (`exited`). Single-threaded and never blocked by one
// request: joins wait as timers and callbacks, starts as promises.
// Daemonic processes (Python's daemon flag) are enforced here, so on every
// node alike: GS terminates them when the process that started them exits,
// and refuses them children.
import { GsRequest, type CreateRequest, type JoinRequest, type ProcessSpec, type SignalRequest, type SystemRequest } from '../../../schemas/gs.js';
import type { CreateReply, ErrorReply, GsReply, JoinReply, SignalReply, SystemReply } from '../../../schemas/gs.js';
import type { Log } from '../control/log.js';
import { FIRST_PUID } from './puids.js';

/** One process start, as a node is asked for it. */
export interface ProcessStart {
  puid: number;
  parent: number;
  spec: ProcessSpec;
}

/** What GS needs of a node (node-ops.ts). */
export interface NodeOps {
  start(s: ProcessStart): Promise<{ pid: number; startTime: string }>;
  signal(puid: number, signal: string): void;
}

export interface ExitRecord {
  code: number | null;
  signal: string | null;
  /** Shell view: signal n -> 128 + n. */
  exitCode: number;
  /** What a module target threw, codec-encoded. */
  error: Uint8Array | null;
}

/** Where a request came from: the requester's node and its reply channel (descriptor). */
export interface Origin {
  node: number;
  reply: Uint8Array;
}

interface Joiner {
  origin: Origin;
  id: number;
  timer: NodeJS.Timeout | undefined;
}

export interface ProcessRecord {
  puid: number;
  parent: number | undefined;
  node: number;
  pid: number;
  daemon: boolean;
  exit: ExitRecord | undefined;
  joiners: Set<Joiner>;
}

export interface GlobalServicesOptions {
  log: Log;
  /** The node with this index. */
  node(index: number): NodeOps;
  /** Delivers a reply to the requester's reply channel (on its node). */
  reply<R extends GsReply>(origin: Origin, reply: R): void;
  /** A process exited (the head, for the caller's bookkeeping). */
  onExit(record: ProcessRecord): void;
  /**
   * Node `node` (not the process's own, which did it already) gives back what
   * process `puid` held there: objects of other nodes it used through the transport.
   */
  reclaim?(node: number, puid: number): void;
}

export class GlobalServices {
  readonly #o: GlobalServicesOptions;
  readonly #records = new Map<number, ProcessRecord>();
  #nextPuid = FIRST_PUID;
  #accepting = true;
  /** Hostname of each node, by index; creates wait until every node is up. */
  #hosts: string[] | undefined;
  /** CPUs of each node, by index (from each backend's hello). */
  #cpus: number[] = [];
  #hostsKnown!: (hosts: string[]) => void;
  readonly #hostsReady = new Promise<string[]>((resolve) => (this.#hostsKnown = resolve));
  #nextNode = 0;
  /** Exits reported before the start's reply was processed (both arrive in one read). */
  readonly #early = new Map<number, ExitRecord>();
  /** Puids of starts that failed: their process may still report its exit (ignored). */
  readonly #failed = new Set<number>();
  /** Daemonic processes still running, by the puid of the process that started them. */
  readonly #daemons = new Map<number, Set<number>>();

  constructor(options: GlobalServicesOptions) {
    this.#o = options;
  }

  get records(): ReadonlyMap<number, ProcessRecord> {
    return this.#records;
  }

  /** Every node is up: its hostnames (and CPU counts) by index. */
  setNodes(hosts: string[], cpus?: number[]): void {
    if (this.#hosts) return;
    this.#hosts = hosts;
    this.#cpus = cpus ?? [];
    this.#o.log.info('gs', `nodes: ${hosts.map((h, i) => `${i}=${h}`).join(' ')}`);
    this.#hostsKnown(hosts);
  }

  /** The head, started early by node 0's backend (early-head.ts), joins the registry. */
  adoptHead(puid: number, pid: number): ProcessRecord {
    this.#nextPuid = Math.max(this.#nextPuid, puid + 1);
    this.#o.log.info('gs', `head process ${puid} (pid ${pid})`);
    return this.#track(puid, undefined, 0, pid, false);
  }

  /** No new processes from now on; requests get an error reply. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  close(): void {
    this.#accepting = false;
    for (const r of this.#records.values()) for (const j of r.joiners) clearTimeout(j.timer);
  }

  /** A request (decoded, not yet validated) from a process of node `node`. */
  request(msg: unknown, node: number): void {
    const parsed = GsRequest.safeParse(msg);
    if (!parsed.success) {
      const m = msg as { id?: unknown; reply?: unknown };
      const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
      this.#o.log.warn('gs', `invalid request from node ${node}: ${what}`);
      if (typeof m?.id === 'number' && m.reply instanceof Uint8Array) {
        this.#fail({ node, reply: m.reply }, m.id, `invalid request (${what})`, 'DRAGON_ERR_BAD_REQUEST');
      }
      return;
    }
    const req = parsed.data;
    const origin = { node, reply: req.reply };
    this.#o.log.debug('gs', `request ${req.type} #${req.id} from ${req.from} (node ${node})`);
    switch (req.type) {
      case 'create':
        return void this.#create(req, origin);
      case 'join':
        return this.#join(req, origin);
      case 'signal':
        return this.#signal(req, origin);
      case 'system':
        return void this.#system(req, origin);
    }
  }

  /** A process of node `node` exited (its node has reclaimed what it held). */
  exited(puid: number, exit: ExitRecord): void {
    const r = this.#records.get(puid);
    if (this.#failed.delete(puid)) return;
    if (!r) return void this.#early.set(puid, exit);
    if (r.exit) return;
    r.exit = exit;
    this.#o.log.info('gs', `process ${puid} exited: ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}`);
    const nodes = this.#hosts?.length ?? 1;
    if (this.#o.reclaim) for (let n = 0; n < nodes; n++) if (n !== r.node) this.#o.reclaim(n, puid);
    for (const j of r.joiners) {
      clearTimeout(j.timer);
      this.#o.reply(j.origin, joinReply(j.id, exit));
    }
    r.joiners.clear();
    if (r.daemon && r.parent !== undefined) {
      const siblings = this.#daemons.get(r.parent);
      siblings?.delete(puid);
      if (siblings?.size === 0) this.#daemons.delete(r.parent);
    }
    this.#endDaemons(puid);
    this.#o.onExit(r);
  }

  async #create(req: CreateRequest, origin: Origin): Promise<void> {
    if (!this.#accepting) return this.#fail(origin, req.id, 'the run-time is shutting down: no new processes', 'DRAGON_ERR_SHUTTING_DOWN');
    if (this.#records.get(req.from)?.daemon) {
      return this.#fail(origin, req.id, `process ${req.from} is daemonic, and a daemonic process may not start processes (as in Python). Start it with daemon: false`, 'DRAGON_ERR_PROCESS_STATE');
    }
    const hosts = this.#hosts ?? (await this.#hostsReady);
    const node = this.#place(req.spec, hosts);
    if (typeof node === 'string') return this.#fail(origin, req.id, node, 'DRAGON_ERR_BAD_POLICY');
    const puid = this.#nextPuid++;
    let started: { pid: number; startTime: string };
    try {
      started = await this.#o.node(node).start({ puid, parent: req.from, spec: req.spec });
    } catch (err) {
      const e = err as { message?: string; code?: string };
      if (!this.#early.delete(puid)) this.#failed.add(puid);
      this.#o.log.warn('gs', `process for ${req.from} not started on ${hosts[node]}: ${e.message}`);
      return this.#fail(origin, req.id, `the process could not be started on ${hosts[node]}: ${e.message}`, e.code ?? 'DRAGON_ERR_SPAWN');
    }
    const daemon = req.spec.daemon === true;
    this.#track(puid, req.from, node, started.pid, daemon);
    this.#o.log.info('gs', `process ${puid}${daemon ? ' (daemonic)' : ''} started by ${req.from} on ${hosts[node]} (pid ${started.pid})`);
    if (daemon) {
      let set = this.#daemons.get(req.from);
      if (!set) this.#daemons.set(req.from, (set = new Set()));
      set.add(puid);
      // its parent exited while it was being started
      if (this.#records.get(req.from)?.exit) this.#endDaemons(req.from);
    }
    this.#o.reply<CreateReply>(origin, { v: 1, id: req.id, ok: true, puid, pid: started.pid, startTime: started.startTime, host: hosts[node]!, node });
  }

  // Round-robin over the nodes unless the spec names a host.
  #place(spec: ProcessSpec, hosts: string[]): number | string {
    const host = spec.policy?.host;
    if (host === undefined) return this.#nextNode++ % hosts.length;
    // node2 and node2.cluster.example name the same node (hostname may print either).
    const short = (h: string) => h.split('.')[0]!.toLowerCase();
    let i = hosts.indexOf(host);
    if (i < 0) i = hosts.findIndex((h) => short(h) === short(host));
    return i >= 0 ? i : `no node named ${host} in this run-time (its nodes: ${hosts.join(', ')})`;
  }

  #join(req: JoinRequest, origin: Origin): void {
    const r = this.#records.get(req.puid);
    if (!r) return this.#fail(origin, req.id, `no process ${req.puid} in this run-time`, 'DRAGON_ERR_NOT_FOUND');
    if (r.exit) return this.#o.reply(origin, joinReply(req.id, r.exit));
    const j: Joiner = { origin, id: req.id, timer: undefined };
    if (req.timeout !== null) {
      j.timer = setTimeout(() => {
        r.joiners.delete(j);
        this.#o.reply<JoinReply>(j.origin, { v: 1, id: j.id, ok: true, exited: false, exitCode: null, signal: null, error: null });
      }, req.timeout);
    }
    r.joiners.add(j);
  }

  #signal(req: SignalRequest, origin: Origin): void {
    const r = this.#records.get(req.puid);
    if (!r) return this.#fail(origin, req.id, `no process ${req.puid} in this run-time`, 'DRAGON_ERR_NOT_FOUND');
    const delivered = !r.exit;
    if (delivered) this.#o.node(r.node).signal(r.puid, req.signal);
    this.#o.log.info('gs', `${req.signal} to process ${req.puid} from ${req.from}: ${delivered ? 'sent' : 'already exited'}`);
    this.#o.reply<SignalReply>(origin, { v: 1, id: req.id, ok: true, delivered });
  }

  // The job's nodes once every node is up (cpus: 1 when a node did not say).
  async #system(req: SystemRequest, origin: Origin): Promise<void> {
    const hosts = this.#hosts ?? (await this.#hostsReady);
    const nodes = hosts.map((host, index) => ({ index, host, cpus: this.#cpus[index] ?? 1 }));
    this.#o.reply<SystemReply>(origin, { v: 1, id: req.id, ok: true, nodes });
  }

  // Process `parent` exited: its daemonic children go (Python's terminate(): SIGTERM).
  #endDaemons(parent: number): void {
    const set = this.#daemons.get(parent);
    if (!set) return;
    this.#daemons.delete(parent);
    for (const puid of set) {
      const r = this.#records.get(puid);
      if (!r || r.exit) continue;
      this.#o.log.info('gs', `SIGTERM to daemonic process ${puid}: process ${parent}, which started it, exited`);
      this.#o.node(r.node).signal(puid, 'SIGTERM');
    }
  }

  #track(puid: number, parent: number | undefined, node: number, pid: number, daemon: boolean): ProcessRecord {
    const record: ProcessRecord = { puid, parent, node, pid, daemon, exit: undefined, joiners: new Set() };
    this.#records.set(puid, record);
    const exit = this.#early.get(puid);
    if (exit) {
      this.#early.delete(puid);
      queueMicrotask(() => this.exited(puid, exit));
    }
    return record;
  }

  #fail(origin: Origin, id: number, message: string, code: string): void {
    this.#o.reply<ErrorReply>(origin, { v: 1, id, ok: false, error: { message, code } });
  }
}

function joinReply(id: number, exit: ExitRecord): JoinReply {
  return { v: 1, id, ok: true, exited: true, exitCode: exit.exitCode, signal: exit.signal, error: exit.error ? new Uint8Array(exit.error) : null };
}
