/* Operations on this node's channels: requests of remote clients (role
 * SERVE, answered over the wire) and replies to local clients (role
 * DELIVER, into their reply channels). Each channel keeps three FIFO
 * queues; only the head of the send queue is ever sent, so a large send
 * still being read from its origin is never overtaken by a later small one,
 * and requests of one origin arrive here in their sequence order. */
#include <stdlib.h>
#include <string.h>
#include "agent.h"

#define WATCH_BIT 1u
#define PREFETCH 2 /* large sends of a queue whose bytes we fetch ahead */

typedef struct ack {
    struct ack *next;
    uint64_t ref;
    int peer;
    struct fid_mr *mr;
    dragon_pool_t *pool;
    int has_alloc;
    dragon_alloc_t alloc;
    void *buf;
} ack_t;

dragonError_t pools_get(agent_t *a, const uint8_t *desc, dragon_pool_t **out)
{
    uint8_t pd[DRAGON_DESC_BYTES];
    size_t pl = 0;
    uint32_t kind;
    uint64_t rtid, pool_id, host;
    dragonError_t rc = dragon_desc_inspect(desc, DRAGON_DESC_BYTES, &kind, &rtid, &pool_id, &host);
    if (rc)
        return rc;
    for (pool_ent_t *p = a->pools; p; p = p->next)
        if (p->rtid == rtid && p->pool_id == pool_id) {
            *out = p->pool;
            return DRAGON_OK;
        }
    if ((rc = dragon_desc_pool(desc, DRAGON_DESC_BYTES, pd, sizeof pd, &pl)))
        return rc;
    pool_ent_t *p = calloc(1, sizeof *p);
    if (!p)
        return DRAGON_ERR_NO_MEMORY;
    if ((rc = dragon_pool_attach(pd, pl, a->rtid, a->puid, &p->pool))) {
        free(p);
        return rc;
    }
    p->rtid = rtid;
    p->pool_id = pool_id;
    p->next = a->pools;
    a->pools = p;
    *out = p->pool;
    return DRAGON_OK;
}

dragonError_t lch_get(agent_t *a, const uint8_t *desc, lch_t **out)
{
    for (lch_t *l = a->lchs; l; l = l->next)
        if (!memcmp(l->desc, desc, DRAGON_DESC_BYTES)) {
            *out = l;
            return DRAGON_OK;
        }
    uint32_t kind;
    uint64_t rtid, pool_id, host;
    dragonError_t rc = dragon_desc_inspect(desc, DRAGON_DESC_BYTES, &kind, &rtid, &pool_id, &host);
    if (rc)
        return rc;
    if (kind != DRAGON_DESC_CHANNEL)
        return DRAGON_ERR_WRONG_KIND;
    if (host != (uint64_t)a->node)
        return DRAGON_ERR_INVALID_ARGUMENT; /* not ours: never attach another node's object */
    lch_t *l = calloc(1, sizeof *l);
    if (!l)
        return DRAGON_ERR_NO_MEMORY;
    if ((rc = pools_get(a, desc, &l->pool)))
        goto fail;
    if ((rc = dragon_channel_attach(l->pool, desc, DRAGON_DESC_BYTES, &l->ch)))
        goto fail;
    uint64_t cap;
    if ((rc = dragon_channel_info(l->ch, &cap, &l->block)))
        goto fail;
    l->inbuf = malloc(l->block ? l->block : 1);
    if (!l->inbuf) {
        rc = DRAGON_ERR_NO_MEMORY;
        goto fail;
    }
    memcpy(l->desc, desc, DRAGON_DESC_BYTES);
    l->next = a->lchs;
    a->lchs = l;
    *out = l;
    return DRAGON_OK;
fail:
    if (l->ch)
        dragon_channel_detach(l->ch);
    free(l);
    return rc;
}

/* ------------------------------------------------------------------ */

static void reply_wire(agent_t *a, op_t *o, uint32_t status, uint32_t events, uint64_t value,
                       const void *payload, uint64_t plen)
{
    wmsg_t *m = wmsg_new(a, W_REPLY, plen);
    if (!m) {
        alog(L_ERR, "out of memory for a reply to node %d", o->peer);
        return;
    }
    wire_hdr_t *h = (wire_hdr_t *)m->data;
    h->op = o->gwop;
    h->xid = o->xid;
    h->status = status;
    h->events = events;
    h->value = value;
    if (plen)
        memcpy(m->data + sizeof *h, payload, plen);
    wire_send(a, o->peer, m);
}

