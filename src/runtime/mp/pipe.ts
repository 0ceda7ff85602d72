// Pipe(): two Connections, as Python's multiprocessing.Pipe, on channels.
//   duplex (default): two channels, one per direction; each end sends and
//     receives.
//   Pipe(false): one channel; the first end only receives, the second only
//     sends.
// EOF and broken pipe as with an OS pipe: the handles of each end (in any
// process) are counted by two Semaphores of that end that only count up,
// opened and closed (a semaphore unit taken by a process would be given
// back when it exits, the run-time's reclaim); a handle passed to another
// process counts from the moment it is serialized (the fd duplicated at
// fork), so the sender may close its own copy at once. A handle carries its
// own end's counters and its peer's (in the descriptor).
//   EOF: when the last handle of a sending end closes (or its process
//     exits), an EOF mark goes down its channel behind the data: the other
//     end's recv() throws EOFError once it reaches it.
//   Broken pipe: every send first reads the peer's counters (closed, then
//     opened: a new handle is counted before the one it came from can
//     close); none open: BrokenPipeError. That lasts (a handle comes only
//     from an open one), so it is remembered.
// Lifetime: the creating process owns the channels and counters: destroy()
// of either of its ends frees them, and so does disposing of both of its
// ends (`using`). close() only closes the handle (the pipe lives on for the
// handles of other processes, until the run-time ends).
import { Channel } from '../core/channel/channel.js';
import { encodeValue, registerTransferable } from '../core/codec/codec.js';
import { DragonError, Errors } from '../errors/errors.js';
import type { MemoryPool } from '../core/memory/pool.js';
import { Semaphore } from '../core/sync/semaphore.js';
import type { WaitOptions } from '../core/timeout.js';
import { defaultPool } from '../core/memory/default-pool.js';
import { packDescriptor, unpackDescriptor } from '../core/codec/composite-descriptor.js';
import { QUEUE_CAPACITY } from './queue.js';

const KIND = 43;
const READABLE = 1;
const WRITABLE = 2;
const ZERO: WaitOptions = { timeout: 0 };
const TIMEOUT = 'DRAGON_ERR_TIMEOUT';
/** How long a process that exits waits for room for its EOF mark. */
const EXIT_WAIT: WaitOptions = { timeout: 2000 };

export interface PipeOptions {
  /** Where the channels live; default: the node's default pool. */
  pool?: MemoryPool;
}

// The EOF mark: travels as a Dragon object of kind 43 with an empty
// descriptor (a Connection's is never empty), so it decodes to this one
// object and cannot be confused with anything a user sends.
class EofMark {
  serialize(): Uint8Array {
    return new Uint8Array(0);
  }
}
const EOF = new EofMark();

// What recvBytes() looks at in a raw message: the codec's tags of a Buffer
// and a Uint8Array, and the EOF mark's bytes (taken from the codec itself).
let tags: { buffer: number; u8: number; eof: Uint8Array } | undefined;
function rawTags(): { buffer: number; u8: number; eof: Uint8Array } {
  return (tags ??= {
    buffer: encodeValue(Buffer.alloc(0)).bytes[0]!,
    u8: encodeValue(new Uint8Array(0)).bytes[0]!,
    eof: encodeValue(EOF).bytes,
  });
}

/** The handles of one end, opened and closed (both only count up). */
interface Ends {
  opened: Semaphore;
  closed: Semaphore;
}

// The parts the creating process shares between its two ends.
interface Owned {
  /** Created ends not yet disposed of. */
  open: number;
  freed: boolean;
  channels: Channel[];
  sems: Semaphore[];
}

interface Parts {
  input: Channel | undefined;
  output: Channel | undefined;
  /** Handles of this end: the last to close sends EOF (when it sends). */
  ends: Ends;
  /** Handles of the receiving end, when this end sends: none open = broken pipe. */
  peer: Ends | undefined;
  owned: Owned | undefined;
}
let attaching: Parts | undefined;

// Handles open in this process: closed (EOF sent) when the process exits, as the OS closes fds.
const open = new Set<Connection>();
let exitHook = false;


