// The size of each node's default pool: a share of the free space in
// /dev/shm (default 10%: other run-times and programs need room too) or an
// absolute size. Checked here, before anything starts: a pool that cannot
// fit is an error now, not a SIGBUS later.
import { statfsSync } from 'node:fs';
import { SHM_DIR } from '../core/rundir/paths.js';
import { poolSizeBytes } from '../config/text.js';
import { Errors } from '../errors/errors.js';

/** Below this, the run-time's own channels (GS's, one reply channel per process) do not fit. */
export const MIN_POOL_BYTES = 4 << 20;
const METADATA_BASE = 1 << 20; // the pool's header, on top of ~1% per byte

export function resolvePoolBytes(poolSize: string): number {
  let free: number;
  try {
    const st = statfsSync(SHM_DIR);
    free = Number(st.bavail) * Number(st.bsize);
  } catch (err) {
    throw Errors.poolSize(`cannot read the free space of ${SHM_DIR} (${(err as Error).message})`, `dragon needs a tmpfs at ${SHM_DIR}`);
  }
  // A pool of B bytes takes ~1% more for its metadata (a byte per 128-byte block) and a header:
  // a share is of what is left for the pool itself, so 100% is the largest pool that fits.
  const usable = Math.max(0, Math.floor((free - METADATA_BASE - 1) / 1.01));
  const bytes = poolSizeBytes(poolSize, usable);
  const hint = `Pass a smaller --pool-size (or DRAGON_POOL_SIZE), e.g. ${poolSize.endsWith('%') ? '64M' : '10%'}, or free space in ${SHM_DIR}`;
  if (bytes > usable) {
    throw Errors.poolSize(
      `the default pool (${mib(bytes)}) does not fit in ${SHM_DIR} (${mib(free)} free, of which ~1% + 1 MiB go to the pool's metadata: at most ${mib(usable)} for the pool)`,
      hint,
    );
  }
  if (bytes < MIN_POOL_BYTES) {
    throw Errors.poolSize(
      `the default pool (${mib(bytes)}, --pool-size ${poolSize}) is smaller than the ${mib(MIN_POOL_BYTES)} the run-time needs`,
      free < 2 * MIN_POOL_BYTES ? `Free space in ${SHM_DIR} (${mib(free)} free)` : 'Pass a larger --pool-size, e.g. 64M',
    );
  }
  return bytes;
}

function mib(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}
