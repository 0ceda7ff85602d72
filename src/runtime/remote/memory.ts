// Pool memory of another node (Value, Array): gateway op MEM, read and
// written through this node's transport agent in sync round trips of at most
// MEM_MAX bytes. The target checks the range and the allocation's
// generation, so a freed or reused allocation answers DESTROYED.
import { Errors } from '../errors/errors.js';
import { processId } from '../core/identity.js';
import { GwOp, MEM, MEM_MAX, MemOp, writeMemHeader, type ReplyFields } from '../core/ffi/gateway-wire.js';
import { Status } from '../errors/status.js';
import { Gateway } from './gateway.js';

const memScratch = Buffer.alloc(MEM.size + MEM_MAX);

/** An allocation of another node, read and written through the local transport agent (sync round trips). */
export class RemoteMemory {
  constructor(
    readonly desc: Uint8Array,
    readonly node: number,
    readonly size: number,
    readonly what: string,
  ) {}

  #fail(op: string, r: ReplyFields): Error {
    if (r.status === Status.PEER_LOST) return Errors.native(op, r.status, `the ${this.what} lives on node ${this.node}`);
    return Errors.native(op, r.status, `the ${this.what}'s memory on node ${this.node}`);
  }

  /** Reads bytes [offset, offset + into.length) into `into`. */
  read(op: string, offset: number, into: Uint8Array): void {
    const g = Gateway.get(op, this.node, this.what);
    for (let done = 0; done < into.length; ) {
      const n = Math.min(MEM_MAX, into.length - done);
      writeMemHeader(memScratch, MemOp.READ, processId(), offset + done, n);
      g.callSync(op, { op: GwOp.MEM, target: this.desc, timeoutUs: 0, events: 0, payload: memScratch, len: MEM.size }, (r, p) => {
        if (r.status !== Status.OK) throw this.#fail(op, r);
        if (p.length < n) throw Errors.native(op, Status.INTERNAL, `MEM READ answered ${p.length} bytes of ${n}`);
        into.set(p.subarray(0, n), done);
      });
      done += n;
    }
  }

  /** Writes `bytes` at `offset`. */
  write(op: string, offset: number, bytes: Uint8Array): void {
    const g = Gateway.get(op, this.node, this.what);
    for (let done = 0; done < bytes.length; ) {
      const n = Math.min(MEM_MAX, bytes.length - done);
      writeMemHeader(memScratch, MemOp.WRITE, processId(), offset + done, n);
      memScratch.set(bytes.subarray(done, done + n), MEM.size);
      g.callSync(op, { op: GwOp.MEM, target: this.desc, timeoutUs: 0, events: 0, payload: memScratch, len: MEM.size + n }, (r) => {
        if (r.status !== Status.OK) throw this.#fail(op, r);
      });
      done += n;
    }
  }
}
