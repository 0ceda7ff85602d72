// Reads the header of any descriptor (kind, run-time, pool, host) without
// attaching anything, and checks what callers hand us before C sees it.
import { Errors, check } from '../errors/errors.js';
import { native, DESC_BYTES } from './ffi/native.js';
import { Status } from '../errors/status.js';

export type DescriptorKind = 'pool' | 'allocation' | 'channel' | 'sync';
const kinds: Record<number, DescriptorKind> = { 1: 'pool', 2: 'allocation', 3: 'channel', 4: 'sync' };

export interface DescriptorInfo {
  kind: DescriptorKind;
  rtid: bigint;
  poolId: bigint;
  hostId: bigint;
}

const kindOut = new Uint32Array(1);
const idsOut = new BigUint64Array(3);

export function asDescriptor(desc: unknown, op: string): Uint8Array {
  if (!(desc instanceof Uint8Array)) {
    throw Errors.invalidArgument(op, `a descriptor is a Uint8Array (from serialize()), got ${describe(desc)}`);
  }
  if (desc.length !== DESC_BYTES) {
    throw Errors.native(op, Status.BAD_DESCRIPTOR, `${desc.length} bytes, a descriptor has ${DESC_BYTES}`);
  }
  return desc;
}

export function inspectDescriptor(desc: unknown, op: string): DescriptorInfo {
  const bytes = asDescriptor(desc, op);
  check(op, native.descInspect(bytes, bytes.length, kindOut, idsOut.subarray(0, 1), idsOut.subarray(1, 2), idsOut.subarray(2, 3)));
  const kind = kinds[kindOut[0]!];
  if (!kind) throw Errors.native(op, Status.BAD_DESCRIPTOR, `unknown descriptor kind ${kindOut[0]}`);
  return { kind, rtid: idsOut[0]!, poolId: idsOut[1]!, hostId: idsOut[2]! };
}

export function expectKind(info: DescriptorInfo, want: DescriptorKind, op: string): void {
  if (info.kind !== want) throw Errors.wrongKind(op, className[want], className[info.kind]);
}

const className: Record<DescriptorKind, string> = {
  pool: 'MemoryPool',
  allocation: 'Allocation',
  channel: 'Channel',
  sync: 'sync object (Lock, Semaphore, ...)',
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

/** The sync kind recorded in a sync descriptor (its `extra` field, bytes 72..80). */
export function syncKindInDescriptor(desc: Uint8Array): number {
  return Number(Buffer.from(desc.buffer, desc.byteOffset, desc.byteLength).readBigUInt64LE(72));
}
