// What every synchronization object shares: a handle on a record in pool
// memory, its descriptor, one wait queue for async waiters (the record has
// one "changed" event) and the detach/destroy life cycle.
import { Errors, check } from '../../errors/errors.js';
import { asDescriptor, expectKind, inspectDescriptor, syncKindInDescriptor } from '../descriptor.js';
import { DESC_BYTES, native, out, outHandle, type Handle } from '../ffi/native.js';
import { runtimeId } from '../identity.js';
import { PoolHandle, thisNode } from '../memory/pool-handle.js';
import type { MemoryPool } from '../memory/pool.js';
import { defaultPool } from '../memory/default-pool.js';
import { Status } from '../../errors/status.js';
import { BLOCKED, WaitQueue } from '../wait/wait-queue.js';
import { timeoutUs, type WaitOptions } from '../timeout.js';
import { bitFor, objectKey, releaseBit } from '../wait/watches.js';

export const SyncKind = {
  LOCK: 1,
  RLOCK: 2,
  SEMAPHORE: 3,
  EVENT: 4,
  BARRIER: 5,
  CONDITION: 6,
} as const;
export type SyncKindValue = (typeof SyncKind)[keyof typeof SyncKind];

export const kindNames: Record<number, string> = {
  1: 'Lock',
  2: 'RLock',
  3: 'Semaphore',
  4: 'Event',
  5: 'Barrier',
  6: 'Condition',
};

/** A native sync handle and the pool mapping it keeps alive. */
export interface NativeSync {
  ptr: Handle;
  pool: PoolHandle;
  /** An object of another node: no handle here, every operation goes through the transport (remote/sync.ts). */
  remote?: RemoteSyncOps;
}

/**
 * A sync object of another node (remote/sync.ts): every operation is a
 * SYNC request to the transport, performed at the target as this process.
 * The remote room registers its maker here, so this floor never imports it.
 */
export interface RemoteSyncOps {
  readonly desc: Uint8Array;
  readonly node: number;
  simple(op: string, sop: number, arg0?: number): void;
  value(op: string, sop: number): number;
  owner(op: string): { puid: bigint; count: number };
  acquire(op: string, options: WaitOptions | undefined): Promise<boolean>;
  acquireSync(op: string, timeout: number | undefined): boolean;
  eventWait(op: string, options: WaitOptions | undefined): Promise<boolean>;
  eventWaitSync(op: string, timeout: number | undefined): boolean;
  barrierWait(op: string, options: WaitOptions | undefined, hint: string): Promise<number>;
  barrierWaitSync(op: string, timeout: number | undefined, hint: string): number;
  barrierState(op: string): { parties: number; waiting: number; broken: boolean };
  condLock(op: string): { desc: Uint8Array; kind: number };
  condWait(op: string, options: WaitOptions | undefined, lockDesc: Uint8Array): Promise<boolean>;
  condWaitSync(op: string, timeout: number | undefined): boolean;
  detach(err: () => Error): void;
}

type RemoteSyncMaker = (desc: Uint8Array, node: number, kind: number, what: string) => RemoteSyncOps;
let makeRemote: RemoteSyncMaker | undefined;

/** @internal remote/sync.ts: how a sync object of another node is made. */
export function registerRemoteSync(make: RemoteSyncMaker): void {
  makeRemote = make;
}

function remoteSync(desc: Uint8Array, node: number, kind: number, what: string): RemoteSyncOps {
  if (!makeRemote) throw Errors.library('cross-node sync objects are not loaded in this process', "Import 'dragonhpc' (or its remote module) before attaching an object of another node");
  return makeRemote(desc, node, kind, what);
}

const kindOut = new Int32Array(1);

export function syncKindOf(ptr: Handle, op: string): number {
  check(op, native.syncKind(ptr, kindOut));
  return kindOut[0]!;
}

export function createNative(pool: MemoryPool, kind: SyncKindValue, value: number, max: number, op: string): NativeSync {
  if (!pool || typeof pool.serialize !== 'function') throw Errors.invalidArgument(op, 'options.pool must be a MemoryPool');
  const handle = pool.handle;
  check(op, native.syncCreate(handle.ptr, kind, value, max, out.u64));
  const ptr = outHandle();
  handle.retainObject();
  return { ptr, pool: handle };
}

