/* Two transport agents on this machine as nodes 0 and 1 (each with its own
 * pool, bound to 127.0.0.1); the test plays their backend (ready lines,
 * peers line) and writes gateway requests by hand as clients would. A third
 * agent with another job key plays the intruder. No timing assertions: every
 * wait below is a safety limit, not a measurement. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "testutil.h"
#include "wire.h"

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define BADKEY "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define SAFETY_US 30000000 /* a reply must come; this only stops a hung test */

typedef harness_agent_t agentp_t;
typedef harness_client_t client_t;

static char agent_path[4096];

/* Agent `node` as the backend starts it, its stderr in a log of its own;
 * skips the test when no libfabric provider works here. */
static void spawn(agentp_t *ag, int node, dragon_pool_t *pool, const char *key)
{
    uint64_t rtid = 0;
    T_OK(dragon_pool_ids(pool, &rtid, NULL));
    char rt[32], puid[32], log[256];
    snprintf(rt, sizeof rt, "%llx", (unsigned long long)rtid); /* hex, as the backend passes it */
    snprintf(puid, sizeof puid, "%d", 1000 + node);
    snprintf(log, sizeof log, "/tmp/dragon-transport-test-%d-%d.log", getpid(), node);
    harness_env_t env[] = {
        {"DRAGON_RT_UID", rt},
        {"DRAGON_TRANSPORT_KEY", key},
        {"DRAGON_PUID", puid},
        {"DRAGON_TRANSPORT_PEER_TIMEOUT_MS", "1000"}, /* keep the lost-peer case short */
        /* node 0 takes gateway requests in its gateway thread, the others
         * in the epoll loop (the default): both paths are exercised */
        {"DRAGON_TRANSPORT_GW_THREAD", node == 0 ? "1" : "0"},
    };
    harness_spawn_t s = {.agent_path = agent_path, .pool = pool, .node = node,
                         .provider = getenv("DRAGON_TEST_PROVIDER"), .log_path = log,
                         .env = env, .n_env = sizeof env / sizeof env[0]};
    dragonError_t rc = harness_agent_spawn(&s, ag);
    if (rc == DRAGON_ERR_NO_TRANSPORT) {
        fprintf(stderr, "agent %d: %s", node, ag->ready);
        if (strstr(ag->ready, "libfabric"))
            T_SKIP("no usable libfabric provider here: %s", ag->ready);
        exit(1);
    }
    T_OK(rc);
}

static void say(agentp_t *ag, const char *line)
{
    T_OK(harness_agent_say(ag, line));
}

static int stop(agentp_t *ag)
{
    int st = 0;
    T_OK(harness_agent_stop(ag, &st));
    return st;
}

/* ---- a client: writes requests into a gateway, reads its reply channel ---- */
static void client_open(client_t *c, dragon_pool_t *pool, const char *gw_b64)
{
    T_OK(harness_client_open(c, pool, gw_b64, 512, 0));
}

static void client_close(client_t *c)
{
    T_OK(harness_client_close(c));
}

static uint64_t post(client_t *c, uint16_t op, const uint8_t *target, int64_t timeout,
                     uint32_t events, const void *payload, uint64_t len)
{
    harness_req_t q = {.op = op, .target = target, .timeout_us = timeout, .events = events,
                       .payload = payload, .len = len};
    uint64_t id;
    T_OK(harness_post(c, &q, &id));
    return id;
}

/* Next reply; *payload is malloc'd (or NULL). */
static gw_rep_t wait_reply(client_t *c, uint8_t **payload)
{
    gw_rep_t rep;
    T_OK(harness_wait_reply(c, SAFETY_US, &rep, payload));
    return rep;
}

static gw_rep_t call(client_t *c, uint16_t op, const uint8_t *target, int64_t timeout,
                     uint32_t events, const void *payload, uint64_t len, uint8_t **out)
{
    uint64_t id = post(c, op, target, timeout, events, payload, len);
    gw_rep_t rep = wait_reply(c, out);
    T_ASSERT(rep.req_id == id && rep.op == op);
    return rep;
}

static void desc_of(dragon_channel_t *ch, uint8_t *d)
{
    size_t len;
    T_OK(dragon_channel_serialize(ch, d, DRAGON_DESC_BYTES, &len));
}

