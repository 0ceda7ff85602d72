/* dragon-transport: carries channel operations between nodes over
 * libfabric. One per node, started by the node's backend; see
 * docs/TRANSPORT.md. One thread sleeping in epoll_wait() on the waiter pipe
 * (our channels), the CQ wait fd (after fi_trywait) and stdin (the backend). */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"

#define STOP_GRACE_US 2000000
#define SPIN_MAX_US 10 /* DRAGON_TRANSPORT_SPIN_US overrides; 0 = never spin */
#define SPIN_MIN_US 2

static int fail(agent_t *a, const char *fmt, const char *detail)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, detail);
    alog(L_ERR, "%s", msg);
    control_ready(a, msg);
    return 1;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

/* The CQ wait fd is watched edge-triggered: with the `net` provider of
 * libfabric 1.17 it is a nested epoll set that stays readable after the
 * connection is up even when there is nothing to progress (level-triggered
 * poll() spun at 100% of a core). Edge-triggered is correct for any
 * provider because every wake-up drains the CQ (fab_progress reads until
 * EAGAIN) and fi_trywait is asked before each sleep. */
static dragonError_t loop(agent_t *a, uint64_t spin_max)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return DRAGON_ERR_SYSTEM;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    ev.data.u32 = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, a->waiter_fd, &ev);
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u32 = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, a->fab.cq_fd, &ev);
    ev.events = EPOLLIN;
    ev.data.u32 = 2;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev))
        a->stdin_open = 0; /* stdin is a file or closed: no control channel */
    ev.events = EPOLLIN;
    ev.data.u32 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, a->kick_fd, &ev);
    uint64_t stop_at = UINT64_MAX;
    dragonError_t rc = DRAGON_OK;
    uint64_t spin_us = spin_max, seen = a->activity;
    uint64_t spin_min = spin_max < SPIN_MIN_US ? spin_max : SPIN_MIN_US;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        fab_progress(a);
        if (!a->gw_threaded)
            gateway_pump(a);
        else if (a->gw_stuck)
            pthread_cond_signal(&a->gw_cv); /* in-flight requests may have ended */
        uint64_t n1, n2, n3;
        serve_run(a, &n1);
        sync_run(a, &n3);
        if (n3 < n1)
            n1 = n3;
        origin_probe(a, &n2);
        uint64_t now = dg__now_us();
        if (a->stopping) {
            if (stop_at == UINT64_MAX)
                stop_at = now + STOP_GRACE_US;
            if ((a->inflight == 0 && !serve_busy(a) && !sync_busy(a)) || now >= stop_at)
                break;
        }
        uint64_t next = n1 < n2 ? n1 : n2;
        if (stop_at < next)
            next = stop_at;
        if (a->retry_soon && now + RETRY_US < next)
            next = now + RETRY_US;
        /* Adaptive spin: right after a message or request, the next one
         * (the reply, the client's next request) often follows within
         * microseconds, and a sleep costs a wake-up through epoll (and the
         * waiter thread for the gateway) on each side. Poll the CQ and the
         * gateway for up to spin_us; a spin that catches something restores
         * the budget, one that does not halves it. Never after an idle
         * wake-up (no activity since the last spin): idle stays at 0 CPU. */
        int caught = 0;
        if (a->activity != seen && spin_max && !a->stopping) {
            uint64_t start = dg__now_us(), before = a->activity;
            while (a->activity == before && dg__now_us() - start < spin_us) {
                if (atomic_load(&a->gw_wants)) {
                    /* the gateway thread took a request: let it post it */
                    pthread_mutex_unlock(&a->mu);
                    while (atomic_load(&a->gw_wants))
                        sched_yield();
                    pthread_mutex_lock(&a->mu);
                }
                fab_progress(a);
                if (!a->gw_threaded)
                    gateway_pump(a);
            }
            caught = a->activity != before;
            if (caught)
                TRACE(a, T_SPIN_CATCH, (uint32_t)(dg__now_us() - start));
            if (caught)
                spin_us = spin_max;
            else
                spin_us = spin_us / 2 > spin_min ? spin_us / 2 : spin_min;
        }
        seen = a->activity;
        /* Something to do now (caught by the spin, or completions ready):
         * no sleep, but still a look at stdin and the waiter pipe
         * (timeout 0), so sustained traffic cannot starve control lines. */
        int may_sleep = 0;
        if (!caught)
            fab_trywait(&a->fab, &may_sleep);
        int ms = -1;
        if (!may_sleep)
            ms = 0;
        else if (next != UINT64_MAX)
            ms = next > now ? (int)((next - now + 999) / 1000) : 0;
        struct epoll_event evs[4];
        /* the exact deadline the timeout was computed from: the gateway
         * thread kicks the loop only for something earlier (gateway.c) */
        a->main_wake_at = next;
        a->main_sleeping = ms != 0;
        pthread_mutex_unlock(&a->mu);
        int n = epoll_wait(ep, evs, 4, ms);
        pthread_mutex_lock(&a->mu);
        a->main_sleeping = 0;
        if (n < 0 && errno != EINTR) {
            alog(L_ERR, "epoll_wait: %s", strerror(errno));
            rc = DRAGON_ERR_SYSTEM;
            break;
        }
        if (a->trace && ms != 0) {
            uint32_t which = 0; /* bit 0 waiter pipe, 1 CQ, 2 stdin */
            for (int i = 0; i < n; i++)
                which |= 1u << evs[i].data.u32;
            TRACE(a, T_WAKE, which);
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u32 == 0) {
                uint64_t mask;
                dragon_waiter_take(a->waiter, &mask);
            } else if (evs[i].data.u32 == 3) {
                uint64_t v;
                ssize_t r = read(a->kick_fd, &v, sizeof v);
                (void)r;
                a->timer_at = 0;
            } else if (evs[i].data.u32 == 2) {
                control_read(a);
                if (!a->stdin_open)
                    epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
    close(ep);
    return rc;
}

