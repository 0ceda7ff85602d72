/* CONDITION, with Python's threading.Condition semantics, across processes.
 *
 * A condition is bound to a LOCK or RLOCK (recorded by allocation, both in
 * the same pool). Waiting is ticket based, so it works the same blocking or
 * async, and for a transport agent acting for a remote process:
 *   wait_begin   takes ticket next_ticket++, then releases the lock (fully
 *                for an RLOCK: the depth is returned, to be restored)
 *   wait_check   OK once ticket < wake_upto (the waiter was notified)
 *   wait_end     re-acquires the lock (restoring the depth)
 *   notify(n)    moves wake_upto over the next n live tickets, in ticket
 *                (arrival) order; notify_all moves it to next_ticket
 * Python's rule that waiting and notifying need the lock is enforced as
 * multiprocessing does (it asserts the lock is the caller's, for a Lock
 * too): the caller's puid must hold the LOCK or RLOCK, else
 * DRAGON_ERR_NOT_OWNER (held by another puid) or DRAGON_ERR_NOT_HELD (free).
 * A LOCK held by another process must not be released by our wait: that
 * process's critical section would lose its lock.
 *
 * No lost wake-ups to tickets that will never look (holders[], guarded by
 * the record's mutex): each ticket is tracked as (puid, ticket, WAITING)
 * until its waiter sees the notification. A waiter that gives up (timeout:
 * wait_cancel) marks its ticket CANCELLED and notify skips it; if it had
 * been notified already, the notification is passed on to the next live
 * ticket. Reclaim does the same for every ticket of a dead process.
 * Cancelled tickets at the front of the queue are skipped at once (that
 * wakes nobody). Limits: when the DG_SYNC_HOLDERS slots are all taken (by
 * cancellations behind a live waiter, or by notified waiters that have not
 * looked yet), every current waiter is woken to free them: a spurious
 * wake-up, which condition users must tolerate anyway, rather than a lost
 * one. Only with DG_SYNC_HOLDERS live waiters is a new ticket left
 * untracked (a notification it receives and never looks at, because its
 * process died, is then lost). Notifications received by a waiter woken by
 * notify_all are never passed on (everybody was woken). */
#include "sync_impl.h"

#define DG_COND DG_SYNC_KIND_BIT(DRAGON_SYNC_CONDITION)

/* The holders[] slot tracking ticket t in `state`, or -1. */
static int dg__cond_find(const dg__sync_t *s, uint64_t t, uint64_t state)
{
    for (int i = 0; i < DG_SYNC_HOLDERS; i++)
        if (s->holders[i].count == state && s->holders[i].tag == t)
            return i;
    return -1;
}

/* A free slot: empty, or a cancellation notify already went past. */
static int dg__cond_free_slot(const dg__sync_t *s)
{
    for (int i = 0; i < DG_SYNC_HOLDERS; i++) {
        const dg__sync_holder_t *e = &s->holders[i];
        if (e->count == 0 || (e->count == DG_COND_CANCELLED && e->tag < s->wake_upto))
            return i;
    }
    return -1;
}

/* Moves wake_upto over the next live ticket; 0 when nobody is left. */
static int dg__cond_wake_one(dg__sync_t *s)
{
    while (s->wake_upto < s->next_ticket) {
        uint64_t t = s->wake_upto;
        int cancelled = dg__cond_find(s, t, DG_COND_CANCELLED) >= 0;
        DG_SYNC_SET(s, wake_upto, t + 1);
        if (!cancelled)
            return 1;
    }
    return 0;
}

/* Moves wake_upto over cancelled tickets at the front of the queue: it
 * wakes nobody, and frees their slots. */
static void dg__cond_skip_cancelled(dg__sync_t *s)
{
    while (s->wake_upto < s->next_ticket &&
           dg__cond_find(s, s->wake_upto, DG_COND_CANCELLED) >= 0)
        DG_SYNC_SET(s, wake_upto, s->wake_upto + 1);
}

static void dg__cond_wake_all(dragon_pool_t *pool, dg__sync_t *s)
{
    if (s->wake_upto != s->next_ticket) {
        DG_SYNC_SET(s, wake_upto, s->next_ticket);
        DG_SYNC_SET(s, all_upto, s->next_ticket);
        dg__event_signal(pool, &s->changed);
    }
}

