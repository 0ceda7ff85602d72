/* Locks, recursive locks, semaphores and events across real processes
 * (fork + attach under another puid), destroy while a process waits, and
 * bad input. Barriers, conditions and reclaim have their own test files. */
#include <poll.h>

#include "sync_testutil.h"

#define NPROC 4

/* N processes increment a plain (non-atomic) counter under the lock with a
 * yield inside the critical section: the total is exact only if the lock
 * excludes. */
static void test_lock_mutual_exclusion(void)
{
    enum { ROUNDS = 3000 };
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0);
    uint8_t desc[DRAGON_DESC_BYTES];
    ts_desc(lk, desc);
    dragon_alloc_t mem = ts_scratch(64);
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(i));
            dragon_sync_t *s = ts_attach(p, desc);
            volatile uint64_t *ctr = ts_ptr(p, mem);
            for (int r = 0; r < ROUNDS; r++) {
                T_OK(dragon_lock_acquire(s, DRAGON_WAIT_FOREVER));
                uint64_t v = *ctr;
                if (r % 64 == 0)
                    sched_yield();
                *ctr = v + 1;
                T_OK(dragon_lock_release(s));
            }
            T_OK(dragon_sync_detach(s));
            T_OK(dragon_pool_detach(p));
            _exit(0);
        }
    }
    for (int i = 0; i < NPROC; i++)
        T_ASSERT(ts_wait(pids[i]) == 0);
    volatile uint64_t *ctr = ts_ptr(ts_pool, mem);
    T_ASSERT(*ctr == (uint64_t)NPROC * ROUNDS);
    uint64_t owner, count;
    T_OK(dragon_lock_owner(lk, &owner, &count));
    T_ASSERT(owner == 0 && count == 0);
    T_OK(dragon_pool_free(ts_pool, mem));
    T_OK(dragon_sync_destroy(lk));
}

/* Python's Lock: held by one process, released by another; try-acquire
 * (timeout 0) and a bounded timeout fail while held; unheld release fails. */
static void test_lock_basics(void)
{
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0);
    uint8_t desc[DRAGON_DESC_BYTES];
    ts_desc(lk, desc);
    T_EXPECT(dragon_lock_release(lk), DRAGON_ERR_NOT_HELD);
    T_OK(dragon_lock_acquire(lk, 0));
    T_EXPECT(dragon_lock_acquire(lk, 0), DRAGON_ERR_TIMEOUT); /* not recursive */
    uint64_t owner, count;
    T_OK(dragon_lock_owner(lk, &owner, &count));
    T_ASSERT(owner == TS_PARENT_PUID && count == 1);

    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *s = ts_attach(p, desc);
        T_EXPECT(dragon_lock_acquire(s, 0), DRAGON_ERR_TIMEOUT);
        T_EXPECT(dragon_lock_acquire(s, 20000), DRAGON_ERR_TIMEOUT);
        T_OK(dragon_lock_release(s)); /* another process may release a Lock */
        T_EXPECT(dragon_lock_release(s), DRAGON_ERR_NOT_HELD);
        T_OK(dragon_lock_acquire(s, 0));
        uint64_t o, c;
        T_OK(dragon_lock_owner(s, &o, &c));
        T_ASSERT(o == TS_CHILD_PUID(0) && c == 1);
        dragon_sync_detach(s);
        dragon_pool_detach(p);
        _exit(0); /* leaves it held */
    }
    T_ASSERT(ts_wait(pid) == 0);
    T_OK(dragon_lock_owner(lk, &owner, &count));
    T_ASSERT(owner == TS_CHILD_PUID(0) && count == 1);
    T_OK(dragon_lock_release(lk));
    T_OK(dragon_lock_acquire(lk, 0));
    T_OK(dragon_lock_release(lk));

    /* A blocked acquirer gets the lock when it is released. */
    T_OK(dragon_lock_acquire(lk, 0));
    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(1));
        dragon_sync_t *s = ts_attach(p, desc);
        ts_signal(fds[1]);
        T_OK(dragon_lock_acquire(s, 5000000));
        T_OK(dragon_lock_release(s));
        _exit(0);
    }
    ts_expect_signal(fds[0]);
    ts_sleep_us(10000);
    T_OK(dragon_lock_release(lk));
    T_ASSERT(ts_wait(pid) == 0);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(lk));
}

