// The backend's end of the TCP control plane: it connects to the frontend,
// authenticates with the job's token in its first frame, and validates
// every frame it receives.
import net from 'node:net';
import { FrontendFrame, type BackendFrame } from '../../../schemas/control.js';
import { readFrames, writeFrame } from '../control/framing.js';

type Outgoing = BackendFrame extends infer F ? (F extends unknown ? Omit<F, 'v'> : never) : never;

export interface ControlLinkEvents {
  frame(frame: FrontendFrame): void;
  /** A frame that does not validate (logged; the link stays up). */
  invalid(why: string): void;
  /** The frontend is gone (closed, reset, or the stream is corrupt). */
  lost(why: string): void;
}

export class ControlLink {
  readonly #socket: net.Socket;
  #lost = false;

  private constructor(socket: net.Socket, events: ControlLinkEvents) {
    this.#socket = socket;
    socket.setNoDelay(true);
    readFrames(
      socket,
      (value) => {
        const r = FrontendFrame.safeParse(value);
        if (r.success) events.frame(r.data);
        else events.invalid(r.error.issues.map((i) => `${i.path.join('.') || 'frame'}: ${i.message}`).join('; '));
      },
      (err) => this.#lose(events, `corrupt stream: ${err.message}`),
    );
    socket.on('error', (err) => this.#lose(events, err.message));
    socket.on('close', () => this.#lose(events, 'connection closed'));
  }

  static connect(address: string, events: ControlLinkEvents): Promise<ControlLink> {
    const i = address.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ControlLink(socket, events));
      });
      socket.once('error', reject);
    });
  }

  /** This end's IP address: the interface the node reaches the frontend through (the transport agent binds to it). */
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** False when the socket's buffer is full: wait for onDrain before sending more output. */
  send(frame: Outgoing): boolean {
    return writeFrame(this.#socket, { v: 1, ...frame });
  }

  onDrain(fn: () => void): void {
    this.#socket.once('drain', fn);
  }

  /** Ends the connection after what was sent is flushed (bounded). */
  close(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve();
      const timer = setTimeout(() => {
        this.#socket.destroy();
        resolve();
      }, ms);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.end();
    });
  }

  #lose(events: ControlLinkEvents, why: string): void {
    if (this.#lost) return;
    this.#lost = true;
    events.lost(why);
  }
}
