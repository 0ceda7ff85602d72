/* Requests of local clients in flight to the agents of other nodes: sent
 * in gateway order with a per-peer sequence number, answered into the
 * client's reply channel. Every request gets exactly one reply. */
#include <stdlib.h>
#include <string.h>
#include "agent.h"

enum { O_WAIT = 0, O_ALLOC, O_READING, O_DELIVERING };

typedef struct oreq {
    struct oreq *next;
    uint64_t xid;
    int peer, state, orphan;
    uint16_t op;
    uint64_t req_id;
    uint8_t reply[DRAGON_DESC_BYTES];
    lch_t *rl;               /* the client's reply channel */
    /* SEND: the bytes we exposed (a gateway allocation, kept until the reply) */
    int has_gw_alloc;
    dragon_alloc_t gw_alloc;
    void *copy;
    struct fid_mr *mr;
    /* large RECV reply: read into an allocation of the reply channel's pool */
    wire_hdr_t rh;
    dragon_alloc_t ra;
    rma_xfer_t rx;
} oreq_t;

static void release_send(agent_t *a, oreq_t *o)
{
    fab_unreg(o->mr);
    o->mr = NULL;
    if (o->has_gw_alloc)
        dragon_pool_free(a->pool, o->gw_alloc);
    o->has_gw_alloc = 0;
    free(o->copy);
    o->copy = NULL;
}

static void unlink_oreq(agent_t *a, oreq_t *o)
{
    for (oreq_t **pp = (oreq_t **)&a->oreqs; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            return;
        }
}

static void reply_client(agent_t *a, oreq_t *o, uint32_t status, uint32_t events, uint64_t value,
                         const uint8_t *payload, uint64_t plen)
{
    o->state = O_DELIVERING;
    gateway_reply(a, o->reply, o->op, o->req_id, status, events, value, payload, plen, o);
}

dragonError_t origin_delivered(agent_t *a, void *p)
{
    oreq_t *o = p;
    if (!o)
        return DRAGON_OK;
    unlink_oreq(a, o);
    release_send(a, o);
    a->inflight--;
    a->peers[o->peer].inflight--;
    free(o);
    return DRAGON_OK;
}

/* The SYNC request req_id of the client whose reply channel is r->reply,
 * still waiting for its answer from peer. */
static oreq_t *find_req(agent_t *a, const gw_req_t *r, int peer, uint64_t req_id)
{
    for (oreq_t *o = a->oreqs; o; o = o->next)
        if (o->req_id == req_id && o->peer == peer && o->op == GW_SYNC && o->state == O_WAIT &&
            !memcmp(o->reply, r->reply, DRAGON_DESC_BYTES))
            return o;
    return NULL;
}

