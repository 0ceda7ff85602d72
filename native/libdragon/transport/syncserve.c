/* GW_SYNC: operations of remote clients on this node's sync objects.
 * Every op runs AS its caller: the sync object is attached through a pool
 * handle attached with the caller's puid, so lock owners, semaphore units
 * and barrier arrivals are recorded under the real process and
 * dragon_pool_reclaim(puid) gives them back when it dies. Blocking ops
 * (acquire, event wait, barrier wait) are tried with timeout 0; one that
 * would block waits in its object's queue, the object watched through the
 * agent's own pool handle (one doorbell per pool, whoever the callers are),
 * and is retried on every ring until its deadline.
 * A condition wait has three steps, all as the caller: wait_begin (releases
 * the lock, takes a ticket), wait_check until notified or the deadline
 * (then the ticket is cancelled), and wait_end, the re-acquire, which is not
 * bounded by the deadline (Python re-acquires before returning). While it
 * re-acquires, the op pins the lock's record (an sobj watched even with an
 * empty queue): every ring retries every pending op, so the lock's release
 * wakes it. */
#include <stdlib.h>
#include <string.h>
#include "agent.h"

#define SYNC_BIT 2u

/* A pool handle attached as one caller. Only sync handles of in-flight ops
 * hold it (refs); never watched, so it can be detached whenever refs == 0. */
typedef struct cpool {
    struct cpool *next;
    uint64_t rtid, pool_id, puid;
    dragon_pool_t *pool;
    int refs;
    uint64_t used; /* LRU tick */
} cpool_t;

typedef struct sobj sobj_t;
typedef struct sop sop_t;
struct sop {
    sop_t *next;
    int peer;
    uint64_t xid;
    uint32_t sop;
    uint64_t deadline;
    cpool_t *cp;
    dragon_sync_t *h; /* attached through cp: the op is done as the caller */
    int arrived;      /* barrier: ticket and index are valid */
    uint64_t ticket, index;
    int cancelled;    /* SOP_CANCEL named it: its deadline is now */
    /* condition wait: 0 begin, 1 waiting for a notify (ticket), 2 re-acquiring (depth) */
    int phase;
    uint64_t depth;
    dragonError_t result; /* of phase 1: OK (notified) or TIMEOUT */
    sobj_t *pin;          /* phase 2: the lock's record, kept watched */
};

/* A sync object with pending ops (or pinned by condition waits that
 * re-acquire it); freed as soon as neither is left. */
struct sobj {
    struct sobj *next;
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_pool_t *pool;  /* the agent's own handle (pools_get), borrowed */
    dragon_sync_t *watch; /* attached through it; only watched */
    sop_t *q;             /* pending ops, in arrival order */
    int pins;
    int watched;
};

static dragonError_t sobj_get(agent_t *a, const uint8_t *desc, sobj_t **out);

static void sreply(agent_t *a, int peer, uint64_t xid, dragonError_t rc, uint64_t value,
                   const void *payload, uint64_t plen)
{
    (void)wire_reply(a, peer, GW_SYNC, xid, rc, value, payload, plen);
}

/* ---- pool handles per (pool, caller puid) ---- */

static void cpool_trim(agent_t *a)
{
    while (a->ncpools > CPOOL_MAX) {
        cpool_t **victim = NULL;
        for (cpool_t **pp = (cpool_t **)&a->cpools; *pp; pp = &(*pp)->next)
            if ((*pp)->refs == 0 && (!victim || (*pp)->used < (*victim)->used))
                victim = pp;
        if (!victim)
            return; /* every handle has an op pending: over the bound until they end */
        cpool_t *c = *victim;
        *victim = c->next;
        dragon_pool_detach(c->pool);
        free(c);
        a->ncpools--;
    }
}

