// The messages between a Pool (the parent) and its workers. Hot path: plain
// arrays of numbers, strings and the task's values, so the codec's plain
// fast path (core/codec/plain.ts) carries them; never validated with zod.
//
//   parent -> worker, on the worker's own task channel:
//     [TASK, tid, fnId, star, items]                 a chunk: call fn on each item
//     [TASK, tid, fnId, star, items, module, fn]     ... naming the function the first time this worker sees fnId
//     [STOP]                                         no more tasks: flush and exit
//   worker -> parent, on the pool's one result channel:
//     [RESULTS, workerId, busyMs, n, tid, status, payload, tid, status, payload, ...]
//        status OK: payload is the array of the chunk's results; ERROR: what the task threw
//     [INIT_FAILED, workerId, error]                 the initializer threw (the worker exits)
// A chunk is the unit a worker takes: `items` holds chunksize inputs (star:
// each input is an argument list, spread into the call).
import type { Channel } from '../../core/channel/channel.js';

export const TASK = 0;
export const STOP = 1;

export const RESULTS = 0;
export const INIT_FAILED = 1;

export const OK = 0;
export const ERROR = 1;

/** What a worker flushes after at most this many chunk results (or FLUSH_MS, or when its channel is empty). */
export const FLUSH_AT = 16;
export const FLUSH_MS = 1;

/** The worker's argument (travels as a Process argument: the channels arrive attached). */
export interface WorkerConfig {
  id: number;
  tasks: Channel;
  results: Channel;
  /** Chunks before the worker exits (maxtasksperchild); 0: no limit. */
  maxtasks: number;
  init: { module: string; fn: string | undefined; args: unknown[] } | null;
}
