// Where a run-time keeps its files on a node (names shared with
// dragon-cleanup through names.ts, so both spell <user> as
// libdragon does):
//   /tmp/dragon-<user>/<rtid hex>/lock            flock'd by the backend while it lives
//   /tmp/dragon-<user>/<rtid hex>/logs/<host>.log  services' log during the run
//   /tmp/dragon-<user>/logs/<rtid hex>-<host>.log  non-empty logs kept after teardown
//   /dev/shm/dragon-<user>-<rtid hex>-p<pool id>   shared-memory segments (named by libdragon)
import { join } from 'node:path';
import { LOCK_FILE, SHM_DIR, runtimeBase, runtimeDir, segmentPrefix as userSegmentPrefix } from './names.js';

export { LOCK_FILE, SHM_DIR, runtimeBase, runtimeDir };

/** Directory being set up, invisible to dragon-cleanup until renamed to runtimeDir(). */
export function pendingRuntimeDir(rtidHex: string): string {
  return join(runtimeBase(), `.${rtidHex}.tmp`);
}

export function keptLogFile(rtidHex: string, host: string): string {
  return join(runtimeBase(), 'logs', `${rtidHex}-${host}.log`);
}

/** Prefix of every segment of one run-time in /dev/shm. */
export function segmentPrefix(rtidHex: string): string {
  return `${userSegmentPrefix()}${rtidHex}-p`;
}
