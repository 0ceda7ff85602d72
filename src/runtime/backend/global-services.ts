// Global Services: the run-time's registry of processes (puid -> record)
// and the handler of user processes' requests (create, join, signal), read
// from GS's channel in the default pool. Single-threaded and never blocked
// by one request: replies go out asynchronously, joins wait as timers and
// callbacks, not as loops. On one node it calls Local Services directly;
// across nodes the same calls will travel over the control plane.
import { GsRequest, type CreateRequest, type JoinRequest, type SignalRequest } from '../../../schemas/gs.js';
import type { CreateReply, ErrorReply, GsReply, JoinReply, SignalReply } from '../../../schemas/gs.js';
import type { Log } from '../control/log.js';
import { Channel } from '../core/channel.js';
import type { LocalServices } from './local-services.js';
import type { ExitInfo, ManagedProcess } from './managed-process.js';
import { processEnv } from './env.js';
import { FIRST_PUID } from './puids.js';

/** How long GS tries to deliver one reply before it gives up on that requester. */
const REPLY_TIMEOUT_MS = 10_000;

interface Joiner {
  reply: Uint8Array;
  id: number;
  timer: NodeJS.Timeout | undefined;
}

export interface ProcessRecord {
  puid: number;
  parent: number | undefined;
  proc: ManagedProcess;
  exit: ExitInfo | undefined;
  joiners: Set<Joiner>;
}

export interface GlobalServicesOptions {
  ls: LocalServices;
  channel: Channel;
  log: Log;
  /** The run-time's variables for every process (env.ts). */
  runtimeVars: Record<string, string>;
  /** The head exited (or any other process, for the caller's bookkeeping). */
  onExit(record: ProcessRecord): void;
}

export class GlobalServices {
  readonly #o: GlobalServicesOptions;
  readonly #records = new Map<number, ProcessRecord>();
  /** Reply channels by descriptor, and the process that owns each. */
  readonly #replies = new Map<string, { channel: Channel; owner: number }>();
  #nextPuid = FIRST_PUID;
  #accepting = true;
  #loop: Promise<void> | undefined;

  constructor(options: GlobalServicesOptions) {
    this.#o = options;
  }

  /** Starts serving requests. */
  serve(): void {
    this.#loop ??= this.#serve();
  }

  get records(): ReadonlyMap<number, ProcessRecord> {
    return this.#records;
  }

  /** The head, started early by the backend (early-head.ts), joins the registry. */
  adoptHead(puid: number, proc: ManagedProcess): ProcessRecord {
    this.#nextPuid = Math.max(this.#nextPuid, puid + 1);
    this.#o.log.info('gs', `head process ${puid} (pid ${proc.pid})`);
    return this.#track(puid, undefined, proc);
  }

  // No new processes from now on; requests get an error reply.
  stopAccepting(): void {
    this.#accepting = false;
  }

