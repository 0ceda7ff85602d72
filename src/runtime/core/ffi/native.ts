// Loads libdragon.so with koffi and declares every function the binding
// calls, on first use rather than at import: a process that imports
// dragonhpc but never maps shared memory (a Process target, the frontend)
// does not pay for koffi's addon, dlopen and 81 declarations (~15 ms on our
// 2-core test machine). Until then `native` holds stubs that load and
// forward; afterwards it is rebound (an ES live binding) to the real
// functions, so hot calls go straight to koffi.
// Handles (dragon_pool_t *, ...) travel as plain numbers (uintptr_t):
// x86-64/arm64 user addresses fit in 2^53 and numbers are cheaper to pass
// than koffi's BigInt pointers. Out-parameters are typed arrays the caller
// keeps and reuses, so hot calls allocate nothing.
// Nothing here registers a koffi type name: those are process-wide, and a
// second copy of dragonhpc in the process (the CLI's and the user's
// node_modules) would fail to register the same name again.
import { constants as bufferConstants } from 'node:buffer';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Errors, setStrerror } from '../../errors/errors.js';
import { packageRoot } from '../../package-root.js';
import { koffi, type Koffi } from './koffi.js';
import { pinLibrary } from './libc.js';

export type Handle = number;
type Fn = (...args: any[]) => any;
type Library = ReturnType<Koffi['load']>;
type TypeObject = ReturnType<Koffi['struct']>;

const LIB_RELATIVE = 'native/libdragon/build/libdragon.so';

function findLibrary(): string {
  const override = process.env.DRAGON_LIBDRAGON;
  return override ? resolve(override) : join(packageRoot(), LIB_RELATIVE);
}

function loadLibrary(path: string): Library {
  if (!existsSync(path)) {
    throw Errors.notBuilt('libdragon', path);
  }
  try {
    return koffi().load(path);
  } catch (err) {
    throw Errors.library(`cannot load ${path}`, 'Rebuild it with `make -C native/libdragon`', err);
  }
}

// libdragon's allocation reference, passed by value. It stays anonymous
// (see above), so koffi's prototype parser cannot see it by name: the
// declarations below spell it dragon_alloc_t and declare() swaps in the
// type object.
const ALLOC_NAME = 'dragon_alloc_t';
const ALLOC_FIELDS = { offset: 'uint64_t', size: 'uint64_t', gen: 'uint64_t' };

