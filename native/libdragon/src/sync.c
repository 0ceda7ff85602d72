/* Synchronization objects in pool memory: handles, the crash-safe critical
 * section every operation runs in, locks, recursive locks, semaphores,
 * events, and reclaim. Barriers are in sync_barrier.c, conditions in
 * sync_cond.c.
 *
 * Shape of every operation: one "try" that never blocks (validate the
 * handle, lock the object's robust mutex, look at the state, change it or
 * report DRAGON_ERR_TIMEOUT, signal `changed` if a waiter may care, unlock).
 * Blocking calls are dg__event_wait(changed, try, deadline) (the generic
 * spin-then-futex loop, sleepers registered by puid); async callers
 * (and, later, the transport agent acting for a remote process) call the
 * same try with timeout 0 and wait for `changed` to ring their doorbell.
 *
 * Ownership: the record lives in a DG_KIND_SYNC allocation owned by nobody
 * (DG_OWNER_NONE: it outlives its creator); who holds a lock, semaphore
 * units, a barrier arrival or a condition ticket is recorded by puid inside
 * the record, and dg__sync_reclaim gives those back when a process died.
 *
 * Crash consistency: see shm_layout.h. Every write to a guarded word goes
 * through dg__sync_set_word (undo log), the log is committed just before
 * unlocking, and the next process to lock a mutex whose holder died rolls a
 * pending log back. Signalling `changed` happens with the mutex held, so the
 * record cannot be freed by a concurrent destroy while we touch its event. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reclaim.h"
#include "sync_impl.h"

#define DG_ALL_KINDS                                                                              \
    (DG_SYNC_KIND_BIT(DRAGON_SYNC_LOCK) | DG_SYNC_KIND_BIT(DRAGON_SYNC_RLOCK) |                    \
     DG_SYNC_KIND_BIT(DRAGON_SYNC_SEMAPHORE) | DG_SYNC_KIND_BIT(DRAGON_SYNC_EVENT) |               \
     DG_SYNC_KIND_BIT(DRAGON_SYNC_BARRIER) | DG_SYNC_KIND_BIT(DRAGON_SYNC_CONDITION))
#define DG_LOCK_KINDS (DG_SYNC_KIND_BIT(DRAGON_SYNC_LOCK) | DG_SYNC_KIND_BIT(DRAGON_SYNC_RLOCK))

/* ---- undo log and critical sections ------------------------------------ */

/* Words the undo log may restore: the guarded state, never the log itself
 * (a corrupted offset must not turn a repair into a wild write). */
#define DG_UNDO_LO offsetof(dg__sync_t, value)
#define DG_UNDO_HI offsetof(dg__sync_t, changed)

void dg__sync_set_word(dg__sync_t *s, void *field, uint64_t v)
{
    uint64_t off = (uint64_t)((uint8_t *)field - (uint8_t *)s);
    uint64_t n = s->undo_n;
    for (uint64_t i = 0; i < n; i++)
        if (s->undo[i].off == off)
            goto write; /* the oldest value is already logged */
    if (n == DG_SYNC_UNDO) {
        /* Only reached by loops that change many entries (semaphore release
         * charging holders, reclaim): each commits a state that is valid on
         * its own, so checkpointing here is safe. */
        dg__sync_commit(s);
        n = 0;
    }
    /* Entry first, then the count that makes it part of the log, then the
     * word: a crash between any two leaves a log that restores the word. */
    memcpy(&s->undo[n].old, field, 8);
    s->undo[n].off = off;
    atomic_signal_fence(memory_order_seq_cst);
    s->undo_n = n + 1;
    atomic_signal_fence(memory_order_seq_cst);
write:
    memcpy(field, &v, 8);
    atomic_signal_fence(memory_order_seq_cst);
}

void dg__sync_commit(dg__sync_t *s)
{
    atomic_signal_fence(memory_order_seq_cst);
    s->undo_n = 0;
    atomic_signal_fence(memory_order_seq_cst);
}

