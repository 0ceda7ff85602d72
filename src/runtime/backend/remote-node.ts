// Another node as Global Services sees it: starts and signals go over the
// control plane (route frames through the frontend) to that node's
// backend, which answers a start with started/start-failed.
import type { NodeMessage } from '../../../schemas/node.js';
import { encodeValue } from '../core/codec/codec.js';
import { Errors } from '../errors/errors.js';
import type { NodeOps, ProcessStart } from './global-services.js';

/** A node that does not answer a start in this time is reported as such (the frontend's heartbeat ends the job soon after). */
const START_TIMEOUT_MS = 60_000;

interface PendingStart {
  resolve(r: { pid: number; startTime: string }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class RemoteNode implements NodeOps {
  readonly #pending = new Map<number, PendingStart>();

  constructor(
    readonly index: number,
    readonly host: string,
    private readonly send: (msg: NodeMessage) => void,
  ) {}

  start(s: ProcessStart): Promise<{ pid: number; startTime: string }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(s.puid);
        reject(Errors.remoteStart(this.host, `node ${this.host} did not answer within ${START_TIMEOUT_MS / 1000} s`, 'DRAGON_ERR_TIMEOUT'));
      }, START_TIMEOUT_MS);
      this.#pending.set(s.puid, { resolve, reject, timer });
      const spec = Buffer.from(encodeValue(s.spec, 'process spec').bytes).toString('base64');
      this.send({ kind: 'start', puid: s.puid, parent: s.parent, spec });
    });
  }

  signal(puid: number, signal: string): void {
    this.send({ kind: 'signal', puid, signal });
  }

  /** That node's answer to a start. */
  answered(msg: Extract<NodeMessage, { kind: 'started' | 'start-failed' }>): void {
    const p = this.#pending.get(msg.puid);
    if (!p) return;
    this.#pending.delete(msg.puid);
    clearTimeout(p.timer);
    if (msg.kind === 'started') p.resolve({ pid: msg.pid, startTime: msg.startTime });
    else p.reject(Errors.remoteStart(this.host, msg.message, msg.code));
  }

  /** Teardown: starts still waiting fail. */
  close(): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(Errors.remoteStart(this.host, 'the run-time is shutting down', 'DRAGON_ERR_SHUTTING_DOWN'));
    }
    this.#pending.clear();
  }
}