/** @internal Every function the binding calls, as C declarations (test/core/ffi-prototypes.test.ts checks them against include/dragon/). */
export const DECLARATIONS = {
  version: 'const char *dragon_version(void)',
  layoutVersion: 'int dragon_layout_version(void)',
  strerror: 'const char *dragon_strerror(int err)',
  errname: 'const char *dragon_errname(int err)',

  // pool.h
  poolCreate: 'int dragon_pool_create(const void *attrs, void *out)',
  poolAttach: 'int dragon_pool_attach(const void *desc, size_t len, uint64_t expect_rtid, uint64_t puid, void *out)',
  poolDetach: 'int dragon_pool_detach(uintptr_t pool)',
  poolDestroy: 'int dragon_pool_destroy(uintptr_t pool)',
  poolSerialize: 'int dragon_pool_serialize(uintptr_t pool, void *buf, size_t cap, void *len)',
  poolStats: 'int dragon_pool_stats(uintptr_t pool, void *out)',
  poolName: 'int dragon_pool_name(uintptr_t pool, void *buf, size_t cap)',
  poolIds: 'int dragon_pool_ids(uintptr_t pool, void *rtid, void *pool_id)',
  poolMapping: 'int dragon_pool_mapping(uintptr_t pool, void *base, void *len)',
  poolAlloc: 'int dragon_pool_alloc(uintptr_t pool, uint64_t size, int64_t timeout_us, void *out)',
  poolFree: 'int dragon_pool_free(uintptr_t pool, dragon_alloc_t alloc)',
  poolWaitSpace: 'int dragon_pool_wait_space(uintptr_t pool, uint64_t size, int64_t timeout_us)',
  poolWatch: 'int dragon_pool_watch(uintptr_t pool, uintptr_t w, uint32_t bit)',
  poolUnwatch: 'int dragon_pool_unwatch(uintptr_t pool, uintptr_t w)',
  allocPtr: 'int dragon_alloc_ptr(uintptr_t pool, dragon_alloc_t alloc, void *ptr)',
  allocSetOwner: 'int dragon_alloc_set_owner(uintptr_t pool, dragon_alloc_t alloc, uint64_t puid)',
  allocSerialize: 'int dragon_alloc_serialize(uintptr_t pool, dragon_alloc_t alloc, void *buf, size_t cap, void *len)',
  allocAttach: 'int dragon_alloc_attach(uintptr_t pool, const void *desc, size_t len, void *out)',
  poolReclaim: 'int dragon_pool_reclaim(uintptr_t pool, uint64_t puid, void *out)',
  descInspect: 'int dragon_desc_inspect(const void *desc, size_t len, void *kind, void *rtid, void *pool_id, void *host_id)',
  descPool: 'int dragon_desc_pool(const void *desc, size_t len, void *pool_desc, size_t cap, void *out_len)',

  // waiter.h
  waiterCreate: 'int dragon_waiter_create(uint64_t puid, void *out)',
  waiterFd: 'int dragon_waiter_fd(uintptr_t w, void *fd)',
  waiterTake: 'int dragon_waiter_take(uintptr_t w, void *mask)',
  waiterForgetPool: 'int dragon_waiter_forget_pool(uintptr_t w, uintptr_t pool)',
  waiterDestroy: 'int dragon_waiter_destroy(uintptr_t w)',

  // channel.h
  channelCreate: 'int dragon_channel_create(uintptr_t pool, uint64_t capacity, uint64_t block_size, void *out)',
  channelAttach: 'int dragon_channel_attach(uintptr_t pool, const void *desc, size_t len, void *out)',
  channelDetach: 'int dragon_channel_detach(uintptr_t ch)',
  channelDestroy: 'int dragon_channel_destroy(uintptr_t ch)',
  channelSerialize: 'int dragon_channel_serialize(uintptr_t ch, void *buf, size_t cap, void *len)',
  channelInfo: 'int dragon_channel_info(uintptr_t ch, void *capacity, void *block_size)',
  channelSend: 'int dragon_channel_send(uintptr_t ch, const void *buf, uint64_t len, int64_t timeout_us)',
  channelSendAlloc: 'int dragon_channel_send_alloc(uintptr_t ch, dragon_alloc_t alloc, uint64_t len, int64_t timeout_us)',
  channelRecv: 'int dragon_channel_recv(uintptr_t ch, void *buf, uint64_t cap, void *len, int64_t timeout_us)',
  channelRecvMsg: 'int dragon_channel_recv_msg(uintptr_t ch, void *inline_buf, uint64_t inline_cap, void *msg, int64_t timeout_us)',
  // The same with raw addresses of memory the binding owns (receive slabs):
  // no typed-array argument to convert on the hot path.
  channelRecvMsgAt: 'int dragon_channel_recv_msg(uintptr_t ch, uintptr_t inline_buf, uint64_t inline_cap, uintptr_t msg, int64_t timeout_us)',
  channelRecvLenAt: 'int dragon_channel_recv(uintptr_t ch, void *buf, uint64_t cap, uintptr_t len, int64_t timeout_us)',
  channelSendAt: 'int dragon_channel_send(uintptr_t ch, uintptr_t buf, uint64_t len, int64_t timeout_us)',
  channelPoll: 'int dragon_channel_poll(uintptr_t ch, uint32_t events, int64_t timeout_us, void *revents)',
  channelCount: 'int dragon_channel_count(uintptr_t ch, void *count)',
  channelWatch: 'int dragon_channel_watch(uintptr_t ch, uintptr_t w, uint32_t which, uint32_t bit)',
  channelUnwatch: 'int dragon_channel_unwatch(uintptr_t ch, uintptr_t w, uint32_t which)',

  // sync.h
  syncCreate: 'int dragon_sync_create(uintptr_t pool, int kind, int64_t value, int64_t max, void *out)',
  syncAttach: 'int dragon_sync_attach(uintptr_t pool, const void *desc, size_t len, void *out)',
  syncDetach: 'int dragon_sync_detach(uintptr_t s)',
  syncDestroy: 'int dragon_sync_destroy(uintptr_t s)',
  syncSerialize: 'int dragon_sync_serialize(uintptr_t s, void *buf, size_t cap, void *len)',
  syncKind: 'int dragon_sync_kind(uintptr_t s, void *kind)',
  syncWatch: 'int dragon_sync_watch(uintptr_t s, uintptr_t w, uint32_t bit)',
  syncUnwatch: 'int dragon_sync_unwatch(uintptr_t s, uintptr_t w)',
  lockAcquire: 'int dragon_lock_acquire(uintptr_t s, int64_t timeout_us)',
  lockRelease: 'int dragon_lock_release(uintptr_t s)',
  lockOwner: 'int dragon_lock_owner(uintptr_t s, void *puid, void *count)',
  semAcquire: 'int dragon_sem_acquire(uintptr_t s, int64_t timeout_us)',
  semRelease: 'int dragon_sem_release(uintptr_t s, uint64_t n)',
  semValue: 'int dragon_sem_value(uintptr_t s, void *value)',
  eventSet: 'int dragon_event_set(uintptr_t s)',
  eventClear: 'int dragon_event_clear(uintptr_t s)',
  eventIsSet: 'int dragon_event_is_set(uintptr_t s, void *is_set)',
  eventWait: 'int dragon_event_wait(uintptr_t s, int64_t timeout_us)',
  barrierWait: 'int dragon_barrier_wait(uintptr_t s, int64_t timeout_us, void *index)',
  barrierArrive: 'int dragon_barrier_arrive(uintptr_t s, void *ticket, void *index)',
  barrierCheck: 'int dragon_barrier_check(uintptr_t s, uint64_t ticket, int64_t timeout_us)',
  barrierCancel: 'int dragon_barrier_cancel(uintptr_t s, uint64_t ticket)',
  barrierAbort: 'int dragon_barrier_abort(uintptr_t s)',
  barrierReset: 'int dragon_barrier_reset(uintptr_t s)',
  barrierState: 'int dragon_barrier_state(uintptr_t s, void *parties, void *n_waiting, void *broken)',
  condCreate: 'int dragon_cond_create(uintptr_t pool, uintptr_t lock, void *out)',
  condLock: 'int dragon_cond_lock(uintptr_t cond, void *lock)',
  condWait: 'int dragon_cond_wait(uintptr_t cond, int64_t timeout_us)',
  condWaitBegin: 'int dragon_cond_wait_begin(uintptr_t cond, void *ticket, void *depth)',
  condWaitCheck: 'int dragon_cond_wait_check(uintptr_t cond, uint64_t ticket, int64_t timeout_us)',
  condWaitCancel: 'int dragon_cond_wait_cancel(uintptr_t cond, uint64_t ticket)',
  condWaitEnd: 'int dragon_cond_wait_end(uintptr_t cond, uint64_t depth, int64_t timeout_us)',
  condNotify: 'int dragon_cond_notify(uintptr_t cond, uint64_t n)',
  condNotifyAll: 'int dragon_cond_notify_all(uintptr_t cond)',
} as const satisfies Record<string, string>;