static dragonError_t cpool_get(agent_t *a, const uint8_t *desc, uint64_t puid, cpool_t **out)
{
    uint32_t kind;
    uint64_t rtid, pool_id, host;
    dragonError_t rc = dragon_desc_inspect(desc, DRAGON_DESC_BYTES, &kind, &rtid, &pool_id, &host);
    if (rc)
        return rc;
    for (cpool_t *c = a->cpools; c; c = c->next)
        if (c->rtid == rtid && c->pool_id == pool_id && c->puid == puid) {
            c->refs++;
            c->used = ++a->cp_tick;
            *out = c;
            return DRAGON_OK;
        }
    uint8_t pd[DRAGON_DESC_BYTES];
    size_t pl = 0;
    if ((rc = dragon_desc_pool(desc, DRAGON_DESC_BYTES, pd, sizeof pd, &pl)))
        return rc;
    cpool_t *c = calloc(1, sizeof *c);
    if (!c)
        return DRAGON_ERR_NO_MEMORY;
    if ((rc = dragon_pool_attach(pd, pl, a->rtid, puid, &c->pool))) {
        free(c);
        return rc;
    }
    c->rtid = rtid;
    c->pool_id = pool_id;
    c->puid = puid;
    c->refs = 1;
    c->used = ++a->cp_tick;
    c->next = a->cpools;
    a->cpools = c;
    a->ncpools++;
    cpool_trim(a);
    *out = c;
    return DRAGON_OK;
}

/* ---- ops ---- */

static void sop_free(agent_t *a, sop_t *o)
{
    if (o->pin)
        o->pin->pins--; /* freed by the next sync_run if nothing else holds it */
    if (o->h)
        dragon_sync_detach(o->h);
    if (o->cp)
        o->cp->refs--;
    free(o);
    cpool_trim(a);
}

static int is_blocking(uint32_t sop)
{
    return sop == SOP_LOCK_ACQUIRE || sop == SOP_SEM_ACQUIRE || sop == SOP_EVENT_WAIT ||
           sop == SOP_BARRIER_WAIT || sop == SOP_COND_WAIT;
}

/* A condition wait that re-acquires: watch the lock (through its own
 * record, shared with remote acquires of that lock). Failing that, a timer
 * retries (a->retry_soon). */
static void cond_pin(agent_t *a, sop_t *o)
{
    dragon_sync_t *lk = NULL;
    uint8_t d[DRAGON_DESC_BYTES];
    size_t n = 0;
    sobj_t *ls = NULL;
    dragonError_t rc = dragon_cond_lock(o->h, &lk);
    if (!rc) {
        rc = dragon_sync_serialize(lk, d, sizeof d, &n);
        dragon_sync_detach(lk);
    }
    if (!rc)
        rc = sobj_get(a, d, &ls);
    if (rc) {
        a->retry_soon = 1;
        return;
    }
    ls->pins++;
    o->pin = ls;
    if (!ls->watched) {
        if (dragon_sync_watch(ls->watch, a->waiter, SYNC_BIT) == DRAGON_OK)
            ls->watched = 1;
        else
            a->retry_soon = 1;
    }
}

/* Condition wait: begin, then wait for the notify until the deadline (or a
 * cancel), then re-acquire whatever time that takes. */
static int cond_step(agent_t *a, sop_t *o, uint64_t now, dragonError_t *out)
{
    dragonError_t rc;
    if (o->phase == 0) {
        /* NOT_OWNER / NOT_HELD when the caller does not hold the lock */
        if ((rc = dragon_cond_wait_begin(o->h, &o->ticket, &o->depth))) {
            *out = rc;
            return 0;
        }
        o->phase = 1;
    }
    if (o->phase == 1) {
        rc = o->cancelled ? DRAGON_ERR_TIMEOUT : dragon_cond_wait_check(o->h, o->ticket, 0);
        if (rc == DRAGON_ERR_TIMEOUT) {
            if (!o->cancelled && o->deadline > now)
                return 1;
            /* Gives the ticket up; a notify that reached it meanwhile is
             * passed on to the next waiter, so TIMEOUT is still right. */
            dragonError_t crc = dragon_cond_wait_cancel(o->h, o->ticket);
            if (crc)
                rc = crc;
        }
        o->result = rc;
        o->phase = 2;
        o->deadline = UINT64_MAX; /* the re-acquire has no deadline */
    }
    rc = dragon_cond_wait_end(o->h, o->depth, 0);
    if (rc == DRAGON_ERR_TIMEOUT && !o->pin) {
        cond_pin(a, o);
        rc = dragon_cond_wait_end(o->h, o->depth, 0); /* watched first: no lost wake-up */
    }
    if (rc == DRAGON_ERR_TIMEOUT)
        return 1;
    *out = rc ? rc : o->result;
    return 0;
}