/* Gives ticket t up. *notified tells whether a notification had already
 * reached it; pass_on hands such a notification to the next live ticket
 * (an async waiter that gives up) instead of keeping it (a blocking wait
 * whose timeout raced with the notify then reports success). */
static dragonError_t dg__cond_cancel(dragon_sync_t *h, uint64_t t, int pass_on, int *notified)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_COND, &s);
    if (rc != DRAGON_OK)
        return rc;
    if (t >= s->next_ticket) {
        dg__sync_leave(s);
        return DRAGON_ERR_INVALID_ARGUMENT;
    }
    int i = dg__cond_find(s, t, DG_COND_WAITING);
    if (t < s->wake_upto) {
        *notified = 1;
        /* Only a tracked, not yet seen notification can be passed on: one
         * that wait_check already reported was consumed. */
        if (i >= 0) {
            DG_SYNC_SET(s, holders[i].count, 0);
            if (pass_on && t >= s->all_upto && dg__cond_wake_one(s))
                dg__event_signal(h->pool, &s->changed);
        }
    } else {
        *notified = 0;
        if (i >= 0) {
            DG_SYNC_SET(s, holders[i].count, DG_COND_CANCELLED);
        } else if (dg__cond_find(s, t, DG_COND_CANCELLED) < 0) {
            if ((i = dg__cond_free_slot(s)) >= 0) {
                DG_SYNC_SET(s, holders[i].puid, h->pool->puid);
                DG_SYNC_SET(s, holders[i].tag, t);
                DG_SYNC_SET(s, holders[i].count, DG_COND_CANCELLED);
            } else {
                dg__cond_wake_all(h->pool, s); /* cannot record it: see the top */
            }
        }
        dg__cond_skip_cancelled(s);
    }
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_cond_lock(dragon_sync_t *h, dragon_sync_t **lock)
{
    if (!h || !lock)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (h->kind != DRAGON_SYNC_CONDITION || !h->lock)
        return DRAGON_ERR_WRONG_KIND;
    return dg__sync_open(h->pool, h->lock->offset, h->lock->gen, lock);
}

dragonError_t dragon_cond_wait_begin(dragon_sync_t *h, uint64_t *ticket, uint64_t *depth)
{
    if (!ticket || !depth)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_COND, &s);
    if (rc != DRAGON_OK)
        return rc;
    int i = dg__cond_free_slot(s);
    if (i < 0) {
        /* Full of cancellations behind a live waiter (or of waiters that
         * were notified and have not looked yet): wake everybody, which
         * frees the cancelled slots, rather than issue an untracked ticket
         * that a dead process could take a notification to. */
        dg__cond_wake_all(h->pool, s);
        i = dg__cond_free_slot(s);
    }
    /* The ticket is taken while the caller still holds the lock, so no
     * notify (which needs the lock) can fall between it and the release. */
    uint64_t t = s->next_ticket;
    DG_SYNC_SET(s, next_ticket, t + 1);
    DG_CRASH_POINT("sync.cond.half");
    if (i >= 0) {
        DG_SYNC_SET(s, holders[i].puid, h->pool->puid);
        DG_SYNC_SET(s, holders[i].tag, t);
        DG_SYNC_SET(s, holders[i].count, DG_COND_WAITING);
    }
    dg__sync_commit(s);
    DG_CRASH_POINT("sync.cond.ticket"); /* reclaim cancels the ticket, frees the lock */
    dg__sync_leave(s);

    uint64_t d = 0;
    rc = dg__sync_lock_drop(h->lock, &d);
    if (rc != DRAGON_OK) {
        int notified;
        dg__cond_cancel(h, t, 1, &notified); /* caller did not hold the lock */
        return rc;
    }
    *ticket = t;
    *depth = d;
    return DRAGON_OK;
}

typedef struct {
    dragon_sync_t *h;
    uint64_t ticket;
} dg__cond_ctx_t;

static dragonError_t dg__cond_try(void *p)
{
    dg__cond_ctx_t *c = p;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(c->h, DG_COND, &s);
    if (rc != DRAGON_OK)
        return rc;
    if (c->ticket >= s->next_ticket) {
        rc = DRAGON_ERR_INVALID_ARGUMENT;
    } else if (c->ticket < s->wake_upto) {
        /* Seen: the notification is consumed, stop tracking the ticket. */
        int i = dg__cond_find(s, c->ticket, DG_COND_WAITING);
        if (i >= 0)
            DG_SYNC_SET(s, holders[i].count, 0);
    } else {
        rc = DRAGON_ERR_TIMEOUT;
    }
    dg__sync_leave(s);
    return rc;
}