static void op_free(agent_t *a, op_t *o)
{
    (void)a;
    if (o->has_alloc)
        dragon_pool_free(o->lch->pool, o->alloc);
    free(o->buf);
    free(o);
}

/* Result of an op that is off its queue. */
static void op_finish(agent_t *a, op_t *o, dragonError_t rc, uint32_t events, uint64_t value)
{
    if (o->role == R_SERVE) {
        if (!a->peers[o->peer].lost)
            reply_wire(a, o, rc, events, value, NULL, 0);
    } else {
        if (rc)
            alog(L_WARN, "reply to a local client lost: %s", dragon_errname(rc));
        origin_delivered(a, o->oreq);
    }
    op_free(a, o);
}

/* A received message goes back to the origin inline, or exposed for fi_read. */
static void recv_reply(agent_t *a, op_t *o, dragon_msg_t *msg)
{
    lch_t *l = o->lch;
    void *ptr = l->inbuf;
    if (msg->is_alloc && dragon_alloc_ptr(l->pool, msg->alloc, &ptr)) {
        dragon_pool_free(l->pool, msg->alloc);
        op_finish(a, o, DRAGON_ERR_INTERNAL, 0, 0);
        return;
    }
    if (msg->len <= EAGER_MAX) {
        if (!a->peers[o->peer].lost)
            reply_wire(a, o, DRAGON_OK, 0, msg->len, ptr, msg->len);
        if (msg->is_alloc)
            dragon_pool_free(l->pool, msg->alloc);
        op_free(a, o);
        return;
    }
    ack_t *k = calloc(1, sizeof *k);
    if (!k)
        goto oom;
    k->peer = o->peer;
    k->pool = l->pool;
    if (msg->is_alloc) {
        k->has_alloc = 1;
        k->alloc = msg->alloc;
    } else {
        /* A block larger than the eager limit: copy it out so the channel
         * slot is free and the copy can be exposed. */
        k->buf = malloc(msg->len);
        if (!k->buf)
            goto oom;
        memcpy(k->buf, ptr, msg->len);
        ptr = k->buf;
    }
    uint64_t raddr, rkey;
    if (fab_expose(&a->fab, ptr, msg->len, &k->mr, &raddr, &rkey)) {
        alog(L_ERR, "cannot register %llu bytes for node %d", (unsigned long long)msg->len,
             o->peer);
        goto oom;
    }
    k->ref = ++a->next_ref;
    k->next = a->acks;
    a->acks = k;
    wmsg_t *m = wmsg_new(a, W_REPLY, 0);
    if (!m)
        goto oom; /* freed with the peer or at exit */
    wire_hdr_t *h = (wire_hdr_t *)m->data;
    h->op = o->gwop;
    h->xid = o->xid;
    h->status = DRAGON_OK;
    h->value = msg->len;
    h->len = msg->len;
    h->flags = WF_LARGE;
    h->ref = k->ref;
    h->rma_addr = raddr;
    h->rma_key = rkey;
    wire_send(a, o->peer, m);
    op_free(a, o);
    return;
oom:
    /* The message was dequeued: it is lost with an error to the client. */
    if (k && k->mr) {
        a->acks = k->next;
        fab_unreg(k->mr);
    }
    if (msg->is_alloc)
        dragon_pool_free(l->pool, msg->alloc);
    if (k)
        free(k->buf);
    free(k);
    op_finish(a, o, DRAGON_ERR_NO_MEMORY, 0, 0);
}

dragonError_t serve_ack(agent_t *a, int peer, uint64_t ref)
{
    for (ack_t **pp = (ack_t **)&a->acks; *pp; pp = &(*pp)->next) {
        ack_t *k = *pp;
        if (k->ref == ref && k->peer == peer) {
            *pp = k->next;
            fab_unreg(k->mr);
            if (k->has_alloc)
                dragon_pool_free(k->pool, k->alloc);
            free(k->buf);
            free(k);
            return DRAGON_OK;
        }
    }
    alog(L_WARN, "ACK for unknown transfer %llu from node %d", (unsigned long long)ref, peer);
    return DRAGON_ERR_INVALID_ARGUMENT;
}