/* Advances a blocking op: 1 while it must wait, else 0 with *out = its
 * answer. The try comes before the deadline check: an op that succeeds now
 * is OK even if its deadline passed while it waited for its turn. A
 * cancelled op is not tried again: its deadline is now. At the deadline a
 * barrier ticket is cancelled (breaks the round, or OK if it passed
 * meanwhile), as a local wait does. */
static int sop_step(agent_t *a, sop_t *o, uint64_t now, dragonError_t *out)
{
    dragonError_t rc;
    int expired = o->cancelled || o->deadline <= now;
    switch (o->sop) {
    case SOP_COND_WAIT:
        return cond_step(a, o, now, out);
    case SOP_BARRIER_WAIT:
        if (!o->arrived) {
            if ((rc = dragon_barrier_arrive(o->h, &o->ticket, &o->index))) {
                *out = rc;
                return 0;
            }
            o->arrived = 1;
        }
        rc = o->cancelled ? DRAGON_ERR_TIMEOUT : dragon_barrier_check(o->h, o->ticket, 0);
        if (rc == DRAGON_ERR_TIMEOUT) {
            if (!expired)
                return 1;
            rc = dragon_barrier_cancel(o->h, o->ticket);
        }
        *out = rc;
        return 0;
    case SOP_LOCK_ACQUIRE:
        rc = o->cancelled ? DRAGON_ERR_TIMEOUT : dragon_lock_acquire(o->h, 0);
        break;
    case SOP_SEM_ACQUIRE:
        rc = o->cancelled ? DRAGON_ERR_TIMEOUT : dragon_sem_acquire(o->h, 0);
        break;
    case SOP_EVENT_WAIT:
        rc = o->cancelled ? DRAGON_ERR_TIMEOUT : dragon_event_wait(o->h, 0);
        break;
    default:
        rc = DRAGON_ERR_INVALID_ARGUMENT;
    }
    if (rc == DRAGON_ERR_TIMEOUT && !expired)
        return 1;
    *out = rc;
    return 0;
}

static void sop_finish(agent_t *a, sop_t *o, dragonError_t rc)
{
    uint64_t value = o->sop == SOP_BARRIER_WAIT && rc == DRAGON_OK ? o->index : 0;
    sreply(a, o->peer, o->xid, rc, value, NULL, 0);
    sop_free(a, o);
}

/* An op whose client is gone (lost peer, exit): no answer. A barrier
 * arrival is cancelled and a condition ticket given up (as reclaim would);
 * a condition wait's lock is not re-acquired for a process that is gone. */
static void sop_drop(agent_t *a, sop_t *o)
{
    if (o->sop == SOP_BARRIER_WAIT && o->arrived)
        dragon_barrier_cancel(o->h, o->ticket);
    if (o->sop == SOP_COND_WAIT && o->phase == 1)
        dragon_cond_wait_cancel(o->h, o->ticket);
    sop_free(a, o);
}

/* Retries the queue in order; returns the earliest deadline still pending. */
static uint64_t sobj_pass(agent_t *a, sobj_t *s)
{
    uint64_t now = dg__now_us(), next = UINT64_MAX;
    for (sop_t **pp = &s->q; *pp;) {
        sop_t *o = *pp;
        if (a->peers[o->peer].lost) {
            *pp = o->next; /* nobody to answer */
            sop_drop(a, o);
            continue;
        }
        dragonError_t rc;
        if (!sop_step(a, o, now, &rc)) {
            *pp = o->next;
            sop_finish(a, o, rc);
            continue;
        }
        if (o->deadline < next)
            next = o->deadline;
        pp = &o->next;
    }
    return next;
}

/* Watch while ops are pending: register, then retry, then sleep (no lost
 * wake-up). Returns 1 when the queue is empty (the caller frees s). */
