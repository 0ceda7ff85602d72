// dragonhpc: the Dragon HPC run-time for Node.js. For now the core
// library: shared-memory pools, channels and synchronization objects that
// every process of a node can use (see README.md).
export { MemoryPool, type MemoryPoolOptions, type PoolStats } from './runtime/core/pool.js';
export { Allocation } from './runtime/core/allocation.js';
export {
  Channel,
  type ChannelOptions,
  type SendOptions,
  type RecvOptions,
  type PollOptions,
} from './runtime/core/channel.js';
export { MessageView } from './runtime/core/message-view.js';
export { DragonError, type DragonErrorOptions } from './runtime/core/errors.js';
export { Status, statusName } from './runtime/core/status.js';
export type { WaitOptions } from './runtime/core/wait-queue.js';
export { Lock, RLock, type AcquireOptions, type AnyLock } from './runtime/core/sync/lock.js';
export { Semaphore, BoundedSemaphore, type SemaphoreOptions } from './runtime/core/sync/semaphore.js';
export { Event } from './runtime/core/sync/event.js';
export { Barrier, type BarrierOptions } from './runtime/core/sync/barrier.js';
export { Condition } from './runtime/core/sync/condition.js';
export { runtimeId, processId } from './runtime/core/identity.js';
export { libraryVersion } from './runtime/core/version.js';
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
export { cpuCount, jobNodes, type SystemNode } from './runtime/mp/system.js';
// multiprocessing-shaped sync objects and shared memory (sync helper):
// new Lock()/RLock()/Semaphore(v)/BoundedSemaphore(v)/Event()/Barrier(n)/
// Condition(lock) (above), Value and Array (SharedArray: the same class).
export type { SyncOptions } from './runtime/core/sync/sync-object.js';
export { Value } from './runtime/mp/value.js';
export { SharedArray, SharedArray as Array } from './runtime/mp/array.js';
export type { Typecode, ElementOf, SharedOptions, LockOption } from './runtime/mp/shared-memory-store.js';