dragonError_t origin_submit(agent_t *a, const gw_req_t *r, const uint8_t *payload,
                            int has_alloc, dragon_alloc_t alloc, int *taken)
{
    *taken = 1;
    uint32_t kind;
    uint64_t rtid, pool_id, host;
    dragonError_t rc = dragon_desc_inspect(r->target, DRAGON_DESC_BYTES, &kind, &rtid, &pool_id,
                                           &host);
    uint32_t want = r->op == GW_SYNC  ? DRAGON_DESC_SYNC
                    : r->op == GW_MEM ? DRAGON_DESC_ALLOC
                                      : DRAGON_DESC_CHANNEL;
    if (!rc && kind != want)
        rc = DRAGON_ERR_WRONG_KIND;
    if (!rc && (host == (uint64_t)a->node || host >= MAX_NODES))
        rc = DRAGON_ERR_INVALID_ARGUMENT; /* a local object is used directly */
    if (!rc && r->op != GW_SEND && r->op != GW_RECV && r->op != GW_POLL && r->op != GW_COUNT &&
        r->op != GW_SYNC && r->op != GW_MEM)
        rc = DRAGON_ERR_INVALID_ARGUMENT;
    int peer = (int)host;
    if (!rc && !a->have_peers && !a->stopping) {
        *taken = 0; /* too early to know the peers: wait for the peers line */
        return DRAGON_OK;
    }
    if (!rc && a->peers[peer].lost)
        rc = DRAGON_ERR_PEER_LOST;
    else if (!rc && !a->peers[peer].known)
        rc = DRAGON_ERR_NO_TRANSPORT;
    if (!rc && a->stopping)
        rc = DRAGON_ERR_DESTROYED;
    if (!rc && a->peers[peer].inflight >= MAX_INFLIGHT_PEER) {
        *taken = 0; /* back-pressure: the gateway stops taking requests */
        return DRAGON_OK;
    }
    /* CANCEL names the request it cancels by the client's req_id; the
     * target knows it by our xid. Not in flight (answered already, or never
     * sent): nothing to cancel, answered here (value 0). */
    gw_sync_t cq;
    uint64_t cancel_xid = 0;
    int is_cancel = 0;
    if (!rc && r->op == GW_SYNC && r->payload_len == sizeof cq) {
        memcpy(&cq, payload, sizeof cq);
        if (cq.sop == SOP_CANCEL) {
            is_cancel = 1;
            oreq_t *t = find_req(a, r, peer, cq.arg0);
            if (!t) {
                if (has_alloc)
                    dragon_pool_free(a->pool, alloc);
                gateway_reply(a, r->reply, r->op, r->req_id, DRAGON_OK, 0, 0, NULL, 0, NULL);
                return DRAGON_OK;
            }
            cancel_xid = t->xid;
        }
    }
    oreq_t *o = NULL;
    if (!rc && !(o = calloc(1, sizeof *o)))
        rc = DRAGON_ERR_NO_MEMORY;
    if (rc) {
        if (has_alloc)
            dragon_pool_free(a->pool, alloc);
        gateway_reply(a, r->reply, r->op, r->req_id, rc, 0, 0, NULL, 0, NULL);
        return DRAGON_OK;
    }
    o->xid = ++a->next_xid;
    o->peer = peer;
    o->op = r->op;
    o->req_id = r->req_id;
    memcpy(o->reply, r->reply, DRAGON_DESC_BYTES);
    uint64_t plen = r->op == GW_SEND || r->op == GW_SYNC || r->op == GW_MEM ? r->payload_len : 0;
    int large = r->op != GW_MEM && plen > EAGER_MAX; /* MEM: inline, bounded by the gateway */
    wmsg_t *m = wmsg_new(a, W_REQ, large ? 0 : plen);
    if (!m) {
        free(o);
        if (has_alloc)
            dragon_pool_free(a->pool, alloc);
        gateway_reply(a, r->reply, r->op, r->req_id, DRAGON_ERR_NO_MEMORY, 0, 0, NULL, 0, NULL);
        return DRAGON_OK;
    }
    wire_hdr_t *h = (wire_hdr_t *)m->data;
    h->op = r->op;
    h->xid = o->xid;
    h->timeout_us = r->timeout_us;
    h->events = r->events;
    h->len = plen;
    memcpy(h->target, r->target, DRAGON_DESC_BYTES);
    if (large) {
        /* Zero-copy: the target reads the bytes straight out of the
         * gateway allocation; only this buffer is exposed, read-only. */
        const uint8_t *src = payload;
        if (!has_alloc) {
            o->copy = malloc(plen);
            if (o->copy)
                memcpy(o->copy, payload, plen);
            src = o->copy;
        }
        uint64_t raddr = 0, rkey = 0;
        rc = src ? fab_expose(&a->fab, (void *)src, plen, &o->mr, &raddr, &rkey)
                 : DRAGON_ERR_NO_MEMORY;
        h->rma_addr = raddr;
        h->rma_key = rkey;
        if (rc) {
            free(m);
            free(o->copy);
            free(o);
            if (has_alloc)
                dragon_pool_free(a->pool, alloc);
            gateway_reply(a, r->reply, r->op, r->req_id, rc, 0, 0, NULL, 0, NULL);
            return DRAGON_OK;
        }
        h->flags = WF_LARGE;
        o->has_gw_alloc = has_alloc;
        o->gw_alloc = alloc;
    } else {
        if (plen)
            memcpy(m->data + sizeof *h, payload, plen);
        if (is_cancel) {
            cq.arg1 = cancel_xid;
            memcpy(m->data + sizeof *h, &cq, sizeof cq);
        }
        if (has_alloc)
            dragon_pool_free(a->pool, alloc);
    }
    h->seq = a->peers[peer].seq_out++;
    o->next = a->oreqs;
    a->oreqs = o;
    a->inflight++;
    a->peers[peer].inflight++;
    /* A send that fails marks the peer lost, which answers o (PEER_LOST). */
    wire_send(a, peer, m);
    return DRAGON_OK;
}