static int sobj_settle(agent_t *a, sobj_t *s, uint64_t *next)
{
    *next = sobj_pass(a, s);
    if ((s->q || s->pins) && !s->watched) {
        if (dragon_sync_watch(s->watch, a->waiter, SYNC_BIT) == DRAGON_OK) {
            s->watched = 1;
            *next = sobj_pass(a, s);
        } else {
            a->retry_soon = 1; /* cannot watch (destroyed?): the next try will say */
        }
    }
    return !s->q && !s->pins;
}

static void sobj_free(agent_t *a, sobj_t *s)
{
    if (s->watched)
        dragon_sync_unwatch(s->watch, a->waiter);
    dragon_sync_detach(s->watch);
    free(s);
}

static void sobj_unlink(agent_t *a, sobj_t *s)
{
    for (sobj_t **pp = (sobj_t **)&a->sobjs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            return;
        }
}

static dragonError_t sobj_get(agent_t *a, const uint8_t *desc, sobj_t **out)
{
    for (sobj_t *s = a->sobjs; s; s = s->next)
        if (!memcmp(s->desc, desc, DRAGON_DESC_BYTES)) {
            *out = s;
            return DRAGON_OK;
        }
    sobj_t *s = calloc(1, sizeof *s);
    if (!s)
        return DRAGON_ERR_NO_MEMORY;
    dragonError_t rc = pools_get(a, desc, &s->pool);
    if (!rc)
        rc = dragon_sync_attach(s->pool, desc, DRAGON_DESC_BYTES, &s->watch);
    if (rc) {
        free(s);
        return rc;
    }
    memcpy(s->desc, desc, DRAGON_DESC_BYTES);
    s->next = a->sobjs;
    a->sobjs = s;
    *out = s;
    return DRAGON_OK;
}

/* The ops that never block: done at once, answered with their results. */
static void sync_now(agent_t *a, int peer, uint64_t xid, dragon_sync_t *h, const gw_sync_t *q)
{
    dragonError_t rc;
    uint64_t value = 0, pl[DRAGON_DESC_BYTES / 8] = {0};
    uint64_t plen = 0;
    switch (q->sop) {
    case SOP_LOCK_RELEASE:
        rc = dragon_lock_release(h);
        break;
    case SOP_LOCK_OWNER:
        rc = dragon_lock_owner(h, &value, &pl[0]);
        plen = rc ? 0 : 8;
        break;
    case SOP_SEM_RELEASE:
        rc = dragon_sem_release(h, q->arg0);
        break;
    case SOP_SEM_VALUE: {
        int64_t v = 0;
        rc = dragon_sem_value(h, &v);
        value = (uint64_t)v;
        break;
    }
    case SOP_EVENT_SET:
        rc = dragon_event_set(h);
        break;
    case SOP_EVENT_CLEAR:
        rc = dragon_event_clear(h);
        break;
    case SOP_EVENT_IS_SET: {
        int set = 0;
        rc = dragon_event_is_set(h, &set);
        value = set ? 1 : 0;
        break;
    }
    case SOP_BARRIER_ABORT:
        rc = dragon_barrier_abort(h);
        break;
    case SOP_BARRIER_RESET:
        rc = dragon_barrier_reset(h);
        break;
    case SOP_BARRIER_STATE: {
        int broken = 0;
        rc = dragon_barrier_state(h, &value, &pl[0], &broken);
        pl[1] = broken ? 1 : 0;
        plen = rc ? 0 : 16;
        break;
    }
    case SOP_COND_NOTIFY:
        rc = dragon_cond_notify(h, q->arg0);
        break;
    case SOP_COND_NOTIFY_ALL:
        rc = dragon_cond_notify_all(h);
        break;
    case SOP_COND_LOCK: {
        /* The lock's descriptor, so the client can attach it (its ops then
         * go through the LOCK sops); value = its kind. */
        dragon_sync_t *lk = NULL;
        dragonSyncKind_t k = 0;
        size_t n = 0;
        rc = dragon_cond_lock(h, &lk);
        if (!rc) {
            rc = dragon_sync_serialize(lk, (uint8_t *)pl, sizeof pl, &n);
            if (!rc)
                rc = dragon_sync_kind(lk, &k);
            dragon_sync_detach(lk);
        }
        value = rc ? 0 : (uint64_t)k;
        plen = rc ? 0 : n;
        break;
    }
    default:
        rc = DRAGON_ERR_INVALID_ARGUMENT;
    }
    sreply(a, peer, xid, rc, value, pl, plen);
}

