// Loads libdragon.so with koffi and declares every function the binding
// calls. Handles (dragon_pool_t *, ...) travel as plain numbers (uintptr_t):
// x86-64/arm64 user addresses fit in 2^53 and numbers are cheaper to pass
// than koffi's BigInt pointers. Out-parameters are typed arrays the caller
// keeps and reuses, so hot calls allocate nothing.
import { constants as bufferConstants } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { Errors, setStrerror } from './errors.js';
import { pinLibrary } from './libc.js';

export type Handle = number;
type Fn = (...args: any[]) => any;

const LIB_RELATIVE = 'native/libdragon/build/libdragon.so';

// The package root is the nearest directory above this file whose
// package.json is ours: the same walk works from dist/ and from .build/.
function findLibrary(): string {
  const override = process.env.DRAGON_LIBDRAGON;
  if (override) return resolve(override);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'dragonhpc') return join(dir, LIB_RELATIVE);
      } catch {
        // not ours (or unreadable): keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw Errors.library('cannot find the dragonhpc package root', 'Reinstall dragonhpc');
    dir = up;
  }
}

function loadLibrary(path: string): ReturnType<typeof koffi.load> {
  if (!existsSync(path)) {
    throw Errors.library(
      `libdragon is not built (${path} is missing)`,
      'Run `npm install` in the dragonhpc package (or `make -C native/libdragon`)',
    );
  }
  try {
    return koffi.load(path);
  } catch (err) {
    throw Errors.library(`cannot load ${path}`, 'Rebuild it with `make -C native/libdragon`', err);
  }
}

const libPath = findLibrary();
const lib = loadLibrary(libPath);
pinLibrary(libPath);

koffi.struct('dragon_alloc_t', { offset: 'uint64_t', size: 'uint64_t', gen: 'uint64_t' });