static void test_rlock(void)
{
    dragon_sync_t *rl = ts_make(DRAGON_SYNC_RLOCK, 0, 0);
    uint8_t desc[DRAGON_DESC_BYTES];
    ts_desc(rl, desc);
    T_EXPECT(dragon_lock_release(rl), DRAGON_ERR_NOT_HELD);
    for (int i = 0; i < 3; i++)
        T_OK(dragon_lock_acquire(rl, 0));
    uint64_t owner, count;
    T_OK(dragon_lock_owner(rl, &owner, &count));
    T_ASSERT(owner == TS_PARENT_PUID && count == 3);

    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *s = ts_attach(p, desc);
        T_EXPECT(dragon_lock_acquire(s, 0), DRAGON_ERR_TIMEOUT);
        T_EXPECT(dragon_lock_release(s), DRAGON_ERR_NOT_OWNER);
        ts_signal(fds[1]);
        /* Blocks until the parent let go of all three levels. */
        T_OK(dragon_lock_acquire(s, 5000000));
        T_OK(dragon_lock_acquire(s, 0));
        uint64_t o, c;
        T_OK(dragon_lock_owner(s, &o, &c));
        T_ASSERT(o == TS_CHILD_PUID(0) && c == 2);
        T_OK(dragon_lock_release(s));
        T_OK(dragon_lock_release(s));
        T_EXPECT(dragon_lock_release(s), DRAGON_ERR_NOT_HELD);
        _exit(0);
    }
    ts_expect_signal(fds[0]);
    T_OK(dragon_lock_release(rl));
    T_OK(dragon_lock_release(rl));
    T_OK(dragon_lock_owner(rl, &owner, &count));
    T_ASSERT(owner == TS_PARENT_PUID && count == 1); /* still ours */
    ts_sleep_us(10000);
    T_OK(dragon_lock_release(rl));
    T_ASSERT(ts_wait(pid) == 0);
    T_EXPECT(dragon_lock_release(rl), DRAGON_ERR_NOT_HELD);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(rl));
}

static void test_semaphore(void)
{
    /* Counting and the bound. */
    dragon_sync_t *bs = ts_make(DRAGON_SYNC_SEMAPHORE, 2, 3);
    int64_t v;
    T_OK(dragon_sem_acquire(bs, 0));
    T_OK(dragon_sem_acquire(bs, 0));
    T_EXPECT(dragon_sem_acquire(bs, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_sem_acquire(bs, 10000), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_sem_value(bs, &v));
    T_ASSERT(v == 0);
    T_OK(dragon_sem_release(bs, 3));
    T_EXPECT(dragon_sem_release(bs, 1), DRAGON_ERR_OVERFLOW);
    T_OK(dragon_sem_value(bs, &v));
    T_ASSERT(v == 3); /* the failed release added nothing */
    T_OK(dragon_sem_acquire(bs, 0));
    T_EXPECT(dragon_sem_release(bs, 2), DRAGON_ERR_OVERFLOW);
    T_OK(dragon_sem_release(bs, 1));
    T_EXPECT(dragon_sem_release(bs, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_sync_destroy(bs));

    dragon_sync_t *us = ts_make(DRAGON_SYNC_SEMAPHORE, 0, -1);
    T_EXPECT(dragon_sem_acquire(us, 0), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_sem_release(us, 1000));
    T_OK(dragon_sem_value(us, &v));
    T_ASSERT(v == 1000);
    T_EXPECT(dragon_sem_release(us, (uint64_t)INT64_MAX), DRAGON_ERR_OVERFLOW);
    T_OK(dragon_sync_destroy(us));

    /* Across processes: never more than 2 inside, every unit comes back. */
    enum { ROUNDS = 500, UNITS = 2 };
    dragon_sync_t *sem = ts_make(DRAGON_SYNC_SEMAPHORE, UNITS, UNITS);
    uint8_t desc[DRAGON_DESC_BYTES];
    ts_desc(sem, desc);
    dragon_alloc_t mem = ts_scratch(64);
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(i));
            dragon_sync_t *s = ts_attach(p, desc);
            _Atomic uint64_t *inside = ts_ptr(p, mem);
            _Atomic uint64_t *most = inside + 1;
            for (int r = 0; r < ROUNDS; r++) {
                T_OK(dragon_sem_acquire(s, DRAGON_WAIT_FOREVER));
                uint64_t n = atomic_fetch_add(inside, 1) + 1;
                uint64_t m = atomic_load(most);
                while (n > m && !atomic_compare_exchange_weak(most, &m, n))
                    ;
                if (r % 16 == 0)
                    sched_yield();
                atomic_fetch_sub(inside, 1);
                T_OK(dragon_sem_release(s, 1));
            }
            _exit(0);
        }
    }
    for (int i = 0; i < NPROC; i++)
        T_ASSERT(ts_wait(pids[i]) == 0);
    _Atomic uint64_t *inside = ts_ptr(ts_pool, mem);
    T_ASSERT(atomic_load(inside + 1) >= 1 && atomic_load(inside + 1) <= UNITS);
    T_OK(dragon_sem_value(sem, &v));
    T_ASSERT(v == UNITS);
    T_OK(dragon_pool_free(ts_pool, mem));
    T_OK(dragon_sync_destroy(sem));
}

