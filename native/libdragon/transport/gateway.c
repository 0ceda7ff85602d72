/* The gateway channel: requests of local clients in, replies out to each
 * client's own reply channel. Large requests arrive as pool allocations
 * (dragon_channel_recv_msg), so their bytes are exposed to the target in
 * place. */
#include <stdlib.h>
#include <string.h>
#include "agent.h"

#define GW_CAPACITY 256
#define GW_BLOCK 4096 /* requests larger than this travel as allocations */
#define GW_BIT 0u

typedef struct parked {
    gw_req_t r;
    uint8_t *copy;   /* inline payload copy */
    int has_alloc;
    dragon_alloc_t alloc;
    uint8_t *payload;
} parked_t;

dragonError_t gateway_open(agent_t *a)
{
    dragonError_t rc = dragon_channel_create(a->pool, GW_CAPACITY, GW_BLOCK, &a->gw);
    if (rc)
        return rc;
    size_t len;
    if ((rc = dragon_channel_serialize(a->gw, a->gw_desc, sizeof a->gw_desc, &len)))
        return rc;
    a->gw_block = GW_BLOCK;
    if (!(a->gw_buf = malloc(GW_BLOCK)))
        return DRAGON_ERR_NO_MEMORY;
    if ((rc = dragon_channel_watch(a->gw, a->waiter, DRAGON_WATCH_IN, GW_BIT)))
        return rc;
    a->gw_watched = 1;
    return DRAGON_OK;
}

dragonError_t gateway_reply(agent_t *a, const uint8_t *reply_desc, uint16_t op, uint64_t req_id,
                            uint32_t status, uint32_t events, uint64_t value,
                            const uint8_t *payload, uint64_t plen, void *oreq)
{
    lch_t *l = NULL;
    dragonError_t rc = lch_get(a, reply_desc, &l);
    if (rc) {
        alog(L_WARN, "cannot answer request %llu: reply channel: %s",
             (unsigned long long)req_id, dragon_errname(rc));
        origin_delivered(a, oreq);
        return rc;
    }
    uint8_t *buf = malloc(sizeof(gw_rep_t) + plen);
    if (!buf) {
        origin_delivered(a, oreq);
        return DRAGON_ERR_NO_MEMORY;
    }
    gw_rep_t rep = {.version = 1, .op = op, .req_id = req_id, .status = status,
                    .events = events, .value = value};
    memcpy(rep.magic, GW_REP_MAGIC, 4);
    memcpy(buf, &rep, sizeof rep);
    if (plen)
        memcpy(buf + sizeof rep, payload, plen);
    dragon_alloc_t none = {0, 0, 0};
    return deliver(a, l, buf, sizeof rep + plen, 0, none, oreq);
}

static void drop_msg(agent_t *a, dragon_msg_t *m)
{
    if (m->is_alloc)
        dragon_pool_free(a->pool, m->alloc);
}

