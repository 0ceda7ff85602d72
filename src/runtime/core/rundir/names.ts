// Names that tie a file to a user and a run-time: libdragon's segments
// "/dev/shm/dragon-<user>-<rtid hex>-p<pool id>" and the run-time directory
// "/tmp/dragon-<user>/<rtid hex>/". dragon-cleanup matches exactly these, so
// the launcher, the binding and the cleanup must spell <user> the same way.
import { userInfo } from 'node:os';
import { join } from 'node:path';

export const SHM_DIR = '/dev/shm';
export const TMP_DIR = '/tmp';
export const LOCK_FILE = 'lock';

// libdragon's user_name() (native/libdragon/src/segment.c): the passwd name of
// the effective uid, every char outside [A-Za-z0-9_.] turned into '_', at
// most 32 chars; "u<uid>" when there is no name. So '-' never occurs in it
// and "dragon-<user>-<rtid>-..." splits unambiguously.
let cached: { euid: number; tag: string } | undefined;

export function userTag(): string {
  const euid = process.geteuid?.() ?? 0;
  if (cached?.euid !== euid) cached = { euid, tag: lookUpTag(euid) };
  return cached.tag;
}

function lookUpTag(euid: number): string {
  let name = '';
  try {
    name = userInfo().username; // getpwuid_r(geteuid()), as libdragon does
  } catch {
    // no passwd entry (containers running arbitrary uids): u<uid> below
  }
  return tagFor(name, euid);
}

/** libdragon's spelling of user `name` (uid `uid`) in file names. */
export function tagFor(name: string, uid: number): string {
  // Byte by byte like the C code, so a non-ASCII name maps to the same '_'s.
  const bytes = Buffer.from(name, 'utf8').subarray(0, 32);
  const safe = Array.from(bytes, (b) => (/[A-Za-z0-9_.]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : '_')).join('');
  return safe || `u${uid}`;
}

/** Canonical spelling of a run-time id: lower-case hex, no "0x", no leading zeros. */
export function normalizeRtid(text: string): string | undefined {
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  const n = BigInt(text.startsWith('0x') ? text : `0x${text}`);
  return n === 0n ? undefined : n.toString(16);
}

/** "/tmp/dragon-<user>": this user's run-time directories live below it. */
export function runtimeBase(tmpDir: string = TMP_DIR, tag: string = userTag()): string {
  return join(tmpDir, `dragon-${tag}`);
}

/** "/tmp/dragon-<user>/<rtid hex>" (short: Unix socket paths stay under 108 bytes). */
export function runtimeDir(rtidHex: string, tmpDir: string = TMP_DIR, tag: string = userTag()): string {
  return join(runtimeBase(tmpDir, tag), rtidHex.toLowerCase());
}

/** Prefix of this user's segment names in /dev/shm. */
export function segmentPrefix(tag: string = userTag()): string {
  return `dragon-${tag}-`;
}

const RTID = /^[0-9a-f]{1,16}$/;

/** The run-time id (lower-case hex) of one of this user's segment names, else undefined. */
export function segmentRtid(name: string, tag: string = userTag()): string | undefined {
  const prefix = segmentPrefix(tag);
  if (!name.startsWith(prefix)) return undefined;
  const m = /^([0-9a-f]{1,16})-p\d+$/.exec(name.slice(prefix.length));
  return m ? m[1] : undefined;
}

/** True for a directory name that is a run-time id (not ".<rtid>.tmp" of one being created). */
export function isRtid(name: string): boolean {
  return RTID.test(name);
}