static void test_event(void)
{
    dragon_sync_t *ev = ts_make(DRAGON_SYNC_EVENT, 0, 0);
    uint8_t desc[DRAGON_DESC_BYTES];
    ts_desc(ev, desc);
    int set;
    T_OK(dragon_event_is_set(ev, &set));
    T_ASSERT(!set);
    T_EXPECT(dragon_event_wait(ev, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_event_wait(ev, 10000), DRAGON_ERR_TIMEOUT);

    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(i));
            dragon_sync_t *s = ts_attach(p, desc);
            ts_signal(fds[1]);
            T_OK(dragon_event_wait(s, DRAGON_WAIT_FOREVER));
            int is;
            T_OK(dragon_event_is_set(s, &is));
            T_ASSERT(is);
            _exit(0);
        }
    }
    for (int i = 0; i < NPROC; i++)
        ts_expect_signal(fds[0]);
    T_OK(dragon_event_set(ev));
    T_OK(dragon_event_set(ev)); /* idempotent */
    for (int i = 0; i < NPROC; i++)
        T_ASSERT(ts_wait(pids[i]) == 0);
    T_OK(dragon_event_wait(ev, 0));
    T_OK(dragon_event_clear(ev));
    T_OK(dragon_event_is_set(ev, &set));
    T_ASSERT(!set);
    T_EXPECT(dragon_event_wait(ev, 0), DRAGON_ERR_TIMEOUT);

    /* Set by a child, seen by the parent. */
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(9));
        dragon_sync_t *s = ts_attach(p, desc);
        T_OK(dragon_event_set(s));
        _exit(0);
    }
    T_OK(dragon_event_wait(ev, 5000000));
    T_ASSERT(ts_wait(pid) == 0);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(ev));

    dragon_sync_t *ev2 = ts_make(DRAGON_SYNC_EVENT, 1, 0); /* created set */
    T_OK(dragon_event_wait(ev2, 0));
    T_OK(dragon_sync_destroy(ev2));
}

/* A process blocked on an object that another process destroys is woken
 * with DRAGON_ERR_DESTROYED; every handle of it fails the same way. */
static void test_destroy_while_waiting(void)
{
    dragon_sync_t *objs[3] = {ts_make(DRAGON_SYNC_LOCK, 0, 0), ts_make(DRAGON_SYNC_SEMAPHORE, 0, -1),
                              ts_make(DRAGON_SYNC_EVENT, 0, 0)};
    T_OK(dragon_lock_acquire(objs[0], 0));
    for (int k = 0; k < 3; k++) {
        uint8_t desc[DRAGON_DESC_BYTES];
        ts_desc(objs[k], desc);
        int fds[2];
        T_ASSERT(pipe(fds) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(k));
            dragon_sync_t *s = ts_attach(p, desc);
            ts_signal(fds[1]);
            dragonError_t rc = k == 0   ? dragon_lock_acquire(s, 10000000)
                               : k == 1 ? dragon_sem_acquire(s, 10000000)
                                        : dragon_event_wait(s, 10000000);
            T_EXPECT(rc, DRAGON_ERR_DESTROYED);
            T_EXPECT(dragon_sync_destroy(s), DRAGON_ERR_DESTROYED);
            T_OK(dragon_sync_detach(s));
            _exit(0);
        }
        ts_expect_signal(fds[0]);
        dragon_sync_t *other = ts_attach(ts_pool, desc);
        ts_sleep_us(20000); /* let it go to sleep (correct either way) */
        T_OK(dragon_sync_destroy(objs[k]));
        T_ASSERT(ts_wait(pid) == 0);
        T_EXPECT(dragon_event_set(other), k == 2 ? DRAGON_ERR_DESTROYED : DRAGON_ERR_WRONG_KIND);
        T_EXPECT(dragon_sync_destroy(other), DRAGON_ERR_DESTROYED);
        dragon_sync_t *again;
        T_EXPECT(dragon_sync_attach(ts_pool, desc, sizeof desc, &again), DRAGON_ERR_DESTROYED);
        T_OK(dragon_sync_detach(other));
        close(fds[0]);
        close(fds[1]);
    }
}

