/* Barriers across processes: several rounds with distinct indices, timeout
 * breaking the barrier for everybody, abort, reset, the async form and its
 * timeout (cancel). */
#include "sync_testutil.h"

#define NPROC 4
#define ROUNDS 6

static dragon_sync_t *make_barrier(int64_t parties, uint8_t *desc)
{
    dragon_sync_t *b = ts_make(DRAGON_SYNC_BARRIER, parties, 0);
    ts_desc(b, desc);
    return b;
}

/* Two children (puids first, first + 1) that wait at the barrier and exit 0
 * when the wait returns want. */
static void spawn_two(const uint8_t *desc, int first, dragonError_t want, pid_t kids[2])
{
    for (int i = 0; i < 2; i++) {
        if ((kids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(first + i));
            dragon_sync_t *s = ts_attach(p, desc);
            T_EXPECT(dragon_barrier_wait(s, 5000000, NULL), want);
            _exit(0);
        }
    }
}

/* NPROC processes pass ROUNDS rounds; slot[round][index] counts who got
 * that index: each must be exactly 1. Each process also checks, after every
 * round, that every party finished the previous round's writes (a barrier
 * that let anyone through early would show a short count). */
static void test_rounds(void)
{
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_sync_t *b = make_barrier(NPROC, desc);
    dragon_alloc_t mem = ts_scratch(sizeof(uint64_t) * (ROUNDS * NPROC + ROUNDS));
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(i));
            dragon_sync_t *s = ts_attach(p, desc);
            _Atomic uint64_t *slot = ts_ptr(p, mem);
            _Atomic uint64_t *done = slot + ROUNDS * NPROC;
            for (int r = 0; r < ROUNDS; r++) {
                atomic_fetch_add(&done[r], 1);
                uint64_t idx = 99;
                T_OK(dragon_barrier_wait(s, 5000000, &idx));
                T_ASSERT(idx < NPROC);
                T_ASSERT(atomic_load(&done[r]) == NPROC);
                atomic_fetch_add(&slot[r * NPROC + idx], 1);
            }
            T_OK(dragon_sync_detach(s));
            T_OK(dragon_pool_detach(p));
            _exit(0);
        }
    }
    for (int i = 0; i < NPROC; i++)
        T_ASSERT(ts_wait(pids[i]) == 0);
    _Atomic uint64_t *slot = ts_ptr(ts_pool, mem);
    for (int k = 0; k < ROUNDS * NPROC; k++)
        T_ASSERT(atomic_load(&slot[k]) == 1);
    uint64_t parties, waiting;
    int broken;
    T_OK(dragon_barrier_state(b, &parties, &waiting, &broken));
    T_ASSERT(parties == NPROC && waiting == 0 && !broken);
    T_OK(dragon_pool_free(ts_pool, mem));
    T_OK(dragon_sync_destroy(b));
}

/* One party times out: it gets TIMEOUT, the others BROKEN, later arrivals
 * BROKEN until reset, after which the barrier works again. */
static void test_timeout_breaks(void)
{
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_sync_t *b = make_barrier(3, desc);
    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *s = ts_attach(p, desc);
        ts_signal(fds[1]);
        T_EXPECT(dragon_barrier_wait(s, DRAGON_WAIT_FOREVER, NULL), DRAGON_ERR_BROKEN);
        _exit(0);
    }
    ts_expect_signal(fds[0]);
    /* Wait until the child has arrived, so both are in the same round. */
    T_ASSERT(ts_barrier_await(b, 1) == 1);
    T_EXPECT(dragon_barrier_wait(b, 20000, NULL), DRAGON_ERR_TIMEOUT);
    T_ASSERT(ts_wait(pid) == 0);
    int broken;
    T_OK(dragon_barrier_state(b, NULL, NULL, &broken));
    T_ASSERT(broken);
    T_EXPECT(dragon_barrier_wait(b, 0, NULL), DRAGON_ERR_BROKEN);
    uint64_t ticket;
    T_EXPECT(dragon_barrier_arrive(b, &ticket, NULL), DRAGON_ERR_BROKEN);
    T_OK(dragon_barrier_reset(b));
    uint64_t waiting;
    T_OK(dragon_barrier_state(b, NULL, &waiting, &broken));
    T_ASSERT(!broken && waiting == 0);

    /* Works again: three parties pass. */
    pid_t kids[2];
    spawn_two(desc, 1, DRAGON_OK, kids);
    uint64_t idx;
    T_OK(dragon_barrier_wait(b, 5000000, &idx));
    T_ASSERT(idx < 3);
    for (int i = 0; i < 2; i++)
        T_ASSERT(ts_wait(kids[i]) == 0);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(b));
}

