/* Interfaces between libdragon's modules. Nothing here is exported (the
 * symbol map exports dragon_* only); internal names are dg__*. */
#ifndef DG_INTERNAL_H
#define DG_INTERNAL_H

#include <stdint.h>
#include "dragon/dragon.h"
#include "shm_layout.h"

/* ---- time (CLOCK_MONOTONIC microseconds) -------------------------------- */
#include "clock.h"

/* ---- futex ---------------------------------------------------------------
 * Shared (not private) futexes: the words live in shared memory. wait
 * returns DRAGON_OK when woken or the value differed, DRAGON_ERR_TIMEOUT
 * past the deadline (EINTR is retried inside). */
dragonError_t dg__futex_wait(_Atomic uint32_t *addr, uint32_t expected, uint64_t deadline_us);
void dg__futex_wake(_Atomic uint32_t *addr, int n);

/* ---- robust process-shared mutexes ---------------------------------------
 * lock sets *owner_died when the previous holder died inside; the caller
 * repairs the guarded state and then calls dg__mutex_consistent before
 * unlocking (otherwise the mutex becomes unusable, ENOTRECOVERABLE). */
dragonError_t dg__mutex_init(pthread_mutex_t *m);
dragonError_t dg__mutex_lock(pthread_mutex_t *m, int *owner_died);
dragonError_t dg__mutex_consistent(pthread_mutex_t *m);
void dg__mutex_unlock(pthread_mutex_t *m);

/* ---- crash-point injection (tests only) ----------------------------------
 * Built with -DDG_CRASH_POINTS (the test build), DG_CRASH_POINT("name")
 * calls _exit(86) when DRAGON_CRASH_POINT=name in the environment (optional
 * ":N" = at the N-th pass). The release library compiles them out. */
#ifdef DG_CRASH_POINTS
void dg__crash_point(const char *name);
#define DG_CRASH_POINT(name) dg__crash_point(name)
#else
#define DG_CRASH_POINT(name) ((void)0)
#endif

/* ---- descriptors ----------------------------------------------------------
 * DRAGON_DESC_BYTES little-endian bytes: magic "DGN1", layout version,
 * kind, the fields below, and a 64-bit FNV-1a checksum over the rest. */
typedef struct dg__desc {
    uint32_t kind; /* DRAGON_DESC_* */
    uint32_t uid;
    uint64_t rtid, pool_id, host_id;
    uint64_t segment_bytes; /* pool size, to check the mapping */
    uint64_t offset, size, gen; /* allocation / object location */
    uint64_t extra;             /* kind specific (sync kind, ...) */
} dg__desc_t;
dragonError_t dg__desc_encode(const dg__desc_t *d, uint8_t *buf, size_t cap, size_t *len);
/* Checks length, magic, version, checksum and (if expect_kind) the kind. */
dragonError_t dg__desc_decode(const uint8_t *buf, size_t len, uint32_t expect_kind,
                              dg__desc_t *out);

/* ---- pools -------------------------------------------------------------
 * segment.c owns the segment (name, layout, header checks) and this handle;
 * buddy.c owns the heap: the allocator, its lock and the free doorbell. */
#define DG_MIN_BLOCK (1ULL << DG_MIN_ORDER)
static inline unsigned dg__ceil_log2(uint64_t v)
{
    return v <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(v - 1);
}
struct dragon_pool {
    dg__pool_hdr_t *hdr; /* == base */
    uint8_t *map;
    uint8_t *heap;
    uint64_t mapped_bytes;
    uint64_t puid;
    _Atomic uint32_t watchers; /* waiters holding a doorbell slot here */
    char name[96];
    int fd;              /* segment fd, kept for posix_fallocate reservations */
    uint32_t alloc_spin; /* dg__wait_until spin budget of blocking allocs */
};
/* Lays out the heap of a fresh (all-zero) segment whose header already holds
 * its layout: the allocator lock, empty free lists and counters, the free
 * doorbell, and the top-level blocks. */
dragonError_t dg__buddy_init(dragon_pool_t *p);
/* Allocates a block of the given kind; owner is a DG_OWNER_* word. */
dragonError_t dg__pool_alloc(dragon_pool_t *pool, uint64_t size, uint32_t kind, uint64_t owner,
                             int64_t timeout_us, dragon_alloc_t *out);
/* The header of a live allocation, checked against gen (and kind unless 0).
 * DRAGON_ERR_DESTROYED when the block was freed (or reused). */