// Attaches a sync descriptor; `kinds` lists what the caller's class accepts.
export function attachNative(desc: Uint8Array, kinds: readonly number[], op: string): NativeSync & { kind: number } {
  const info = inspectDescriptor(desc, op);
  expectKind(info, 'sync', op);
  const here = thisNode();
  if (here !== undefined && info.hostId !== BigInt(here) && info.rtid === runtimeId()) {
    // another node's: the descriptor says its kind; the transport does the rest
    const kind = syncKindInDescriptor(desc);
    if (!kinds.includes(kind)) throw Errors.wrongKind(op, kinds.map((k) => kindNames[k]).join(' or '), kindNames[kind] ?? `kind ${kind}`);
    const what = op.split('.')[0]!;
    return { ptr: 0, pool: undefined as unknown as PoolHandle, kind, remote: remoteSync(desc.slice(), Number(info.hostId), kind, what) };
  }
  const pool = PoolHandle.acquire(asDescriptor(desc, op), op);
  const rc = native.syncAttach(pool.ptr, desc, desc.length, out.u64);
  if (rc !== Status.OK) {
    pool.release();
    throw Errors.native(op, rc);
  }
  const ptr = outHandle();
  const kind = syncKindOf(ptr, op);
  if (!kinds.includes(kind)) {
    native.syncDetach(ptr);
    pool.release();
    throw Errors.wrongKind(op, kinds.map((k) => kindNames[k]).join(' or '), kindNames[kind] ?? `kind ${kind}`);
  }
  pool.retainObject();
  pool.release();
  return { ptr, pool, kind };
}

// Two ways to make a sync object: the multiprocessing-shaped constructor
// (`new Lock({ pool })`: creates one, pool default defaultPool()) and the
// internal path of create()/attach()/wrap(), which hand the constructor a
// native handle they made, inside a symbol-keyed record no user passes.
const INTERNAL = Symbol('dragon.sync.internal');

interface Internal {
  readonly [INTERNAL]: true;
  readonly n: NativeSync;
  readonly created: boolean;
  /** What a subclass needs besides the handle (Condition: its lock). */
  readonly extra?: unknown;
}

/** @internal The constructor argument that wraps a native handle (typed as never: it fits any constructor). */
export function viaNative(n: NativeSync, created: boolean, extra?: unknown): never {
  return { [INTERNAL]: true, n, created, extra } as Internal as never;
}

export function isInternal(x: unknown): x is Internal {
  return typeof x === 'object' && x !== null && (x as Internal)[INTERNAL] === true;
}

/** Options of the multiprocessing-shaped constructors. */
export interface SyncOptions {
  /** The pool the object lives in; default: defaultPool() (the node's default pool inside a run-time). */
  pool?: MemoryPool;
}

/** The pool of a constructor's options: the given one (checked) or defaultPool(). */
export function poolOf(options: SyncOptions | undefined, op: string): MemoryPool {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw Errors.invalidArgument(op, `options must be an object like { pool }, got ${String(options)}`);
  }
  const pool = options?.pool;
  if (pool === undefined) return defaultPool();
  if (!pool || typeof (pool as MemoryPool).serialize !== 'function') throw Errors.invalidArgument(op, 'options.pool must be a MemoryPool (or leave it out for the default pool)');
  return pool;
}

export abstract class SyncObject implements Disposable {
  protected readonly ptr: Handle;
  /** An object of another node: its operations go through the transport. */
  protected readonly remote: RemoteSyncOps | undefined;
  readonly #pool: PoolHandle;
  #state: 'open' | 'detached' | 'destroyed' = 'open';
  readonly #created: boolean;
  readonly #desc: Uint8Array;
  readonly #key: string;
  /** @internal Async waiters of this object, FIFO. */
  readonly queue: WaitQueue;