static oreq_t *find(agent_t *a, int peer, uint64_t xid)
{
    for (oreq_t *o = a->oreqs; o; o = o->next)
        if (o->xid == xid && o->peer == peer)
            return o;
    return NULL;
}

static void send_ack(agent_t *a, int peer, uint64_t ref)
{
    wmsg_t *m = wmsg_new(a, W_ACK, 0);
    if (!m)
        return;
    ((wire_hdr_t *)m->data)->ref = ref;
    wire_send(a, peer, m);
}

static void read_cb(agent_t *a, rma_xfer_t *x, dragonError_t rc)
{
    oreq_t *o = x->owner;
    if (o->orphan || rc) {
        /* The client already got PEER_LOST (see origin_peer_lost). */
        dragon_pool_free(o->rl->pool, o->ra);
        if (!o->orphan && o->state == O_READING)
            reply_client(a, o, DRAGON_ERR_PEER_LOST, 0, 0, NULL, 0);
        else
            origin_delivered(a, o);
        return;
    }
    send_ack(a, o->peer, o->rh.ref);
    gw_rep_t rep = {.version = 1, .op = o->op, .req_id = o->req_id, .status = DRAGON_OK,
                    .events = o->rh.events, .value = o->rh.value};
    memcpy(rep.magic, GW_REP_MAGIC, 4);
    memcpy(x->dst - sizeof rep, &rep, sizeof rep);
    o->state = O_DELIVERING;
    deliver(a, o->rl, NULL, sizeof rep + o->rh.len, 1, o->ra, o);
}

static void start_read(agent_t *a, oreq_t *o)
{
    dragonError_t rc = dragon_pool_alloc(o->rl->pool, sizeof(gw_rep_t) + o->rh.len, 0, &o->ra);
    if (rc == DRAGON_ERR_TIMEOUT) {
        o->state = O_ALLOC; /* the client's pool is full: retried by origin_probe */
        a->retry_soon = 1;
        return;
    }
    if (rc) {
        /* Cannot take it: release the target's copy (the message is lost). */
        send_ack(a, o->peer, o->rh.ref);
        reply_client(a, o, rc, 0, 0, NULL, 0);
        return;
    }
    uint8_t *ptr;
    dragon_alloc_ptr(o->rl->pool, o->ra, (void **)&ptr);
    o->state = O_READING;
    memset(&o->rx, 0, sizeof o->rx);
    o->rx.peer = o->peer;
    o->rx.dst = ptr + sizeof(gw_rep_t);
    o->rx.len = o->rh.len;
    o->rx.raddr = o->rh.rma_addr;
    o->rx.rkey = o->rh.rma_key;
    o->rx.cb = read_cb;
    o->rx.owner = o;
    rma_start(a, &o->rx);
}