/* ------------------------------------------------------------------ */

static void q_push(op_t **q, op_t *o)
{
    o->next = NULL;
    while (*q)
        q = &(*q)->next;
    *q = o;
}

static void rma_cb(agent_t *a, rma_xfer_t *x, dragonError_t rc)
{
    op_t *o = x->owner;
    if (o->state == S_CANCEL) {
        op_free(a, o);
        return;
    }
    if (rc) {
        o->state = S_CANCEL; /* failed: the peer is gone; op_free when unqueued */
        return;
    }
    o->state = S_READY;
}

static uint64_t run_lch(agent_t *a, lch_t *l);

/* A request of a peer that was lost while a pass was walking the queues
 * (its cleanup is deferred to the end of the pass, see serve_peer_lost). */
static int gone(agent_t *a, const op_t *o)
{
    return o->role == R_SERVE && a->peers[o->peer].lost;
}

/* Drops an op of a lost peer that is off its queue: reads still running
 * free it when they end. */
static void drop_gone(agent_t *a, op_t *o)
{
    if (o->state == S_READING)
        o->state = S_CANCEL;
    else
        op_free(a, o);
}

static dragonError_t process_req(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload)
{
    if (a->peers[peer].lost)
        return DRAGON_OK; /* lost while earlier requests of its batch ran: nobody to answer */
    if (h->op == GW_SYNC)
        return sync_request(a, peer, h, payload);
    if (h->op == GW_MEM)
        return mem_request(a, peer, h, payload);
    op_t tmp = {.peer = peer, .xid = h->xid, .gwop = h->op, .role = R_SERVE};
    lch_t *l = NULL;
    dragonError_t rc = lch_get(a, h->target, &l);
    if (rc) {
        reply_wire(a, &tmp, rc, 0, 0, NULL, 0);
        return DRAGON_OK;
    }
    if (h->op == GW_COUNT) {
        uint64_t n = 0;
        rc = dragon_channel_count(l->ch, &n);
        reply_wire(a, &tmp, rc, 0, n, NULL, 0);
        return DRAGON_OK;
    }
    if (h->op != GW_SEND && h->op != GW_RECV && h->op != GW_POLL) {
        reply_wire(a, &tmp, DRAGON_ERR_INVALID_ARGUMENT, 0, 0, NULL, 0);
        return DRAGON_OK;
    }
    op_t *o = calloc(1, sizeof *o);
    if (!o) {
        reply_wire(a, &tmp, DRAGON_ERR_NO_MEMORY, 0, 0, NULL, 0);
        return DRAGON_OK;
    }
    *o = tmp;
    o->lch = l;
    o->deadline = dg__deadline(h->timeout_us);
    o->events = h->events;
    if (h->op == GW_SEND) {
        o->kind = OK_SEND;
        o->len = h->len;
        if (h->flags & WF_LARGE) {
            o->state = S_ALLOC;
            o->raddr = h->rma_addr;
            o->rkey = h->rma_key;
        } else {
            o->buf = malloc(h->len ? h->len : 1);
            if (!o->buf) {
                free(o);
                reply_wire(a, &tmp, DRAGON_ERR_NO_MEMORY, 0, 0, NULL, 0);
                return DRAGON_OK;
            }
            memcpy(o->buf, payload, h->len);
        }
        q_push(&l->sendq, o);
    } else if (h->op == GW_RECV) {
        o->kind = OK_RECV;
        q_push(&l->recvq, o);
    } else {
        o->kind = OK_POLL;
        q_push(&l->pollq, o);
    }
    run_lch(a, l);
    return DRAGON_OK;
}