/* The async form: watch, try with timeout 0, wait for the doorbell, retry.
 * Here for a lock released by another process and an event it sets. */
static void test_watch(void)
{
    dragon_waiter_t *w;
    T_OK(dragon_waiter_create(TS_PARENT_PUID, &w));
    int fd;
    T_OK(dragon_waiter_fd(w, &fd));
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0), *ev = ts_make(DRAGON_SYNC_EVENT, 0, 0);
    uint8_t d_lk[DRAGON_DESC_BYTES], d_ev[DRAGON_DESC_BYTES];
    ts_desc(lk, d_lk);
    ts_desc(ev, d_ev);
    T_OK(dragon_lock_acquire(lk, 0));
    T_OK(dragon_sync_watch(lk, w, 3));
    T_OK(dragon_sync_watch(ev, w, 7));
    T_EXPECT(dragon_lock_acquire(lk, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_event_wait(ev, 0), DRAGON_ERR_TIMEOUT);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        T_OK(dragon_lock_release(ts_attach(p, d_lk)));
        T_OK(dragon_event_set(ts_attach(p, d_ev)));
        _exit(0);
    }
    T_ASSERT(ts_wait(pid) == 0);
    uint64_t seen = 0;
    for (int i = 0; i < 100 && seen != ((1u << 3) | (1u << 7)); i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        T_ASSERT(poll(&pfd, 1, 5000) == 1);
        uint64_t mask;
        T_OK(dragon_waiter_take(w, &mask));
        seen |= mask;
    }
    T_ASSERT(seen == ((1u << 3) | (1u << 7)));
    T_OK(dragon_lock_acquire(lk, 0));
    T_OK(dragon_event_wait(ev, 0));
    T_OK(dragon_sync_unwatch(lk, w));
    T_OK(dragon_sync_unwatch(ev, w));
    T_ASSERT(atomic_load(&dg__sync_rec(ts_pool, lk->offset)->changed.nwatch) == 0);
    T_OK(dragon_lock_release(lk));
    T_OK(dragon_waiter_forget_pool(w, ts_pool));
    T_OK(dragon_waiter_destroy(w));
    T_OK(dragon_sync_destroy(lk));
    T_OK(dragon_sync_destroy(ev));
}