static void fill(uint8_t *p, uint64_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (uint64_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

static int log_has(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

static void dump_logs(agentp_t *ags, int n)
{
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "--- agent %d log\n", i);
        FILE *f = fopen(ags[i].log, "r");
        char line[2048];
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
}

/* ---- sync objects (gateway op 5) ---- */
static uint64_t spost(client_t *c, const uint8_t *target, uint32_t sop, uint64_t caller,
                      uint64_t arg0, int64_t timeout)
{
    gw_sync_t q = {.sop = sop, .caller = caller, .arg0 = arg0};
    return post(c, GW_SYNC, target, timeout, 0, &q, sizeof q);
}

static gw_rep_t scall(client_t *c, const uint8_t *target, uint32_t sop, uint64_t caller,
                      uint64_t arg0, int64_t timeout, uint8_t **out)
{
    uint64_t id = spost(c, target, sop, caller, arg0, timeout);
    gw_rep_t rep = wait_reply(c, out);
    T_ASSERT(rep.req_id == id && rep.op == GW_SYNC);
    return rep;
}

static void sdesc_of(dragon_sync_t *s, uint8_t *d)
{
    size_t len;
    T_OK(dragon_sync_serialize(s, d, DRAGON_DESC_BYTES, &len));
}

static uint64_t u64_at(const uint8_t *p, int i)
{
    uint64_t v;
    memcpy(&v, p + 8 * i, 8);
    return v;
}

/* A client of node 0 uses sync objects of node 1; the test process is the
 * local party on node 1 (its pool handle's puid is 1). Remote callers use
 * puids 7000.. so ownership shows whether the op ran as the caller. */
static void sync_cases(client_t *A, client_t *A2, dragon_pool_t *p1)
{
    enum { ME = 7000, OTHER = 7001, DOOMED = 7002 };
    dragon_sync_t *L, *S, *E, *B;
    uint8_t dl[96], ds[96], de[96], db[96];
    T_OK(dragon_sync_create(p1, DRAGON_SYNC_RLOCK, 0, 0, &L));
    T_OK(dragon_sync_create(p1, DRAGON_SYNC_SEMAPHORE, 1, 2, &S));
    T_OK(dragon_sync_create(p1, DRAGON_SYNC_EVENT, 0, 0, &E));
    T_OK(dragon_sync_create(p1, DRAGON_SYNC_BARRIER, 2, 0, &B));
    sdesc_of(L, dl);
    sdesc_of(S, ds);
    sdesc_of(E, de);
    sdesc_of(B, db);
    uint8_t *pl = NULL;
    uint64_t owner, count;

    /* Lock: acquired as the remote caller, owner-checked release. */
    gw_rep_t r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME && count == 1);
    r = scall(A, dl, SOP_LOCK_OWNER, ME, 0, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && r.value == ME && u64_at(pl, 0) == 1);
    free(pl);
    T_EXPECT(dragon_lock_release(L), DRAGON_ERR_NOT_OWNER); /* not ours (puid 1) */
    r = scall(A, dl, SOP_LOCK_RELEASE, OTHER, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_NOT_OWNER);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == 0);

    /* Contention with a local holder: the remote acquire waits for the
     * local release (A2's request, behind it in node 0's sequence, proves
     * it is pending), and times out when nobody releases. */
    T_OK(dragon_lock_acquire(L, 0));
    uint64_t id = spost(A, dl, SOP_LOCK_ACQUIRE, ME, 0, 20000000);
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 1);
    T_OK(dragon_lock_release(L));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_lock_acquire(L, 0));
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, 200000, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == 1 && count == 1);
    T_OK(dragon_lock_release(L));
    printf("sync lock ok\n");

    /* Semaphore (value 1, bound 2): units recorded under the caller, given
     * back by reclaim of that caller. */
    r = scall(A, ds, SOP_SEM_ACQUIRE, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = scall(A, ds, SOP_SEM_VALUE, ME, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    r = scall(A, ds, SOP_SEM_ACQUIRE, ME, 0, 200000, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    id = spost(A, ds, SOP_SEM_ACQUIRE, ME, 0, -1);
    r = scall(A2, ds, SOP_SEM_VALUE, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    T_OK(dragon_sem_release(S, 1));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    int64_t v = -1;
    T_OK(dragon_sem_value(S, &v));
    T_ASSERT(v == 0);
    r = scall(A, ds, SOP_SEM_RELEASE, ME, 2, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = scall(A, ds, SOP_SEM_RELEASE, ME, 1, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_OVERFLOW);
    r = scall(A, ds, SOP_SEM_ACQUIRE, DOOMED, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_sem_value(S, &v));
    T_ASSERT(v == 1);
    dragon_reclaim_stats_t st;
    T_OK(dragon_pool_reclaim(p1, DOOMED, &st));
    T_OK(dragon_sem_value(S, &v));
    T_ASSERT(v == 2);
    printf("sync semaphore ok\n");

    /* Event: a remote wait woken by a local set. */
    r = scall(A, de, SOP_EVENT_IS_SET, ME, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    id = spost(A, de, SOP_EVENT_WAIT, ME, 0, -1);
    r = scall(A2, de, SOP_EVENT_IS_SET, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    T_OK(dragon_event_set(E));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    r = scall(A, de, SOP_EVENT_CLEAR, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    int set = 1;
    T_OK(dragon_event_is_set(E, &set));
    T_ASSERT(!set);
    r = scall(A, de, SOP_EVENT_WAIT, ME, 0, 200000, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = scall(A, de, SOP_EVENT_SET, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_event_is_set(E, &set));
    T_ASSERT(set);
    printf("sync event ok\n");

    /* Barrier of 2: one party here, one remote; distinct indices. */
    for (int round = 0; round < 3; round++) {
        id = spost(A, db, SOP_BARRIER_WAIT, ME, 0, -1);
        uint64_t idx = 9;
        T_OK(dragon_barrier_wait(B, SAFETY_US, &idx));
        r = wait_reply(A, NULL);
        T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
        T_ASSERT(idx < 2 && r.value < 2 && idx != r.value);
    }
    r = scall(A, db, SOP_BARRIER_STATE, ME, 0, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && r.value == 2 && u64_at(pl, 0) == 0 && u64_at(pl, 1) == 0);
    free(pl);
    /* Abort (remote) breaks the remote waiter; reset repairs. */
    id = spost(A, db, SOP_BARRIER_WAIT, ME, 0, -1);
    uint64_t id2 = spost(A, db, SOP_BARRIER_ABORT, OTHER, 0, 0);
    for (int i = 0; i < 2; i++) {
        r = wait_reply(A, NULL);
        if (r.req_id == id)
            T_EXPECT((dragonError_t)r.status, DRAGON_ERR_BROKEN);
        else
            T_ASSERT(r.req_id == id2 && r.status == DRAGON_OK);
    }
    r = scall(A, db, SOP_BARRIER_STATE, ME, 0, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && u64_at(pl, 1) == 1);
    free(pl);
    r = scall(A, db, SOP_BARRIER_RESET, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    /* A remote wait that times out breaks the round (cancel of its ticket). */
    r = scall(A, db, SOP_BARRIER_WAIT, ME, 0, 200000, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    uint64_t parties, waiting;
    int broken = 0;
    T_OK(dragon_barrier_state(B, &parties, &waiting, &broken));
    T_ASSERT(broken && parties == 2); /* as a local wait that times out */
    (void)waiting;
    T_OK(dragon_barrier_reset(B));
    printf("sync barrier ok\n");

    /* Wrong requests. */
    r = scall(A, dl, 99, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = scall(A, dl, SOP_LOCK_ACQUIRE, 0, 0, 0, NULL); /* no caller puid */
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = scall(A, de, SOP_LOCK_ACQUIRE, ME, 0, 0, NULL); /* an event is no lock */
    T_ASSERT(r.status != DRAGON_OK);
    uint8_t chd[96];
    memcpy(chd, A->reply_desc, 96); /* a channel (and a local one) */
    r = scall(A, chd, SOP_LOCK_ACQUIRE, ME, 0, 0, NULL);
    T_ASSERT(r.status != DRAGON_OK);
    gw_sync_t q = {.sop = SOP_LOCK_OWNER, .caller = ME};
    r = call(A, GW_SYNC, dl, 0, 0, &q, 16, NULL); /* short payload */
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == 0);
    printf("sync wrong requests ok\n");

    /* More callers than the agent caches pool handles for (64): the handle
     * of a caller with a pending acquire is never the one evicted. */
    T_OK(dragon_lock_acquire(L, 0));
    id = spost(A, dl, SOP_LOCK_ACQUIRE, 8000, 0, 20000000);
    for (uint64_t c = 0; c < 80; c++) {
        r = scall(A2, dl, SOP_LOCK_OWNER, 9000 + c, 0, 0, NULL);
        T_ASSERT(r.status == DRAGON_OK && r.value == 1);
    }
    T_OK(dragon_lock_release(L));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == 8000);
    r = scall(A, dl, SOP_LOCK_RELEASE, 8000, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    printf("sync handle cache ok\n");

    T_OK(dragon_sync_destroy(L));
    T_OK(dragon_sync_destroy(S));
    T_OK(dragon_sync_destroy(E));
    T_OK(dragon_sync_destroy(B));
}

/* Condition variables of node 1 used by clients of node 0 (SOP_COND_*),
 * and cancelling pending remote ops (SOP_CANCEL). The test process is the
 * local party (puid 1). */
static void cond_cases(client_t *A, client_t *A2, dragon_pool_t *p1)
{
    enum { ME = 7100, OTHER = 7101 };
    dragon_sync_t *L, *C, *B;
    uint8_t dl[96], dc[96], db[96];
    T_OK(dragon_sync_create(p1, DRAGON_SYNC_RLOCK, 0, 0, &L));
    T_OK(dragon_cond_create(p1, L, &C));
    T_OK(dragon_sync_create(p1, DRAGON_SYNC_BARRIER, 2, 0, &B));
    sdesc_of(L, dl);
    sdesc_of(C, dc);
    sdesc_of(B, db);
    uint8_t *pl = NULL;
    uint64_t owner, count, n;

    /* COND_LOCK: the lock's descriptor and kind. */
    gw_rep_t r = scall(A, dc, SOP_COND_LOCK, ME, 0, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && r.value == DRAGON_SYNC_RLOCK && !memcmp(pl, dl, 96));
    free(pl);
    /* Waiting or notifying needs the lock. */
    r = scall(A, dc, SOP_COND_WAIT, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_NOT_HELD);
    T_OK(dragon_lock_acquire(L, 0));
    r = scall(A, dc, SOP_COND_WAIT, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_NOT_OWNER);
    r = scall(A, dc, SOP_COND_NOTIFY, ME, 1, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_NOT_OWNER);
    T_OK(dragon_lock_release(L));
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, 0, NULL); /* a lock op on the condition */
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = scall(A, dc, SOP_LOCK_ACQUIRE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_WRONG_KIND);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);

    /* A remote wait (RLock depth 2) notified by a local process; its
     * re-acquire waits for the local holder and restores the depth. */
    for (int i = 0; i < 2; i++) {
        r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1, NULL);
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    }
    uint64_t id = spost(A, dc, SOP_COND_WAIT, ME, 0, 20000000);
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL); /* behind the wait: it released */
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    T_OK(dragon_lock_acquire(L, SAFETY_US));
    T_OK(dragon_cond_notify(C, 1));
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 1);
    T_OK(dragon_channel_count(A->reply, &n));
    T_ASSERT(n == 0); /* notified, but the lock is ours */
    T_OK(dragon_lock_release(L));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME && count == 2);

    /* Timeout: TIMEOUT, lock re-acquired even when that takes longer than
     * the timeout (a local holder at the deadline). */
    id = spost(A, dc, SOP_COND_WAIT, ME, 0, 150000);
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    T_OK(dragon_lock_acquire(L, SAFETY_US));
    usleep(300000);
    T_OK(dragon_channel_count(A->reply, &n));
    T_ASSERT(n == 0);
    T_OK(dragon_lock_release(L));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME && count == 2);
    for (int i = 0; i < 2; i++) {
        r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    }
    printf("cond wait ok\n");

    /* Remote notify_all wakes a local async waiter and a remote one. */
    uint64_t t1, d1, t2, d2;
    T_OK(dragon_lock_acquire(L, 0));
    T_OK(dragon_cond_wait_begin(C, &t1, &d1));
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    id = spost(A, dc, SOP_COND_WAIT, ME, 0, -1);
    r = scall(A2, dl, SOP_LOCK_ACQUIRE, OTHER, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = scall(A2, dc, SOP_COND_NOTIFY_ALL, OTHER, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_cond_wait_check(C, t1, 0));
    r = scall(A2, dl, SOP_LOCK_RELEASE, OTHER, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME && count == 1);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_cond_wait_end(C, d1, SAFETY_US));
    /* Remote notify(1) with two local waiters: only the first is woken. */
    T_OK(dragon_cond_wait_begin(C, &t1, &d1));
    T_OK(dragon_lock_acquire(L, 0));
    T_OK(dragon_cond_wait_begin(C, &t2, &d2));
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = scall(A, dc, SOP_COND_NOTIFY, ME, 1, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_OK(dragon_cond_wait_check(C, t1, 0));
    T_EXPECT(dragon_cond_wait_check(C, t2, 0), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_cond_wait_cancel(C, t2));
    T_OK(dragon_cond_wait_end(C, d1, SAFETY_US));
    T_OK(dragon_lock_release(L));
    printf("cond notify ok\n");

    /* SOP_CANCEL: the cancelled op is answered first (as at its deadline),
     * then the cancel (value 1 = it was pending). A condition wait gets its
     * lock back; a barrier round is broken; an acquire gives up. */
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    id = spost(A, dc, SOP_COND_WAIT, ME, 0, -1);
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    uint64_t cid = spost(A, dc, SOP_CANCEL, ME, id, 0);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == cid && r.status == DRAGON_OK && r.value == 1);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME && count == 1);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);

    id = spost(A, db, SOP_BARRIER_WAIT, ME, 0, -1);
    r = scall(A2, db, SOP_BARRIER_STATE, OTHER, 0, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && u64_at(pl, 0) == 1 && u64_at(pl, 1) == 0);
    free(pl);
    cid = spost(A, db, SOP_CANCEL, ME, id, 0);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == cid && r.status == DRAGON_OK && r.value == 1);
    uint64_t parties, waiting;
    int broken = 0;
    T_OK(dragon_barrier_state(B, &parties, &waiting, &broken));
    T_ASSERT(broken); /* as a local wait that times out */
    T_OK(dragon_barrier_reset(B));

    T_OK(dragon_lock_acquire(L, 0));
    id = spost(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1);
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 1);
    cid = spost(A, dl, SOP_CANCEL, ME, id, 0);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == cid && r.status == DRAGON_OK && r.value == 1);
    T_OK(dragon_lock_release(L));
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0); /* the cancelled acquire took nothing */
    /* Nothing to cancel: answered, value 0 (unknown id; one already answered). */
    r = scall(A, dl, SOP_CANCEL, ME, 987654, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    r = scall(A, dl, SOP_CANCEL, ME, id, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    printf("cancel ok\n");

    /* The condition destroyed under a remote waiter: DESTROYED, and the
     * lock is still re-acquired. */
    r = scall(A, dl, SOP_LOCK_ACQUIRE, ME, 0, -1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    id = spost(A, dc, SOP_COND_WAIT, ME, 0, -1);
    r = scall(A2, dl, SOP_LOCK_OWNER, OTHER, 0, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    T_OK(dragon_sync_destroy(C));
    r = wait_reply(A, NULL);
    T_ASSERT(r.req_id == id);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_DESTROYED);
    T_OK(dragon_lock_owner(L, &owner, &count));
    T_ASSERT(owner == ME && count == 1);
    r = scall(A, dl, SOP_LOCK_RELEASE, ME, 0, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    printf("cond destroyed ok\n");

    T_OK(dragon_sync_destroy(L));
    T_OK(dragon_sync_destroy(B));
}

/* ---- pool memory (gateway op 6) ---- */
static gw_rep_t mcall(client_t *c, const uint8_t *target, uint32_t mop, uint64_t off,
                      uint64_t len, const void *data, uint64_t dlen, uint8_t **out)
{
    uint8_t *buf = malloc(sizeof(gw_mem_t) + dlen);
    gw_mem_t q = {.mop = mop, .caller = 7200, .offset = off, .length = len};
    memcpy(buf, &q, sizeof q);
    if (dlen)
        memcpy(buf + sizeof q, data, dlen);
    gw_rep_t r = call(c, GW_MEM, target, 0, 0, buf, sizeof q + dlen, out);
    free(buf);
    return r;
}

static void mem_cases(client_t *A, dragon_pool_t *p1)
{
    dragon_alloc_t al, big;
    uint8_t *p, *bp, da[96], dbig[96], *pl = NULL;
    size_t n;
    T_OK(dragon_pool_alloc(p1, 1000, 0, &al));
    T_OK(dragon_alloc_ptr(p1, al, (void **)&p));
    memset(p, 0, 1000);
    T_OK(dragon_alloc_serialize(p1, al, da, sizeof da, &n));
    uint8_t pat[100];
    fill(pat, sizeof pat, 5);

    gw_rep_t r = mcall(A, da, MOP_WRITE, 10, 100, pat, 100, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_ASSERT(!memcmp(p + 10, pat, 100));
    r = mcall(A, da, MOP_READ, 10, 100, NULL, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && r.value == 100 && !memcmp(pl, pat, 100));
    free(pl);
    r = mcall(A, da, MOP_READ, 0, 1000, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = mcall(A, da, MOP_READ, 900, 101, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = mcall(A, da, MOP_READ, 1001, 0, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = mcall(A, da, MOP_WRITE, 995, 10, pat, 10, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = mcall(A, da, MOP_WRITE, 0, 10, pat, 5, NULL); /* data shorter than length */
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = mcall(A, da, 9, 0, 8, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);

    /* Atomics: CAS64 returns the value found, swapped or not; ADD64 the old value. */
    uint64_t v[2] = {0, 5}, x;
    r = mcall(A, da, MOP_CAS64, 0, 8, v, 16, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 0);
    memcpy(&x, p, 8);
    T_ASSERT(x == 5);
    v[0] = 7;
    v[1] = 9;
    r = mcall(A, da, MOP_CAS64, 0, 8, v, 16, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 5);
    memcpy(&x, p, 8);
    T_ASSERT(x == 5);
    int64_t delta = 3;
    r = mcall(A, da, MOP_ADD64, 0, 8, &delta, 8, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 5);
    delta = -10;
    r = mcall(A, da, MOP_ADD64, 0, 8, &delta, 8, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 8);
    memcpy(&x, p, 8);
    T_ASSERT((int64_t)x == -2);
    r = mcall(A, da, MOP_ADD64, 4, 8, &delta, 8, NULL); /* unaligned */
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);
    r = mcall(A, da, MOP_ADD64, 992, 8, &delta, 8, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = mcall(A, da, MOP_ADD64, 1000, 8, &delta, 8, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT);

    /* 64 KiB per op (requests and replies beyond the gateway block travel
     * as allocations); one byte more is refused. */
    T_OK(dragon_pool_alloc(p1, 200000, 0, &big));
    T_OK(dragon_alloc_ptr(p1, big, (void **)&bp));
    T_OK(dragon_alloc_serialize(p1, big, dbig, sizeof dbig, &n));
    uint8_t *chunk = malloc(MEM_MAX + 1);
    fill(chunk, MEM_MAX, 9);
    r = mcall(A, dbig, MOP_WRITE, 1000, MEM_MAX, chunk, MEM_MAX, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_ASSERT(!memcmp(bp + 1000, chunk, MEM_MAX));
    r = mcall(A, dbig, MOP_READ, 1000, MEM_MAX, NULL, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && r.value == MEM_MAX && !memcmp(pl, chunk, MEM_MAX));
    free(pl);
    r = mcall(A, dbig, MOP_READ, 0, MEM_MAX + 1, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TOO_LARGE);
    r = mcall(A, dbig, MOP_WRITE, 0, MEM_MAX + 1, chunk, MEM_MAX + 1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_INVALID_ARGUMENT); /* refused by the gateway */
    free(chunk);

    /* Freed (and the block reused): DESTROYED, never the new owner's bytes. */
    T_OK(dragon_pool_free(p1, al));
    r = mcall(A, da, MOP_READ, 0, 8, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_DESTROYED);
    dragon_alloc_t again;
    T_OK(dragon_pool_alloc(p1, 1000, 0, &again));
    r = mcall(A, da, MOP_WRITE, 0, 8, pat, 8, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_DESTROYED);
    r = mcall(A, da, MOP_ADD64, 0, 8, &delta, 8, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_DESTROYED);
    /* Not an allocation. */
    uint8_t chd[96];
    memcpy(chd, A->reply_desc, 96);
    r = mcall(A, chd, MOP_READ, 0, 8, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_WRONG_KIND);
    T_OK(dragon_pool_free(p1, again));
    T_OK(dragon_pool_free(p1, big));
    printf("memory ops ok\n");
}

static agentp_t ags[3];
static dragon_pool_t *pools[3];

/* On a failed assertion: no agent or segment outlives the test. */
static void cleanup(void)
{
    for (int i = 0; i < 3; i++)
        harness_agent_kill(&ags[i]);
    for (int i = 0; i < 3; i++)
        if (pools[i]) {
            dragon_pool_destroy(pools[i]);
            pools[i] = NULL;
        }
}

static long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    long ut = 0, st = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) == 2)
        return ut + st;
    return -1;
}

/* Idle agents must sleep: reports CPU ticks used over 0.5 s of idleness
 * (a report, not an assertion: the machine may be busy). */
static void idle_report(const char *stage)
{
    long t0[2], t1[2];
    for (int i = 0; i < 2; i++)
        t0[i] = ags[i].pid > 0 ? cpu_ticks(ags[i].pid) : 0;
    usleep(300000);
    for (int i = 0; i < 2; i++)
        t1[i] = ags[i].pid > 0 ? cpu_ticks(ags[i].pid) : 0;
    printf("idle after %s: agent0 %ld ticks, agent1 %ld ticks in 0.3 s\n", stage, t1[0] - t0[0],
           t1[1] - t0[1]);
    fflush(stdout);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "transport_test: safety alarm (hung)\n";
    if (write(2, m, sizeof m - 1) < 0)
        _exit(2);
    dump_logs(ags, 3);
    exit(1); /* runs cleanup() */
}

int main(void)
{
    dragonError_t rc = harness_agent_path(agent_path, sizeof agent_path);
    if (rc == DRAGON_ERR_NOT_FOUND)
        T_SKIP("no %s (libfabric missing?)", agent_path);
    T_OK(rc);
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(150);

    uint64_t rtid = t_rtid();
    dragon_pool_t *pool[3];
    for (int i = 0; i < 3; i++) {
        dragon_pool_attrs_t at = {.rtid = rtid, .pool_id = (uint64_t)i + 1,
                                  .bytes = 512ull << 20, .puid = 1, .host_id = (uint64_t)i};
        T_OK(dragon_pool_create(&at, &pool[i]));
        pools[i] = pool[i];
    }
    atexit(cleanup);
    spawn(&ags[0], 0, pool[0], KEY);
    spawn(&ags[1], 1, pool[1], KEY);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("provider: %s\n", ags[0].provider);
    idle_report("start");
    char peers[2048];
    snprintf(peers, sizeof peers,
             "{\"peers\":[{\"node\":0,\"address\":\"%s\"},{\"node\":1,\"address\":\"%s\"}]}\n",
             ags[0].address, ags[1].address);
    say(&ags[0], peers);
    say(&ags[1], peers);

    client_t A, B;
    client_open(&A, pool[0], ags[0].gateway);
    client_open(&B, pool[1], ags[1].gateway);
    dragon_channel_t *T0, *T1, *T2;
    uint8_t d0[96], d1[96], d2[96];
    T_OK(dragon_channel_create(pool[0], 16, 256, &T0));
    T_OK(dragon_channel_create(pool[1], 512, 256, &T1));
    T_OK(dragon_channel_create(pool[1], 2, 256, &T2));
    desc_of(T0, d0);
    desc_of(T1, d1);
    desc_of(T2, d2);

    /* 1. ping-pong 64 B through both agents: A -> T1 (node 1) -> B -> T0 (node 0) -> A. */
    uint8_t msg[64], got[64];
    for (int i = 0; i < 200; i++) {
        fill(msg, 64, (uint32_t)i);
        gw_rep_t r = call(&A, GW_SEND, d1, -1, 0, msg, 64, NULL);
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
        uint64_t len;
        T_OK(dragon_channel_recv(T1, got, sizeof got, &len, SAFETY_US));
        T_ASSERT(len == 64 && !memcmp(got, msg, 64));
        r = call(&B, GW_SEND, d0, -1, 0, got, 64, NULL);
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
        T_OK(dragon_channel_recv(T0, got, sizeof got, &len, SAFETY_US));
        T_ASSERT(len == 64 && !memcmp(got, msg, 64));
    }
    /* Remote receive, count and poll from node 0. */
    T_OK(dragon_channel_send(T1, msg, 64, 0));
    uint8_t *pl = NULL;
    gw_rep_t r = call(&A, GW_COUNT, d1, 0, 0, NULL, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && r.value == 1);
    r = call(&A, GW_POLL, d1, 0, DRAGON_POLL_IN, NULL, 0, NULL);
    T_ASSERT(r.status == DRAGON_OK && (r.events & DRAGON_POLL_IN));
    r = call(&A, GW_RECV, d1, -1, 0, NULL, 0, &pl);
    T_ASSERT(r.status == DRAGON_OK && r.value == 64 && !memcmp(pl, msg, 64));
    free(pl);
    printf("ping-pong ok\n");
    idle_report("ping-pong");

    /* 2. FIFO of many small + interleaved large sends from one client, all
     * posted before any reply is read. */
    enum { NMSG = 300 };
    uint64_t sizes[NMSG];
    uint8_t *big = malloc(4u << 20);
    for (int i = 0; i < NMSG; i++) {
        sizes[i] = i == 150 ? (3u << 20) : (i % 25 == 7 ? 100000u + (uint64_t)i : 8u + (uint64_t)i % 200);
        fill(big, sizes[i], (uint32_t)i + 1000);
        memcpy(big, &i, sizeof i);
        post(&A, GW_SEND, d1, -1, 0, big, sizes[i]);
    }
    for (int i = 0; i < NMSG; i++) {
        r = wait_reply(&A, NULL);
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    }
    uint8_t *exp = malloc(4u << 20);
    for (int i = 0; i < NMSG; i++) {
        uint64_t len;
        T_OK(dragon_channel_recv(T1, big, 4u << 20, &len, SAFETY_US));
        int idx;
        memcpy(&idx, big, sizeof idx);
        if (idx != i)
            fprintf(stderr, "FIFO: got message %d at position %d\n", idx, i);
        T_ASSERT(idx == i && len == sizes[i]);
        fill(exp, sizes[i], (uint32_t)i + 1000);
        T_ASSERT(!memcmp(exp + sizeof idx, big + sizeof idx, len - sizeof idx));
    }
    free(exp);
    free(big);
    printf("fifo ok\n");
    idle_report("fifo");

    /* 3. A 64 MiB message there (RMA read by node 1) and back (RMA read by node 0). */
    uint64_t blen = 64ull << 20;
    uint8_t *huge = malloc(blen);
    fill(huge, blen, 77);
    r = call(&A, GW_SEND, d1, -1, 0, huge, blen, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = call(&A, GW_RECV, d1, -1, 0, NULL, 0, &pl);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    T_ASSERT(r.value == blen && !memcmp(pl, huge, blen));
    free(pl);
    free(huge);
    printf("64 MiB ok\n");
    idle_report("64 MiB");

    /* 4. Receive timeout on an empty remote channel. */
    r = call(&A, GW_RECV, d1, 200000, 0, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = call(&A, GW_RECV, d1, 0, 0, NULL, 0, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);

    /* 5. Back-pressure: a full remote channel blocks a send until its timeout,
     * or until a receiver makes room. */
    r = call(&A, GW_SEND, d2, 0, 0, "a", 1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = call(&A, GW_SEND, d2, 0, 0, "b", 1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_OK);
    r = call(&A, GW_SEND, d2, 300000, 0, "c", 1, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_TIMEOUT);
    r = call(&A, GW_POLL, d2, 200000, DRAGON_POLL_OUT, NULL, 0, NULL);
    T_ASSERT(r.status == DRAGON_ERR_TIMEOUT && (r.events & DRAGON_POLL_FULL));
    uint64_t id = post(&A, GW_SEND, d2, 20000000, 0, "d", 1);
    char c1;
    uint64_t len;
    T_OK(dragon_channel_recv(T2, &c1, 1, &len, SAFETY_US));
    T_ASSERT(c1 == 'a');
    r = wait_reply(&A, NULL);
    T_ASSERT(r.req_id == id && r.status == DRAGON_OK);
    T_OK(dragon_channel_recv(T2, &c1, 1, &len, SAFETY_US));
    T_ASSERT(c1 == 'b');
    T_OK(dragon_channel_recv(T2, &c1, 1, &len, SAFETY_US));
    T_ASSERT(c1 == 'd');
    printf("timeouts and back-pressure ok\n");
    idle_report("timeouts and back-pressure");

    /* 6a. Sync objects of node 1 used by clients of node 0. */
    client_t A2;
    client_open(&A2, pool[0], ags[0].gateway);
    sync_cases(&A, &A2, pool[1]);
    cond_cases(&A, &A2, pool[1]);
    mem_cases(&A, pool[1]);
    client_close(&A2);
    idle_report("sync");

    /* 6b. A condition waiter whose node is lost: its ticket is given up (a
     * later notify reaches the next waiter) and its lock is not taken back. */
    {
        dragon_sync_t *L, *C;
        uint8_t dl[96], dc[96];
        T_OK(dragon_sync_create(pool[1], DRAGON_SYNC_LOCK, 0, 0, &L));
        T_OK(dragon_cond_create(pool[1], L, &C));
        sdesc_of(L, dl);
        sdesc_of(C, dc);
        spawn(&ags[2], 2, pool[2], KEY);
        snprintf(peers, sizeof peers,
                 "{\"peers\":[{\"node\":1,\"address\":\"%s\"},{\"node\":2,\"address\":\"%s\"}]}\n",
                 ags[1].address, ags[2].address);
        say(&ags[2], peers);
        say(&ags[1], peers);
        client_t D, A3;
        client_open(&D, pool[2], ags[2].gateway);
        client_open(&A3, pool[0], ags[0].gateway);
        r = scall(&D, dl, SOP_LOCK_ACQUIRE, 7300, 0, -1, NULL);
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
        spost(&D, dc, SOP_COND_WAIT, 7300, 0, -1);
        uint64_t owner = 1, count;
        for (int i = 0; i < 300 && owner; i++) { /* the wait released the lock */
            T_OK(dragon_lock_owner(L, &owner, &count));
            if (owner)
                usleep(10000);
        }
        T_ASSERT(owner == 0);
        uint64_t t, d;
        T_OK(dragon_lock_acquire(L, 0));
        T_OK(dragon_cond_wait_begin(C, &t, &d)); /* behind the remote ticket */
        T_OK(harness_agent_kill(&ags[2]));
        say(&ags[1], "{\"lost\":2}\n");
        for (int i = 0; i < 300 && !log_has(ags[1].log, "node 2 lost"); i++)
            usleep(10000);
        T_ASSERT(log_has(ags[1].log, "node 2 lost"));
        r = call(&A3, GW_COUNT, d1, 0, 0, NULL, 0, NULL); /* agent 1 went round its loop */
        T_EXPECT((dragonError_t)r.status, DRAGON_OK);
        T_OK(dragon_lock_acquire(L, 0)); /* free: the lost waiter did not take it back */
        T_OK(dragon_cond_notify(C, 1));
        T_OK(dragon_cond_wait_check(C, t, 0)); /* the notify was not lost on the dead ticket */
        T_OK(dragon_lock_release(L));
        T_OK(dragon_cond_wait_end(C, d, 0));
        T_OK(dragon_lock_release(L));
        T_OK(dragon_sync_destroy(C));
        T_OK(dragon_sync_destroy(L));
        client_close(&D);
        client_close(&A3);
        printf("lost condition waiter ok\n");
    }

    /* 6. An agent of another job (wrong key) cannot inject into node 1. */
    spawn(&ags[2], 2, pool[2], BADKEY);
    snprintf(peers, sizeof peers, "{\"peers\":[{\"node\":1,\"address\":\"%s\"},{\"node\":2,\"address\":\"%s\"}]}\n",
             ags[1].address, ags[2].address);
    say(&ags[2], peers);
    client_t C;
    client_open(&C, pool[2], ags[2].gateway);
    post(&C, GW_SEND, d1, -1, 0, "intruder", 8);
    for (int i = 0; i < 300 && !log_has(ags[1].log, "wrong job key"); i++)
        usleep(100000);
    T_ASSERT(log_has(ags[1].log, "wrong job key"));
    uint64_t cnt = 99;
    T_OK(dragon_channel_count(T1, &cnt));
    T_ASSERT(cnt == 0);
    say(&ags[2], "{\"exit\":true}\n");
    T_ASSERT(stop(&ags[2]) == 0);
    client_close(&C);
    printf("foreign key dropped ok\n");

    /* 7. Node 1's agent dies: the pending receive and later requests fail
     * with PEER_LOST, found by the agent itself (no {"lost"} line). */
    id = post(&A, GW_RECV, d1, -1, 0, NULL, 0);
    r = call(&A, GW_COUNT, d1, 0, 0, NULL, 0, NULL); /* the RECV reached node 1 before this */
    T_ASSERT(r.status == DRAGON_OK);
    T_OK(harness_agent_kill(&ags[1]));
    r = wait_reply(&A, NULL);
    T_ASSERT(r.req_id == id);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_PEER_LOST);
    r = call(&A, GW_SEND, d1, -1, 0, "late", 4, NULL);
    T_EXPECT((dragonError_t)r.status, DRAGON_ERR_PEER_LOST);
    printf("peer lost ok\n");

    say(&ags[0], "{\"exit\":true}\n");
    int st = stop(&ags[0]);
    T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    client_close(&A);
    client_close(&B);
    T_OK(dragon_channel_destroy(T0));
    T_OK(dragon_channel_destroy(T1));
    T_OK(dragon_channel_destroy(T2));
    for (int i = 0; i < 3; i++) {
        pools[i] = NULL;
        T_OK(dragon_pool_destroy(pool[i]));
    }
    t_check_no_segments(rtid);
    if (getenv("DRAGON_TEST_KEEP_LOGS"))
        dump_logs(ags, 3);
    for (int i = 0; i < 3; i++)
        unlink(ags[i].log);
    printf("all ok\n");
    return 0;
}
