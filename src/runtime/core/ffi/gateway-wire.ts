// The gateway's wire format: what a client puts into its node's gateway
// channel and what comes back in its reply channel (the client is
// remote/gateway.ts). Like status.ts it mirrors a C header, here
// native/libdragon/include/dragon/gateway.h; test/core/gateway-wire.test.ts
// checks every offset and code below against what a small C program prints
// from that header, so the two sides cannot drift.
// Little-endian, packed. The protocol: native/libdragon/docs/GATEWAY.md.

export const GW_VERSION = 1;
/** Bytes of a descriptor field (target, reply channel). */
export const GW_DESC_BYTES = 96;
export const GW_REQ_MAGIC = 0x31574744; // "DGW1" read as a little-endian u32
export const GW_REP_MAGIC = 0x31524744; // "DGR1"

/** Field offsets of gw_req_t (the request header), and its size. */
export const REQ = { magic: 0, version: 4, op: 6, req_id: 8, timeout_us: 16, events: 24, flags: 28, payload_len: 32, target: 40, reply: 136, size: 232 } as const;
/** Field offsets of gw_rep_t (the reply header), and its size. */
export const REP = { magic: 0, version: 4, op: 6, req_id: 8, status: 16, events: 20, value: 24, size: 32 } as const;
/** Field offsets of gw_sync_t (the SYNC payload), and its size. */
export const SYNC = { sop: 0, pad: 4, caller: 8, arg0: 16, arg1: 24, size: 32 } as const;
/** Field offsets of gw_mem_t (the MEM payload header; data follows), and its size. */
export const MEM = { mop: 0, pad: 4, caller: 8, offset: 16, length: 24, size: 32 } as const;

export const REQ_HEADER = REQ.size;
export const REP_HEADER = REP.size;

export const GwOp = { SEND: 1, RECV: 2, POLL: 3, COUNT: 4, SYNC: 5, MEM: 6 } as const;
export type GwOpCode = (typeof GwOp)[keyof typeof GwOp];

/** Operations of gateway op SYNC, performed at the target as the caller's puid. */
export const SyncOp = {
  LOCK_ACQUIRE: 1,
  LOCK_RELEASE: 2,
  LOCK_OWNER: 3,
  SEM_ACQUIRE: 10,
  SEM_RELEASE: 11,
  SEM_VALUE: 12,
  EVENT_SET: 20,
  EVENT_CLEAR: 21,
  EVENT_IS_SET: 22,
  EVENT_WAIT: 23,
  BARRIER_WAIT: 30,
  BARRIER_ABORT: 31,
  BARRIER_RESET: 32,
  BARRIER_STATE: 33,
  /** Cancels this client's waiting request arg0 (its req_id), e.g. an aborted COND_WAIT. */
  CANCEL: 34,
  COND_WAIT: 40,
  COND_NOTIFY: 41,
  COND_NOTIFY_ALL: 42,
  COND_LOCK: 43,
} as const;
export type SyncOpCode = (typeof SyncOp)[keyof typeof SyncOp];

/** Operations of gateway op MEM on another node's allocation. */
export const MemOp = { READ: 1, WRITE: 2, CAS64: 3, ADD64: 4 } as const;
/** Data bytes per MEM READ / WRITE request (larger accesses are split). */
export const MEM_MAX = 64 * 1024;

export interface RequestFields {
  op: number;
  reqId: number;
  /** -1 for ever, 0 try once. */
  timeoutUs: number;
  events: number;
  payloadLen: number;
  target: Uint8Array;
  reply: Uint8Array;
}

/** Writes the request header at buf[0..REQ.size). */
export function writeRequestHeader(buf: Buffer, f: RequestFields): void {
  buf.writeUInt32LE(GW_REQ_MAGIC, REQ.magic);
  buf.writeUInt16LE(GW_VERSION, REQ.version);
  buf.writeUInt16LE(f.op, REQ.op);
  writeU64(buf, REQ.req_id, f.reqId);
  if (f.timeoutUs < 0) buf.writeBigInt64LE(-1n, REQ.timeout_us);
  else writeU64(buf, REQ.timeout_us, f.timeoutUs);
  buf.writeUInt32LE(f.events >>> 0, REQ.events);
  buf.writeUInt32LE(0, REQ.flags);
  writeU64(buf, REQ.payload_len, f.payloadLen);
  buf.set(f.target.subarray(0, GW_DESC_BYTES), REQ.target);
  buf.set(f.reply.subarray(0, GW_DESC_BYTES), REQ.reply);
}

