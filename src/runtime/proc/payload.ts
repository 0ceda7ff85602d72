// What Local Services hands a module process through its fd 3 (a socket
// pair): [u32 big-endian header length][JSON header][encoded arguments].
// The same fd carries back one byte once the target is found, READY (then,
// if it throws, the error: codec-encoded), or NOT_STARTED and a JSON
// { message, code } when it never ran (module that does not load, missing
// export, undecodable arguments): Process.start() rejects with that. So
// neither side needs a channel or the native binding for it.
export const PAYLOAD_FD = 3;
export const READY = 1;
export const NOT_STARTED = 2;

/** Why a module process never ran its target (what start() rejects with). */
export interface NotStarted {
  message: string;
  code: string;
}

export interface TargetHeader {
  v: 1;
  puid: number;
  /** Absolute file: URL. */
  module: string;
  fn?: string;
  /** Load the whole binding before decoding the arguments (they hold Dragon objects). */
  hasObjects: boolean;
  /** The complete environment: a warm process was started before it was known. */
  env: Record<string, string>;
  cwd: string;
  name?: string;
}

export function encodePayload(header: TargetHeader, args: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + args.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  out.set(args, 4 + json.length);
  return out;
}

export function decodePayload(buf: Buffer): { header: TargetHeader; args: Buffer } {
  const n = buf.readUInt32BE(0);
  const header = JSON.parse(buf.toString('utf8', 4, 4 + n)) as TargetHeader;
  return { header, args: buf.subarray(4 + n) };
}