dragonError_t serve_request(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload)
{
    peer_t *p = &a->peers[peer];
    if (h->seq != p->seq_in) {
        if (h->seq < p->seq_in) {
            alog(L_WARN, "dropped a replayed request (seq %llu) from node %d",
                 (unsigned long long)h->seq, peer);
            return DRAGON_OK;
        }
        /* Early: keep it until the ones before it arrived (bounded by the
         * origin's in-flight limit). */
        size_t n = sizeof *h + (h->flags & WF_LARGE ? 0 : h->len);
        stash_t *s = malloc(sizeof *s + n);
        if (!s)
            return DRAGON_ERR_NO_MEMORY;
        s->seq = h->seq;
        s->len = n;
        memcpy(s->data, h, sizeof *h);
        memcpy(s->data + sizeof *h, payload, n - sizeof *h);
        stash_t **pp = &p->stash;
        while (*pp && (*pp)->seq < s->seq)
            pp = &(*pp)->next;
        s->next = *pp;
        *pp = s;
        return DRAGON_OK;
    }
    process_req(a, peer, h, payload);
    p->seq_in++;
    while (p->stash && p->stash->seq == p->seq_in) {
        stash_t *s = p->stash;
        p->stash = s->next;
        wire_hdr_t sh;
        memcpy(&sh, s->data, sizeof sh);
        process_req(a, peer, &sh, s->data + sizeof sh);
        p->seq_in++;
        free(s);
    }
    return DRAGON_OK;
}

dragonError_t deliver(agent_t *a, lch_t *l, uint8_t *buf, uint64_t len, int has_alloc,
                      dragon_alloc_t alloc, void *oreq)
{
    if (!l->sendq) {
        dragonError_t rc = has_alloc ? dragon_channel_send_alloc(l->ch, alloc, len, 0)
                                     : dragon_channel_send(l->ch, buf, len, 0);
        if (rc != DRAGON_ERR_TIMEOUT) {
            TRACE(a, T_DELIVER, 0);
            if (rc) {
                alog(L_WARN, "reply to a local client lost: %s", dragon_errname(rc));
                if (has_alloc)
                    dragon_pool_free(l->pool, alloc);
            }
            free(buf);
            origin_delivered(a, oreq);
            return DRAGON_OK;
        }
    }
    op_t *o = calloc(1, sizeof *o);
    if (!o) {
        if (has_alloc)
            dragon_pool_free(l->pool, alloc);
        free(buf);
        origin_delivered(a, oreq);
        return DRAGON_ERR_NO_MEMORY;
    }
    o->kind = OK_SEND;
    o->role = R_DELIVER;
    o->lch = l;
    o->deadline = UINT64_MAX;
    o->buf = buf;
    o->len = len;
    o->has_alloc = has_alloc;
    o->alloc = alloc;
    o->oreq = oreq;
    q_push(&l->sendq, o);
    run_lch(a, l);
    return DRAGON_OK;
}

/* ------------------------------------------------------------------ */

static void start_fetch(agent_t *a, op_t *o, uint64_t now)
{
    lch_t *l = o->lch;
    dragonError_t rc = dragon_pool_alloc(l->pool, o->len, 0, &o->alloc);
    if (rc == DRAGON_ERR_TIMEOUT) {
        (void)now; /* pool full for now: retried on the next pass */
        a->retry_soon = 1;
        return;
    }
    if (rc) {
        o->state = S_CANCEL;
        o->events = rc; /* remembered: reported when the op reaches the head */
        return;
    }
    o->has_alloc = 1;
    void *ptr;
    dragon_alloc_ptr(l->pool, o->alloc, &ptr);
    o->state = S_READING;
    memset(&o->rx, 0, sizeof o->rx);
    o->rx.peer = o->peer;
    o->rx.dst = ptr;
    o->rx.len = o->len;
    o->rx.raddr = o->raddr;
    o->rx.rkey = o->rkey;
    o->rx.cb = rma_cb;
    o->rx.owner = o;
    rma_start(a, &o->rx);
}

