/* Synchronization objects in pool memory, usable by every process of the
 * node: lock, recursive lock, (bounded) semaphore, event, barrier,
 * condition. Each is a small state record guarded by a robust process-shared
 * mutex held only inside one call; owners are recorded by run-time process
 * id (the puid of the handle's pool) so dragon_pool_reclaim can release what
 * a dead process held. Blocking calls spin briefly, then sleep on a futex.
 * Async callers use timeout 0 plus dragon_sync_watch. */
#ifndef DRAGON_SYNC_H
#define DRAGON_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "return_codes.h"
#include "pool.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dragon_sync dragon_sync_t;

typedef enum dragonSyncKind {
    DRAGON_SYNC_LOCK = 1,      /* Python Lock: any process may release */
    DRAGON_SYNC_RLOCK = 2,     /* recursive, owner-checked */
    DRAGON_SYNC_SEMAPHORE = 3, /* value = initial count, max = bound (or -1) */
    DRAGON_SYNC_EVENT = 4,
    DRAGON_SYNC_BARRIER = 5,   /* value = parties */
    DRAGON_SYNC_CONDITION = 6, /* used together with a LOCK or RLOCK */
} dragonSyncKind_t;

/* value/max: see the kinds above; ignored where not meaningful. */
dragonError_t dragon_sync_create(dragon_pool_t *pool, dragonSyncKind_t kind, int64_t value,
                                 int64_t max, dragon_sync_t **out);
dragonError_t dragon_sync_attach(dragon_pool_t *pool, const uint8_t *desc, size_t len,
                                 dragon_sync_t **out);
dragonError_t dragon_sync_detach(dragon_sync_t *s);
/* Wakes every waiter with DRAGON_ERR_DESTROYED and frees the object. */
dragonError_t dragon_sync_destroy(dragon_sync_t *s);
dragonError_t dragon_sync_serialize(const dragon_sync_t *s, uint8_t *buf, size_t cap,
                                    size_t *len);
dragonError_t dragon_sync_kind(const dragon_sync_t *s, dragonSyncKind_t *kind);
/* Ring w with bit whenever the object's state changes (released, set,
 * notified, barrier passed/broken, destroyed). */
dragonError_t dragon_sync_watch(dragon_sync_t *s, dragon_waiter_t *w, uint32_t bit);
dragonError_t dragon_sync_unwatch(dragon_sync_t *s, dragon_waiter_t *w);

/* LOCK and RLOCK. */
dragonError_t dragon_lock_acquire(dragon_sync_t *s, int64_t timeout_us);
/* LOCK: DRAGON_ERR_NOT_HELD if unlocked. RLOCK: DRAGON_ERR_NOT_OWNER if the
 * caller's puid does not hold it. */
dragonError_t dragon_lock_release(dragon_sync_t *s);
/* Owner puid (0 = free) and recursion depth. */
dragonError_t dragon_lock_owner(const dragon_sync_t *s, uint64_t *puid, uint64_t *count);

/* SEMAPHORE. release adds n; a bounded one fails with DRAGON_ERR_OVERFLOW
 * (and adds nothing) if the value would pass max. */
dragonError_t dragon_sem_acquire(dragon_sync_t *s, int64_t timeout_us);
dragonError_t dragon_sem_release(dragon_sync_t *s, uint64_t n);
dragonError_t dragon_sem_value(const dragon_sync_t *s, int64_t *value);

/* EVENT. wait returns DRAGON_OK when set, DRAGON_ERR_TIMEOUT otherwise. */
dragonError_t dragon_event_set(dragon_sync_t *s);
dragonError_t dragon_event_clear(dragon_sync_t *s);
dragonError_t dragon_event_is_set(const dragon_sync_t *s, int *is_set);
dragonError_t dragon_event_wait(dragon_sync_t *s, int64_t timeout_us);

