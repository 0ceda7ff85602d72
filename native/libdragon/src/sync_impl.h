/* Internals shared by sync.c (handles, locks, semaphores, events, reclaim),
 * sync_barrier.c and sync_cond.c. See shm_layout.h for the record and its
 * crash-consistency rule (every guarded word written through the undo log). */
#ifndef DG_SYNC_IMPL_H
#define DG_SYNC_IMPL_H

#include <stddef.h>
#include "internal.h"

/* Process-local handle on a sync object. The object is named by its
 * allocation (offset, gen), re-validated against the pool on every call, so
 * a handle of a destroyed object gives DRAGON_ERR_DESTROYED, never a stray
 * access to a reused block. */
struct dragon_sync {
    dragon_pool_t *pool;
    uint64_t offset, size, gen;
    uint32_t kind;        /* dragonSyncKind_t, copied from the record at attach */
    uint32_t spin_budget; /* dg__wait_until's adaptive spin state (process-local) */
    dragon_sync_t *lock;  /* CONDITION: handle on its lock, owned by this handle */
};

#define DG_SYNC_KIND_BIT(k) (1u << (k))

/* Validates h (its allocation is live, not destroyed, of one of the kinds in
 * kind_mask, else DRAGON_ERR_WRONG_KIND) and locks the object's mutex,
 * rolling back the undo log if the previous holder died. On success the
 * caller holds s->lock and must call dg__sync_leave. */
dragonError_t dg__sync_enter(const dragon_sync_t *h, uint32_t kind_mask, dg__sync_t **out);
/* Commits the undo log and unlocks. */
void dg__sync_leave(dg__sync_t *s);

/* Logs the old value of the 8-byte word at field (once per critical
 * section), then writes v. The compiler may not reorder these stores across
 * each other: a process can be killed between any two of them. */
void dg__sync_set_word(dg__sync_t *s, void *field, uint64_t v);
#define DG_SYNC_SET(s, f, v)                                                                      \
    do {                                                                                          \
        _Static_assert(sizeof((s)->f) == 8, "undo log holds 8-byte words");                       \
        dg__sync_set_word((s), &(s)->f, (uint64_t)(v));                                           \
    } while (0)
/* A new handle on the live record at (offset, gen) of pool. */
dragonError_t dg__sync_open(dragon_pool_t *pool, uint64_t offset, uint64_t gen,
                            dragon_sync_t **out);

/* Blocking-call skeleton: one try first (so a handle of a destroyed object
 * fails before anything touches its event), then, unless the deadline is 0
 * (try once), dg__wait_until on the record's `changed` event. */
dragonError_t dg__sync_block_until(dragon_sync_t *h, dg__try_fn try_op, void *ctx,
                                   uint64_t deadline_us);

/* Commits what was written so far (the state must be consistent here). */
void dg__sync_commit(dg__sync_t *s);

/* The pointer to the record of a live allocation (the caller checked it). */
static inline dg__sync_t *dg__sync_rec(const dragon_pool_t *pool, uint64_t offset)
{
    return (dg__sync_t *)dg__pool_user(pool, offset);
}

/* LOCK/RLOCK pieces the condition is built from; h is the lock's handle.
 * take: acquire with the given depth (RLOCK), waiting up to timeout_us.
 * drop: release completely (RLOCK: all levels), returning the depth; fails
 * unless the caller's puid holds the lock, for a LOCK too (stricter than
 * dragon_lock_release): DRAGON_ERR_NOT_HELD when free, DRAGON_ERR_NOT_OWNER
 * when another puid holds it. check: like drop without releasing (notify's
 * "caller holds the lock" rule). */
dragonError_t dg__sync_lock_take(dragon_sync_t *h, uint64_t depth, int64_t timeout_us);
dragonError_t dg__sync_lock_drop(dragon_sync_t *h, uint64_t *depth);
dragonError_t dg__sync_lock_check(dragon_sync_t *h);

/* Per-kind reclaim, called with s->lock held (and repaired); each change is
 * committed before the next so a reclaimer that dies leaves a valid record. */
void dg__sync_barrier_reclaim(dragon_pool_t *pool, dg__sync_t *s, uint64_t puid,
                              dragon_reclaim_stats_t *st);
void dg__sync_cond_reclaim(dragon_pool_t *pool, dg__sync_t *s, uint64_t puid,
                           dragon_reclaim_stats_t *st);

#endif
