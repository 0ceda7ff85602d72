// dragonhpc: the Dragon HPC run-time for Node.js. The multiprocessing-shaped
// API (Process, Pool, Queue, Pipe, Lock..., Value, Array) and the native one
// under it (MemoryPool, Channel), the same on one node or many (README.md).
// Cross-node objects: registers the remote room's makers with core/ (side effect).
import './runtime/remote/index.js';
export { MemoryPool, type MemoryPoolOptions, type PoolStats } from './runtime/core/memory/pool.js';
export { Allocation } from './runtime/core/memory/allocation.js';
export {
  Channel,
  type ChannelOptions,
  type SendOptions,
  type RecvOptions,
  type PollOptions,
} from './runtime/core/channel/channel.js';
export { MessageView } from './runtime/core/channel/message-view.js';
export { DragonError, type DragonErrorOptions } from './runtime/errors/errors.js';
export { Status, statusName } from './runtime/errors/status.js';
export type { WaitOptions } from './runtime/core/timeout.js';
export { Lock, RLock, type AcquireOptions, type AnyLock } from './runtime/core/sync/lock.js';
export { Semaphore, BoundedSemaphore, type SemaphoreOptions } from './runtime/core/sync/semaphore.js';
export { Event } from './runtime/core/sync/event.js';
export { Barrier, type BarrierOptions, type BarrierAction } from './runtime/core/sync/barrier.js';
export { Condition } from './runtime/core/sync/condition.js';
export { runtimeId, processId } from './runtime/core/identity.js';
export { libraryVersion } from './runtime/core/ffi/version.js';
export {
  Process,
  currentProcess,
  activeChildren,
  type ProcessOptions,
  type ModuleProcessOptions,
  type CommandProcessOptions,
  type ProcessSignal,
} from './runtime/api/process.js';
// multiprocessing-shaped Pool, cpuCount() and the job's nodes (mp/pool/, mp/system.ts)
export { Pool, type PoolOptions, type PoolTask, type MapOptions, type MapAsyncOptions } from './runtime/mp/pool/pool.js';
export { AsyncResult } from './runtime/mp/pool/async-result.js';
export { TimeoutError } from './runtime/errors/errors.js';
export { cpuCount, jobNodes, type SystemNode } from './runtime/mp/system.js';
// multiprocessing-shaped sync objects and shared memory (sync helper):
// new Lock()/RLock()/Semaphore(v)/BoundedSemaphore(v)/Event()/Barrier(n)/
// Condition(lock) (above), Value and Array (SharedArray: the same class).
export type { SyncOptions } from './runtime/core/sync/sync-object.js';
export { Value } from './runtime/mp/value.js';
export { SharedArray, SharedArray as Array } from './runtime/mp/array.js';
export type { Typecode, ElementOf, SharedOptions, LockOption } from './runtime/mp/shared-memory-store.js';
// The multiprocessing-shaped queues and pipes (Queue, JoinableQueue, SimpleQueue, Pipe).
export { Queue, QUEUE_CAPACITY, type QueueOptions, type QueueWaitOptions } from './runtime/mp/queue.js';
export { JoinableQueue } from './runtime/mp/joinable-queue.js';
export { SimpleQueue, type SimpleQueueOptions } from './runtime/mp/simple-queue.js';
export { Pipe, Connection, type PipeOptions } from './runtime/mp/pipe.js';
export { Empty, Full, EOFError, BufferTooShort, BrokenPipeError } from './runtime/errors/errors.js';
