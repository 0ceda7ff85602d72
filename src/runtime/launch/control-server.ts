// The frontend's end of the TCP control plane: a listener on an ephemeral
// port that accepts backends. A connection's first frame must be a hello
// carrying the job's token (compared in constant time), within a few
// seconds; anything else is refused and logged. After that every frame is
// validated and handed on.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { z } from 'zod';
import { BackendFrame, Hello, type FrontendFrame } from '../../../schemas/control.js';
import { readFrames, writeFrame } from '../control/framing.js';
import type { Log } from '../control/log.js';

const HELLO_DEADLINE_MS = 5000;

type Outgoing = FrontendFrame extends infer F ? (F extends unknown ? Omit<F, 'v'> : never) : never;

export interface BackendEvents {
  frame(frame: BackendFrame): void;
  lost(why: string): void;
}

/** An authenticated backend. Frames wait in a queue until attach(). */
export class BackendConnection {
  #events: BackendEvents | undefined;
  readonly #queue: unknown[] = [];
  #lost: string | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly log: Log,
    readonly hello: z.infer<typeof Hello>,
  ) {}

  get host(): string {
    return this.hello.host;
  }

  send(frame: Outgoing): boolean {
    return writeFrame(this.socket, { v: 1, ...frame });
  }

  onDrain(fn: () => void): void {
    this.socket.once('drain', fn);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get lost(): boolean {
    return this.#lost !== undefined;
  }

  close(): void {
    this.socket.destroy();
  }

  attach(events: BackendEvents): void {
    this.#events = events;
    for (const v of this.#queue.splice(0)) this.#handle(v);
    if (this.#lost !== undefined) events.lost(this.#lost);
  }

  /** @internal */
  deliver(value: unknown): void {
    if (this.#events) this.#handle(value);
    else this.#queue.push(value);
  }

  /** @internal */
  lose(why: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = why;
    this.#events?.lost(why);
  }

  #handle(value: unknown): void {
    const r = BackendFrame.safeParse(value);
    if (r.success) this.#events!.frame(r.data);
    else this.log.warn('control', `invalid frame from ${this.host}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
}

export class ControlServer {
  readonly #server: net.Server;
  readonly #token: Buffer;
  readonly #log: Log;
  #onBackend: ((conn: BackendConnection) => void) | undefined;

  private constructor(server: net.Server, token: string, log: Log) {
    this.#server = server;
    this.#token = Buffer.from(token);
    this.#log = log;
    server.on('connection', (s) => this.#greet(s));
  }

  static listen(token: string, log: Log, host = '127.0.0.1'): Promise<ControlServer> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // listen-address.ts chooses: the loopback alone, or the interface that reaches the nodes.
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve(new ControlServer(server, token, log));
      });
    });
  }

  get address(): string {
    const a = this.#server.address() as net.AddressInfo;
    return `${a.address}:${a.port}`;
  }

  /** Called for each backend that authenticated. */
  onBackend(fn: (conn: BackendConnection) => void): void {
    this.#onBackend = fn;
  }

  close(): void {
    this.#server.close();
  }

  #greet(socket: net.Socket): void {
    socket.setNoDelay(true);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    let conn: BackendConnection | undefined;
    const refuse = (why: string) => {
      this.#log.warn('control', `refused connection from ${peer}: ${why}`);
      socket.destroy();
    };
    const timer = setTimeout(() => refuse('no hello in time'), HELLO_DEADLINE_MS);
    socket.on('error', (err) => conn?.lose(err.message));
    socket.on('close', () => {
      clearTimeout(timer);
      conn?.lose('connection closed');
    });
    readFrames(
      socket,
      (value) => {
        if (conn) return conn.deliver(value);
        clearTimeout(timer);
        const r = Hello.safeParse(value);
        if (!r.success) return refuse('the first frame is not a valid hello');
        const got = Buffer.from(r.data.token);
        if (got.length !== this.#token.length || !timingSafeEqual(got, this.#token)) return refuse('wrong token');
        this.#log.info('control', `backend of ${r.data.host} (node ${r.data.nodeIndex}, pid ${r.data.pid}) checked in`);
        conn = new BackendConnection(socket, this.#log, r.data);
        this.#onBackend?.(conn);
      },
      (err) => (conn ? conn.lose(`corrupt stream: ${err.message}`) : refuse(`corrupt stream: ${err.message}`)),
    );
  }
}