dragonError_t origin_reply(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload)
{
    oreq_t *o = find(a, peer, h->xid);
    if (!o || o->state != O_WAIT) {
        alog(L_WARN, "reply for unknown request %llu from node %d", (unsigned long long)h->xid,
             peer);
        return DRAGON_ERR_INVALID_ARGUMENT;
    }
    release_send(a, o); /* the target has read what it needed */
    if (h->flags & WF_LARGE) {
        o->rh = *h;
        dragonError_t rc = lch_get(a, o->reply, &o->rl);
        if (rc) {
            send_ack(a, peer, h->ref);
            reply_client(a, o, rc, 0, 0, NULL, 0);
            return DRAGON_OK;
        }
        start_read(a, o);
        return DRAGON_OK;
    }
    reply_client(a, o, h->status, h->events, h->value, payload, h->len);
    return DRAGON_OK;
}

/* Each answer may deliver (and free) other requests of the list (a reply
 * channel's backlog moving on), so the walk restarts after every answer;
 * an answered request no longer matches (DELIVERING or orphan). */
dragonError_t origin_peer_lost(agent_t *a, int peer)
{
    for (;;) {
        oreq_t *o = a->oreqs;
        while (o && (o->peer != peer || o->orphan ||
                     (o->state != O_WAIT && o->state != O_ALLOC && o->state != O_READING)))
            o = o->next;
        if (!o)
            return DRAGON_OK;
        if (o->state == O_READING) {
            /* Reads still outstanding: answer now, free when they end. */
            o->orphan = 1;
            gateway_reply(a, o->reply, o->op, o->req_id, DRAGON_ERR_PEER_LOST, 0, 0, NULL, 0,
                          NULL);
        } else {
            release_send(a, o);
            reply_client(a, o, DRAGON_ERR_PEER_LOST, 0, 0, NULL, 0);
        }
    }
}

/* Liveness: a peer we wait for that has been silent for HEARTBEAT_US gets
 * a PING; one that answers nothing (PONG or anything else) for
 * peer_timeout_us is lost. Send errors (refused, reset) mark it lost at
 * once, but TCP providers do not always report a dead peer on their own.
 * Also retries reply allocations that found the client's pool full. */
dragonError_t origin_probe(agent_t *a, uint64_t *next_us)
{
    uint64_t now = dg__now_us(), next = UINT64_MAX;
    for (oreq_t *o = a->oreqs, *nx; o; o = nx) {
        nx = o->next;
        if (o->state == O_ALLOC && !o->orphan)
            start_read(a, o);
    }
    for (int i = 0; i < MAX_NODES; i++) {
        peer_t *p = &a->peers[i];
        if (!p->known || p->lost)
            continue;
        if (p->inflight == 0) {
            p->probe_since = 0;
            continue;
        }
        if (p->probe_since && p->last_rx >= p->probe_since)
            p->probe_since = 0; /* answered */
        if (p->probe_since && now >= p->probe_since + a->peer_timeout_us) {
            peer_lost(a, i, "no answer to probes");
            continue;
        }
        uint64_t last = p->last_rx > p->last_probe ? p->last_rx : p->last_probe;
        if (now >= last + HEARTBEAT_US) {
            alog(L_DEBUG, "probing node %d (%d requests waiting)", i, p->inflight);
            wmsg_t *m = wmsg_new(a, W_PING, 0);
            if (m)
                wire_send(a, i, m);
            if (!p->probe_since)
                p->probe_since = now;
            p->last_probe = now;
            last = now;
        }
        if (p->lost)
            continue;
        if (last + HEARTBEAT_US < next)
            next = last + HEARTBEAT_US;
        if (p->probe_since && p->probe_since + a->peer_timeout_us < next)
            next = p->probe_since + a->peer_timeout_us;
    }
    *next_us = next;
    return DRAGON_OK;
}

dragonError_t origin_shutdown(agent_t *a)
{
    while (a->oreqs) {
        oreq_t *o = a->oreqs;
        a->oreqs = o->next;
        fab_unreg(o->mr);
        if (o->has_gw_alloc)
            dragon_pool_free(a->pool, o->gw_alloc);
        free(o->copy);
        if (o->state != O_READING && o->state != O_DELIVERING)
            free(o);
    }
    return DRAGON_OK;
}