static void test_bad_input(void)
{
    dragon_sync_t *s = NULL;
    uint8_t junk[DRAGON_DESC_BYTES];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    T_EXPECT(dragon_sync_attach(ts_pool, junk, sizeof junk, &s), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_sync_attach(ts_pool, junk, 5, &s), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_sync_attach(ts_pool, NULL, 96, &s), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_attach(NULL, junk, 96, &s), DRAGON_ERR_INVALID_ARGUMENT);

    /* Descriptors of other kinds. */
    T_EXPECT(dragon_sync_attach(ts_pool, ts_pool_desc, DRAGON_DESC_BYTES, &s),
             DRAGON_ERR_WRONG_KIND);
    dragon_alloc_t a;
    T_OK(dragon_pool_alloc(ts_pool, 4096, 0, &a));
    uint8_t adesc[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_alloc_serialize(ts_pool, a, adesc, sizeof adesc, &len));
    T_EXPECT(dragon_sync_attach(ts_pool, adesc, len, &s), DRAGON_ERR_WRONG_KIND);
    /* A well-formed sync descriptor that points at a user allocation. */
    dg__desc_t d;
    memset(&d, 0, sizeof d);
    dg__pool_fill_desc(ts_pool, &d);
    d.kind = DRAGON_DESC_SYNC;
    d.offset = a.offset;
    d.size = a.size;
    d.gen = a.gen;
    d.extra = DRAGON_SYNC_LOCK;
    uint8_t forged[DRAGON_DESC_BYTES];
    T_OK(dg__desc_encode(&d, forged, sizeof forged, &len));
    T_EXPECT(dragon_sync_attach(ts_pool, forged, len, &s), DRAGON_ERR_WRONG_KIND);
    /* ... at no block at all, and with a stale generation. */
    d.offset = a.offset + 4096 * 7;
    T_OK(dg__desc_encode(&d, forged, sizeof forged, &len));
    dragonError_t rc = dragon_sync_attach(ts_pool, forged, len, &s);
    T_ASSERT(rc == DRAGON_ERR_BAD_DESCRIPTOR || rc == DRAGON_ERR_DESTROYED);
    T_OK(dragon_pool_free(ts_pool, a));

    /* A sync descriptor whose kind field lies. */
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0);
    uint8_t ldesc[DRAGON_DESC_BYTES];
    ts_desc(lk, ldesc);
    T_OK(dg__desc_decode(ldesc, sizeof ldesc, DRAGON_DESC_SYNC, &d));
    d.extra = DRAGON_SYNC_SEMAPHORE;
    T_OK(dg__desc_encode(&d, forged, sizeof forged, &len));
    T_EXPECT(dragon_sync_attach(ts_pool, forged, len, &s), DRAGON_ERR_BAD_DESCRIPTOR);
    d.extra = DRAGON_SYNC_LOCK;
    d.gen += 1000;
    T_OK(dg__desc_encode(&d, forged, sizeof forged, &len));
    T_EXPECT(dragon_sync_attach(ts_pool, forged, len, &s), DRAGON_ERR_DESTROYED);
    /* A flipped byte fails the checksum. */
    memcpy(forged, ldesc, sizeof forged);
    forged[50] ^= 0x40;
    T_EXPECT(dragon_sync_attach(ts_pool, forged, len, &s), DRAGON_ERR_BAD_DESCRIPTOR);

    /* Operations of another kind. */
    T_EXPECT(dragon_sem_acquire(lk, 0), DRAGON_ERR_WRONG_KIND);
    T_EXPECT(dragon_event_set(lk), DRAGON_ERR_WRONG_KIND);
    uint64_t t, idx;
    T_EXPECT(dragon_barrier_arrive(lk, &t, &idx), DRAGON_ERR_WRONG_KIND);
    T_EXPECT(dragon_cond_notify(lk, 1), DRAGON_ERR_WRONG_KIND);
    dragon_sync_t *ev = ts_make(DRAGON_SYNC_EVENT, 0, 0);
    T_EXPECT(dragon_lock_acquire(ev, 0), DRAGON_ERR_WRONG_KIND);
    T_EXPECT(dragon_lock_release(ev), DRAGON_ERR_WRONG_KIND);
    T_EXPECT(dragon_cond_create(ts_pool, ev, &s), DRAGON_ERR_WRONG_KIND);
    dragonSyncKind_t kind;
    T_OK(dragon_sync_kind(ev, &kind));
    T_ASSERT(kind == DRAGON_SYNC_EVENT);

    /* NULLs and bad create arguments. */
    T_EXPECT(dragon_lock_acquire(NULL, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_lock_release(NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sem_value(NULL, NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_destroy(NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_detach(NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_serialize(lk, NULL, 0, &len), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_serialize(lk, forged, 10, &len), DRAGON_ERR_BUFFER_TOO_SMALL);
    T_EXPECT(dragon_sync_create(ts_pool, DRAGON_SYNC_SEMAPHORE, -1, -1, &s),
             DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_create(ts_pool, DRAGON_SYNC_SEMAPHORE, 5, 4, &s),
             DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_create(ts_pool, DRAGON_SYNC_BARRIER, 0, 0, &s),
             DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_create(ts_pool, DRAGON_SYNC_CONDITION, 0, 0, &s),
             DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_create(ts_pool, (dragonSyncKind_t)99, 0, 0, &s),
             DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_create(NULL, DRAGON_SYNC_LOCK, 0, 0, &s), DRAGON_ERR_INVALID_ARGUMENT);

    /* Another pool's handle cannot carry a condition of this pool. */
    dragon_pool_attrs_t pa = {
        .rtid = ts_rtid, .pool_id = 2, .bytes = 1u << 20, .puid = TS_PARENT_PUID};
    dragon_pool_t *p2;
    T_OK(dragon_pool_create(&pa, &p2));
    T_EXPECT(dragon_cond_create(p2, lk, &s), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_sync_attach(p2, ldesc, sizeof ldesc, &s), DRAGON_ERR_BAD_DESCRIPTOR);
    T_OK(dragon_pool_destroy(p2));

    T_OK(dragon_sync_destroy(ev));
    T_OK(dragon_sync_destroy(lk));
}

int main(void)
{
    ts_setup();
    test_lock_mutual_exclusion();
    test_lock_basics();
    test_rlock();
    test_semaphore();
    test_event();
    test_destroy_while_waiting();
    test_watch();
    test_bad_input();
    ts_teardown(); /* also: every object freed by its destroy */
    printf("sync_test: ok\n");
    return 0;
}