// A missing symbol (a module of libdragon not built yet) turns into a
// function that throws when called, so the rest of the binding still loads.
function bind(decl: string): Fn {
  try {
    return lib.func(decl) as Fn;
  } catch (err) {
    const name = /(\w+)\s*\(/.exec(decl)?.[1] ?? decl;
    return () => {
      throw Errors.library(`libdragon has no ${name}`, 'Rebuild libdragon from this version of dragonhpc', err);
    };
  }
}

export const native = {
  version: bind('const char *dragon_version(void)'),
  layoutVersion: bind('int dragon_layout_version(void)'),
  strerror: bind('const char *dragon_strerror(int err)'),
  errname: bind('const char *dragon_errname(int err)'),

  // pool.h
  poolCreate: bind('int dragon_pool_create(const void *attrs, void *out)'),
  poolAttach: bind('int dragon_pool_attach(const void *desc, size_t len, uint64_t expect_rtid, uint64_t puid, void *out)'),
  poolDetach: bind('int dragon_pool_detach(uintptr_t pool)'),
  poolDestroy: bind('int dragon_pool_destroy(uintptr_t pool)'),
  poolSerialize: bind('int dragon_pool_serialize(uintptr_t pool, void *buf, size_t cap, void *len)'),
  poolStats: bind('int dragon_pool_stats(uintptr_t pool, void *out)'),
  poolName: bind('int dragon_pool_name(uintptr_t pool, void *buf, size_t cap)'),
  poolIds: bind('int dragon_pool_ids(uintptr_t pool, void *rtid, void *pool_id)'),
  poolMapping: bind('int dragon_pool_mapping(uintptr_t pool, void *base, void *len)'),
  poolAlloc: bind('int dragon_pool_alloc(uintptr_t pool, uint64_t size, int64_t timeout_us, void *out)'),
  poolFree: bind('int dragon_pool_free(uintptr_t pool, dragon_alloc_t alloc)'),
  allocPtr: bind('int dragon_alloc_ptr(uintptr_t pool, dragon_alloc_t alloc, void *ptr)'),
  allocSetOwner: bind('int dragon_alloc_set_owner(uintptr_t pool, dragon_alloc_t alloc, uint64_t puid)'),
  allocSerialize: bind('int dragon_alloc_serialize(uintptr_t pool, dragon_alloc_t alloc, void *buf, size_t cap, void *len)'),
  allocAttach: bind('int dragon_alloc_attach(uintptr_t pool, const void *desc, size_t len, void *out)'),
  poolReclaim: bind('int dragon_pool_reclaim(uintptr_t pool, uint64_t puid, void *out)'),
  descInspect: bind('int dragon_desc_inspect(const void *desc, size_t len, void *kind, void *rtid, void *pool_id, void *host_id)'),
  descPool: bind('int dragon_desc_pool(const void *desc, size_t len, void *pool_desc, size_t cap, void *out_len)'),

  // waiter.h
  waiterCreate: bind('int dragon_waiter_create(uint64_t puid, void *out)'),
  waiterFd: bind('int dragon_waiter_fd(uintptr_t w, void *fd)'),
  waiterTake: bind('int dragon_waiter_take(uintptr_t w, void *mask)'),
  waiterForgetPool: bind('int dragon_waiter_forget_pool(uintptr_t w, uintptr_t pool)'),
  waiterDestroy: bind('int dragon_waiter_destroy(uintptr_t w)'),

  // channel.h
  channelCreate: bind('int dragon_channel_create(uintptr_t pool, uint64_t capacity, uint64_t block_size, void *out)'),
  channelAttach: bind('int dragon_channel_attach(uintptr_t pool, const void *desc, size_t len, void *out)'),
  channelDetach: bind('int dragon_channel_detach(uintptr_t ch)'),
  channelDestroy: bind('int dragon_channel_destroy(uintptr_t ch)'),
  channelSerialize: bind('int dragon_channel_serialize(uintptr_t ch, void *buf, size_t cap, void *len)'),
  channelInfo: bind('int dragon_channel_info(uintptr_t ch, void *capacity, void *block_size)'),
  channelSend: bind('int dragon_channel_send(uintptr_t ch, const void *buf, uint64_t len, int64_t timeout_us)'),
  channelSendAlloc: bind('int dragon_channel_send_alloc(uintptr_t ch, dragon_alloc_t alloc, uint64_t len, int64_t timeout_us)'),
  channelRecv: bind('int dragon_channel_recv(uintptr_t ch, void *buf, uint64_t cap, void *len, int64_t timeout_us)'),
  channelRecvMsg: bind('int dragon_channel_recv_msg(uintptr_t ch, void *inline_buf, uint64_t inline_cap, void *msg, int64_t timeout_us)'),
  // The same with raw addresses of memory the binding owns (receive slabs):
  // no typed-array argument to convert on the hot path.
  channelRecvMsgAt: bind('int dragon_channel_recv_msg(uintptr_t ch, uintptr_t inline_buf, uint64_t inline_cap, uintptr_t msg, int64_t timeout_us)'),
  channelRecvLenAt: bind('int dragon_channel_recv(uintptr_t ch, void *buf, uint64_t cap, uintptr_t len, int64_t timeout_us)'),
  channelSendAt: bind('int dragon_channel_send(uintptr_t ch, uintptr_t buf, uint64_t len, int64_t timeout_us)'),
  channelPoll: bind('int dragon_channel_poll(uintptr_t ch, uint32_t events, int64_t timeout_us, void *revents)'),
  channelCount: bind('int dragon_channel_count(uintptr_t ch, void *count)'),
  channelWatch: bind('int dragon_channel_watch(uintptr_t ch, uintptr_t w, uint32_t which, uint32_t bit)'),
  channelUnwatch: bind('int dragon_channel_unwatch(uintptr_t ch, uintptr_t w, uint32_t which)'),

  // sync.h
  syncCreate: bind('int dragon_sync_create(uintptr_t pool, int kind, int64_t value, int64_t max, void *out)'),
  syncAttach: bind('int dragon_sync_attach(uintptr_t pool, const void *desc, size_t len, void *out)'),
  syncDetach: bind('int dragon_sync_detach(uintptr_t s)'),
  syncDestroy: bind('int dragon_sync_destroy(uintptr_t s)'),
  syncSerialize: bind('int dragon_sync_serialize(uintptr_t s, void *buf, size_t cap, void *len)'),
  syncKind: bind('int dragon_sync_kind(uintptr_t s, void *kind)'),
  syncWatch: bind('int dragon_sync_watch(uintptr_t s, uintptr_t w, uint32_t bit)'),
  syncUnwatch: bind('int dragon_sync_unwatch(uintptr_t s, uintptr_t w)'),
  lockAcquire: bind('int dragon_lock_acquire(uintptr_t s, int64_t timeout_us)'),
  lockRelease: bind('int dragon_lock_release(uintptr_t s)'),
  lockOwner: bind('int dragon_lock_owner(uintptr_t s, void *puid, void *count)'),
  semAcquire: bind('int dragon_sem_acquire(uintptr_t s, int64_t timeout_us)'),
  semRelease: bind('int dragon_sem_release(uintptr_t s, uint64_t n)'),
  semValue: bind('int dragon_sem_value(uintptr_t s, void *value)'),
  eventSet: bind('int dragon_event_set(uintptr_t s)'),
  eventClear: bind('int dragon_event_clear(uintptr_t s)'),
  eventIsSet: bind('int dragon_event_is_set(uintptr_t s, void *is_set)'),
  eventWait: bind('int dragon_event_wait(uintptr_t s, int64_t timeout_us)'),
  barrierWait: bind('int dragon_barrier_wait(uintptr_t s, int64_t timeout_us, void *index)'),
  barrierArrive: bind('int dragon_barrier_arrive(uintptr_t s, void *ticket, void *index)'),
  barrierCheck: bind('int dragon_barrier_check(uintptr_t s, uint64_t ticket, int64_t timeout_us)'),
  barrierCancel: bind('int dragon_barrier_cancel(uintptr_t s, uint64_t ticket)'),
  barrierAbort: bind('int dragon_barrier_abort(uintptr_t s)'),
  barrierReset: bind('int dragon_barrier_reset(uintptr_t s)'),
  barrierState: bind('int dragon_barrier_state(uintptr_t s, void *parties, void *n_waiting, void *broken)'),
  condCreate: bind('int dragon_cond_create(uintptr_t pool, uintptr_t lock, void *out)'),
  condLock: bind('int dragon_cond_lock(uintptr_t cond, void *lock)'),
  condWait: bind('int dragon_cond_wait(uintptr_t cond, int64_t timeout_us)'),
  condWaitBegin: bind('int dragon_cond_wait_begin(uintptr_t cond, void *ticket, void *depth)'),
  condWaitCheck: bind('int dragon_cond_wait_check(uintptr_t cond, uint64_t ticket, int64_t timeout_us)'),
  condWaitCancel: bind('int dragon_cond_wait_cancel(uintptr_t cond, uint64_t ticket)'),
  condWaitEnd: bind('int dragon_cond_wait_end(uintptr_t cond, uint64_t depth, int64_t timeout_us)'),
  condNotify: bind('int dragon_cond_notify(uintptr_t cond, uint64_t n)'),
  condNotifyAll: bind('int dragon_cond_notify_all(uintptr_t cond)'),
} satisfies Record<string, Fn>;

setStrerror((status) => native.strerror(status) as string);

/** A libdragon allocation reference, passed by value to C. */
export interface NativeAlloc {
  offset: number | bigint;
  size: number | bigint;
  gen: number | bigint;
}

export const DESC_BYTES = 96;

/**
 * The longest memory view we make: koffi.view() aborts the process above
 * 4 GiB, and a Buffer cannot be longer than buffer.constants.MAX_LENGTH.
 */
export const MAX_VIEW_BYTES = Math.min(2 ** 32, bufferConstants.MAX_LENGTH);

/**
 * The address of an ArrayBuffer's memory. Only for `new ArrayBuffer(n)`
 * buffers (their memory never moves) that the caller keeps alive for as
 * long as it uses the address.
 */
export function addressOf(ab: ArrayBuffer): number {
  return Number(koffi.address(ab));
}

/** Bytes of memory at a raw address, without copying (see PoolHandle.bytes). */
export function viewMemory(address: number, length: number): ArrayBuffer {
  return koffi.view(BigInt(address), length);
}

// Scratch out-parameters for the calls that return values. Single-threaded
// (one JS thread per isolate): every call reads its outputs before the next.
export const out = {
  u64: new BigUint64Array(4),
  i64: new BigInt64Array(2),
  i32: new Int32Array(4),
  desc: new Uint8Array(DESC_BYTES),
  len: new BigUint64Array(1),
};

// Reads a new handle written to out.u64[0] by a *_create / *_attach call.
export function outHandle(): Handle {
  return Number(out.u64[0]);
}
