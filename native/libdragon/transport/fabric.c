/* libfabric: provider choice, endpoint, address vector, completion queue,
 * memory registration, and the send / receive / read machinery on top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "agent.h"

static int excluded(const char *prov)
{
    /* shm hangs between nodes with private /dev/shm, sockets takes
     * milliseconds per message, udp/rxd is unreliable and slow here. */
    return !prov || strstr(prov, "shm") || strstr(prov, "sockets") || strstr(prov, "udp") ||
           strstr(prov, "rxd") || strstr(prov, "hook");
}

static void close_fid(struct fid **f)
{
    if (*f)
        fi_close(*f);
    *f = NULL;
}

dragonError_t fab_close(fab_t *f)
{
    close_fid((struct fid **)&f->ep);
    close_fid((struct fid **)&f->av);
    close_fid((struct fid **)&f->cq);
    close_fid((struct fid **)&f->domain);
    close_fid((struct fid **)&f->fabric);
    if (f->info)
        fi_freeinfo(f->info);
    f->info = NULL;
    return DRAGON_OK;
}

static int try_open(fab_t *f, struct fi_info *fi, char *err, size_t errcap)
{
    int rc;
    f->info = fi_dupinfo(fi);
    if (!f->info)
        return -FI_ENOMEM;
    const char *step = "fabric";
    if ((rc = fi_fabric(fi->fabric_attr, &f->fabric, NULL)))
        goto fail;
    step = "domain";
    if ((rc = fi_domain(f->fabric, f->info, &f->domain, NULL)))
        goto fail;
    struct fi_cq_attr cqa = {.size = 1024, .format = FI_CQ_FORMAT_MSG, .wait_obj = FI_WAIT_FD};
    step = "cq (FI_WAIT_FD)";
    if ((rc = fi_cq_open(f->domain, &cqa, &f->cq, NULL)))
        goto fail;
    step = "cq wait fd";
    if ((rc = fi_control(&f->cq->fid, FI_GETWAIT, &f->cq_fd)))
        goto fail;
    struct fi_av_attr ava = {.type = FI_AV_TABLE, .count = MAX_NODES};
    step = "av";
    if ((rc = fi_av_open(f->domain, &ava, &f->av, NULL)))
        goto fail;
    step = "endpoint";
    if ((rc = fi_endpoint(f->domain, f->info, &f->ep, NULL)))
        goto fail;
    if ((rc = fi_ep_bind(f->ep, &f->av->fid, 0)))
        goto fail;
    if ((rc = fi_ep_bind(f->ep, &f->cq->fid, FI_TRANSMIT | FI_RECV)))
        goto fail;
    step = "enable";
    if ((rc = fi_enable(f->ep)))
        goto fail;
    f->addrlen = sizeof f->addr;
    step = "getname";
    if ((rc = fi_getname(&f->ep->fid, f->addr, &f->addrlen)))
        goto fail;
    uint64_t m = f->info->domain_attr->mr_mode;
    f->mr_local = (m & FI_MR_LOCAL) != 0;
    f->mr_virt = (m & FI_MR_VIRT_ADDR) != 0;
    f->mr_prov_key = (m & FI_MR_PROV_KEY) != 0;
    f->mr_endpoint = (m & FI_MR_ENDPOINT) != 0;
    snprintf(f->prov, sizeof f->prov, "%s", fi->fabric_attr->prov_name);
    return 0;
fail:
    snprintf(err, errcap, "%s %s: %s", fi->fabric_attr->prov_name, step, fi_strerror(-rc));
    fab_close(f);
    return rc;
}

/* Ranking among the capable providers: a native RDM provider ("net",
 * "cxi", "efa", "tcp" from 1.18) before a utility-layered one ("x;ofi_rxm"):
 * measured here, net beats tcp;ofi_rxm on both latency and bandwidth.
 * Otherwise libfabric's own order. */
static int rank(const struct fi_info *fi)
{
    return strchr(fi->fabric_attr->prov_name, ';') ? 1 : 0;
}

