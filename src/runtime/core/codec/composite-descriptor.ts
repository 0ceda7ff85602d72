// The descriptor of a composite object (Queue, JoinableQueue, SimpleQueue,
// Barrier with an action,
// Connection): a small header, then the descriptors of its parts (a
// Channel's, a Lock's...) one after the other, each behind its length.
//   u8 version | u8 kind | u8 ints | u8 parts | i32 LE x ints | (u16 LE length, bytes) x parts
// `kind` is the object's transfer kind (40 Queue ...), so a descriptor
// handed to the wrong class is refused with a clear error.
import { Errors } from '../../errors/errors.js';

const VERSION = 1;

export interface Composite {
  ints: number[];
  /** An empty part stands for "absent" (e.g. the channel a send-only end lacks). */
  parts: Uint8Array[];
}

export function packDescriptor(kind: number, ints: readonly number[], parts: readonly (Uint8Array | undefined)[]): Uint8Array {
  let n = 4 + 4 * ints.length;
  for (const p of parts) n += 2 + (p?.length ?? 0);
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = kind;
  out[2] = ints.length;
  out[3] = parts.length;
  let at = 4;
  for (const v of ints) {
    view.setInt32(at, v, true);
    at += 4;
  }
  for (const p of parts) {
    const len = p?.length ?? 0;
    view.setUint16(at, len, true);
    if (p) out.set(p, at + 2);
    at += 2 + len;
  }
  return out;
}

export function unpackDescriptor(desc: unknown, kind: number, what: string, op: string): Composite {
  if (!(desc instanceof Uint8Array)) throw Errors.badCompositeDescriptor(op, `expected a Uint8Array from ${what}.serialize()`);
  if (desc.length < 4) throw Errors.badCompositeDescriptor(op, `${desc.length} bytes`);
  if (desc[0] !== VERSION) throw Errors.badCompositeDescriptor(op, `version ${desc[0]}, this dragonhpc reads version ${VERSION}`);
  if (desc[1] !== kind) throw Errors.badCompositeDescriptor(op, `it describes object kind ${desc[1]}, a ${what} is kind ${kind}`);
  const view = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const nInts = desc[2]!;
  const nParts = desc[3]!;
  let at = 4;
  const ints: number[] = [];
  const parts: Uint8Array[] = [];
  try {
    for (let i = 0; i < nInts; i++, at += 4) ints.push(view.getInt32(at, true));
    for (let i = 0; i < nParts; i++) {
      const len = view.getUint16(at, true);
      if (at + 2 + len > desc.length) throw new RangeError('truncated');
      parts.push(desc.slice(at + 2, at + 2 + len));
      at += 2 + len;
    }
  } catch {
    throw Errors.badCompositeDescriptor(op, `truncated at byte ${at} of ${desc.length}`);
  }
  return { ints, parts };
}

/** The same descriptor under another kind (SimpleQueue shares Queue's format). */
export function withKind(desc: Uint8Array, kind: number): Uint8Array {
  desc[1] = kind;
  return desc;
}
