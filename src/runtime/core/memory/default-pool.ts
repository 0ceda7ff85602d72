// The pool that objects of the multiprocessing-shaped API (Queue, Lock,
// Value...) live in when the caller names none. Inside a run-time: the
// node's default pool, which Local Services owns and destroys at teardown,
// so an object outlives the process that created it and every process of
// the node can attach it. Outside one (plain `node`): a pool private to
// this process, created on first use and destroyed when the process exits,
// so a single-process script (threads of work in one process, or tests)
// can still use the API.
import { rmSync } from 'node:fs';
import { runtimeEnv } from '../runtime-env.js';
import { MemoryPool } from './pool.js';

const PRIVATE_POOL_BYTES = 64 * 1024 * 1024;

let pool: MemoryPool | undefined;

export function defaultPool(): MemoryPool {
  if (pool) return pool;
  const env = runtimeEnv();
  if (env) return (pool = MemoryPool.attach(env.defaultPool));
  const own = MemoryPool.create({ bytes: Number(process.env.DRAGON_PRIVATE_POOL_BYTES) || PRIVATE_POOL_BYTES });
  const segment = `/dev/shm/${own.name}`;
  // The process is ending: its queues and locks go with it, so the segment
  // goes even while objects in it are still open here (destroy() would
  // refuse then). Nothing else can have attached it: no run-time, no
  // children of ours that could.
  const remove = () => rmSync(segment, { force: true });
  process.once('exit', remove);
  // A signal's default action skips 'exit': remove the segment, then die of
  // the same signal, unless the script handles that signal itself.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      remove();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
  return (pool = own);
}