export function readRequestHeader(buf: Uint8Array): RequestFields & { magic: boolean; version: number } {
  const b = asBuffer(buf);
  return {
    magic: b.length >= REQ.size && b.readUInt32LE(REQ.magic) === GW_REQ_MAGIC,
    version: b.readUInt16LE(REQ.version),
    op: b.readUInt16LE(REQ.op),
    reqId: readU64(b, REQ.req_id),
    timeoutUs: Number(b.readBigInt64LE(REQ.timeout_us)),
    events: b.readUInt32LE(REQ.events),
    payloadLen: readU64(b, REQ.payload_len),
    target: new Uint8Array(b.subarray(REQ.target, REQ.target + GW_DESC_BYTES)),
    reply: new Uint8Array(b.subarray(REQ.reply, REQ.reply + GW_DESC_BYTES)),
  };
}

export interface ReplyFields {
  op: number;
  reqId: number;
  status: number;
  events: number;
  value: number;
}

export function writeReplyHeader(buf: Buffer, r: ReplyFields): void {
  buf.writeUInt32LE(GW_REP_MAGIC, REP.magic);
  buf.writeUInt16LE(GW_VERSION, REP.version);
  buf.writeUInt16LE(r.op, REP.op);
  writeU64(buf, REP.req_id, r.reqId);
  buf.writeUInt32LE(r.status, REP.status);
  buf.writeUInt32LE(r.events >>> 0, REP.events);
  writeU64(buf, REP.value, r.value);
}

/** The reply header, or undefined when the bytes are not a reply. */
export function readReplyHeader(b: Buffer): ReplyFields | undefined {
  if (b.length < REP.size || b.readUInt32LE(REP.magic) !== GW_REP_MAGIC || b.readUInt16LE(REP.version) !== GW_VERSION) return undefined;
  return { op: b.readUInt16LE(REP.op), reqId: readU64(b, REP.req_id), status: b.readUInt32LE(REP.status), events: b.readUInt32LE(REP.events), value: readU64(b, REP.value) };
}

export interface SyncPayload {
  sop: number;
  caller: bigint;
  arg0: bigint;
  arg1: bigint;
}

export function writeSyncPayload(buf: Buffer, p: SyncPayload): void {
  buf.writeUInt32LE(p.sop, SYNC.sop);
  buf.writeUInt32LE(0, SYNC.pad);
  buf.writeBigUInt64LE(p.caller, SYNC.caller);
  buf.writeBigUInt64LE(p.arg0, SYNC.arg0);
  buf.writeBigUInt64LE(p.arg1, SYNC.arg1);
}

export function readSyncPayload(buf: Uint8Array): SyncPayload {
  const b = asBuffer(buf);
  return { sop: b.readUInt32LE(SYNC.sop), caller: b.readBigUInt64LE(SYNC.caller), arg0: b.readBigUInt64LE(SYNC.arg0), arg1: b.readBigUInt64LE(SYNC.arg1) };
}

export function writeMemHeader(buf: Buffer, mop: number, caller: bigint, offset: number, length: number): void {
  buf.writeUInt32LE(mop, MEM.mop);
  buf.writeUInt32LE(0, MEM.pad);
  buf.writeBigUInt64LE(caller, MEM.caller);
  buf.writeBigUInt64LE(BigInt(offset), MEM.offset);
  buf.writeBigUInt64LE(BigInt(length), MEM.length);
}

function writeU64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32LE(n % 0x100000000 >>> 0, at);
  buf.writeUInt32LE(Math.floor(n / 0x100000000) >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x100000000;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