static uint64_t run_send(agent_t *a, lch_t *l, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    int n = 0;
    for (op_t *o = l->sendq; o && n < PREFETCH; o = o->next, n++)
        if (o->state == S_ALLOC && o->deadline > now && !gone(a, o))
            start_fetch(a, o, now);
    while (l->sendq) {
        op_t *o = l->sendq;
        if (gone(a, o)) {
            l->sendq = o->next;
            drop_gone(a, o);
            continue;
        }
        if (o->state == S_READING)
            break;
        if (o->state == S_CANCEL) {
            l->sendq = o->next;
            op_finish(a, o, o->events ? (dragonError_t)o->events : DRAGON_ERR_PEER_LOST, 0, 0);
            continue;
        }
        if (o->state == S_ALLOC) {
            if (o->deadline <= now) {
                l->sendq = o->next;
                op_finish(a, o, DRAGON_ERR_TIMEOUT, 0, 0);
                continue;
            }
            break;
        }
        dragonError_t rc = o->has_alloc ? dragon_channel_send_alloc(l->ch, o->alloc, o->len, 0)
                                        : dragon_channel_send(l->ch, o->buf, o->len, 0);
        if (rc == DRAGON_OK)
            o->has_alloc = 0; /* the channel owns it now */
        if (rc == DRAGON_ERR_TIMEOUT && o->deadline > now)
            break;
        l->sendq = o->next;
        op_finish(a, o, rc, 0, 0);
    }
    /* Later sends whose time ran out while they queued were never sent. */
    for (op_t **pp = l->sendq ? &l->sendq->next : NULL; pp && *pp;) {
        op_t *o = *pp;
        if (o->deadline <= now && (o->state == S_READY || o->state == S_ALLOC)) {
            *pp = o->next;
            op_finish(a, o, DRAGON_ERR_TIMEOUT, 0, 0);
            continue;
        }
        if (o->deadline < next)
            next = o->deadline;
        pp = &o->next;
    }
    if (l->sendq && l->sendq->deadline < next)
        next = l->sendq->deadline;
    return next;
}

static uint64_t run_recv(agent_t *a, lch_t *l, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    while (l->recvq) {
        op_t *o = l->recvq;
        if (gone(a, o)) {
            /* never dequeue a message for a node that cannot take it */
            l->recvq = o->next;
            op_free(a, o);
            continue;
        }
        dragon_msg_t msg;
        dragonError_t rc = dragon_channel_recv_msg(l->ch, l->inbuf, l->block, &msg, 0);
        if (rc == DRAGON_ERR_TIMEOUT)
            break;
        l->recvq = o->next;
        if (rc) {
            op_finish(a, o, rc, 0, 0);
            continue;
        }
        /* Dequeued: delivered whatever the deadline says now. */
        recv_reply(a, o, &msg);
    }
    for (op_t **pp = &l->recvq; *pp;) {
        op_t *o = *pp;
        if (o->deadline <= now) {
            *pp = o->next;
            op_finish(a, o, DRAGON_ERR_TIMEOUT, 0, 0);
            continue;
        }
        if (o->deadline < next)
            next = o->deadline;
        pp = &o->next;
    }
    return next;
}

static uint64_t run_poll(agent_t *a, lch_t *l, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (op_t **pp = &l->pollq; *pp;) {
        op_t *o = *pp;
        uint32_t rev = 0;
        dragonError_t rc = dragon_channel_poll(l->ch, o->events, 0, &rev);
        if (rc == DRAGON_OK || rc != DRAGON_ERR_TIMEOUT || o->deadline <= now) {
            *pp = o->next;
            op_finish(a, o, rc, rev, 0);
            continue;
        }
        if (o->deadline < next)
            next = o->deadline;
        pp = &o->next;
    }
    return next;
}

static uint64_t run_once(agent_t *a, lch_t *l)
{
    uint64_t now = dg__now_us();
    uint64_t n1 = run_send(a, l, now), n2 = run_recv(a, l, now), n3 = run_poll(a, l, now);
    uint64_t n = n1 < n2 ? n1 : n2;
    return n < n3 ? n : n3;
}

static void drop_lost(agent_t *a);

/* Passes over channel queues can re-enter: finishing an op replies over
 * the wire, a failed send marks its peer lost, and the answers to that
 * peer's origin requests are delivered into local reply channels (another
 * run_lch, maybe of the same channel). So: a peer lost during a pass is
 * cleaned up when the outermost pass ends (gone() ops are skipped until
 * then), and a nested run of a channel already being walked only asks the
 * walker to go round again. */
static void pass_leave(agent_t *a)
{
    if (--a->serve_pass == 0 && a->serve_lost) {
        a->serve_lost = 0;
        drop_lost(a);
    }
}

static uint64_t run_lch1(agent_t *a, lch_t *l);