  // Teardown: every reply channel and GS's channel go away (processes are
  // all dead by now), so the pool can be destroyed.
  close(): void {
    this.#accepting = false;
    for (const { channel } of this.#replies.values()) destroyQuietly(channel);
    this.#replies.clear();
    destroyQuietly(this.#o.channel); // ends the receive loop
    for (const r of this.#records.values()) for (const j of r.joiners) clearTimeout(j.timer);
  }

  async #serve(): Promise<void> {
    for (;;) {
      let msg: unknown;
      try {
        msg = await this.#o.channel.recv();
      } catch (err) {
        if (this.#accepting) this.#o.log.error('gs', `request channel failed: ${(err as Error).message}`);
        return;
      }
      try {
        this.#handle(msg);
      } catch (err) {
        this.#o.log.error('gs', `request failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }

  #handle(msg: unknown): void {
    const parsed = GsRequest.safeParse(msg);
    if (!parsed.success) {
      const m = msg as { id?: unknown; reply?: unknown };
      const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
      this.#o.log.warn('gs', `invalid request: ${what}`);
      if (typeof m?.id === 'number' && m.reply instanceof Uint8Array) {
        this.#fail(m.reply, m.id, `invalid request (${what})`, 'DRAGON_ERR_BAD_REQUEST');
      }
      return;
    }
    const req = parsed.data;
    this.#o.log.debug('gs', `request ${req.type} #${req.id} from ${req.from}`);
    this.#adoptReply(req.reply, req.from);
    switch (req.type) {
      case 'create':
        return this.#create(req);
      case 'join':
        return this.#join(req);
      case 'signal':
        return this.#signal(req);
    }
  }

  #create(req: CreateRequest): void {
    if (!this.#accepting) return this.#fail(req.reply, req.id, 'the run-time is shutting down: no new processes', 'DRAGON_ERR_SHUTTING_DOWN');
    const { spec } = req;
    const puid = this.#nextPuid++;
    const env = processEnv(spec.env, this.#o.runtimeVars, { puid, parentPuid: req.from, ...(spec.name ? { name: spec.name } : {}) });
    let proc: ManagedProcess;
    try {
      if (spec.target.kind === 'command') {
        proc = this.#o.ls.startCommand(puid, spec.target.command, spec.target.args, spec.cwd, env);
      } else {
        const t = spec.target;
        proc = this.#o.ls.startModule(
          { v: 1, puid, module: t.module, ...(t.fn ? { fn: t.fn } : {}), hasObjects: t.hasObjects, env, cwd: spec.cwd, ...(spec.name ? { name: spec.name } : {}) },
          t.args,
        );
      }
    } catch (err) {
      this.#o.log.warn('gs', `process for ${req.from} not started: ${(err as Error).message}`);
      return this.#fail(req.reply, req.id, `the process could not be started: ${(err as Error).message}`, 'DRAGON_ERR_SPAWN');
    }
    this.#track(puid, req.from, proc);
    this.#o.log.info('gs', `process ${puid} started by ${req.from} (pid ${proc.pid})`);
    this.#send<CreateReply>(req.reply, { v: 1, id: req.id, ok: true, puid, pid: proc.pid, startTime: proc.startTime });
  }

  #join(req: JoinRequest): void {
    const r = this.#records.get(req.puid);
    if (!r) return this.#fail(req.reply, req.id, `no process ${req.puid} in this run-time`, 'DRAGON_ERR_NOT_FOUND');
    if (r.exit) return this.#send(req.reply, joinReply(req.id, r.exit));
    const j: Joiner = { reply: req.reply, id: req.id, timer: undefined };
    if (req.timeout !== null) {
      j.timer = setTimeout(() => {
        r.joiners.delete(j);
        this.#send<JoinReply>(j.reply, { v: 1, id: j.id, ok: true, exited: false, exitCode: null, signal: null, error: null });
      }, req.timeout);
    }
    r.joiners.add(j);
  }

  #signal(req: SignalRequest): void {
    const r = this.#records.get(req.puid);
    if (!r) return this.#fail(req.reply, req.id, `no process ${req.puid} in this run-time`, 'DRAGON_ERR_NOT_FOUND');
    const delivered = !r.exit && r.proc.signal(req.signal);
    this.#o.log.info('gs', `${req.signal} to process ${req.puid} from ${req.from}: ${delivered ? 'sent' : 'already exited'}`);
    this.#send<SignalReply>(req.reply, { v: 1, id: req.id, ok: true, delivered });
  }

  #track(puid: number, parent: number | undefined, proc: ManagedProcess): ProcessRecord {
    const record: ProcessRecord = { puid, parent, proc, exit: undefined, joiners: new Set() };
    this.#records.set(puid, record);
    void proc.exited.then((exit) => this.#exited(record, exit));
    return record;
  }

  #exited(r: ProcessRecord, exit: ExitInfo): void {
    r.exit = exit;
    this.#o.log.info('gs', `process ${r.puid} exited: ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}`);
    for (const j of r.joiners) {
      clearTimeout(j.timer);
      this.#send(j.reply, joinReply(j.id, exit));
    }
    r.joiners.clear();
    // Its reply channel dies with it (GS owns it), then the pool forgets it.
    for (const [key, rc] of this.#replies) {
      if (rc.owner !== r.puid) continue;
      destroyQuietly(rc.channel);
      this.#replies.delete(key);
    }
    this.#o.ls.reclaim(r.puid);
    this.#o.onExit(r);
  }

  #adoptReply(desc: Uint8Array, owner: number): void {
    const key = Buffer.from(desc).toString('hex');
    if (this.#replies.has(key)) return;
    try {
      this.#replies.set(key, { channel: Channel.attach(new Uint8Array(desc)), owner });
    } catch (err) {
      this.#o.log.warn('gs', `cannot attach the reply channel of ${owner}: ${(err as Error).message}`);
    }
  }

  #fail(reply: Uint8Array, id: number, message: string, code: string): void {
    this.#send<ErrorReply>(reply, { v: 1, id, ok: false, error: { message, code } });
  }

  #send<R extends GsReply>(desc: Uint8Array, reply: R): void {
    const rc = this.#replies.get(Buffer.from(desc).toString('hex'));
    if (!rc) return;
    rc.channel.send(reply, { timeout: REPLY_TIMEOUT_MS }).catch((err: Error) => {
      this.#o.log.warn('gs', `reply #${reply.id} to ${rc.owner} not delivered: ${err.message}`);
    });
  }
}

function joinReply(id: number, exit: ExitInfo): JoinReply {
  return { v: 1, id, ok: true, exited: true, exitCode: exit.exitCode, signal: exit.signal, error: exit.error ? new Uint8Array(exit.error) : null };
}

function destroyQuietly(ch: Channel): void {
  try {
    ch.destroy();
  } catch {
    // destroyed already (or its pool is gone): nothing left to free
  }
}