dragonError_t dragon_cond_wait_check(dragon_sync_t *h, uint64_t ticket, int64_t timeout_us)
{
    dg__cond_ctx_t c = {.h = h, .ticket = ticket};
    return dg__sync_block_until(h, dg__cond_try, &c, dg__deadline(timeout_us));
}

dragonError_t dragon_cond_wait_cancel(dragon_sync_t *h, uint64_t ticket)
{
    int notified;
    return dg__cond_cancel(h, ticket, 1, &notified);
}

dragonError_t dragon_cond_wait_end(dragon_sync_t *h, uint64_t depth, int64_t timeout_us)
{
    if (!h)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (h->kind != DRAGON_SYNC_CONDITION || !h->lock)
        return DRAGON_ERR_WRONG_KIND;
    /* The lock is re-acquired even if the condition was destroyed meanwhile:
     * the caller's code after the wait expects to hold it. */
    return dg__sync_lock_take(h->lock, depth, timeout_us);
}

dragonError_t dragon_cond_wait(dragon_sync_t *h, int64_t timeout_us)
{
    uint64_t deadline = dg__deadline(timeout_us);
    uint64_t t, depth;
    dragonError_t rc = dragon_cond_wait_begin(h, &t, &depth);
    if (rc != DRAGON_OK)
        return rc;
    dg__cond_ctx_t c = {.h = h, .ticket = t};
    rc = dg__sync_block_until(h, dg__cond_try, &c, deadline);
    if (rc == DRAGON_ERR_TIMEOUT) {
        int notified = 0;
        dragonError_t crc = dg__cond_cancel(h, t, 0, &notified);
        rc = crc != DRAGON_OK ? crc : notified ? DRAGON_OK : DRAGON_ERR_TIMEOUT;
    }
    /* Like Python, the lock is back before returning, however long that
     * takes (also on timeout and when the condition was destroyed). */
    dragonError_t lrc = dg__sync_lock_take(h->lock, depth, DRAGON_WAIT_FOREVER);
    return lrc != DRAGON_OK ? lrc : rc;
}

/* notify's entry: the caller must hold the condition's lock; on success
 * the condition's record is locked (dg__sync_leave it). */
static dragonError_t dg__cond_notify_enter(dragon_sync_t *h, dg__sync_t **s)
{
    if (!h)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (h->kind != DRAGON_SYNC_CONDITION || !h->lock)
        return DRAGON_ERR_WRONG_KIND;
    dragonError_t rc = dg__sync_lock_check(h->lock);
    if (rc != DRAGON_OK)
        return rc;
    return dg__sync_enter(h, DG_COND, s);
}

dragonError_t dragon_cond_notify(dragon_sync_t *h, uint64_t n)
{
    dg__sync_t *s;
    dragonError_t rc = dg__cond_notify_enter(h, &s);
    if (rc != DRAGON_OK)
        return rc;
    uint64_t woken = 0;
    while (woken < n && dg__cond_wake_one(s))
        woken++;
    if (woken)
        dg__event_signal(h->pool, &s->changed);
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_cond_notify_all(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__cond_notify_enter(h, &s);
    if (rc != DRAGON_OK)
        return rc;
    dg__cond_wake_all(h->pool, s);
    dg__sync_leave(s);
    return DRAGON_OK;
}

void dg__sync_cond_reclaim(dragon_pool_t *pool, dg__sync_t *s, uint64_t puid,
                           dragon_reclaim_stats_t *st)
{
    (void)st; /* no counter for tickets in dragon_reclaim_stats_t */
    for (int i = 0; i < DG_SYNC_HOLDERS; i++) {
        dg__sync_holder_t *e = &s->holders[i];
        if (e->count != DG_COND_WAITING || e->puid != puid)
            continue;
        uint64_t t = e->tag;
        if (t >= s->wake_upto) {
            DG_SYNC_SET(s, holders[i].count, DG_COND_CANCELLED); /* notify skips it */
            dg__cond_skip_cancelled(s);
        } else {
            /* Notified but never looked: pass the notification on. */
            DG_SYNC_SET(s, holders[i].count, 0);
            if (t >= s->all_upto && dg__cond_wake_one(s))
                dg__event_signal(pool, &s->changed);
        }
        dg__sync_commit(s);
    }
}