export class Connection implements Disposable {
  readonly #in: Channel | undefined;
  readonly #out: Channel | undefined;
  readonly #ends: Ends;
  readonly #peer: Ends | undefined;
  readonly #owned: Owned | undefined;
  #broken = false;
  #closed = false;
  #disposed = false;
  #eof = false;
  /** A message recvBytesInto() could not fit: first in line for the next receive here. */
  #held: Buffer | undefined;
  /** The last async send: EOF goes after it. */
  #lastSend: Promise<void> | undefined;

  /** @internal Use Pipe(). */
  constructor() {
    const p = attaching;
    attaching = undefined;
    if (!p) throw Errors.invalidArgument('Connection', 'Connections come from Pipe() (or arrive attached in another process)');
    this.#in = p.input;
    this.#out = p.output;
    this.#ends = p.ends;
    this.#peer = p.peer;
    this.#owned = p.owned;
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', closeAllAtExit);
    }
  }

  static attach(desc: Uint8Array): Connection {
    const op = 'Connection.attach';
    const { ints, parts } = unpackDescriptor(desc, KIND, 'Connection', op);
    if (ints.length !== 1 || parts.length !== 6) throw Errors.badCompositeDescriptor(op, 'parts missing');
    const flags = ints[0]!;
    const got: { detach(): void }[] = [];
    const counters = (opened: Uint8Array, closed: Uint8Array): Ends => {
      const o = Semaphore.attach(opened);
      got.push(o);
      const c = Semaphore.attach(closed);
      got.push(c);
      return { opened: o, closed: c };
    };
    try {
      const input = flags & READABLE ? Channel.attach(parts[0]!) : undefined;
      if (input) got.push(input);
      const output = flags & WRITABLE ? Channel.attach(parts[1]!) : undefined;
      if (output) got.push(output);
      // this handle was counted by serialize(): adopt that count
      const ends = counters(parts[2]!, parts[3]!);
      const peer = flags & WRITABLE ? counters(parts[4]!, parts[5]!) : undefined;
      return build({ input, output, ends, peer, owned: undefined });
    } catch (err) {
      for (const g of got) g.detach();
      throw err;
    }
  }

  /**
   * The descriptor another process passes to Connection.attach(). It counts
   * as a handle of this end from now on (an OS pipe's fd duplicated at fork):
   * the process that attaches it takes that count over.
   */
  serialize(): Uint8Array {
    this.#open('serialize');
    const own = this.#ends;
    const peer = this.#peer;
    const desc = packDescriptor(KIND, [(this.#in ? READABLE : 0) | (this.#out ? WRITABLE : 0)], [
      this.#in?.serialize(),
      this.#out?.serialize(),
      own.opened.serialize(),
      own.closed.serialize(),
      peer?.opened.serialize(),
      peer?.closed.serialize(),
    ]);
    own.opened.release();
    return desc;
  }

  get readable(): boolean {
    return this.#in !== undefined;
  }

  get writable(): boolean {
    return this.#out !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- send -----------------------------------------------------------------

  /** Sends a value (structured clone; Dragon objects arrive attached). Waits while the other end's channel is full. */
  send(value: unknown, options?: WaitOptions): Promise<void> {
    let out: Channel;
    try {
      out = this.#writer('Connection.send');
    } catch (err) {
      return Promise.reject(err);
    }
    return (this.#lastSend = out.send(value, options));
  }

  sendSync(value: unknown, options?: { timeout?: number }): void {
    this.#writer('Connection.sendSync').sendSync(value, options);
  }

  /** Sends bytes (`size` of them from `offset`); the other end receives them with recvBytes() (or recv(): a Buffer). */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset?: number, size?: number, options?: WaitOptions): Promise<void> {
    let out: Channel;
    let view: Buffer;
    try {
      out = this.#writer('Connection.sendBytes');
      view = bytesView('Connection.sendBytes', buf, offset, size);
    } catch (err) {
      return Promise.reject(err);
    }
    return (this.#lastSend = out.send(view, options));
  }

  sendBytesSync(buf: ArrayBufferView | ArrayBuffer, offset?: number, size?: number, options?: { timeout?: number }): void {
    const out = this.#writer('Connection.sendBytesSync');
    out.sendSync(bytesView('Connection.sendBytesSync', buf, offset, size), options);
  }

  // ---- receive ---------------------------------------------------------------

  /** The next value; rejects with EOFError once the other end closed and everything was received. */
  recv<T = unknown>(options?: WaitOptions): Promise<T> {
    const op = 'Connection.recv';
    let input: Channel;
    try {
      const held = this.#takeHeld(op);
      if (held) return Promise.resolve(held as T);
      input = this.#reader(op);
    } catch (err) {
      return Promise.reject(err);
    }
    return input.recv<T>(options).then((v) => this.#value(v, op));
  }

  recvSync<T = unknown>(options?: { timeout?: number }): T {
    const op = 'Connection.recvSync';
    const held = this.#takeHeld(op);
    if (held) return held as T;
    return this.#value(this.#reader(op).recvSync<T>(options), op);
  }

  /** The next message sent with sendBytes(), as a Buffer. */
  recvBytes(options?: WaitOptions): Promise<Buffer> {
    const op = 'Connection.recvBytes';
    let input: Channel;
    try {
      const held = this.#takeHeld(op);
      if (held) return Promise.resolve(held);
      input = this.#reader(op);
    } catch (err) {
      return Promise.reject(err);
    }
    return input.recvBytes(options).then((raw) => this.#bytes(raw, op));
  }

  recvBytesSync(options?: { timeout?: number }): Buffer {
    const op = 'Connection.recvBytesSync';
    return this.#takeHeld(op) ?? this.#bytes(this.#reader(op).recvBytesSync(options), op);
  }

  /**
   * Python's recv_bytes_into(buffer, offset): receives a sendBytes() message
   * into `buf` (any typed array, DataView or ArrayBuffer) from byte `offset`;
   * resolves to its length in bytes. A message that does not fit stays
   * first in line and the call throws BufferTooShort (its `bytes` is the
   * message, its `size` the length).
   */
  async recvBytesInto(buf: ArrayBufferView | ArrayBuffer, offset = 0, options?: WaitOptions): Promise<number> {
    const op = 'Connection.recvBytesInto';
    const room = bytesView(op, buf, offset);
    return this.#into(op, await this.recvBytes(options), room, offset);
  }

  /** recvBytesInto, blocking the thread. */
  recvBytesIntoSync(buf: ArrayBufferView | ArrayBuffer, offset = 0, options?: { timeout?: number }): number {
    const op = 'Connection.recvBytesIntoSync';
    const room = bytesView(op, buf, offset);
    return this.#into(op, this.recvBytesSync(options), room, offset);
  }

  #into(op: string, message: Buffer, room: Buffer, offset: number): number {
    if (message.length > room.length) {
      this.#held = message;
      throw Errors.bufferTooShort(op, Buffer.from(message), room.length, offset);
    }
    room.set(message);
    return message.length;
  }

  // The held message, taken (after the checks every receive makes).
  #takeHeld(op: string): Buffer | undefined {
    this.#open(op);
    if (!this.#in) throw Errors.wrongEnd(op, 'send-only');
    const held = this.#held;
    this.#held = undefined;
    return held;
  }

  /**
   * Whether there is something to receive (a message, or EOF). `timeout`
   * in ms: absent or 0 answers at once (Python's default), null or Infinity
   * waits until there is.
   */
  async poll(timeout?: number | null): Promise<boolean> {
    const op = 'Connection.poll';
    if (this.#eof && !this.#closed) return true;
    const input = this.#reader(op);
    if (this.#held) return true;
    if (timeout === undefined || timeout === 0) return input.pollSync(Channel.POLL_IN, ZERO) !== 0;
    try {
      await input.poll(Channel.POLL_IN, { timeout: timeout ?? undefined });
      return true;
    } catch (err) {
      if ((err as DragonError).code === TIMEOUT) return false;
      throw err;
    }
  }

  pollSync(timeout?: number | null): boolean {
    if (this.#eof && !this.#closed) return true;
    const input = this.#reader('Connection.pollSync');
    if (this.#held) return true;
    return input.pollSync(Channel.POLL_IN, { timeout: timeout === null ? undefined : timeout ?? 0 }) !== 0;
  }

  #value<T>(v: T, op: string): T {
    if ((v as unknown) === EOF) {
      this.#eof = true;
      throw Errors.eof(op);
    }
    return v;
  }

  #bytes(raw: Buffer, op: string): Buffer {
    const t = rawTags();
    if (raw.length > 0 && (raw[0] === t.buffer || raw[0] === t.u8)) return raw.subarray(1);
    if (raw.length === t.eof.length && raw.equals(t.eof)) {
      this.#eof = true;
      throw Errors.eof(op);
    }
    throw Errors.notBytes(op);
  }

  // ---- close -------------------------------------------------------------------

  /**
   * Closes this handle. When it is the last handle of its end (in any
   * process), the other end gets EOF after the data already sent. Closing
   * twice is harmless.
   */
  close(): void {
    this.#close(false);
  }

  // atExit: the process is exiting, nothing async will run any more: the EOF
  // mark goes synchronously (waiting a little for room) or not at all.
  #close(atExit: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
    if (this.#owned?.freed) return;
    const after = this.#sendEofIfLast(atExit);
    // the creator's handles stay until destroy() or dispose (the pipe's parts are shared by both ends)
    const release = () => {
      if (!this.#owned) {
        for (const part of [this.#in, this.#out, this.#ends.opened, this.#ends.closed, this.#peer?.opened, this.#peer?.closed]) {
          try {
            part?.detach();
          } catch {
            // already closed
          }
        }
      }
    };
    if (after) void after.then(release, release);
    else release();
  }

  /** Frees the pipe's channels for every process, now (data not yet received is lost). */
  destroy(): void {
    this.#closed = true;
    open.delete(this);
    if (this.#owned) {
      if (!this.#owned.freed) freeOwned(this.#owned);
      return;
    }
    for (const part of [this.#in, this.#out, this.#ends.opened, this.#ends.closed, this.#peer?.opened, this.#peer?.closed]) {
      try {
        part?.destroy();
      } catch {
        // another node's, or already gone
      }
    }
  }

  /** @internal close() from the process's exit hook. */
  closeAtExit(): void {
    this.#close(true);
  }

  /** close(); the creator frees the pipe once both of its ends were disposed of. */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.close();
    const owned = this.#owned;
    if (owned && --owned.open === 0 && !owned.freed) freeOwned(owned);
  }

  // This handle leaves its end's count; the last one of a sending end
  // queues the EOF mark behind everything sent. Returns a promise when that
  // has to wait (the channel is full, or a send of this handle is still pending).
  #sendEofIfLast(atExit: boolean): Promise<void> | undefined {
    const out = this.#out;
    const ends = this.#ends;
    try {
      ends.closed.release();
      if (!out) return undefined;
      // the last handle sees closed == opened (two closing at once may both send EOF: harmless)
      if (ends.closed.getValue() < ends.opened.getValue()) return undefined;
      if (this.#lastSend === undefined || atExit) {
        try {
          out.sendSync(EOF, atExit ? EXIT_WAIT : ZERO);
          return undefined;
        } catch (err) {
          if ((err as DragonError).code !== TIMEOUT) throw err;
        }
      }
      const last = this.#lastSend ?? Promise.resolve();
      return last.then(
        () => out.send(EOF),
        () => out.send(EOF),
      ).catch(() => {});
    } catch {
      // the pipe is gone (destroyed, its node lost): nobody to tell
      return undefined;
    }
  }

  #writer(op: string): Channel {
    this.#open(op);
    if (!this.#out) throw Errors.wrongEnd(op, 'receive-only');
    if (this.#broken || this.#peerGone()) {
      this.#broken = true;
      throw Errors.brokenPipe(op);
    }
    return this.#out;
  }

  // No handle of the receiving end open (in any process). Closed is read
  // first: opened only grows, and never past closed once it is all closed.
  #peerGone(): boolean {
    const peer = this.#peer;
    if (!peer) return false;
    const closed = peer.closed.getValue();
    return closed >= peer.opened.getValue();
  }

  #reader(op: string): Channel {
    this.#open(op);
    if (!this.#in) throw Errors.wrongEnd(op, 'send-only');
    if (this.#eof) throw Errors.eof(op);
    return this.#in;
  }

  #open(op: string): void {
    if (this.#closed) throw Errors.closed('Connection', op, 'closed');
  }
}

function build(parts: Parts): Connection {
  attaching = parts;
  try {
    return new Connection();
  } finally {
    attaching = undefined;
  }
}

function freeOwned(owned: Owned): void {
  owned.freed = true;
  for (const part of [...owned.channels, ...owned.sems]) {
    try {
      part.destroy();
    } catch {
      // already gone
    }
  }
}

function closeAllAtExit(): void {
  for (const c of [...open]) {
    try {
      c.closeAtExit();
    } catch {
      // exiting: best effort, as the OS closing an fd
    }
  }
}

function bytesView(op: string, buf: ArrayBufferView | ArrayBuffer, offset?: number, size?: number): Buffer {
  let ab: ArrayBufferLike;
  let start: number;
  let length: number;
  if (ArrayBuffer.isView(buf)) {
    ab = buf.buffer;
    start = buf.byteOffset;
    length = buf.byteLength;
  } else if ((buf as unknown) instanceof ArrayBuffer || (buf as unknown) instanceof SharedArrayBuffer) {
    ab = buf as ArrayBufferLike;
    start = 0;
    length = buf.byteLength;
  } else {
    throw Errors.invalidArgument(op, 'buf must be a Buffer, a typed array, a DataView or an ArrayBuffer');
  }
  const off = offset ?? 0;
  if (!Number.isSafeInteger(off) || off < 0 || off > length) throw Errors.invalidArgument(op, `offset must be an integer in 0..${length}, got ${String(offset)}`);
  const n = size ?? length - off;
  if (!Number.isSafeInteger(n) || n < 0 || off + n > length) throw Errors.invalidArgument(op, `size must be an integer in 0..${length - off}, got ${String(size)}`);
  return Buffer.from(ab, start + off, n);
}

/**
 * Two connected Connections. Duplex (default): both send and receive.
 * Pipe(false): [reader, writer].
 */
export function Pipe(duplex = true, options?: PipeOptions): [Connection, Connection] {
  const pool = options?.pool ?? defaultPool();
  const made: { destroy(): void }[] = [];
  const channel = () => {
    const c = Channel.create({ pool, capacity: QUEUE_CAPACITY, blockSize: 1024 });
    made.push(c);
    return c;
  };
  const counter = (): Ends => {
    const opened = Semaphore.create({ pool, value: 1 });
    made.push(opened);
    const closed = Semaphore.create({ pool, value: 0 });
    made.push(closed);
    return { opened, closed };
  };
  try {
    if (duplex) {
      const ab = channel();
      const ba = channel();
      const endA = counter();
      const endB = counter();
      const owned: Owned = { open: 2, freed: false, channels: [ab, ba], sems: [endA.opened, endA.closed, endB.opened, endB.closed] };
      return [build({ input: ba, output: ab, ends: endA, peer: endB, owned }), build({ input: ab, output: ba, ends: endB, peer: endA, owned })];
    }
    const ch = channel();
    const endR = counter();
    const endW = counter();
    const owned: Owned = { open: 2, freed: false, channels: [ch], sems: [endR.opened, endR.closed, endW.opened, endW.closed] };
    return [build({ input: ch, output: undefined, ends: endR, peer: undefined, owned }), build({ input: undefined, output: ch, ends: endW, peer: endR, owned })];
  } catch (err) {
    for (const m of made) m.destroy();
    throw err;
  }
}

registerTransferable(KIND, EofMark.prototype, attachConnection);
registerTransferable(KIND, Connection.prototype, attachConnection);
function attachConnection(desc: Uint8Array): unknown {
  return desc.length === 0 ? EOF : Connection.attach(desc);
}
