/* GW_MEM: reads, writes and 64-bit atomics of remote clients on pool
 * allocations of this node (multiprocessing Value/Array memory). Each op is
 * done at once and answered: nothing here blocks or waits. The allocation
 * is found through the agent's own pool handle (no ownership changes, so
 * no handle per caller). Its generation is checked on every op, so an
 * allocation freed (and maybe reused) since the client got its descriptor
 * gives DRAGON_ERR_DESTROYED, never someone else's bytes. What the check
 * cannot exclude is a free racing with the copy itself: the same as for a
 * local process that frees memory another one is using. */
#include <stdlib.h>
#include <string.h>
#include "agent.h"

static void mreply(agent_t *a, int peer, uint64_t xid, dragonError_t rc, uint64_t value,
                   const void *payload, uint64_t plen)
{
    (void)wire_reply(a, peer, GW_MEM, xid, rc, value, payload, plen);
}

/* Validates the request; on success *ptr = the first byte of the range. */
static dragonError_t mem_locate(agent_t *a, const wire_hdr_t *h, const gw_mem_t *q,
                                uint8_t **ptr)
{
    uint32_t kind;
    uint64_t rtid, pool_id, host;
    dragonError_t rc = dragon_desc_inspect(h->target, DRAGON_DESC_BYTES, &kind, &rtid, &pool_id,
                                           &host);
    if (rc)
        return rc;
    if (kind != DRAGON_DESC_ALLOC)
        return DRAGON_ERR_WRONG_KIND;
    if (host != (uint64_t)a->node)
        return DRAGON_ERR_INVALID_ARGUMENT; /* never attach another node's object */
    uint64_t need = q->length;
    switch (q->mop) {
    case MOP_READ:
    case MOP_WRITE:
        if (q->length > MEM_MAX)
            return DRAGON_ERR_TOO_LARGE; /* the client splits larger transfers */
        break;
    case MOP_CAS64:
    case MOP_ADD64:
        if (q->offset % 8)
            return DRAGON_ERR_INVALID_ARGUMENT; /* atomics need natural alignment */
        need = 8;
        break;
    default:
        return DRAGON_ERR_INVALID_ARGUMENT;
    }
    dragon_pool_t *pool;
    if ((rc = pools_get(a, h->target, &pool)))
        return rc;
    dragon_alloc_t al;
    if ((rc = dragon_alloc_attach(pool, h->target, DRAGON_DESC_BYTES, &al)))
        return rc; /* freed since: DESTROYED (generation mismatch) */
    if (q->offset > al.size || need > al.size - q->offset)
        return DRAGON_ERR_INVALID_ARGUMENT; /* out of the allocation */
    void *base;
    if ((rc = dragon_alloc_ptr(pool, al, &base)))
        return rc;
    *ptr = (uint8_t *)base + q->offset;
    return DRAGON_OK;
}

dragonError_t mem_request(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload)
{
    gw_mem_t q;
    if (h->len < sizeof q || (h->flags & WF_LARGE)) {
        mreply(a, peer, h->xid, DRAGON_ERR_INVALID_ARGUMENT, 0, NULL, 0);
        return DRAGON_OK;
    }
    memcpy(&q, payload, sizeof q);
    const uint8_t *data = payload + sizeof q;
    uint64_t dlen = h->len - sizeof q;
    /* The data must be exactly what the op needs. */
    uint64_t want = q.mop == MOP_WRITE ? q.length : q.mop == MOP_CAS64 ? 16 : q.mop == MOP_ADD64 ? 8 : 0;
    if (dlen != want) {
        mreply(a, peer, h->xid, DRAGON_ERR_INVALID_ARGUMENT, 0, NULL, 0);
        return DRAGON_OK;
    }
    uint8_t *p = NULL;
    dragonError_t rc = mem_locate(a, h, &q, &p);
    if (rc) {
        mreply(a, peer, h->xid, rc, 0, NULL, 0);
        return DRAGON_OK;
    }
    switch (q.mop) {
    case MOP_READ:
        /* Copied into the reply message while the block is live. */
        mreply(a, peer, h->xid, DRAGON_OK, q.length, p, q.length);
        break;
    case MOP_WRITE:
        memcpy(p, data, q.length);
        mreply(a, peer, h->xid, DRAGON_OK, q.length, NULL, 0);
        break;
    case MOP_CAS64: {
        uint64_t expected, desired;
        memcpy(&expected, data, 8);
        memcpy(&desired, data + 8, 8);
        uint64_t old = expected;
        /* old = the value found, whether or not it was swapped */
        __atomic_compare_exchange_n((uint64_t *)(void *)p, &old, desired, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        mreply(a, peer, h->xid, DRAGON_OK, old, NULL, 0);
        break;
    }
    case MOP_ADD64: {
        uint64_t delta;
        memcpy(&delta, data, 8); /* i64, two's complement: adding wraps the same */
        uint64_t old = __atomic_fetch_add((uint64_t *)(void *)p, delta, __ATOMIC_SEQ_CST);
        mreply(a, peer, h->xid, DRAGON_OK, old, NULL, 0);
        break;
    }
    }
    return DRAGON_OK;
}