dragonError_t fab_open(fab_t *f, const char *provider, const char *addr, char *err, size_t errcap)
{
    memset(f, 0, sizeof *f);
    f->cq_fd = -1;
    struct fi_info *hints = fi_allocinfo();
    if (!hints)
        return DRAGON_ERR_NO_MEMORY;
    hints->ep_attr->type = FI_EP_RDM;
    hints->caps = FI_MSG | FI_RMA | FI_READ | FI_REMOTE_READ;
    hints->mode = FI_CONTEXT | FI_CONTEXT2;
    /* We can honour all of these (verbs, cxi, efa need some of them). */
    hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_PROV_KEY |
                                  FI_MR_ALLOCATED | FI_MR_ENDPOINT;
    hints->domain_attr->threading = FI_THREAD_DOMAIN;
    /* A cxi job would set its VNI here: hints->domain_attr->auth_key (a
     * struct cxi_auth_key {svc_id, vni}) or FI_CXI_DEFAULT_VNI in the env. */
    if (provider && *provider)
        hints->fabric_attr->prov_name = strdup(provider);
    struct fi_info *list = NULL;
    int rc = fi_getinfo(FI_VERSION(1, 17), addr, NULL, addr ? FI_SOURCE : 0, hints, &list);
    fi_freeinfo(hints);
    if (rc) {
        snprintf(err, errcap, "fi_getinfo(%s, %s): %s", provider ? provider : "any",
                 addr ? addr : "-", fi_strerror(-rc));
        return DRAGON_ERR_SYSTEM;
    }
    snprintf(err, errcap, "no usable provider (shm, sockets, udp excluded)");
    rc = -FI_ENODATA;
    for (int pass = 0; pass < 2 && rc; pass++) {
        for (struct fi_info *fi = list; fi && rc; fi = fi->next) {
            if (!provider && excluded(fi->fabric_attr->prov_name))
                continue;
            if (rank(fi) != pass)
                continue;
            rc = try_open(f, fi, err, errcap);
            if (rc)
                alog(L_DEBUG, "provider %s unusable: %s", fi->fabric_attr->prov_name, err);
        }
    }
    fi_freeinfo(list);
    return rc ? DRAGON_ERR_SYSTEM : DRAGON_OK;
}

dragonError_t fab_insert(fab_t *f, const uint8_t *addr, size_t len, fi_addr_t *out)
{
    (void)len;
    int n = fi_av_insert(f->av, addr, 1, out, 0, NULL);
    return n == 1 ? DRAGON_OK : DRAGON_ERR_SYSTEM;
}

static dragonError_t reg(fab_t *f, void *buf, size_t len, uint64_t access, uint64_t key,
                         struct fid_mr **mr)
{
    int rc = fi_mr_reg(f->domain, buf, len, access, 0, key, 0, mr, NULL);
    if (rc)
        return rc == -FI_ENOKEY ? DRAGON_ERR_EXISTS : DRAGON_ERR_SYSTEM;
    if (f->mr_endpoint) {
        if (fi_mr_bind(*mr, &f->ep->fid, 0) || fi_mr_enable(*mr)) {
            fi_close(&(*mr)->fid);
            *mr = NULL;
            return DRAGON_ERR_SYSTEM;
        }
    }
    return DRAGON_OK;
}

dragonError_t fab_expose(fab_t *f, void *buf, size_t len, struct fid_mr **mr, uint64_t *raddr,
                         uint64_t *rkey)
{
    dragonError_t rc = DRAGON_ERR_EXISTS;
    /* Random requested keys: a guessed key must not reach our memory. Retry
     * on the (unlikely) collision with a key in use. */
    for (int i = 0; i < 8 && rc == DRAGON_ERR_EXISTS; i++) {
        uint64_t key = 0;
        if (!f->mr_prov_key && random_bytes(&key, sizeof key))
            return DRAGON_ERR_SYSTEM;
        /* Providers with narrow keys (verbs: 32 bits) reject large ones. */
        if (f->info->domain_attr->mr_key_size < 8)
            key &= (1ull << (8 * f->info->domain_attr->mr_key_size)) - 1;
        rc = reg(f, buf, len, FI_REMOTE_READ, key, mr);
    }
    if (rc)
        return rc;
    *raddr = f->mr_virt ? (uint64_t)(uintptr_t)buf : 0;
    *rkey = fi_mr_key(*mr);
    return DRAGON_OK;
}

dragonError_t fab_local(fab_t *f, void *buf, size_t len, uint64_t access, struct fid_mr **mr)
{
    *mr = NULL;
    if (!f->mr_local)
        return DRAGON_OK;
    uint64_t key = 0;
    if (!f->mr_prov_key && random_bytes(&key, sizeof key))
        return DRAGON_ERR_SYSTEM;
    if (f->info->domain_attr->mr_key_size < 8)
        key &= (1ull << (8 * f->info->domain_attr->mr_key_size)) - 1;
    return reg(f, buf, len, access, key, mr);
}

dragonError_t fab_unreg(struct fid_mr *mr)
{
    if (mr)
        fi_close(&mr->fid);
    return DRAGON_OK;
}