static void sobj_drop_if_idle(agent_t *a, sobj_t *s, uint64_t *next)
{
    if (sobj_settle(a, s, next)) {
        sobj_unlink(a, s);
        sobj_free(a, s);
    }
}

/* SOP_CANCEL: arg1 = the xid (of this peer) of the op to cancel, put there
 * by the origin agent. The op is handled as if its deadline were now, so it
 * is answered first (TIMEOUT, or what a deadline gives: a barrier ticket
 * cancelled, a condition wait's ticket given up and its lock re-acquired);
 * then the cancel itself: OK, value 1 if such an op was pending here, 0 if
 * not (answered already, or a condition wait already re-acquiring). */
static void sync_cancel(agent_t *a, int peer, uint64_t xid, const gw_sync_t *q)
{
    sobj_t *hit = NULL;
    for (sobj_t *s = a->sobjs; s && !hit; s = s->next)
        for (sop_t *o = s->q; o; o = o->next)
            if (o->peer == peer && o->xid == q->arg1 && o->cp->puid == q->caller &&
                !o->cancelled && !(o->sop == SOP_COND_WAIT && o->phase == 2)) {
                o->cancelled = 1;
                hit = s;
                break;
            }
    if (hit) {
        uint64_t next;
        sobj_drop_if_idle(a, hit, &next);
    }
    sreply(a, peer, xid, DRAGON_OK, hit ? 1 : 0, NULL, 0);
}

static dragonError_t sync_request1(agent_t *a, int peer, const wire_hdr_t *h,
                                   const uint8_t *payload);

/* A reply can fail to post and mark a peer lost right away (peer_lost ->
 * sync_peer_lost): while a pass walks the queues the cleanup is left to
 * sobj_pass, which drops ops of lost peers. */
dragonError_t sync_request(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload)
{
    a->sync_pass++;
    dragonError_t rc = sync_request1(a, peer, h, payload);
    a->sync_pass--;
    return rc;
}

