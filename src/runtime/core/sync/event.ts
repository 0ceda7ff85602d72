// Event with Python's semantics, across processes.
import { registerTransferable } from '../codec/codec.js';
import { Errors, check } from '../../errors/errors.js';
import { native } from '../ffi/native.js';
import type { MemoryPool } from '../memory/pool.js';
import { Status } from '../../errors/status.js';
import { BLOCKED } from '../wait/wait-queue.js';
import { timeoutUs, type WaitOptions } from '../timeout.js';
import { SyncOp } from '../ffi/gateway-wire.js';
import { SyncKind, SyncObject, attachNative, createNative, poolOf, viaNative, type SyncOptions } from './sync-object.js';

const isSetOut = new Int32Array(1);

/** multiprocessing.Event: `new Event()` (in defaultPool()) or `new Event({ pool })`; starts clear. */
export class Event extends SyncObject {
  constructor(options?: SyncOptions) {
    super(options, () => createNative(poolOf(options, 'new Event'), SyncKind.EVENT, 0, -1, 'new Event'));
  }

  static create(options: { pool: MemoryPool; set?: boolean }): Event {
    return new Event(viaNative(createNative(options?.pool, SyncKind.EVENT, options?.set ? 1 : 0, -1, 'Event.create'), true));
  }

  static attach(desc: Uint8Array): Event {
    return new Event(viaNative(attachNative(desc, [SyncKind.EVENT], 'Event.attach'), false));
  }


  set(): void {
    this.live('set');
    if (this.remote) return this.remote.simple('Event.set', SyncOp.EVENT_SET);
    check('Event.set', native.eventSet(this.ptr));
  }

  clear(): void {
    this.live('clear');
    if (this.remote) return this.remote.simple('Event.clear', SyncOp.EVENT_CLEAR);
    check('Event.clear', native.eventClear(this.ptr));
  }

  isSet(): boolean {
    this.live('isSet');
    if (this.remote) return this.remote.value('Event.isSet', SyncOp.EVENT_IS_SET) !== 0;
    check('Event.isSet', native.eventIsSet(this.ptr, isSetOut));
    return isSetOut[0] !== 0;
  }

  /**
   * Resolves true once the flag is set, false if `timeout` (ms) passed
   * first. (Unlike waitSync, an async waiter can miss a set() that a
   * clear() undoes before this process looks: libdragon exposes no set
   * counter to async callers yet.)
   */
  wait(options?: WaitOptions): Promise<boolean> {
    const op = 'Event.wait';
    try {
      this.live('wait');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.remote) return this.remote.eventWait(op, options);
    const ptr = this.ptr;
    return this.queue.run(
      {
        op,
        attempt: () => {
          const rc = native.eventIsSet(ptr, isSetOut);
          if (rc !== Status.OK) throw Errors.native(op, rc);
          return isSetOut[0] !== 0 ? true : BLOCKED;
        },
        onTimeout: () => false,
      },
      options,
    );
  }

  waitSync(options?: { timeout?: number }): boolean {
    const op = 'Event.waitSync';
    this.live('waitSync');
    if (this.remote) return this.remote.eventWaitSync(op, options?.timeout);
    const rc = native.eventWait(this.ptr, timeoutUs(op, options?.timeout));
    if (rc === Status.TIMEOUT) return false;
    check(op, rc);
    return true;
  }
}

registerTransferable(10 + SyncKind.EVENT, Event.prototype, (d) => Event.attach(d));
