// The event-loop side of async waiting. One dragon_waiter_t per JS process,
// created on first need: its C thread sleeps on this process's doorbells
// and writes a byte to a pipe; we read the pipe as a net.Socket (Node
// refuses an eventfd there) and, on each wake-up, retry only the wait
// queues whose bit was rung. No thread is parked per operation and the
// thread never calls into JS.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { check } from '../../errors/errors.js';
import { processId } from '../identity.js';
import { dupFd } from '../ffi/libc.js';
import { native, out, outHandle, type Handle } from '../ffi/native.js';
import { onPoolClose, type PoolHandle } from '../memory/pool-handle.js';

/** What a wait queue needs from the waiter (see wait-queue.ts). */
export interface Drainable {
  readonly bit: number;
  drain(): void;
}

export class Waiter {
  private static instance: Waiter | undefined;
  readonly ptr: Handle;
  private readonly socket: Socket;
  private pending = 0;
  private readonly active: Array<Set<Drainable> | undefined> = new Array(64);
  private readonly mask = new BigUint64Array(1);
  private readonly maskWords = new Uint32Array(this.mask.buffer);

  static get(): Waiter {
    return (Waiter.instance ??= new Waiter());
  }

  private constructor() {
    check('dragon waiter', native.waiterCreate(processId(), out.u64));
    this.ptr = outHandle();
    check('dragon waiter', native.waiterFd(this.ptr, out.i32));
    // The socket gets its own descriptor of the pipe: Node closes it when
    // the socket goes, the waiter closes its own in dragon_waiter_destroy.
    const fd = dupFd(out.i32[0]!);
    // node:net loads here, not at import (~4 ms a process without waits need not pay).
    const net = createRequire(import.meta.url)('node:net') as typeof import('node:net');
    this.socket = new net.Socket({ fd: fd >= 0 ? fd : out.i32[0]!, readable: true, writable: false });
    const owned = fd >= 0;
    this.socket.on('data', () => this.ring());
    this.socket.on('error', (err) => {
      // The pipe never errors in practice; if it does, waiting is broken
      // for good, which must not pass silently.
      process.emitWarning(`dragonhpc: doorbell pipe failed: ${err.message}`);
    });
    // Idle until an operation waits: a script with nothing pending exits.
    this.socket.unref();
    onPoolClose((pool) => this.forget(pool));
    // Stop the thread before the process (or worker) tears down: it
    // releases this process's doorbell slots and never runs past its
    // library. Without our own fd the socket's is the waiter's: leave both.
    process.once('exit', () => {
      if (!owned) return;
      this.socket.destroy();
      native.waiterDestroy(this.ptr);
    });
  }

  // An operation parked: keep the process alive until it settles (an
  // unref'd socket under a pending top-level await makes Node exit with 13).
  parked(): void {
    if (this.pending++ === 0) this.socket.ref();
  }

  settled(): void {
    if (--this.pending === 0) this.socket.unref();
  }

  get pendingCount(): number {
    return this.pending;
  }

  activate(q: Drainable): void {
    let set = this.active[q.bit];
    if (!set) set = this.active[q.bit] = new Set();
    set.add(q);
  }

  deactivate(q: Drainable): void {
    this.active[q.bit]?.delete(q);
  }

  private ring(): void {
    const rc = native.waiterTake(this.ptr, this.mask);
    if (rc !== 0) {
      // Cannot tell which objects changed: retry every waiting queue.
      for (const set of this.active) if (set) for (const q of [...set]) q.drain();
      return;
    }
    this.drainWords(this.maskWords[0]!, 0);
    this.drainWords(this.maskWords[1]!, 32);
  }

  private drainWords(word: number, base: number): void {
    while (word !== 0) {
      const low = word & -word;
      const bit = base + 31 - Math.clz32(low);
      word ^= low;
      const set = this.active[bit];
      // copy: a drained queue that empties removes itself from the set
      if (set && set.size > 0) for (const q of [...set]) q.drain();
    }
  }

  private forget(pool: PoolHandle): void {
    pool.watched = false;
    check('MemoryPool.detach', native.waiterForgetPool(this.ptr, pool.ptr));
  }
}