dragonError_t dg__pool_block(const dragon_pool_t *pool, uint64_t offset, uint64_t gen,
                             uint32_t kind, dg__block_hdr_t **out);
static inline void *dg__pool_user(const dragon_pool_t *pool, uint64_t offset)
{
    return pool->heap + offset;
}
void dg__pool_fill_desc(const dragon_pool_t *pool, dg__desc_t *d);
/* Checks that d names this pool. */
dragonError_t dg__pool_check_desc(const dragon_pool_t *pool, const dg__desc_t *d);

/* ---- events and doorbells (event.c) -------------------------------------- */
void dg__event_init(dg__event_t *ev);
/* After a state change: wake blocking sleepers and ring async watchers. */
void dg__event_signal(dragon_pool_t *pool, dg__event_t *ev);
dragonError_t dg__event_watch(dragon_pool_t *pool, dg__event_t *ev, dragon_waiter_t *w,
                              uint32_t bit);
dragonError_t dg__event_unwatch(dragon_pool_t *pool, dg__event_t *ev, dragon_waiter_t *w);
/* Drops the watches of doorbell slot `slot` (reclaim of a dead process). */
void dg__event_drop_slot(dg__event_t *ev, uint32_t slot);

/* Generic blocking loop shared by channels, pools and sync objects: calls
 * try(ctx) until it returns anything but DRAGON_ERR_TIMEOUT or the deadline
 * passes. Spins adaptively first (*spin_budget is process-local state the
 * caller keeps per handle: grown when spinning paid off, shrunk when it did
 * not), then sleeps on ev's futex. Re-checks after registering as a sleeper
 * so no wake-up is lost. */
typedef dragonError_t (*dg__try_fn)(void *ctx);
dragonError_t dg__wait_until(dg__event_t *ev, dg__try_fn try_op, void *ctx, uint64_t deadline_us,
                             uint32_t *spin_budget);
/* dg__wait_until with the waiter's puid recorded in the event (so reclaim
 * can drop the registration of a process killed while asleep: otherwise
 * every later signal pays a futex_wake) and flags: DG_WAIT_ALL for a waiter
 * that does not consume what it waits for (poll), so that while it sleeps a
 * signal-one wakes everybody. A waiter woken by a signal-one that leaves
 * with an error (not OK, not TIMEOUT) passes the wake-up on. */
#define DG_WAIT_ALL 1u
dragonError_t dg__event_wait(dg__event_t *ev, uint64_t puid, uint32_t flags, dg__try_fn try_op,
                             void *ctx, uint64_t deadline_us, uint32_t *spin_budget);
/* Like dg__event_signal, but wakes one blocking waiter when each of them
 * consumes what it waits for (a message, a free slot); all async watchers
 * are still rung. */
void dg__event_signal_one(dragon_pool_t *pool, dg__event_t *ev);
/* Reclaim of a dead process: drops its sleeper registrations and the
 * watches of its doorbell slots (plus stale ones). Returns how many sleeper
 * registrations it dropped (calls that were asleep when puid died). */
uint32_t dg__event_reclaim(dragon_pool_t *pool, dg__event_t *ev, uint64_t puid);

/* The doorbell slot a waiter holds in a pool (claimed on first use). */
dragonError_t dg__waiter_slot(dragon_waiter_t *w, dragon_pool_t *pool, uint32_t *slot,
                              uint32_t *gen);
/* Frees every doorbell slot owned by puid (reclaim). */
uint64_t dg__doorbells_reclaim(dragon_pool_t *pool, uint64_t puid);

/* ---- reclaim registry (reclaim.c) -----------------------------------------
 * dragon_pool_reclaim hands every live block to the hook of its kind, so the
 * allocator reclaims what it allocated without knowing what the kinds are
 * (like nng's reaper; no calls up into channel.c and sync.c). A kind with a
 * hook is an object: only its destroy (or its hook) frees it, never the
 * reclaim of a dead process's memory. Hooks run with the allocator lock NOT
 * held. A const table rather than registration at init: nothing has to run
 * first, so every process reclaims the same way however it got the pool. */
typedef void (*dg__reclaim_fn)(dragon_pool_t *pool, dg__block_hdr_t *blk, uint64_t puid,
                               dragon_reclaim_stats_t *st);
/* Indexed by dg__block_kind; NULL for plain memory (user blocks, messages). */
extern const dg__reclaim_fn dg__reclaim_hooks[DG_KIND_END];

#endif