/* abort wakes the waiters with BROKEN; reset with waiters inside breaks
 * their round (they get BROKEN) and opens a fresh one. */
static void test_abort_and_reset(void)
{
    for (int use_reset = 0; use_reset < 2; use_reset++) {
        uint8_t desc[DRAGON_DESC_BYTES];
        dragon_sync_t *b = make_barrier(3, desc);
        pid_t kids[2];
        spawn_two(desc, 0, DRAGON_ERR_BROKEN, kids);
        T_ASSERT(ts_barrier_await(b, 2) == 2);
        if (use_reset)
            T_OK(dragon_barrier_reset(b));
        else
            T_OK(dragon_barrier_abort(b));
        for (int i = 0; i < 2; i++)
            T_ASSERT(ts_wait(kids[i]) == 0);
        uint64_t waiting;
        int broken;
        T_OK(dragon_barrier_state(b, NULL, &waiting, &broken));
        T_ASSERT(broken == !use_reset);
        if (!use_reset) {
            T_OK(dragon_barrier_abort(b)); /* idempotent */
            T_OK(dragon_barrier_reset(b));
        }
        T_OK(dragon_barrier_state(b, NULL, &waiting, &broken));
        T_ASSERT(!broken && waiting == 0);
        T_OK(dragon_barrier_reset(b)); /* nothing to reset: no-op */
        T_OK(dragon_sync_destroy(b));
    }
}

/* The async form: arrive + check(ticket, 0), the last arrival passes
 * everyone at once; a ticket of a round that was reset reports BROKEN even
 * after later rounds passed. */
static void test_async(void)
{
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_sync_t *b = make_barrier(2, desc);
    uint64_t t1, i1, t2, i2;
    T_OK(dragon_barrier_arrive(b, &t1, &i1));
    T_ASSERT(i1 == 0);
    T_EXPECT(dragon_barrier_check(b, t1, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_barrier_check(b, t1, 1000), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_barrier_check(b, t1 + 1, 0), DRAGON_ERR_INVALID_ARGUMENT);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *s = ts_attach(p, desc);
        uint64_t t, i;
        T_OK(dragon_barrier_arrive(s, &t, &i));
        T_ASSERT(i == 1);
        T_OK(dragon_barrier_check(s, t, 0)); /* the last party passes at once */
        _exit(0);
    }
    T_OK(dragon_barrier_check(b, t1, 5000000));
    T_ASSERT(ts_wait(pid) == 0);
    T_OK(dragon_barrier_check(b, t1, 0)); /* stays passed */

    /* A round that gets reset: its ticket says BROKEN from then on. */
    T_OK(dragon_barrier_arrive(b, &t2, &i2));
    T_ASSERT(t2 == t1 + 1 && i2 == 0);
    T_OK(dragon_barrier_reset(b));
    T_EXPECT(dragon_barrier_check(b, t2, 0), DRAGON_ERR_BROKEN);
    uint64_t t3, t4, i;
    T_OK(dragon_barrier_arrive(b, &t3, &i));
    T_OK(dragon_barrier_arrive(b, &t4, &i));
    T_ASSERT(t3 == t4 && t3 > t2);
    T_OK(dragon_barrier_check(b, t3, 0));
    T_EXPECT(dragon_barrier_check(b, t2, 0), DRAGON_ERR_BROKEN);
    T_OK(dragon_barrier_check(b, t1, 0));
    T_OK(dragon_sync_destroy(b));

    /* One party: every wait passes at once, index 0. */
    dragon_sync_t *one = make_barrier(1, desc);
    for (int r = 0; r < 3; r++) {
        uint64_t idx = 7;
        T_OK(dragon_barrier_wait(one, 0, &idx));
        T_ASSERT(idx == 0);
    }
    T_OK(dragon_sync_destroy(one));
}

/* dragon_barrier_cancel, the async form's timeout: it breaks the round only
 * while the caller's arrival is still in it. */