static uint64_t run_lch(agent_t *a, lch_t *l)
{
    if (l->running) {
        l->again = 1;
        return UINT64_MAX; /* the walker under way reports the deadlines */
    }
    l->running = 1;
    a->serve_pass++;
    uint64_t next;
    do {
        l->again = 0;
        next = run_lch1(a, l);
    } while (l->again);
    l->running = 0;
    pass_leave(a);
    return next;
}

/* Watch while work is queued: register, then retry, then sleep (the order
 * that loses no wake-up). Unwatched when idle so local traffic on a channel
 * nobody remote waits for does not ring us. */
static uint64_t run_lch1(agent_t *a, lch_t *l)
{
    uint64_t next = run_once(a, l);
    int busy = l->sendq || l->recvq || l->pollq;
    if (busy && !l->watched) {
        if (dragon_channel_watch(l->ch, a->waiter, DRAGON_WATCH_IN | DRAGON_WATCH_OUT,
                                 WATCH_BIT) == DRAGON_OK) {
            l->watched = 1;
            next = run_once(a, l);
        } else {
            a->retry_soon = 1; /* cannot watch (destroyed?): retry on a timer */
        }
    }
    busy = l->sendq || l->recvq || l->pollq;
    if (!busy && l->watched) {
        dragon_channel_unwatch(l->ch, a->waiter, DRAGON_WATCH_IN | DRAGON_WATCH_OUT);
        l->watched = 0;
    }
    return next;
}

dragonError_t serve_run(agent_t *a, uint64_t *next_us)
{
    uint64_t next = UINT64_MAX;
    for (lch_t *l = a->lchs; l; l = l->next) {
        if (!l->sendq && !l->recvq && !l->pollq)
            continue;
        uint64_t n = run_lch(a, l);
        if (n < next)
            next = n;
    }
    *next_us = next;
    return DRAGON_OK;
}

int serve_busy(agent_t *a)
{
    for (lch_t *l = a->lchs; l; l = l->next)
        if (l->sendq || l->recvq || l->pollq)
            return 1;
    return 0;
}

/* Every queued request of a lost peer (nobody to answer). */
static void drop_lost(agent_t *a)
{
    for (lch_t *l = a->lchs; l; l = l->next) {
        op_t **qs[3] = {&l->sendq, &l->recvq, &l->pollq};
        for (int i = 0; i < 3; i++) {
            for (op_t **pp = qs[i]; *pp;) {
                op_t *o = *pp;
                if (!gone(a, o)) {
                    pp = &o->next;
                    continue;
                }
                *pp = o->next;
                drop_gone(a, o); /* reading: freed by rma_cb when the reads end */
            }
        }
    }
}

/* Drops the requests of a lost peer, and what we exposed to it. Called
 * with peers[peer].lost set; the queues are left to the pass under way,
 * if any (see pass_leave). */
dragonError_t serve_peer_lost(agent_t *a, int peer)
{
    peer_t *p = &a->peers[peer];
    while (p->stash) {
        stash_t *s = p->stash;
        p->stash = s->next;
        free(s);
    }
    if (a->serve_pass)
        a->serve_lost = 1;
    else
        drop_lost(a);
    for (ack_t **pp = (ack_t **)&a->acks; *pp;) {
        ack_t *k = *pp;
        if (k->peer != peer) {
            pp = &k->next;
            continue;
        }
        *pp = k->next;
        fab_unreg(k->mr);
        if (k->has_alloc)
            dragon_pool_free(k->pool, k->alloc);
        free(k->buf);
        free(k);
    }
    return DRAGON_OK;
}

dragonError_t serve_shutdown(agent_t *a)
{
    for (int i = 0; i < MAX_NODES; i++)
        if (a->peers[i].known)
            serve_peer_lost(a, i);
    while (a->lchs) {
        lch_t *l = a->lchs;
        a->lchs = l->next;
        op_t **qs[3] = {&l->sendq, &l->recvq, &l->pollq};
        for (int i = 0; i < 3; i++)
            while (*qs[i]) {
                op_t *o = *qs[i];
                *qs[i] = o->next;
                if (o->state != S_READING)
                    op_free(a, o);
            }
        if (l->watched)
            dragon_channel_unwatch(l->ch, a->waiter, DRAGON_WATCH_IN | DRAGON_WATCH_OUT);
        dragon_channel_detach(l->ch);
        free(l->inbuf);
        free(l);
    }
    return DRAGON_OK;
}