dragonError_t fab_trywait(fab_t *f, int *may_sleep)
{
    struct fid *fids[1] = {&f->cq->fid};
    *may_sleep = fi_trywait(f->fabric, fids, 1) == FI_SUCCESS;
    return DRAGON_OK;
}

/* ------------------------------------------------------------------ */
/* Sends. */

static void send_done(agent_t *a, fctx_t *c, int err, size_t len)
{
    (void)len;
    wmsg_t *m = c->owner;
    alog(L_DEBUG, "send to node %d done: %s", c->peer, err ? fi_strerror(err) : "ok");
    /* A completed send proves nothing about the peer (TCP buffers it);
     * only its messages and answered reads do. */
    if (err)
        peer_lost(a, c->peer, fi_strerror(err));
    fab_unreg(m->lmr);
    free(m);
}

wmsg_t *wmsg_new(agent_t *a, int type, size_t payload)
{
    wmsg_t *m = calloc(1, sizeof *m + sizeof(wire_hdr_t) + payload);
    if (!m)
        return NULL;
    m->len = sizeof(wire_hdr_t) + payload;
    wire_hdr_t *h = (wire_hdr_t *)m->data;
    memcpy(h->key, a->key, WIRE_KEY_BYTES);
    h->magic = WIRE_MAGIC;
    h->type = (uint16_t)type;
    h->src_node = (uint32_t)a->node;
    h->len = payload;
    m->ctx.done = send_done;
    m->ctx.owner = m;
    return m;
}

static int post_send(agent_t *a, wmsg_t *m)
{
    peer_t *p = &a->peers[m->ctx.peer];
    if (a->fab.mr_local && !m->lmr &&
        fab_local(&a->fab, m->data, m->len, FI_SEND, &m->lmr) != DRAGON_OK)
        return -FI_ENOMEM;
    return (int)fi_send(a->fab.ep, m->data, m->len, m->lmr ? fi_mr_desc(m->lmr) : NULL, p->fa,
                        &m->ctx.fi);
}

/* A reply to a request of node `peer` (none to a lost node: nobody waits). */
dragonError_t wire_reply(agent_t *a, int peer, uint32_t op, uint64_t xid, dragonError_t rc,
                         uint64_t value, const void *payload, uint64_t plen)
{
    if (a->peers[peer].lost)
        return DRAGON_ERR_PEER_LOST;
    wmsg_t *m = wmsg_new(a, W_REPLY, plen);
    if (!m) {
        alog(L_ERR, "out of memory for a reply to node %d", peer);
        return DRAGON_ERR_NO_MEMORY;
    }
    wire_hdr_t *h = (wire_hdr_t *)m->data;
    h->op = op;
    h->xid = xid;
    h->status = (uint32_t)rc;
    h->value = value;
    if (plen)
        memcpy(m->data + sizeof *h, payload, plen);
    return wire_send(a, peer, m);
}

dragonError_t wire_send(agent_t *a, int peer, wmsg_t *m)
{
    m->ctx.peer = peer;
    m->next = NULL;
    if (!a->peers[peer].known || a->peers[peer].lost) {
        free(m);
        return DRAGON_ERR_DESTROYED;
    }
    if (!a->txq) {
        TRACE(a, T_POSTING, 0);
        int rc = post_send(a, m);
        if (rc == 0) {
            TRACE(a, T_SEND, ((wire_hdr_t *)m->data)->type);
            return DRAGON_OK;
        }
        if (rc != -FI_EAGAIN) {
            alog(L_WARN, "fi_send to node %d: %s", peer, fi_strerror(-rc));
            fab_unreg(m->lmr);
            free(m);
            peer_lost(a, peer, "send failed");
            return DRAGON_ERR_DESTROYED;
        }
    }
    /* Keep order with what is already waiting. */
    if (a->txq_tail)
        a->txq_tail->next = m;
    else
        a->txq = m;
    a->txq_tail = m;
    a->retry_soon = 1;
    return DRAGON_OK;
}

dragonError_t wire_flush(agent_t *a)
{
    while (a->txq) {
        wmsg_t *m = a->txq;
        if (a->peers[m->ctx.peer].lost) {
            a->txq = m->next;
            fab_unreg(m->lmr);
            free(m);
            continue;
        }
        int rc = post_send(a, m);
        if (rc == -FI_EAGAIN) {
            a->retry_soon = 1;
            break;
        }
        a->txq = m->next;
        if (rc) {
            fab_unreg(m->lmr);
            int peer = m->ctx.peer;
            free(m);
            peer_lost(a, peer, "send failed");
        }
    }
    if (!a->txq)
        a->txq_tail = NULL;
    return DRAGON_OK;
}

