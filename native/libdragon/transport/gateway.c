/* The gateway channel: requests of local clients in, replies out to each
 * client's own reply channel. Large requests arrive as pool allocations
 * (dragon_channel_recv_msg), so their bytes are exposed to the target in
 * place. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
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

static void *gw_main(void *arg);

dragonError_t gateway_open(agent_t *a, int threaded)
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
    if (threaded) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        int prc = pthread_create(&a->gw_thread, &attr, gw_main, a);
        pthread_attr_destroy(&attr);
        if (prc == 0) {
            a->gw_started = a->gw_threaded = 1;
            return DRAGON_OK;
        }
        alog(L_WARN, "no gateway thread (%s): the epoll loop takes requests", strerror(prc));
    }
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
    gw_rep_t rep = {.version = GW_VERSION, .op = op, .req_id = req_id, .status = status,
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
    if (memcmp(r.magic, GW_REQ_MAGIC, 4) || r.version != GW_VERSION || bad_len) {
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
        TRACE(a, T_GW_TAKE, 0);
        if (!take(a, &m))
            break;
    }
    return DRAGON_OK;
}

/* ---- the gateway thread ----------------------------------------------------
 * Why a thread: the epoll loop can only learn of a request through the
 * waiter (the client's doorbell wakes libdragon's waiter thread, which
 * writes a pipe, which wakes epoll_wait): two wake-ups before the request
 * is even read. This thread sleeps in dragon_channel_poll on the gateway
 * itself (libdragon's adaptive spin, then the channel's futex), so the
 * client's send wakes it directly, and it posts the request's fi_send at
 * once, under the agent's lock.
 *
 * It then runs one pass of the loop's work (completions, queues, probes)
 * so that nothing it started can be missed by the loop, which may be
 * asleep in epoll_wait with a timeout computed before: if the pass finds a
 * deadline earlier than the loop's wake-up, or a retry to make soon, it
 * arms the loop's timer for it (maybe_kick). */

/* Called with mu held by the gateway thread after its pass: the loop may
 * sleep past `next` (e.g. the probe deadline of a peer that had nothing in
 * flight when the loop went to sleep). A timerfd in the loop's epoll set is
 * armed for it instead of waking the loop now: in steady traffic the loop
 * wakes for the reply long before, and an armed timer already due sooner
 * needs no new syscall. */
static void maybe_kick(agent_t *a, uint64_t next)
{
    uint64_t now = dg__now_us();
    if (a->retry_soon && now + RETRY_US < next)
        next = now + RETRY_US;
    if (!a->main_sleeping || next >= a->main_wake_at)
        return;
    if (a->timer_at > now && a->timer_at <= next)
        return;
    if (next <= now)
        next = now + 1;
    struct itimerspec its = {{0, 0}, {(time_t)(next / 1000000u), (long)(next % 1000000u) * 1000L}};
    if (timerfd_settime(a->kick_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        a->timer_at = next;
}

static void *gw_main(void *arg)
{
    agent_t *a = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the main thread */
    for (;;) {
        uint32_t rev = 0;
        dragonError_t prc = dragon_channel_poll(a->gw, DRAGON_POLL_IN, -1, &rev);
        atomic_store(&a->gw_wants, 1);
        pthread_mutex_lock(&a->mu);
        atomic_store(&a->gw_wants, 0);
        if (a->gw_stop || a->stopping) {
            pthread_mutex_unlock(&a->mu);
            break;
        }
        if (prc && prc != DRAGON_ERR_TIMEOUT) {
            alog(L_ERR, "gateway thread: polling the gateway: %s", dragon_errname(prc));
            a->gw_threaded = 0; /* the loop takes over (it polls the gateway every pass) */
            maybe_kick(a, 0);
            pthread_mutex_unlock(&a->mu);
            break;
        }
        gateway_pump(a);
        /* One pass of the loop's work: see above. */
        fab_progress(a);
        uint64_t n1, n2, n3;
        serve_run(a, &n1);
        sync_run(a, &n3);
        origin_probe(a, &n2);
        uint64_t next = n1 < n2 ? n1 : n2;
        if (n3 < next)
            next = n3;
        maybe_kick(a, next);
        /* Requests left in the gateway that may not be taken now (the
         * in-flight bound, or one parked until the peers line): poll would
         * return at once, so wait until the loop says things moved. */
        while (!a->gw_stop && !a->stopping && (a->parked || a->inflight >= MAX_INFLIGHT)) {
            a->gw_stuck = 1;
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_nsec += RETRY_US * 1000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&a->gw_cv, &a->mu, &dl);
            a->gw_stuck = 0;
            gateway_pump(a);
        }
        pthread_mutex_unlock(&a->mu);
    }
    return NULL;
}

dragonError_t gateway_stop_thread(agent_t *a)
{
    pthread_mutex_lock(&a->mu);
    int threaded = a->gw_started;
    a->gw_stop = 1;
    pthread_cond_signal(&a->gw_cv);
    pthread_mutex_unlock(&a->mu);
    if (!threaded)
        return DRAGON_OK;
    /* Wake its poll: a 1-byte message, dropped by gateway_close as too
     * short (a full gateway needs none: poll returns at once). */
    uint8_t b = 0;
    dragon_channel_send(a->gw, &b, 1, 0);
    pthread_join(a->gw_thread, NULL);
    a->gw_started = a->gw_threaded = 0;
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