static dragonError_t sync_request1(agent_t *a, int peer, const wire_hdr_t *h,
                                   const uint8_t *payload)
{
    gw_sync_t q;
    uint32_t kind;
    uint64_t rtid, pool_id, host;
    if (h->len != sizeof q || (h->flags & WF_LARGE)) {
        sreply(a, peer, h->xid, DRAGON_ERR_INVALID_ARGUMENT, 0, NULL, 0);
        return DRAGON_OK;
    }
    memcpy(&q, payload, sizeof q);
    dragonError_t rc = dragon_desc_inspect(h->target, DRAGON_DESC_BYTES, &kind, &rtid, &pool_id,
                                           &host);
    if (!rc && kind != DRAGON_DESC_SYNC)
        rc = DRAGON_ERR_WRONG_KIND;
    if (!rc && host != (uint64_t)a->node)
        rc = DRAGON_ERR_INVALID_ARGUMENT; /* never attach another node's object */
    if (!rc && q.caller == 0)
        rc = DRAGON_ERR_INVALID_ARGUMENT; /* nobody to record ownership for */
    if (!rc && q.sop == SOP_CANCEL) {
        sync_cancel(a, peer, h->xid, &q);
        return DRAGON_OK;
    }
    cpool_t *cp = NULL;
    dragon_sync_t *sh = NULL;
    if (!rc)
        rc = cpool_get(a, h->target, q.caller, &cp);
    if (!rc)
        rc = dragon_sync_attach(cp->pool, h->target, DRAGON_DESC_BYTES, &sh);
    if (rc || !is_blocking(q.sop)) {
        if (rc)
            sreply(a, peer, h->xid, rc, 0, NULL, 0);
        else
            sync_now(a, peer, h->xid, sh, &q);
        if (sh)
            dragon_sync_detach(sh);
        if (cp) {
            cp->refs--;
            cpool_trim(a);
        }
        return DRAGON_OK;
    }
    sop_t *o = calloc(1, sizeof *o);
    if (!o) {
        dragon_sync_detach(sh);
        cp->refs--;
        sreply(a, peer, h->xid, DRAGON_ERR_NO_MEMORY, 0, NULL, 0);
        return DRAGON_OK;
    }
    o->peer = peer;
    o->xid = h->xid;
    o->sop = q.sop;
    o->deadline = dg__deadline(h->timeout_us);
    o->cp = cp;
    o->h = sh;
    if (!sop_step(a, o, dg__now_us(), &rc)) {
        sop_finish(a, o, rc);
        return DRAGON_OK;
    }
    sobj_t *s = NULL;
    if ((rc = sobj_get(a, h->target, &s))) {
        /* Cannot wait here (out of memory): answered with that error, its
         * effects undone as far as that is possible without blocking (a
         * condition wait whose lock is taken meanwhile leaves it free). */
        if (o->sop == SOP_COND_WAIT && o->phase > 0) {
            if (o->phase == 1)
                dragon_cond_wait_cancel(o->h, o->ticket);
            dragon_cond_wait_end(o->h, o->depth, 0);
        }
        if (o->arrived)
            dragon_barrier_cancel(o->h, o->ticket);
        sop_finish(a, o, rc);
        return DRAGON_OK;
    }
    sop_t **pp = &s->q;
    while (*pp)
        pp = &(*pp)->next;
    *pp = o;
    uint64_t next;
    sobj_drop_if_idle(a, s, &next);
    return DRAGON_OK;
}

/* Every sobj is settled; one whose queue emptied (and that no condition
 * wait pins) is freed. A settle may add sobjs at the head of the list
 * (a condition wait pinning its lock): they are settled next time; nothing
 * but this loop frees sobjs while it runs (peer loss is deferred). */
dragonError_t sync_run(agent_t *a, uint64_t *next_us)
{
    uint64_t next = UINT64_MAX;
    a->sync_pass++;
    for (sobj_t *s = a->sobjs, *nx; s; s = nx) {
        uint64_t n;
        int idle = sobj_settle(a, s, &n);
        nx = s->next;
        if (idle) {
            sobj_unlink(a, s);
            sobj_free(a, s);
            continue;
        }
        if (n < next)
            next = n;
    }
    a->sync_pass--;
    *next_us = next;
    return DRAGON_OK;
}

int sync_busy(agent_t *a)
{
    return a->sobjs != NULL;
}

/* The ops of a lost peer (or every op, peer < 0) have nobody to answer:
 * dropped (sop_drop), then the sobjs left idle are freed (a dropped
 * condition wait may unpin a lock's sobj seen earlier). */
static void drop_ops(agent_t *a, int peer)
{
    for (sobj_t *s = a->sobjs; s; s = s->next)
        for (sop_t **pp = &s->q; *pp;) {
            sop_t *o = *pp;
            if (peer >= 0 && o->peer != peer) {
                pp = &o->next;
                continue;
            }
            *pp = o->next;
            sop_drop(a, o);
        }
    for (sobj_t **sp = (sobj_t **)&a->sobjs; *sp;) {
        sobj_t *s = *sp;
        if (!s->q && !s->pins) {
            *sp = s->next;
            sobj_free(a, s);
            continue;
        }
        sp = &s->next;
    }
}

dragonError_t sync_peer_lost(agent_t *a, int peer)
{
    if (a->sync_pass)
        return DRAGON_OK; /* the pass under way drops them (see sobj_pass) */
    drop_ops(a, peer);
    return DRAGON_OK;
}

dragonError_t sync_shutdown(agent_t *a)
{
    drop_ops(a, -1);
    while (a->cpools) {
        cpool_t *c = a->cpools;
        a->cpools = c->next;
        dragon_pool_detach(c->pool);
        free(c);
    }
    a->ncpools = 0;
    return DRAGON_OK;
}