static void test_cancel(void)
{
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_sync_t *b = make_barrier(3, desc);
    int fds[2];
    T_ASSERT(pipe(fds) == 0);

    /* Cancelled before the round completes: the other party gets BROKEN,
     * the caller TIMEOUT, the barrier stays broken until reset. */
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *s = ts_attach(p, desc);
        uint64_t t;
        T_OK(dragon_barrier_arrive(s, &t, NULL));
        ts_signal(fds[1]);
        T_EXPECT(dragon_barrier_check(s, t, 5000000), DRAGON_ERR_BROKEN);
        T_EXPECT(dragon_barrier_cancel(s, t), DRAGON_ERR_BROKEN); /* nothing more to do */
        _exit(0);
    }
    ts_expect_signal(fds[0]);
    uint64_t t, idx, waiting;
    int broken;
    T_OK(dragon_barrier_arrive(b, &t, &idx));
    T_ASSERT(idx == 1);
    T_EXPECT(dragon_barrier_check(b, t, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_barrier_cancel(b, t), DRAGON_ERR_TIMEOUT);
    T_ASSERT(ts_wait(pid) == 0);
    T_OK(dragon_barrier_state(b, NULL, NULL, &broken));
    T_ASSERT(broken);
    T_EXPECT(dragon_barrier_cancel(b, t), DRAGON_ERR_BROKEN);
    T_EXPECT(dragon_barrier_cancel(b, t + 1), DRAGON_ERR_INVALID_ARGUMENT);
    uint64_t t2;
    T_EXPECT(dragon_barrier_arrive(b, &t2, NULL), DRAGON_ERR_BROKEN);
    T_OK(dragon_barrier_reset(b));
    T_EXPECT(dragon_barrier_cancel(b, t), DRAGON_ERR_BROKEN); /* its round ended broken */

    /* The round completes before the caller's deadline handling runs:
     * cancel says OK (the wait succeeded) and the next round is intact. */
    pid_t kids[2];
    spawn_two(desc, 1, DRAGON_OK, kids);
    T_ASSERT(ts_barrier_await(b, 2) == 2);
    T_OK(dragon_barrier_arrive(b, &t2, &idx)); /* the last party: the round passes */
    T_ASSERT(idx == 2 && t2 > t);
    for (int i = 0; i < 2; i++)
        T_ASSERT(ts_wait(kids[i]) == 0);
    /* Another party is already inside the next round when the late cancel
     * comes: it must not be broken. */
    uint64_t t3;
    T_OK(dragon_barrier_arrive(b, &t3, &idx));
    T_ASSERT(t3 == t2 + 1 && idx == 0);
    T_OK(dragon_barrier_cancel(b, t2));
    T_OK(dragon_barrier_state(b, NULL, &waiting, &broken));
    T_ASSERT(!broken && waiting == 1);
    T_OK(dragon_barrier_check(b, t2, 0));
    T_EXPECT(dragon_barrier_check(b, t3, 0), DRAGON_ERR_TIMEOUT);
    /* ... and that round still passes normally. */
    uint64_t t4;
    T_OK(dragon_barrier_arrive(b, &t4, &idx));
    T_OK(dragon_barrier_arrive(b, &t4, &idx));
    T_ASSERT(t4 == t3 && idx == 2);
    T_OK(dragon_barrier_check(b, t3, 0));
    T_OK(dragon_barrier_cancel(b, t3));
    T_OK(dragon_barrier_state(b, NULL, &waiting, &broken));
    T_ASSERT(!broken && waiting == 0);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(b));
}

/* A waiter blocked in the barrier when it is destroyed. */
static void test_destroy(void)
{
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_sync_t *b = make_barrier(2, desc);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *s = ts_attach(p, desc);
        T_EXPECT(dragon_barrier_wait(s, 10000000, NULL), DRAGON_ERR_DESTROYED);
        _exit(0);
    }
    (void)ts_barrier_await(b, 1);
    T_OK(dragon_sync_destroy(b));
    T_ASSERT(ts_wait(pid) == 0);
}

int main(void)
{
    ts_setup();
    test_rounds();
    test_timeout_breaks();
    test_abort_and_reset();
    test_async();
    test_cancel();
    test_destroy();
    ts_teardown();
    printf("sync_barrier_test: ok\n");
    return 0;
}
