// The node's transport agent (native/libdragon/transport/, the executable
// native/libdragon/build/dragon-transport): carries channel operations
// between nodes over libfabric. The backend starts one when the job has
// more than one node, reads its ready line (provider, endpoint address,
// the gateway channel's descriptor), hands it the other agents' addresses
// once every node is up, tells it about lost nodes, and stops it at
// teardown. Lines of JSON both ways (contract: native/libdragon/docs/GATEWAY.md);
// its stderr goes into the backend's log.
import { spawn, type ChildProcess } from 'node:child_process';
import { trackNodeChild } from './orphans.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../control/log.js';
import { Errors } from '../errors/errors.js';
import { FIRST_PUID } from './puids.js';
import { LineSplitter } from './line-splitter.js';
import { packageRoot } from '../package-root.js';

const READY_MS = 10_000;
const EXIT_MS = 2_000;

export interface AgentOptions {
  rtid: string;
  /** The job's token: the agents' key derives from it. */
  token: string;
  node: number;
  /** Base64 of the default pool's descriptor (the gateway channel goes there). */
  pool: Uint8Array;
  /** The node's own IP (the interface of its control connection). */
  addr: string;
  provider: string | undefined;
  logLevel: string;
  log: Log;
  /** The agent ended on its own after it was ready. */
  onExit: (why: string) => void;
  env: Record<string, string | undefined>;
}

export interface Peer {
  node: number;
  address: string;
}

/** The agent's executable, or undefined when libdragon was built without libfabric. */
export function agentBinary(): string | undefined {
  const path = process.env.DRAGON_TRANSPORT_BIN ?? join(packageRoot(), 'native', 'libdragon', 'build', 'dragon-transport');
  return existsSync(path) ? path : undefined;
}

/** The 32-byte job key of the agents' wire headers, hex: sha256(token + 'transport'). */
export function transportKey(token: string): string {
  return createHash('sha256').update(`${token}transport`).digest('hex');
}

/** The puid of node `index`'s agent (an owner id of the pool: above every pid, below every process's puid). */
export function agentPuid(index: number): number {
  return FIRST_PUID - 1 - index;
}

export class TransportAgent {
  readonly provider: string;
  readonly address: string;
  readonly gateway: Uint8Array;
  readonly #proc: ChildProcess;
  readonly #log: Log;
  #stopping = false;
  readonly #exited: Promise<void>;

  private constructor(proc: ChildProcess, log: Log, ready: { provider: string; address: string; gateway: Uint8Array }, exited: Promise<void>) {
    this.#proc = proc;
    this.#log = log;
    this.provider = ready.provider;
    this.address = ready.address;
    this.gateway = ready.gateway;
    this.#exited = exited;
  }