/* BARRIER, Python semantics: wait gives each party a distinct index in
 * [0, parties); a timeout breaks the barrier for everybody
 * (DRAGON_ERR_BROKEN to the others, DRAGON_ERR_TIMEOUT to the caller); abort
 * breaks it; reset repairs it (waiters still inside get DRAGON_ERR_BROKEN).
 * Async form: arrive returns a ticket, then check(ticket, 0) is retried on
 * each ring until it stops returning DRAGON_ERR_TIMEOUT; on the caller's own
 * deadline it calls dragon_barrier_cancel(ticket) (not abort, which would
 * also break a later round if this one passed meanwhile). */
dragonError_t dragon_barrier_wait(dragon_sync_t *s, int64_t timeout_us, uint64_t *index);
dragonError_t dragon_barrier_arrive(dragon_sync_t *s, uint64_t *ticket, uint64_t *index);
/* DRAGON_OK once ticket's round passed, DRAGON_ERR_BROKEN if it was broken,
 * DRAGON_ERR_TIMEOUT while it is open (after waiting up to timeout_us). */
dragonError_t dragon_barrier_check(dragon_sync_t *s, uint64_t ticket, int64_t timeout_us);
/* The async form's timeout (what wait does on its own timeout): if ticket's
 * round is still open, breaks it (the others get DRAGON_ERR_BROKEN) and
 * returns DRAGON_ERR_TIMEOUT; if it passed meanwhile, changes nothing and
 * returns DRAGON_OK (the wait succeeded after all); if it was broken
 * already, DRAGON_ERR_BROKEN. */
dragonError_t dragon_barrier_cancel(dragon_sync_t *s, uint64_t ticket);
dragonError_t dragon_barrier_abort(dragon_sync_t *s);
dragonError_t dragon_barrier_reset(dragon_sync_t *s);
dragonError_t dragon_barrier_state(const dragon_sync_t *s, uint64_t *parties,
                                   uint64_t *n_waiting, int *broken);

/* CONDITION, bound to a LOCK or RLOCK at creation: dragon_cond_create is
 * dragon_sync_create(kind CONDITION) plus the lock it uses. wait, wait_begin,
 * notify and notify_all need the lock held by the caller's puid (for a LOCK
 * too, as in multiprocessing): DRAGON_ERR_NOT_OWNER if another process holds
 * it, DRAGON_ERR_NOT_HELD if it is free. wait releases
 * the lock (fully, for an RLOCK, restoring the depth afterwards), sleeps
 * until notified or timed out, and re-acquires the lock before returning
 * (also on timeout). notify wakes up to n waiters in arrival order.
 * Async form: wait_begin (releases the lock, returns a ticket), then
 * wait_check(ticket, 0) until it returns DRAGON_OK or the caller gives up,
 * then dragon_cond_wait_end (re-acquire, async like any lock acquire). */
dragonError_t dragon_cond_create(dragon_pool_t *pool, dragon_sync_t *lock, dragon_sync_t **out);
/* The lock a condition uses, attached in the condition's pool. */
dragonError_t dragon_cond_lock(dragon_sync_t *cond, dragon_sync_t **lock);
dragonError_t dragon_cond_wait(dragon_sync_t *cond, int64_t timeout_us);
dragonError_t dragon_cond_wait_begin(dragon_sync_t *cond, uint64_t *ticket, uint64_t *depth);
dragonError_t dragon_cond_wait_check(dragon_sync_t *cond, uint64_t ticket, int64_t timeout_us);
/* Gives up ticket (a timed-out async wait) so later notifies skip it. */
dragonError_t dragon_cond_wait_cancel(dragon_sync_t *cond, uint64_t ticket);
dragonError_t dragon_cond_wait_end(dragon_sync_t *cond, uint64_t depth, int64_t timeout_us);
dragonError_t dragon_cond_notify(dragon_sync_t *cond, uint64_t n);
dragonError_t dragon_cond_notify_all(dragon_sync_t *cond);

#ifdef __cplusplus
}
#endif
#endif