/* Called with s->lock held after EOWNERDEAD: undoes the dead holder's
 * uncommitted writes (newest first). Idempotent, so a repairer that dies
 * half-way leaves the log for the next one. */
static dragonError_t dg__sync_repair(dg__sync_t *s)
{
    uint64_t n = s->undo_n;
    if (n > DG_SYNC_UNDO)
        n = DG_SYNC_UNDO; /* corrupted count: restore what we can */
    for (uint64_t i = n; i-- > 0;) {
        uint64_t off = s->undo[i].off;
        if (off % 8 == 0 && off >= DG_UNDO_LO && off + 8 <= DG_UNDO_HI)
            memcpy((uint8_t *)s + off, &s->undo[i].old, 8);
    }
    dg__sync_commit(s);
    return dg__mutex_consistent(&s->lock);
}

static dragonError_t dg__sync_lock_rec(dg__sync_t *s)
{
    int died = 0;
    dragonError_t rc = dg__mutex_lock(&s->lock, &died);
    if (rc != DRAGON_OK)
        return rc;
    if (died) {
        rc = dg__sync_repair(s);
        if (rc != DRAGON_OK) {
            dg__mutex_unlock(&s->lock);
            return rc;
        }
    }
    return DRAGON_OK;
}

dragonError_t dg__sync_enter(const dragon_sync_t *h, uint32_t kind_mask, dg__sync_t **out)
{
    if (!h || !h->pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (h->kind >= 32 || !(kind_mask & DG_SYNC_KIND_BIT(h->kind)))
        return DRAGON_ERR_WRONG_KIND;
    /* The generation check catches handles of destroyed objects, also
     * another process's: the block was freed (and maybe reused) since. */
    dg__block_hdr_t *blk;
    dragonError_t rc = dg__pool_block(h->pool, h->offset, h->gen, DG_KIND_SYNC, &blk);
    if (rc != DRAGON_OK)
        return rc;
    dg__sync_t *s = dg__sync_rec(h->pool, h->offset);
    if (atomic_load_explicit(&s->magic, memory_order_acquire) != DG_SYNC_MAGIC ||
        atomic_load(&s->destroyed))
        return DRAGON_ERR_DESTROYED;
    rc = dg__sync_lock_rec(s);
    if (rc != DRAGON_OK)
        return rc;
    /* destroy sets the flag under the mutex before freeing the block. */
    if (atomic_load(&s->destroyed)) {
        dg__mutex_unlock(&s->lock);
        return DRAGON_ERR_DESTROYED;
    }
    *out = s;
    return DRAGON_OK;
}

void dg__sync_leave(dg__sync_t *s)
{
    dg__sync_commit(s);
    dg__mutex_unlock(&s->lock);
}

/* ---- handles ------------------------------------------------------------ */

/* A handle on the live sync record at (offset, gen) whose kind is in
 * kind_mask. A condition's lock is opened with LOCK/RLOCK only, so a
 * corrupted record cannot make this recurse. */
static dragonError_t dg__sync_open_kind(dragon_pool_t *pool, uint64_t offset, uint64_t gen,
                                        uint32_t kind_mask, dragon_sync_t **out)
{
    dg__block_hdr_t *blk;
    dragonError_t rc = dg__pool_block(pool, offset, gen, DG_KIND_SYNC, &blk);
    if (rc != DRAGON_OK)
        return rc;
    if (blk->size < sizeof(dg__sync_t))
        return DRAGON_ERR_BAD_DESCRIPTOR;
    dg__sync_t *s = dg__sync_rec(pool, offset);
    if (atomic_load_explicit(&s->magic, memory_order_acquire) != DG_SYNC_MAGIC ||
        atomic_load(&s->destroyed))
        return DRAGON_ERR_DESTROYED;
    uint32_t kind = s->kind;
    if (kind < DRAGON_SYNC_LOCK || kind > DRAGON_SYNC_CONDITION ||
        !(kind_mask & DG_SYNC_KIND_BIT(kind)))
        return DRAGON_ERR_BAD_DESCRIPTOR;
    dragon_sync_t *h = calloc(1, sizeof(*h));
    if (!h)
        return DRAGON_ERR_NO_MEMORY;
    h->pool = pool;
    h->offset = offset;
    h->size = blk->size;
    h->gen = gen;
    h->kind = kind;
    if (kind == DRAGON_SYNC_CONDITION) {
        /* The lock's location is immutable after create: no mutex needed. */
        rc = dg__sync_open_kind(pool, s->cond_lock_offset, s->cond_lock_gen, DG_LOCK_KINDS,
                                &h->lock);
        if (rc != DRAGON_OK) {
            free(h);
            return rc;
        }
    }
    *out = h;
    return DRAGON_OK;
}

dragonError_t dg__sync_open(dragon_pool_t *pool, uint64_t offset, uint64_t gen,
                            dragon_sync_t **out)
{
    return dg__sync_open_kind(pool, offset, gen, DG_ALL_KINDS, out);
}

/* Allocates and initialises a record. The block is owned by the creator
 * until the very end, then by nobody (a sync object outlives its creator):
 * a sync block still owned by a process at reclaim time was never handed
 * out, and dg__sync_reclaim frees it. */
static dragonError_t dg__sync_new(dragon_pool_t *pool, dragonSyncKind_t kind, int64_t value,
                                  int64_t max, const dragon_sync_t *lock, dragon_sync_t **out)
{
    uint64_t owner = pool->puid ? DG_OWNER_PROC(pool->puid) : DG_OWNER_NONE;
    dragon_alloc_t a;
    dragonError_t rc = dg__pool_alloc(pool, sizeof(dg__sync_t), DG_KIND_SYNC, owner, 0, &a);
    if (rc != DRAGON_OK)
        return rc;
    dg__sync_t *s = dg__sync_rec(pool, a.offset);
    memset((void *)s, 0, sizeof(*s));
    rc = dg__mutex_init(&s->lock);
    if (rc != DRAGON_OK) {
        dragon_pool_free(pool, a);
        return rc;
    }
    s->layout_version = DRAGON_LAYOUT_VERSION;
    s->kind = (uint32_t)kind;
    s->id = atomic_fetch_add(&pool->hdr->next_object_id, 1);
    s->value = value;
    s->max = max;
    if (kind == DRAGON_SYNC_BARRIER)
        s->parties = (uint64_t)value;
    if (lock) {
        s->cond_lock_offset = lock->offset;
        s->cond_lock_gen = lock->gen;
    }
    dg__event_init(&s->changed);
    atomic_store_explicit(&s->magic, DG_SYNC_MAGIC, memory_order_release);
    DG_CRASH_POINT("sync.create.half");
    dragon_sync_t *h = NULL;
    rc = dg__sync_open(pool, a.offset, a.gen, &h);
    if (rc == DRAGON_OK && owner != DG_OWNER_NONE)
        rc = dragon_alloc_set_owner(pool, a, 0);
    if (rc != DRAGON_OK) {
        if (h)
            dragon_sync_detach(h);
        dragon_pool_free(pool, a);
        return rc;
    }
    *out = h;
    return DRAGON_OK;
}

dragonError_t dragon_sync_create(dragon_pool_t *pool, dragonSyncKind_t kind, int64_t value,
                                 int64_t max, dragon_sync_t **out)
{
    if (!pool || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    switch (kind) {
    case DRAGON_SYNC_LOCK:
    case DRAGON_SYNC_RLOCK:
        value = 0;
        max = -1;
        break;
    case DRAGON_SYNC_SEMAPHORE:
        if (value < 0 || (max >= 0 && value > max))
            return DRAGON_ERR_INVALID_ARGUMENT;
        if (max < 0)
            max = -1;
        break;
    case DRAGON_SYNC_EVENT:
        value = value != 0;
        max = -1;
        break;
    case DRAGON_SYNC_BARRIER:
        if (value < 1)
            return DRAGON_ERR_INVALID_ARGUMENT;
        max = -1;
        break;
    case DRAGON_SYNC_CONDITION: /* needs its lock: dragon_cond_create */
    default:
        return DRAGON_ERR_INVALID_ARGUMENT;
    }
    return dg__sync_new(pool, kind, value, max, NULL, out);
}

dragonError_t dragon_cond_create(dragon_pool_t *pool, dragon_sync_t *lock, dragon_sync_t **out)
{
    if (!pool || !lock || !out || !lock->pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (!(DG_LOCK_KINDS & DG_SYNC_KIND_BIT(lock->kind)))
        return DRAGON_ERR_WRONG_KIND;
    /* The condition records the lock by its allocation, so both must live
     * in the same pool (possibly through different handles). */
    if (lock->pool->hdr->rtid != pool->hdr->rtid ||
        lock->pool->hdr->pool_id != pool->hdr->pool_id)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *ls;
    dragonError_t rc = dg__sync_enter(lock, DG_LOCK_KINDS, &ls);
    if (rc != DRAGON_OK)
        return rc;
    dg__sync_leave(ls);
    return dg__sync_new(pool, DRAGON_SYNC_CONDITION, 0, -1, lock, out);
}

dragonError_t dragon_sync_attach(dragon_pool_t *pool, const uint8_t *desc, size_t len,
                                 dragon_sync_t **out)
{
    if (!pool || !desc || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(desc, len, DRAGON_DESC_SYNC, &d);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__pool_check_desc(pool, &d);
    if (rc != DRAGON_OK)
        return rc;
    dragon_sync_t *h;
    rc = dg__sync_open(pool, d.offset, d.gen, &h);
    if (rc == DRAGON_ERR_INVALID_ARGUMENT)
        return DRAGON_ERR_BAD_DESCRIPTOR; /* offset that names no block */
    if (rc != DRAGON_OK)
        return rc;
    if (h->kind != d.extra || h->size != d.size) {
        dragon_sync_detach(h);
        return DRAGON_ERR_BAD_DESCRIPTOR;
    }
    *out = h;
    return DRAGON_OK;
}

dragonError_t dragon_sync_detach(dragon_sync_t *h)
{
    if (!h)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (h->lock)
        dragon_sync_detach(h->lock);
    free(h);
    return DRAGON_OK;
}

/* Waiters woken by destroy step out of the futex and decrement
 * changed.sleepers afterwards; give them a moment to do so before the block
 * can be reused (a sleeper of a dead process never leaves: bounded). */
static void dg__sync_drain(dg__sync_t *s)
{
    for (int i = 0; i < 2000 && atomic_load(&s->changed.sleepers) != 0; i++) {
        if (i < 100) {
            sched_yield();
        } else {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
}

dragonError_t dragon_sync_destroy(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_ALL_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    /* The flag is the commit: from here every enter fails; the wake-up makes
     * sleepers retry and see it. The lock a condition uses is not ours. */
    atomic_store(&s->destroyed, 1);
    dg__event_signal(h->pool, &s->changed);
    dg__sync_leave(s);
    dg__sync_drain(s);
    dragon_alloc_t a = {.offset = h->offset, .size = h->size, .gen = h->gen};
    rc = dragon_pool_free(h->pool, a);
    if (rc != DRAGON_OK && rc != DRAGON_ERR_DESTROYED)
        return rc;
    dragon_sync_detach(h);
    return DRAGON_OK;
}

dragonError_t dragon_sync_serialize(const dragon_sync_t *h, uint8_t *buf, size_t cap, size_t *len)
{
    if (!h || !h->pool || !buf)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    memset(&d, 0, sizeof(d));
    dg__pool_fill_desc(h->pool, &d);
    d.kind = DRAGON_DESC_SYNC;
    d.offset = h->offset;
    d.size = h->size;
    d.gen = h->gen;
    d.extra = h->kind;
    return dg__desc_encode(&d, buf, cap, len);
}

dragonError_t dragon_sync_kind(const dragon_sync_t *h, dragonSyncKind_t *kind)
{
    if (!h || !kind)
        return DRAGON_ERR_INVALID_ARGUMENT;
    *kind = (dragonSyncKind_t)h->kind;
    return DRAGON_OK;
}

dragonError_t dragon_sync_watch(dragon_sync_t *h, dragon_waiter_t *w, uint32_t bit)
{
    if (!w)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_ALL_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    /* Registered under the mutex: destroy cannot free the event meanwhile. */
    rc = dg__event_watch(h->pool, &s->changed, w, bit);
    dg__sync_leave(s);
    return rc;
}

dragonError_t dragon_sync_unwatch(dragon_sync_t *h, dragon_waiter_t *w)
{
    if (!w)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_ALL_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__event_unwatch(h->pool, &s->changed, w);
    dg__sync_leave(s);
    return rc;
}

dragonError_t dg__sync_block_until(dragon_sync_t *h, dg__try_fn try_op, void *ctx,
                                   uint64_t deadline_us)
{
    dragonError_t rc = try_op(ctx);
    if (rc != DRAGON_ERR_TIMEOUT || deadline_us == 0)
        return rc;
    /* Sleepers are registered under the handle's puid, so reclaim can drop
     * the registration of a process killed while asleep. */
    return dg__event_wait(&dg__sync_rec(h->pool, h->offset)->changed, h->pool->puid, 0, try_op,
                          ctx, deadline_us, &h->spin_budget);
}

static dragonError_t dg__sync_block(dragon_sync_t *h, dg__try_fn try_op, void *ctx,
                                    int64_t timeout_us)
{
    return dg__sync_block_until(h, try_op, ctx, dg__deadline(timeout_us));
}

/* ---- LOCK and RLOCK -------------------------------------------------------
 * count > 0 means held; owner is the holder's puid (a LOCK may be released
 * by anyone, an RLOCK only by its owner). Owned per process, not per
 * thread: threads of one process share an RLOCK's ownership. */

typedef struct {
    dragon_sync_t *h;
    uint64_t depth;
} dg__lock_ctx_t;

static dragonError_t dg__lock_try(void *p)
{
    dg__lock_ctx_t *c = p;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(c->h, DG_LOCK_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    uint64_t me = c->h->pool->puid;
    if (s->count == 0) {
        /* count is what makes it held: owner alone means nothing. */
        DG_SYNC_SET(s, owner, me);
        DG_CRASH_POINT("sync.lock.half");
        DG_SYNC_SET(s, count, c->h->kind == DRAGON_SYNC_RLOCK ? c->depth : 1);
    } else if (c->h->kind == DRAGON_SYNC_RLOCK && s->owner == me) {
        if (s->count > UINT64_MAX - c->depth)
            rc = DRAGON_ERR_OVERFLOW;
        else
            DG_SYNC_SET(s, count, s->count + c->depth);
    } else {
        rc = DRAGON_ERR_TIMEOUT;
    }
    dg__sync_commit(s);
    if (rc == DRAGON_OK)
        DG_CRASH_POINT("sync.lock.acquired"); /* held by a dead process: reclaim's job */
    dg__sync_leave(s);
    return rc;
}

dragonError_t dg__sync_lock_take(dragon_sync_t *h, uint64_t depth, int64_t timeout_us)
{
    dg__lock_ctx_t c = {.h = h, .depth = depth ? depth : 1};
    return dg__sync_block(h, dg__lock_try, &c, timeout_us);
}

dragonError_t dragon_lock_acquire(dragon_sync_t *h, int64_t timeout_us)
{
    return dg__sync_lock_take(h, 1, timeout_us);
}

/* Whether the caller may release the lock (must_own = 0: a LOCK may be
 * released by anyone, as in Python) or wait/notify with it (must_own = 1:
 * like multiprocessing's Condition, which asserts the lock is the caller's,
 * for a LOCK too). owner is valid whenever count > 0: it is written before
 * count on acquire and cleared after it on release. */
static dragonError_t dg__lock_may_release(const dragon_sync_t *h, const dg__sync_t *s,
                                          int must_own)
{
    if (s->count == 0)
        return DRAGON_ERR_NOT_HELD;
    if ((must_own || h->kind == DRAGON_SYNC_RLOCK) && s->owner != h->pool->puid)
        return DRAGON_ERR_NOT_OWNER;
    return DRAGON_OK;
}

/* Frees the lock (count first: that is the release; owner is cosmetic).
 * Every blocking waiter of a lock wants to take it, so one wake-up is
 * enough (a woken waiter that fails for another reason passes it on). */
static void dg__lock_free(dragon_sync_t *h, dg__sync_t *s)
{
    DG_SYNC_SET(s, count, 0);
    DG_CRASH_POINT("sync.lock.release");
    DG_SYNC_SET(s, owner, 0);
    dg__event_signal_one(h->pool, &s->changed);
}

dragonError_t dragon_lock_release(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_LOCK_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__lock_may_release(h, s, 0);
    if (rc == DRAGON_OK) {
        if (h->kind == DRAGON_SYNC_RLOCK && s->count > 1)
            DG_SYNC_SET(s, count, s->count - 1); /* still held: nobody to wake */
        else
            dg__lock_free(h, s);
    }
    dg__sync_leave(s);
    return rc;
}

dragonError_t dg__sync_lock_drop(dragon_sync_t *h, uint64_t *depth)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_LOCK_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__lock_may_release(h, s, 1);
    if (rc == DRAGON_OK) {
        *depth = s->count;
        dg__lock_free(h, s);
    }
    dg__sync_leave(s);
    return rc;
}

dragonError_t dg__sync_lock_check(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_LOCK_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__lock_may_release(h, s, 1);
    dg__sync_leave(s);
    return rc;
}

dragonError_t dragon_lock_owner(const dragon_sync_t *h, uint64_t *puid, uint64_t *count)
{
    if (!puid || !count)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_LOCK_KINDS, &s);
    if (rc != DRAGON_OK)
        return rc;
    *puid = s->count ? s->owner : 0;
    *count = s->count;
    dg__sync_leave(s);
    return DRAGON_OK;
}

/* ---- SEMAPHORE ------------------------------------------------------------
 * holders[] remembers, per puid, the units it acquired that no release has
 * matched yet, so reclaim can give them back. A release first matches the
 * releaser's own units, then other holders' (lowest slot first): the total
 * tracked never exceeds the units actually out, so reclaim can never create
 * units (a lock-like semaphore never admits more than its count). Not
 * tracked, hence never given back by reclaim: units of a puid beyond the
 * DG_SYNC_HOLDERS table, and units whose release another process made on
 * the holder's behalf (they were charged to whoever was first in the table).
 * A semaphore used as a signal (one side releases, the other acquires) may
 * get back, at most, the units its dead consumer took since the last
 * release. */

static dg__sync_holder_t *dg__holder_of(dg__sync_t *s, uint64_t puid)
{
    for (int i = 0; i < DG_SYNC_HOLDERS; i++)
        if (s->holders[i].count != 0 && s->holders[i].puid == puid)
            return &s->holders[i];
    return NULL;
}

static dg__sync_holder_t *dg__holder_free_slot(dg__sync_t *s)
{
    for (int i = 0; i < DG_SYNC_HOLDERS; i++)
        if (s->holders[i].count == 0)
            return &s->holders[i];
    return NULL;
}

static dragonError_t dg__sem_try(void *p)
{
    dragon_sync_t *h = p;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_SYNC_KIND_BIT(DRAGON_SYNC_SEMAPHORE), &s);
    if (rc != DRAGON_OK)
        return rc;
    if (s->value <= 0) {
        dg__sync_leave(s);
        return DRAGON_ERR_TIMEOUT;
    }
    DG_SYNC_SET(s, value, s->value - 1);
    DG_CRASH_POINT("sync.sem.half");
    uint64_t me = h->pool->puid;
    dg__sync_holder_t *e = dg__holder_of(s, me);
    if (e) {
        DG_SYNC_SET(s, holders[e - s->holders].count, e->count + 1);
    } else if ((e = dg__holder_free_slot(s)) != NULL) {
        size_t i = (size_t)(e - s->holders);
        DG_SYNC_SET(s, holders[i].puid, me);
        DG_SYNC_SET(s, holders[i].count, 1);
    }
    dg__sync_commit(s);
    DG_CRASH_POINT("sync.sem.acquired");
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_sem_acquire(dragon_sync_t *h, int64_t timeout_us)
{
    return dg__sync_block(h, dg__sem_try, h, timeout_us);
}

/* Matches n released units against holders[] (see above). */
static void dg__sem_uncharge(dg__sync_t *s, uint64_t me, uint64_t n)
{
    dg__sync_holder_t *own = dg__holder_of(s, me);
    if (own) {
        uint64_t d = own->count < n ? own->count : n;
        DG_SYNC_SET(s, holders[own - s->holders].count, own->count - d);
        n -= d;
    }
    for (int i = 0; i < DG_SYNC_HOLDERS && n > 0; i++) {
        uint64_t c = s->holders[i].count;
        if (c == 0)
            continue;
        uint64_t d = c < n ? c : n;
        DG_SYNC_SET(s, holders[i].count, c - d);
        n -= d;
    }
}

dragonError_t dragon_sem_release(dragon_sync_t *h, uint64_t n)
{
    if (n == 0)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_SYNC_KIND_BIT(DRAGON_SYNC_SEMAPHORE), &s);
    if (rc != DRAGON_OK)
        return rc;
    if (n > (uint64_t)(INT64_MAX - s->value) ||
        (s->max >= 0 && s->value + (int64_t)n > s->max)) {
        dg__sync_leave(s);
        return DRAGON_ERR_OVERFLOW;
    }
    /* The value is the release; the holder bookkeeping after it is
     * advisory (a checkpoint inside it leaves a valid, if less precise,
     * record). */
    DG_SYNC_SET(s, value, s->value + (int64_t)n);
    dg__sem_uncharge(s, h->pool->puid, n);
    if (n == 1)
        dg__event_signal_one(h->pool, &s->changed); /* one unit: one taker */
    else
        dg__event_signal(h->pool, &s->changed);
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_sem_value(const dragon_sync_t *h, int64_t *value)
{
    if (!value)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_SYNC_KIND_BIT(DRAGON_SYNC_SEMAPHORE), &s);
    if (rc != DRAGON_OK)
        return rc;
    *value = s->value;
    dg__sync_leave(s);
    return DRAGON_OK;
}

/* ---- EVENT ----------------------------------------------------------------
 * value is the flag; generation counts sets, so a blocking wait that saw
 * the flag clear returns OK when a set happened meanwhile even if a clear
 * followed (Python's Event.wait behaves the same). */

dragonError_t dragon_event_set(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_SYNC_KIND_BIT(DRAGON_SYNC_EVENT), &s);
    if (rc != DRAGON_OK)
        return rc;
    if (s->value == 0) {
        DG_SYNC_SET(s, value, 1);
        DG_SYNC_SET(s, generation, s->generation + 1);
        dg__event_signal(h->pool, &s->changed);
    }
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_event_clear(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_SYNC_KIND_BIT(DRAGON_SYNC_EVENT), &s);
    if (rc != DRAGON_OK)
        return rc;
    if (s->value != 0)
        DG_SYNC_SET(s, value, 0); /* nobody waits for a clear: no signal */
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_event_is_set(const dragon_sync_t *h, int *is_set)
{
    if (!is_set)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_SYNC_KIND_BIT(DRAGON_SYNC_EVENT), &s);
    if (rc != DRAGON_OK)
        return rc;
    *is_set = s->value != 0;
    dg__sync_leave(s);
    return DRAGON_OK;
}

typedef struct {
    dragon_sync_t *h;
    int started;
    uint64_t gen0;
} dg__event_ctx_t;

static dragonError_t dg__event_try(void *p)
{
    dg__event_ctx_t *c = p;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(c->h, DG_SYNC_KIND_BIT(DRAGON_SYNC_EVENT), &s);
    if (rc != DRAGON_OK)
        return rc;
    if (!c->started) {
        c->started = 1;
        c->gen0 = s->generation;
    }
    rc = (s->value != 0 || s->generation != c->gen0) ? DRAGON_OK : DRAGON_ERR_TIMEOUT;
    dg__sync_leave(s);
    return rc;
}

dragonError_t dragon_event_wait(dragon_sync_t *h, int64_t timeout_us)
{
    dg__event_ctx_t c = {.h = h};
    return dg__sync_block(h, dg__event_try, &c, timeout_us);
}

/* ---- reclaim --------------------------------------------------------------
 * Called by dragon_pool_reclaim for every live sync block after process
 * puid died. Locking the mutex repairs the record if puid died inside a
 * critical section; then what puid held is given back, one committed step
 * at a time. */

void dg__sync_reclaim(dragon_pool_t *pool, dg__block_hdr_t *blk, uint64_t puid,
                      dragon_reclaim_stats_t *st)
{
    dragon_reclaim_stats_t dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    if (!pool || !blk || blk->kind != DG_KIND_SYNC || blk->size < sizeof(dg__sync_t))
        return;
    dg__sync_t *s = (dg__sync_t *)((uint8_t *)blk + sizeof(dg__block_hdr_t));
    if (atomic_load(&blk->owner) == DG_OWNER_PROC(puid) && puid != 0) {
        /* The creator died inside dragon_sync_create: nobody has it. */
        dragon_alloc_t a = {.offset = (uint64_t)((uint8_t *)s - pool->heap),
                            .size = blk->size,
                            .gen = blk->gen};
        if (dragon_pool_free(pool, a) == DRAGON_OK) {
            st->allocs_freed++;
            st->bytes_freed += a.size;
        }
        return;
    }
    if (atomic_load_explicit(&s->magic, memory_order_acquire) != DG_SYNC_MAGIC)
        return;
    if (dg__sync_lock_rec(s) != DRAGON_OK)
        return;
    if (atomic_load(&s->destroyed) || puid == 0) {
        dg__sync_leave(s);
        return;
    }
    switch (s->kind) {
    case DRAGON_SYNC_LOCK:
    case DRAGON_SYNC_RLOCK:
        if (s->count > 0 && s->owner == puid) {
            DG_SYNC_SET(s, count, 0);
            DG_SYNC_SET(s, owner, 0);
            st->locks_released++;
        }
        break;
    case DRAGON_SYNC_SEMAPHORE: {
        dg__sync_holder_t *e;
        while ((e = dg__holder_of(s, puid)) != NULL) {
            /* Give back what the bound allows (units released on the dead
             * process's behalf were charged elsewhere; see above). */
            uint64_t units = e->count;
            if (s->max >= 0 && units > (uint64_t)(s->max - s->value))
                units = s->max > s->value ? (uint64_t)(s->max - s->value) : 0;
            if (units > (uint64_t)(INT64_MAX - s->value))
                units = (uint64_t)(INT64_MAX - s->value);
            DG_SYNC_SET(s, value, s->value + (int64_t)units);
            DG_SYNC_SET(s, holders[e - s->holders].count, 0);
            dg__sync_commit(s);
            st->locks_released += units;
        }
        break;
    }
    case DRAGON_SYNC_BARRIER:
        dg__sync_barrier_reclaim(pool, s, puid, st);
        break;
    case DRAGON_SYNC_CONDITION:
        dg__sync_cond_reclaim(pool, s, puid, st);
        break;
    default:
        break;
    }
    dg__sync_commit(s);
    /* Its sleeper registrations and doorbell watches go; then everybody
     * asleep gets a look, in case the dead process had taken the single
     * wake-up of a signal-one (lock or unit release) without using it. */
    dg__event_reclaim(pool, &s->changed, puid);
    dg__event_signal(pool, &s->changed);
    dg__sync_leave(s);
}