/* ------------------------------------------------------------------ */
/* Receives: RX_BUFS buffers of WIRE_MAX bytes, reposted after each message
 * (the handlers copy what they keep). */

static void handle_msg(agent_t *a, const uint8_t *buf, size_t len)
{
    if (len < sizeof(wire_hdr_t)) {
        a->dropped++;
        alog(L_WARN, "dropped a %zu-byte message: too short", len);
        return;
    }
    wire_hdr_t h;
    memcpy(&h, buf, sizeof h);
    /* Constant-time compare: no timing oracle on the key. */
    uint8_t diff = 0;
    for (int i = 0; i < WIRE_KEY_BYTES; i++)
        diff |= (uint8_t)(h.key[i] ^ a->key[i]);
    if (diff || h.magic != WIRE_MAGIC) {
        a->dropped++;
        alog(L_WARN, "dropped a message with a wrong job key or magic (claims node %u, %llu dropped)",
             h.src_node, (unsigned long long)a->dropped);
        return;
    }
    int peer = (int)h.src_node;
    if (peer < 0 || peer >= MAX_NODES || !a->peers[peer].known || peer == a->node) {
        alog(L_WARN, "dropped a message from unknown node %u", h.src_node);
        return;
    }
    if (a->peers[peer].lost) {
        alog(L_DEBUG, "ignoring a message of lost node %d", peer);
        return;
    }
    const uint8_t *payload = buf + sizeof h;
    size_t plen = len - sizeof h;
    if (!(h.flags & WF_LARGE) && h.len != plen) {
        alog(L_WARN, "dropped a message from node %d: bad length", peer);
        return;
    }
    a->peers[peer].last_rx = dg__now_us();
    switch (h.type) {
    case W_REQ:
        serve_request(a, peer, &h, payload);
        break;
    case W_REPLY:
        origin_reply(a, peer, &h, payload);
        break;
    case W_ACK:
        serve_ack(a, peer, h.ref);
        break;
    case W_PING: {
        wmsg_t *m = wmsg_new(a, W_PONG, 0);
        if (m)
            wire_send(a, peer, m);
        break;
    }
    case W_PONG:
        break;
    default:
        alog(L_WARN, "dropped a message of unknown type %u from node %d", h.type, peer);
    }
}

static void recv_done(agent_t *a, fctx_t *c, int err, size_t len)
{
    uint8_t *buf = c->owner;
    a->activity++; /* a message arrived: worth spinning for the next one */
    TRACE(a, T_RECV, 0);
    if (!err)
        handle_msg(a, buf, len);
    else if (err != FI_ECANCELED)
        alog(L_WARN, "receive failed: %s", fi_strerror(err));
    if (err == FI_ECANCELED)
        return;
    int rc = (int)fi_recv(a->fab.ep, buf, WIRE_MAX, a->rxmr ? fi_mr_desc(a->rxmr) : NULL,
                          FI_ADDR_UNSPEC, &c->fi);
    if (rc)
        alog(L_ERR, "re-posting a receive: %s", fi_strerror(-rc));
}

dragonError_t wire_post_recvs(agent_t *a)
{
    a->rxslab = malloc((size_t)RX_BUFS * WIRE_MAX);
    if (!a->rxslab)
        return DRAGON_ERR_NO_MEMORY;
    if (fab_local(&a->fab, a->rxslab, (size_t)RX_BUFS * WIRE_MAX, FI_RECV, &a->rxmr))
        return DRAGON_ERR_SYSTEM;
    for (int i = 0; i < RX_BUFS; i++) {
        fctx_t *c = &a->rxctx[i];
        c->done = recv_done;
        c->peer = -1;
        c->owner = a->rxslab + (size_t)i * WIRE_MAX;
        int rc = (int)fi_recv(a->fab.ep, c->owner, WIRE_MAX,
                              a->rxmr ? fi_mr_desc(a->rxmr) : NULL, FI_ADDR_UNSPEC, &c->fi);
        if (rc) {
            alog(L_ERR, "fi_recv: %s", fi_strerror(-rc));
            return DRAGON_ERR_SYSTEM;
        }
    }
    return DRAGON_OK;
}

/* ------------------------------------------------------------------ */
/* RMA reads in chunks of RMA_CHUNK, at most READS_PER_OP outstanding. */

