// Frames of the TCP control plane: a 4-byte big-endian length, then that
// many bytes of UTF-8 JSON. The reader only splits and parses; callers
// validate every frame with its zod schema (schemas/control.ts).
import type { Socket } from 'node:net';

/** Larger frames mean a confused or hostile peer: the connection is dropped. */
export const MAX_FRAME_BYTES = 64 << 20;

export class FrameError extends Error {}

// Collects chunks and hands out whole frames. Chunks are kept in a list and
// joined only when a frame is complete, so a large frame costs one copy.
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1; // body length of the frame being read, -1 while reading its header

  constructor(private readonly onFrame: (value: unknown) => void) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return;
        this.#need = this.#take(4).readUInt32BE(0);
        if (this.#need > MAX_FRAME_BYTES) throw new FrameError(`frame of ${this.#need} bytes exceeds ${MAX_FRAME_BYTES}`);
      }
      if (this.#buffered < this.#need) return;
      const body = this.#take(this.#need);
      this.#need = -1;
      let value: unknown;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new FrameError(`frame is not JSON (${(err as Error).message})`);
      }
      this.onFrame(value);
    }
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length ? [rest] : [];
    this.#buffered = rest.length;
    return out;
  }
}

export function encodeFrame(value: unknown): Buffer {
  const json = JSON.stringify(value);
  const len = Buffer.byteLength(json, 'utf8');
  const buf = Buffer.allocUnsafe(4 + len);
  buf.writeUInt32BE(len, 0);
  buf.write(json, 4, 'utf8');
  return buf;
}

/** Writes one frame; false when the socket's buffer is full (wait for 'drain'). */
export function writeFrame(socket: Socket, value: unknown): boolean {
  if (socket.destroyed || !socket.writable) return true;
  return socket.write(encodeFrame(value));
}

/** Feeds a socket's data to a FrameReader; a malformed stream destroys the socket. */
export function readFrames(socket: Socket, onFrame: (value: unknown) => void, onBadStream: (err: Error) => void): void {
  const reader = new FrameReader(onFrame);
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      onBadStream(err as Error);
      socket.destroy();
    }
  });
}
