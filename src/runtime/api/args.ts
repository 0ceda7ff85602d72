// How a process's arguments travel: the codec's structured clone, which
// keeps Dragon objects (attached again in the child, at any depth) and
// errors (name, message, code, remote stack). The child loads the whole
// binding only when the arguments hold Dragon objects.
import { decodeValue, encodeValue } from '../core/codec/codec.js';

export interface EncodedArgs {
  bytes: Uint8Array;
  /** The child must load the binding to attach them. */
  hasObjects: boolean;
}

export function encodeArgs(args: readonly unknown[], op: string): EncodedArgs {
  return encodeValue([...args], op);
}

/** The arguments as the caller passed them (Dragon objects attached in this process). */
export function decodeArgs(bytes: Uint8Array, op = 'Process arguments'): unknown[] {
  return decodeValue<unknown[]>(bytes, op);
}