/* One request taken from the gateway: validate, then hand to origin. */
static int take(agent_t *a, dragon_msg_t *m)
{
    uint8_t *ptr = a->gw_buf;
    if (m->is_alloc && dragon_alloc_ptr(a->pool, m->alloc, (void **)&ptr)) {
        drop_msg(a, m);
        return 1;
    }
    gw_req_t r;
    if (m->len < sizeof r) {
        alog(L_WARN, "dropped a %llu-byte gateway request: too short", (unsigned long long)m->len);
        drop_msg(a, m);
        return 1;
    }
    memcpy(&r, ptr, sizeof r);
    uint64_t plen = m->len - sizeof r;
    int bad_len = r.op == GW_SEND   ? r.payload_len != plen
                  : r.op == GW_SYNC ? plen != sizeof(gw_sync_t) || r.payload_len != plen
                  : r.op == GW_MEM  ? plen < sizeof(gw_mem_t) ||
                                         plen > sizeof(gw_mem_t) + MEM_MAX || r.payload_len != plen
                                    : plen != 0;
    if (memcmp(r.magic, GW_REQ_MAGIC, 4) || r.version != 1 || bad_len) {
        alog(L_WARN, "bad gateway request (magic/version/length), req_id %llu",
             (unsigned long long)r.req_id);
        drop_msg(a, m);
        if (!memcmp(r.magic, GW_REQ_MAGIC, 4))
            gateway_reply(a, r.reply, r.op, r.req_id, DRAGON_ERR_INVALID_ARGUMENT, 0, 0, NULL, 0,
                          NULL);
        return 1;
    }
    int taken = 1;
    origin_submit(a, &r, ptr + sizeof r, m->is_alloc, m->alloc, &taken);
    if (taken)
        return 1;
    parked_t *p = calloc(1, sizeof *p);
    if (!p) {
        drop_msg(a, m);
        gateway_reply(a, r.reply, r.op, r.req_id, DRAGON_ERR_NO_MEMORY, 0, 0, NULL, 0, NULL);
        return 1;
    }
    p->r = r;
    p->has_alloc = m->is_alloc;
    p->alloc = m->alloc;
    if (m->is_alloc) {
        p->payload = ptr + sizeof r;
    } else {
        p->copy = malloc(plen ? plen : 1);
        if (!p->copy) {
            free(p);
            gateway_reply(a, r.reply, r.op, r.req_id, DRAGON_ERR_NO_MEMORY, 0, 0, NULL, 0, NULL);
            return 1;
        }
        memcpy(p->copy, ptr + sizeof r, plen);
        p->payload = p->copy;
    }
    a->parked = p;
    return 0;
}

dragonError_t gateway_pump(agent_t *a)
{
    if (!a->gw)
        return DRAGON_OK;
    if (a->parked) {
        parked_t *p = a->parked;
        int taken = 1;
        origin_submit(a, &p->r, p->payload, p->has_alloc, p->alloc, &taken);
        if (!taken)
            return DRAGON_OK;
        free(p->copy);
        free(p);
        a->parked = NULL;
    }
    while (a->inflight < MAX_INFLIGHT && !a->stopping) {
        dragon_msg_t m;
        dragonError_t rc = dragon_channel_recv_msg(a->gw, a->gw_buf, a->gw_block, &m, 0);
        if (rc == DRAGON_ERR_TIMEOUT)
            break;
        if (rc) {
            alog(L_ERR, "gateway channel: %s", dragon_errname(rc));
            return rc;
        }
        a->activity++;
        if (!take(a, &m))
            break;
    }
    return DRAGON_OK;
}

/* At exit: requests still queued in the gateway are answered DESTROYED. */
dragonError_t gateway_close(agent_t *a)
{
    if (!a->gw)
        return DRAGON_OK;
    if (a->parked) {
        parked_t *p = a->parked;
        gateway_reply(a, p->r.reply, p->r.op, p->r.req_id, DRAGON_ERR_DESTROYED, 0, 0, NULL, 0,
                      NULL);
        if (p->has_alloc)
            dragon_pool_free(a->pool, p->alloc);
        free(p->copy);
        free(p);
        a->parked = NULL;
    }
    for (;;) {
        dragon_msg_t m;
        if (dragon_channel_recv_msg(a->gw, a->gw_buf, a->gw_block, &m, 0))
            break;
        uint8_t *ptr = a->gw_buf;
        if (m.is_alloc)
            dragon_alloc_ptr(a->pool, m.alloc, (void **)&ptr);
        gw_req_t r;
        if (m.len >= sizeof r) {
            memcpy(&r, ptr, sizeof r);
            if (!memcmp(r.magic, GW_REQ_MAGIC, 4))
                gateway_reply(a, r.reply, r.op, r.req_id, DRAGON_ERR_DESTROYED, 0, 0, NULL, 0,
                              NULL);
        }
        drop_msg(a, &m);
    }
    if (a->gw_watched)
        dragon_channel_unwatch(a->gw, a->waiter, DRAGON_WATCH_IN);
    a->gw_watched = 0;
    dragon_channel_destroy(a->gw);
    a->gw = NULL;
    free(a->gw_buf);
    a->gw_buf = NULL;
    return DRAGON_OK;
}