  // `init`: viaNative(...) from create/attach, or the user's constructor
  // arguments, in which case `make` creates the native object.
  protected constructor(init: unknown, make: () => NativeSync) {
    let n: NativeSync;
    let created = true;
    if (isInternal(init)) {
      n = init.n;
      created = init.created;
    } else n = make();
    this.ptr = n.ptr;
    this.#pool = n.pool;
    this.#created = created;
    this.remote = n.remote;
    if (n.remote) {
      this.#desc = n.remote.desc;
      this.#key = '';
      this.queue = undefined as unknown as WaitQueue;
      return;
    }
    check('serialize', native.syncSerialize(n.ptr, out.desc, DESC_BYTES, out.len));
    this.#desc = out.desc.slice(0, Number(out.len[0]));
    this.#key = objectKey(this.#desc);
    const ptr = n.ptr;
    this.queue = new WaitQueue(bitFor(this.#key), {
      pool: n.pool,
      parts: [
        {
          key: this.#key,
          watch: (w, bit) => native.syncWatch(ptr, w.ptr, bit) as number,
          unwatch: (w) => native.syncUnwatch(ptr, w.ptr) as number,
        },
      ],
    });
  }

  /** The descriptor: 96 bytes another process passes to attach(). */
  serialize(): Uint8Array {
    this.live('serialize');
    return this.#desc.slice();
  }

  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** Closes this process's handle; the object lives on for the others. */
  detach(): void {
    this.close('detached');
  }

  /** Destroys the object for every process: their waits fail with DRAGON_ERR_DESTROYED. */
  destroy(): void {
    this.close('destroyed');
  }

  /** Destroys an object this handle created, detaches one it attached. */
  [Symbol.dispose](): void {
    if (this.#state === 'open') this.close(this.#created && !this.remote ? 'destroyed' : 'detached');
  }

  protected close(how: 'detached' | 'destroyed'): void {
    const what = this.constructor.name;
    const op = `${what}.${how === 'destroyed' ? 'destroy' : 'detach'}`;
    this.live(op);
    const remote = this.remote;
    if (remote) {
      if (how === 'destroyed') throw Errors.remoteSyncDestroy(op, what, remote.node, thisNode() ?? -1);
      this.#state = how;
      return remote.detach(() => Errors.closedWhilePending(what, op, how));
    }
    this.#state = how;
    this.queue.failAll(() => Errors.closedWhilePending(what, op, how));
    releaseBit(this.#key);
    try {
      check(op, how === 'destroyed' ? native.syncDestroy(this.ptr) : native.syncDetach(this.ptr));
    } finally {
      this.#pool.releaseObject();
    }
  }

  protected live(op: string): void {
    if (this.#state !== 'open') throw Errors.closed(this.constructor.name, `${this.constructor.name}.${op}`, this.#state);
  }

  /** @internal */
  get poolHandle(): PoolHandle {
    return this.#pool;
  }
  /** The C call behind an acquire-like operation: OK, TIMEOUT, or an error. */
  // Lock, RLock and Semaphore acquire the same way: try with timeout 0, else
  // park in the wait queue until the record's "changed" event rings.
  protected acquireWith(name: string, call: (ptr: Handle, timeoutUs: number) => number, options?: WaitOptions): Promise<boolean> {
    const op = `${this.constructor.name}.${name}`;
    try {
      this.live(name);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.remote) return this.remote.acquire(op, options);
    const ptr = this.ptr;
    return this.queue.run(
      {
        op,
        attempt: () => {
          const rc = call(ptr, 0);
          if (rc === Status.OK) return true;
          if (rc === Status.TIMEOUT) return BLOCKED;
          throw Errors.native(op, rc);
        },
        onTimeout: () => false,
      },
      options,
    );
  }

  /** Blocks the thread in C: true once acquired, false when `timeout` ms passed. */
  protected acquireSyncWith(name: string, call: (ptr: Handle, timeoutUs: number) => number, options?: { timeout?: number }): boolean {
    const op = `${this.constructor.name}.${name}`;
    this.live(name);
    if (this.remote) return this.remote.acquireSync(op, options?.timeout);
    const rc = call(this.ptr, timeoutUs(op, options?.timeout));
    if (rc === Status.TIMEOUT) return false;
    check(op, rc);
    return true;
  }
}

