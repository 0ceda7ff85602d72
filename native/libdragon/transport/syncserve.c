/* GW_SYNC: operations of remote clients on this node's sync objects.
 * Every op runs AS its caller: the sync object is attached through a pool
 * handle attached with the caller's puid, so lock owners, semaphore units
 * and barrier arrivals are recorded under the real process and
 * dragon_pool_reclaim(puid) gives them back when it dies. Blocking ops
 * (acquire, event wait, barrier wait) are tried with timeout 0; one that
 * would block waits in its object's queue, the object watched through the
 * agent's own pool handle (one doorbell per pool, whoever the callers are),
 * and is retried on every ring until its deadline. */
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
};

/* A sync object with pending ops; freed as soon as its queue is empty. */
typedef struct sobj {
    struct sobj *next;
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_pool_t *pool;  /* the agent's own handle (pools_get), borrowed */
    dragon_sync_t *watch; /* attached through it; only watched */
    sop_t *q;             /* pending ops, in arrival order */
    int watched;
} sobj_t;

static void sreply(agent_t *a, int peer, uint64_t xid, dragonError_t rc, uint64_t value,
                   const void *payload, uint64_t plen)
{
    if (a->peers[peer].lost)
        return;
    wmsg_t *m = wmsg_new(a, W_REPLY, plen);
    if (!m) {
        alog(L_ERR, "out of memory for a sync reply to node %d", peer);
        return;
    }
    wire_hdr_t *h = (wire_hdr_t *)m->data;
    h->op = GW_SYNC;
    h->xid = xid;
    h->status = (uint32_t)rc;
    h->value = value;
    if (plen)
        memcpy(m->data + sizeof *h, payload, plen);
    wire_send(a, peer, m);
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
           sop == SOP_BARRIER_WAIT;
}

/* One non-blocking try of a blocking op: TIMEOUT = would block. */
static dragonError_t sop_try(sop_t *o)
{
    switch (o->sop) {
    case SOP_LOCK_ACQUIRE:
        return dragon_lock_acquire(o->h, 0);
    case SOP_SEM_ACQUIRE:
        return dragon_sem_acquire(o->h, 0);
    case SOP_EVENT_WAIT:
        return dragon_event_wait(o->h, 0);
    case SOP_BARRIER_WAIT:
        if (!o->arrived) {
            dragonError_t rc = dragon_barrier_arrive(o->h, &o->ticket, &o->index);
            if (rc)
                return rc;
            o->arrived = 1;
        }
        return dragon_barrier_check(o->h, o->ticket, 0);
    }
    return DRAGON_ERR_INVALID_ARGUMENT;
}

static void sop_finish(agent_t *a, sop_t *o, dragonError_t rc)
{
    uint64_t value = o->sop == SOP_BARRIER_WAIT && rc == DRAGON_OK ? o->index : 0;
    sreply(a, o->peer, o->xid, rc, value, NULL, 0);
    sop_free(a, o);
}

/* The deadline passed with the op still blocked. A barrier ticket is
 * cancelled (breaks the round, or OK if it passed meanwhile). */
static void sop_expire(agent_t *a, sop_t *o)
{
    dragonError_t rc = DRAGON_ERR_TIMEOUT;
    if (o->sop == SOP_BARRIER_WAIT && o->arrived)
        rc = dragon_barrier_cancel(o->h, o->ticket);
    sop_finish(a, o, rc);
}

/* Retries the queue in order; returns the earliest deadline still pending.
 * The try comes before the deadline check: an op that succeeds now is OK
 * even if its deadline passed while it waited for its turn. */
static uint64_t sobj_pass(agent_t *a, sobj_t *s)
{
    uint64_t now = now_us(), next = UINT64_MAX;
    for (sop_t **pp = &s->q; *pp;) {
        sop_t *o = *pp;
        if (a->peers[o->peer].lost) {
            /* nobody to answer; a barrier arrival of a process that is gone is cancelled */
            *pp = o->next;
            if (o->sop == SOP_BARRIER_WAIT && o->arrived)
                dragon_barrier_cancel(o->h, o->ticket);
            sop_free(a, o);
            continue;
        }
        dragonError_t rc = sop_try(o);
        if (rc != DRAGON_ERR_TIMEOUT || o->deadline <= now) {
            *pp = o->next;
            if (rc == DRAGON_ERR_TIMEOUT)
                sop_expire(a, o);
            else
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
    if (s->q && !s->watched) {
        if (dragon_sync_watch(s->watch, a->waiter, SYNC_BIT) == DRAGON_OK) {
            s->watched = 1;
            *next = sobj_pass(a, s);
        } else {
            a->retry_soon = 1; /* cannot watch (destroyed?): the next try will say */
        }
    }
    return s->q == NULL;
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
    uint64_t value = 0, pl[2] = {0, 0};
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
    default:
        rc = DRAGON_ERR_INVALID_ARGUMENT;
    }
    sreply(a, peer, xid, rc, value, pl, plen);
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
    cpool_t *cp = NULL;
    dragon_sync_t *sh = NULL;
    if (!rc)
        rc = cpool_get(a, h->target, q.caller, &cp);
    if (!rc)
        rc = dragon_sync_attach(cp->pool, h->target, DRAGON_DESC_BYTES, &sh);
    dragonSyncKind_t sk = 0;
    if (!rc && !dragon_sync_kind(sh, &sk) && sk == DRAGON_SYNC_CONDITION)
        rc = DRAGON_ERR_INVALID_ARGUMENT; /* conditions are not carried */
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
    o->deadline = deadline_of(h->timeout_us);
    o->cp = cp;
    o->h = sh;
    rc = sop_try(o);
    if (rc != DRAGON_ERR_TIMEOUT || o->deadline <= now_us()) {
        if (rc == DRAGON_ERR_TIMEOUT)
            sop_expire(a, o);
        else
            sop_finish(a, o, rc);
        return DRAGON_OK;
    }
    sobj_t *s = NULL;
    if ((rc = sobj_get(a, h->target, &s))) {
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
    if (sobj_settle(a, s, &next)) {
        sobj_unlink(a, s);
        sobj_free(a, s);
    }
    return DRAGON_OK;
}

dragonError_t sync_run(agent_t *a, uint64_t *next_us)
{
    uint64_t next = UINT64_MAX;
    a->sync_pass++;
    for (sobj_t **pp = (sobj_t **)&a->sobjs; *pp;) {
        sobj_t *s = *pp;
        uint64_t n;
        if (sobj_settle(a, s, &n)) {
            *pp = s->next;
            sobj_free(a, s);
            continue;
        }
        if (n < next)
            next = n;
        pp = &s->next;
    }
    a->sync_pass--;
    *next_us = next;
    return DRAGON_OK;
}

int sync_busy(agent_t *a)
{
    return a->sobjs != NULL;
}

/* The ops of a lost peer have nobody to answer; a barrier arrival of a
 * process that is gone is cancelled (as reclaim would). */
static void drop_ops(agent_t *a, int peer)
{
    for (sobj_t **sp = (sobj_t **)&a->sobjs; *sp;) {
        sobj_t *s = *sp;
        for (sop_t **pp = &s->q; *pp;) {
            sop_t *o = *pp;
            if (peer >= 0 && o->peer != peer) {
                pp = &o->next;
                continue;
            }
            *pp = o->next;
            if (o->sop == SOP_BARRIER_WAIT && o->arrived)
                dragon_barrier_cancel(o->h, o->ticket);
            sop_free(a, o);
        }
        if (!s->q) {
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