export type Native = { readonly [K in keyof typeof DECLARATIONS]: Fn };

// "ret name(type a, type b)" as koffi's (name, result, [parameters]) form,
// where the named struct becomes its type object.
function declare(lib: Library, decl: string, alloc: TypeObject): Fn {
  if (!decl.includes(ALLOC_NAME)) return lib.func(decl) as Fn;
  const m = /^(.+?)\s*\b(\w+)\((.*)\)$/.exec(decl);
  if (!m) throw new Error(`cannot parse the declaration ${decl}`);
  const params = m[3]!.split(',').map((p) => {
    const type = p.trim().replace(/\w+$/, '').trim();
    return type === ALLOC_NAME ? alloc : type;
  });
  return lib.func(m[2]!, m[1]!, params) as Fn;
}

// A missing symbol (a module of libdragon not built yet) turns into a
// function that throws when called, so the rest of the binding still loads.
function bind(lib: Library, decl: string, alloc: TypeObject): Fn {
  try {
    return declare(lib, decl, alloc);
  } catch (err) {
    const name = /(\w+)\s*\(/.exec(decl)?.[1] ?? decl;
    return () => {
      throw Errors.library(`libdragon has no ${name}`, 'Rebuild libdragon from this version of dragonhpc', err);
    };
  }
}

let loaded: Native | undefined;

/** Loads libdragon and declares its functions (once); `native` is the loaded table from then on. */
export function loadNative(): Native {
  if (loaded) return loaded;
  const path = findLibrary();
  const lib = loadLibrary(path);
  pinLibrary(path);
  const alloc = koffi().struct(ALLOC_FIELDS);
  const table: Record<string, Fn> = {};
  for (const [name, decl] of Object.entries(DECLARATIONS)) table[name] = bind(lib, decl, alloc);
  loaded = table as Native;
  native = loaded;
  setStrerror((status) => loaded!.strerror(status) as string);
  return loaded;
}

function stubs(): Native {
  const table: Record<string, Fn> = {};
  for (const name of Object.keys(DECLARATIONS) as Array<keyof Native>) {
    table[name] = (...args: unknown[]) => loadNative()[name](...args);
  }
  return table as Native;
}

export let native: Native = stubs();

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
  return Number(koffi().address(ab));
}

/** Bytes of memory at a raw address, without copying (see PoolHandle.bytes). */
export function viewMemory(address: number, length: number): ArrayBuffer {
  return koffi().view(BigInt(address), length);
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