  /** Starts the agent and waits for its ready line; rejects (start-up error) when it says it cannot run. */
  static start(bin: string, o: AgentOptions): Promise<TransportAgent> {
    const args = ['--pool', Buffer.from(o.pool).toString('base64'), '--node', String(o.node), '--addr', o.addr];
    if (o.provider) args.push('--provider', o.provider);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.env)) {
      if (v !== undefined && k !== 'DRAGON_TOKEN' && k !== 'DRAGON_BACKEND') env[k] = v;
    }
    Object.assign(env, {
      DRAGON_TRANSPORT_KEY: transportKey(o.token),
      DRAGON_RT_UID: o.rtid,
      DRAGON_PUID: String(agentPuid(o.node)),
      DRAGON_NODE_INDEX: String(o.node),
      DRAGON_LOG_LEVEL: o.logLevel,
    });
    const log = o.log;
    log.info('transport', `starting ${bin} ${args.filter((_, i) => i !== 1).join(' ')}`);
    // a .js agent (a stand-in of the tests, DRAGON_TRANSPORT_BIN) runs in this Node
    const proc = bin.endsWith('.js') ? spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }) : spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    trackNodeChild(proc);
    let lastErr = '';
    const errLines = new LineSplitter((b) => {
      for (const line of b.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        lastErr = line.trim();
        log.info('transport', line);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => errLines.push(d));
    proc.stderr!.on('end', () => errLines.flush());
    proc.stdin!.on('error', () => undefined); // the agent gone: its exit says why
    let agent: TransportAgent | undefined;
    let settle: ((err: Error | undefined, ready?: { provider: string; address: string; gateway: Uint8Array }) => void) | undefined;
    const exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        if (settle) settle(Errors.startup(`the transport agent ended before it was ready (${how})${lastErr ? `: ${lastErr}` : ''}`, 'See the services\' log for its messages'));
        else if (agent && !agent.#stopping) {
          log.error('transport', `the transport agent ended (${how})`);
          o.onExit(`the transport agent ended (${how})${lastErr ? `: ${lastErr}` : ''}`);
        }
        resolve();
      });
    });
    return new Promise<TransportAgent>((resolve, reject) => {
      const timer = setTimeout(() => {
        settle?.(Errors.startup(`the transport agent did not say it was ready within ${READY_MS / 1000} s`, 'See the services\' log for its messages'));
      }, READY_MS);
      settle = (err, ready) => {
        settle = undefined;
        clearTimeout(timer);
        if (err) {
          proc.kill('SIGKILL');
          return reject(err);
        }
        agent = new TransportAgent(proc, log, ready!, exited);
        resolve(agent);
      };
      proc.once('error', (err) => settle?.(Errors.startup(`cannot start the transport agent ${bin}: ${err.message}`, 'Rebuild dragonhpc (npm rebuild)')));
      const outLines = new LineSplitter((b) => {
        for (const line of b.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          if (!settle) {
            log.debug('transport', `stdout: ${line}`);
            continue;
          }
          let msg: { ready?: boolean; provider?: string; address?: string; gateway?: string; error?: string };
          try {
            msg = JSON.parse(line);
          } catch {
            log.warn('transport', `not a JSON line from the agent: ${line}`);
            continue;
          }
          if (msg.ready === true && typeof msg.provider === 'string' && typeof msg.address === 'string' && typeof msg.gateway === 'string') {
            log.info('transport', `ready: provider ${msg.provider}, address ${msg.address}`);
            settle(undefined, { provider: msg.provider, address: msg.address.toLowerCase(), gateway: new Uint8Array(Buffer.from(msg.gateway, 'base64')) });
          } else if (msg.ready === false) {
            settle(Errors.startup(`the transport agent cannot run: ${msg.error ?? 'no reason given'}`, 'See the services\' log; FI_PROVIDER / --provider choose another libfabric provider'));
          } else {
            log.warn('transport', `unexpected first line from the agent: ${line}`);
          }
        }
      });
      proc.stdout!.on('data', (d: Buffer) => outLines.push(d));
    });
  }

  #line(msg: unknown): void {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null || this.#proc.stdin!.destroyed) return;
    this.#proc.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  /** Every node is up: the other agents' addresses (this node's own is left out). */
  peers(peers: Peer[]): void {
    this.#log.info('transport', `peers: ${peers.map((p) => `node ${p.node}`).join(', ') || 'none'}`);
    this.#line({ peers });
  }

  /** Node `index` is gone: its channels' operations fail with PEER_LOST. */
  lost(index: number): void {
    this.#line({ lost: index });
  }

  /** Asks the agent to finish and exit; SIGKILL if it has not within a moment. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#exited;
    this.#stopping = true;
    this.#line({ exit: true });
    this.#proc.stdin!.end();
    const t = setTimeout(() => {
      this.#log.warn('transport', `the transport agent did not exit within ${EXIT_MS / 1000} s: SIGKILL`);
      this.#proc.kill('SIGKILL');
    }, EXIT_MS);
    await this.#exited;
    clearTimeout(t);
  }
}