int main(int argc, char **argv)
{
    static agent_t agent; /* large (control buffer, peer table): not on the stack */
    agent_t *a = &agent;
    const char *pool_b64 = NULL, *addr = NULL, *provider = NULL;
    a->node = -1;
    a->stdin_open = 1;
    log_init();
    signal(SIGPIPE, SIG_IGN);
    /* A workload manager's warning before the time limit (sbatch
     * --signal=USR1@60) reaches every process of the step: it must not end
     * the node's transport. */
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pool") && i + 1 < argc)
            pool_b64 = argv[++i];
        else if (!strcmp(argv[i], "--node") && i + 1 < argc)
            a->node = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--addr") && i + 1 < argc)
            addr = argv[++i];
        else if (!strcmp(argv[i], "--provider") && i + 1 < argc)
            provider = argv[++i];
        else
            return fail(a, "usage: dragon-transport --pool B64 --node N --addr IP [--provider P] (got %s)",
                        argv[i]);
    }
    if (!provider)
        provider = getenv("FI_PROVIDER");
    if (!pool_b64 || a->node < 0 || a->node >= MAX_NODES || !addr)
        return fail(a, "%s", "--pool, --node (0..1023) and --addr are required");
    const char *key = getenv("DRAGON_TRANSPORT_KEY");
    size_t klen = 0;
    if (!key || strlen(key) != 2 * WIRE_KEY_BYTES ||
        hex_decode(key, strlen(key), a->key, sizeof a->key, &klen))
        return fail(a, "%s", "DRAGON_TRANSPORT_KEY must be 64 hex characters");
    a->puid = env_u64("DRAGON_PUID", 1000u + (uint64_t)a->node);
    /* The run-time id is hex everywhere (segment names, DRAGON_RT_UID). */
    const char *rt = getenv("DRAGON_RT_UID");
    a->rtid = rt && *rt ? strtoull(rt, NULL, 16) : 0;
    a->peer_timeout_us = env_u64("DRAGON_TRANSPORT_PEER_TIMEOUT_MS", PEER_TIMEOUT_US / 1000) * 1000;

    uint8_t pd[256];
    size_t pl = 0;
    dragonError_t rc;
    if (b64_decode(pool_b64, pd, sizeof pd, &pl))
        return fail(a, "%s", "--pool is not base64");
    if ((rc = dragon_pool_attach(pd, pl, a->rtid, a->puid, &a->pool)))
        return fail(a, "attaching the default pool: %s", dragon_strerror(rc));
    pool_ent_t *pe = calloc(1, sizeof *pe);
    if (!pe)
        return fail(a, "%s", "out of memory");
    pe->pool = a->pool;
    dragon_pool_ids(a->pool, &pe->rtid, &pe->pool_id);
    a->pools = pe;
    if ((rc = dragon_waiter_create(a->puid, &a->waiter)) ||
        (rc = dragon_waiter_fd(a->waiter, &a->waiter_fd)))
        return fail(a, "waiter: %s", dragon_strerror(rc));
    char err[512];
    if (fab_open(&a->fab, provider, addr, err, sizeof err))
        return fail(a, "libfabric: %s", err);
    if (wire_post_recvs(a))
        return fail(a, "%s", "posting receive buffers failed");
    if ((rc = trace_open(a)))
        return fail(a, "trace: %s", dragon_strerror(rc));
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->gw_cv, NULL);
    a->kick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (a->kick_fd < 0)
        return fail(a, "%s", "timerfd_create failed");
    if ((rc = gateway_open(a, env_u64("DRAGON_TRANSPORT_GW_THREAD", 0) != 0)))
        return fail(a, "gateway channel: %s", dragon_strerror(rc));
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    alog(L_INFO, "node %d ready on %s (provider %s, mr_mode local=%d virt=%d prov_key=%d)", a->node,
         addr, a->fab.prov, a->fab.mr_local, a->fab.mr_virt, a->fab.mr_prov_key);
    control_ready(a, NULL);

    rc = loop(a, env_u64("DRAGON_TRANSPORT_SPIN_US", SPIN_MAX_US));

    gateway_stop_thread(a);
    gateway_close(a);
    origin_shutdown(a);
    serve_shutdown(a);
    sync_shutdown(a);
    /* The endpoint first: no completion may land in freed memory. */
    fab_unreg(a->rxmr);
    fab_close(&a->fab);
    free(a->rxslab);
    while (a->pools) {
        pool_ent_t *p = a->pools;
        a->pools = p->next;
        dragon_waiter_forget_pool(a->waiter, p->pool);
        dragon_pool_detach(p->pool);
        free(p);
    }
    dragon_waiter_destroy(a->waiter);
    trace_close(a);
    close(a->kick_fd);
    alog(L_INFO, "node %d exits (%llu foreign messages dropped)", a->node,
         (unsigned long long)a->dropped);
    return rc ? 1 : 0;
}