typedef struct chunk {
    fctx_t ctx;
    uint64_t len;
} chunk_t;

static void finish_rma(agent_t *a, rma_xfer_t *x)
{
    if (x->outstanding)
        return;
    if (!x->failed && x->done < x->len)
        return;
    fab_unreg(x->lmr);
    x->lmr = NULL;
    x->cb(a, x, x->failed ? DRAGON_ERR_PEER_LOST : DRAGON_OK);
}

static void read_done(agent_t *a, fctx_t *c, int err, size_t len)
{
    (void)len;
    chunk_t *k = (chunk_t *)c;
    rma_xfer_t *x = c->owner;
    x->outstanding--;
    if (err) {
        alog(L_WARN, "fi_read from node %d: %s", c->peer, fi_strerror(err));
        x->failed = 1;
    } else {
        x->done += k->len;
        a->peers[c->peer].last_rx = dg__now_us();
    }
    int peer = c->peer;
    free(k);
    if (err)
        peer_lost(a, peer, "read failed");
    if (!x->failed)
        rma_pump(a, x);
    finish_rma(a, x);
}

dragonError_t rma_pump(agent_t *a, rma_xfer_t *x)
{
    while (!x->failed && x->issued < x->len && x->outstanding < READS_PER_OP) {
        if (a->peers[x->peer].lost) {
            x->failed = 1;
            break;
        }
        chunk_t *k = calloc(1, sizeof *k);
        if (!k)
            return DRAGON_ERR_NO_MEMORY;
        k->len = x->len - x->issued < RMA_CHUNK ? x->len - x->issued : RMA_CHUNK;
        k->ctx.done = read_done;
        k->ctx.peer = x->peer;
        k->ctx.owner = x;
        int rc = (int)fi_read(a->fab.ep, x->dst + x->issued, k->len,
                              x->lmr ? fi_mr_desc(x->lmr) : NULL, a->peers[x->peer].fa,
                              x->raddr + x->issued, x->rkey, &k->ctx.fi);
        if (rc == -FI_EAGAIN) {
            free(k);
            if (!x->on_retry) {
                x->on_retry = 1;
                x->next_retry = a->rma_retry;
                a->rma_retry = x;
            }
            a->retry_soon = 1;
            return DRAGON_OK;
        }
        if (rc) {
            free(k);
            alog(L_WARN, "fi_read: %s", fi_strerror(-rc));
            x->failed = 1;
            break;
        }
        x->issued += k->len;
        x->outstanding++;
    }
    return DRAGON_OK;
}

dragonError_t rma_start(agent_t *a, rma_xfer_t *x)
{
    x->issued = x->done = 0;
    x->outstanding = 0;
    x->failed = 0;
    x->on_retry = 0;
    if (fab_local(&a->fab, x->dst, x->len, FI_READ, &x->lmr))
        x->failed = 1;
    if (x->len == 0 || x->failed) {
        finish_rma(a, x);
        return DRAGON_OK;
    }
    rma_pump(a, x);
    finish_rma(a, x);
    return DRAGON_OK;
}

static void rma_retry_all(agent_t *a)
{
    rma_xfer_t *l = a->rma_retry;
    a->rma_retry = NULL;
    while (l) {
        rma_xfer_t *x = l;
        l = l->next_retry;
        x->on_retry = 0;
        rma_pump(a, x);
        finish_rma(a, x);
    }
}

/* ------------------------------------------------------------------ */

dragonError_t fab_progress(agent_t *a)
{
    struct fi_cq_msg_entry e[16];
    for (;;) {
        ssize_t n = fi_cq_read(a->fab.cq, e, 16);
        if (n == -FI_EAGAIN)
            break;
        if (n == -FI_EAVAIL) {
            struct fi_cq_err_entry ee;
            memset(&ee, 0, sizeof ee);
            if (fi_cq_readerr(a->fab.cq, &ee, 0) != 1)
                break;
            fctx_t *c = ee.op_context;
            if (c && c->done)
                c->done(a, c, ee.err ? ee.err : FI_EIO, 0);
            continue;
        }
        if (n < 0) {
            alog(L_ERR, "fi_cq_read: %s", fi_strerror((int)-n));
            return DRAGON_ERR_SYSTEM;
        }
        for (ssize_t i = 0; i < n; i++) {
            fctx_t *c = e[i].op_context;
            if (c && c->done)
                c->done(a, c, 0, e[i].len);
        }
    }
    a->retry_soon = 0;
    wire_flush(a);
    rma_retry_all(a);
    return DRAGON_OK;
}
