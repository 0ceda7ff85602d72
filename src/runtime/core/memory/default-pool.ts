// The pool that objects of the multiprocessing-shaped API (Queue, Lock,
// Value...) live in when the caller names none. Inside a run-time: the
// node's default pool, which Local Services owns and destroys at teardown,
// so an object outlives the process that created it and every process of
// the node can attach it. Outside one (plain `node`): a pool private to
// this process, created on first use and destroyed when the process exits,
// so a single-process script (threads of work in one process, or tests)
// can still use the API.
import { runtimeEnv } from '../runtime-env.js';
import { MemoryPool } from './pool.js';

const PRIVATE_POOL_BYTES = 64 * 1024 * 1024;

let pool: MemoryPool | undefined;

export function defaultPool(): MemoryPool {
  if (pool) return pool;
  const env = runtimeEnv();
  if (env) return (pool = MemoryPool.attach(env.defaultPool));
  // Removed however the process ends, even with objects still open in it
  // (core/exit-cleanup.ts, as every pool a process outside a run-time creates).
  const own = MemoryPool.create({ bytes: Number(process.env.DRAGON_PRIVATE_POOL_BYTES) || PRIVATE_POOL_BYTES });
  return (pool = own);
}
