/* Conditions across processes: producer/consumer, notify(1) wakes exactly
 * one, notify_all wakes all, timeouts re-acquire the lock (RLOCK depth
 * restored), the lock rule, the async form and cancelled tickets. */
#include "sync_testutil.h"

#define NPROC 4

typedef struct {
    dragon_sync_t *lock, *cond;
    uint8_t ldesc[DRAGON_DESC_BYTES], cdesc[DRAGON_DESC_BYTES];
} pair_t;

static void make_pair(pair_t *pr, dragonSyncKind_t kind)
{
    pr->lock = ts_make(kind, 0, 0);
    T_OK(dragon_cond_create(ts_pool, pr->lock, &pr->cond));
    ts_desc(pr->lock, pr->ldesc);
    ts_desc(pr->cond, pr->cdesc);
}

static void free_pair(pair_t *pr)
{
    T_OK(dragon_sync_destroy(pr->cond));
    T_OK(dragon_sync_destroy(pr->lock));
}

/* A child's view of the pair: the condition attached from its descriptor
 * and its lock obtained through dragon_cond_lock. */
static void child_pair(dragon_pool_t *p, const pair_t *pr, dragon_sync_t **lock,
                       dragon_sync_t **cond)
{
    *cond = ts_attach(p, pr->cdesc);
    T_OK(dragon_cond_lock(*cond, lock));
}

/* Bounded buffer in pool memory guarded by the lock, two conditions
 * (not empty / not full) on it; NPROC consumers, the parent produces. */
enum { QCAP = 4, ITEMS = 400 };
typedef struct {
    uint64_t head, tail, buf[QCAP];
    uint64_t sum, taken;
} queue_t;

static void test_producer_consumer(void)
{
    dragon_sync_t *lock, *not_empty, *not_full;
    T_OK(dragon_sync_create(ts_pool, DRAGON_SYNC_LOCK, 0, 0, &lock));
    T_OK(dragon_cond_create(ts_pool, lock, &not_empty));
    T_OK(dragon_cond_create(ts_pool, lock, &not_full));
    uint8_t d_ne[DRAGON_DESC_BYTES], d_nf[DRAGON_DESC_BYTES];
    ts_desc(not_empty, d_ne);
    ts_desc(not_full, d_nf);
    dragon_alloc_t mem = ts_scratch(sizeof(queue_t));
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(i));
            dragon_sync_t *ne = ts_attach(p, d_ne), *nf = ts_attach(p, d_nf), *lk;
            T_OK(dragon_cond_lock(ne, &lk));
            queue_t *q = ts_ptr(p, mem);
            for (;;) {
                T_OK(dragon_lock_acquire(lk, DRAGON_WAIT_FOREVER));
                while (q->head == q->tail && q->taken < ITEMS)
                    T_OK(dragon_cond_wait(ne, DRAGON_WAIT_FOREVER));
                if (q->taken == ITEMS) {
                    T_OK(dragon_lock_release(lk));
                    break;
                }
                q->sum += q->buf[q->head % QCAP];
                q->head++;
                q->taken++;
                if (q->taken == ITEMS)
                    T_OK(dragon_cond_notify_all(ne)); /* let the others finish */
                T_OK(dragon_cond_notify(nf, 1));
                T_OK(dragon_lock_release(lk));
            }
            dragon_sync_detach(lk);
            dragon_sync_detach(ne);
            dragon_sync_detach(nf);
            dragon_pool_detach(p);
            _exit(0);
        }
    }
    queue_t *q = ts_ptr(ts_pool, mem);
    uint64_t want = 0;
    for (uint64_t k = 1; k <= ITEMS; k++) {
        T_OK(dragon_lock_acquire(lock, DRAGON_WAIT_FOREVER));
        while (q->tail - q->head == QCAP)
            T_OK(dragon_cond_wait(not_full, DRAGON_WAIT_FOREVER));
        q->buf[q->tail % QCAP] = k;
        q->tail++;
        want += k;
        T_OK(dragon_cond_notify(not_empty, 1));
        T_OK(dragon_lock_release(lock));
    }
    for (int i = 0; i < NPROC; i++)
        T_ASSERT(ts_wait(pids[i]) == 0);
    T_ASSERT(q->taken == ITEMS && q->sum == want);
    T_OK(dragon_pool_free(ts_pool, mem));
    T_OK(dragon_sync_destroy(not_empty));
    T_OK(dragon_sync_destroy(not_full));
    T_OK(dragon_sync_destroy(lock));
}

/* NPROC children wait; notify(1) releases exactly one, each further
 * notify(1) one more, notify_all the rest. Children count themselves as
 * waiting under the lock before waiting, so once the parent holds the lock
 * and sees NPROC, every child has its ticket. */
static void test_notify_counts(void)
{
    pair_t pr;
    make_pair(&pr, DRAGON_SYNC_LOCK);
    dragon_alloc_t mem = ts_scratch(64);
    _Atomic uint64_t *ctr = ts_ptr(ts_pool, mem); /* [0] waiting, [1] woken */
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        if ((pids[i] = fork()) == 0) {
            dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(i));
            dragon_sync_t *lk, *cv;
            child_pair(p, &pr, &lk, &cv);
            _Atomic uint64_t *c = ts_ptr(p, mem);
            T_OK(dragon_lock_acquire(lk, DRAGON_WAIT_FOREVER));
            atomic_fetch_add(&c[0], 1);
            T_OK(dragon_cond_wait(cv, DRAGON_WAIT_FOREVER));
            uint64_t o, n;
            T_OK(dragon_lock_owner(lk, &o, &n));
            T_ASSERT(n == 1); /* holds the lock after the wait */
            atomic_fetch_add(&c[1], 1);
            T_OK(dragon_lock_release(lk));
            _exit(0);
        }
    }
    for (;;) {
        T_OK(dragon_lock_acquire(pr.lock, DRAGON_WAIT_FOREVER));
        if (atomic_load(&ctr[0]) == NPROC)
            break;
        T_OK(dragon_lock_release(pr.lock));
        ts_sleep_us(1000);
    }
    T_ASSERT(ts_cond_pending(pr.cond) == NPROC);
    T_OK(dragon_cond_notify(pr.cond, 1));
    T_ASSERT(ts_cond_pending(pr.cond) == NPROC - 1);
    T_OK(dragon_lock_release(pr.lock));
    T_ASSERT(ts_await(&ctr[1], 1) == 1);
    ts_sleep_us(20000);
    T_ASSERT(atomic_load(&ctr[1]) == 1); /* nobody else left */
    T_OK(dragon_lock_acquire(pr.lock, DRAGON_WAIT_FOREVER));
    T_OK(dragon_cond_notify(pr.cond, 2));
    T_OK(dragon_lock_release(pr.lock));
    T_ASSERT(ts_await(&ctr[1], 3) == 3);
    ts_sleep_us(20000);
    T_ASSERT(atomic_load(&ctr[1]) == 3);
    T_ASSERT(ts_cond_pending(pr.cond) == NPROC - 3);
    T_OK(dragon_lock_acquire(pr.lock, DRAGON_WAIT_FOREVER));
    T_OK(dragon_cond_notify_all(pr.cond));
    T_OK(dragon_cond_notify(pr.cond, 5)); /* nobody left: no-op */
    T_OK(dragon_lock_release(pr.lock));
    for (int i = 0; i < NPROC; i++)
        T_ASSERT(ts_wait(pids[i]) == 0);
    T_ASSERT(atomic_load(&ctr[1]) == NPROC);
    T_ASSERT(ts_cond_pending(pr.cond) == 0);
    T_OK(dragon_pool_free(ts_pool, mem));
    free_pair(&pr);
}

/* Timeouts give the lock back (an RLOCK at its depth); the lock rule. */
static void test_timeout_and_rules(void)
{
    pair_t pr;
    make_pair(&pr, DRAGON_SYNC_LOCK);
    T_EXPECT(dragon_cond_wait(pr.cond, 0), DRAGON_ERR_NOT_HELD);
    T_EXPECT(dragon_cond_notify(pr.cond, 1), DRAGON_ERR_NOT_HELD);
    T_EXPECT(dragon_cond_notify_all(pr.cond), DRAGON_ERR_NOT_HELD);
    T_ASSERT(ts_cond_pending(pr.cond) == 0); /* the refused wait left no ticket behind */
    T_OK(dragon_lock_acquire(pr.lock, 0));
    T_EXPECT(dragon_cond_wait(pr.cond, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_cond_wait(pr.cond, 15000), DRAGON_ERR_TIMEOUT);
    uint64_t o, n;
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == TS_PARENT_PUID && n == 1);
    T_ASSERT(ts_cond_pending(pr.cond) == 0); /* timed-out tickets were cancelled */
    T_OK(dragon_lock_release(pr.lock));
    /* The condition's own lock handle. */
    dragon_sync_t *lk;
    T_OK(dragon_cond_lock(pr.cond, &lk));
    dragonSyncKind_t kind;
    T_OK(dragon_sync_kind(lk, &kind));
    T_ASSERT(kind == DRAGON_SYNC_LOCK);
    T_OK(dragon_lock_acquire(lk, 0));
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(n == 1);
    T_OK(dragon_lock_release(pr.lock));
    T_OK(dragon_sync_detach(lk));
    T_EXPECT(dragon_cond_lock(pr.lock, &lk), DRAGON_ERR_WRONG_KIND);
    uint64_t t, d;
    T_EXPECT(dragon_cond_wait_begin(pr.lock, &t, &d), DRAGON_ERR_WRONG_KIND);

    /* A LOCK held by another process: waiting or notifying is refused as in
     * multiprocessing (the lock must be the caller's), and the refused wait
     * leaves that process's lock alone, though dragon_lock_release may free
     * it (a Lock may be released by anyone). */
    pid_t holder = fork();
    if (holder == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(1));
        dragon_sync_t *l2, *c2;
        child_pair(p, &pr, &l2, &c2);
        T_OK(dragon_lock_acquire(l2, 0));
        _exit(0); /* still holding it: nobody reclaims in this test */
    }
    T_ASSERT(ts_wait(holder) == 0);
    T_EXPECT(dragon_cond_wait(pr.cond, 0), DRAGON_ERR_NOT_OWNER);
    T_EXPECT(dragon_cond_wait(pr.cond, 10000), DRAGON_ERR_NOT_OWNER);
    T_EXPECT(dragon_cond_wait_begin(pr.cond, &t, &d), DRAGON_ERR_NOT_OWNER);
    T_EXPECT(dragon_cond_notify(pr.cond, 1), DRAGON_ERR_NOT_OWNER);
    T_EXPECT(dragon_cond_notify_all(pr.cond), DRAGON_ERR_NOT_OWNER);
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == TS_CHILD_PUID(1) && n == 1);
    T_ASSERT(ts_cond_pending(pr.cond) == 0); /* the refused waits left no ticket behind */
    T_OK(dragon_lock_release(pr.lock));
    T_EXPECT(dragon_cond_notify(pr.cond, 1), DRAGON_ERR_NOT_HELD);
    /* Held by us again: allowed. */
    T_OK(dragon_lock_acquire(pr.lock, 0));
    T_OK(dragon_cond_notify(pr.cond, 1));
    T_OK(dragon_cond_notify_all(pr.cond));
    T_OK(dragon_lock_release(pr.lock));
    free_pair(&pr);

    /* RLOCK: owner-checked, depth restored after a timed-out wait. */
    make_pair(&pr, DRAGON_SYNC_RLOCK);
    T_EXPECT(dragon_cond_wait(pr.cond, 0), DRAGON_ERR_NOT_HELD);
    for (int i = 0; i < 3; i++)
        T_OK(dragon_lock_acquire(pr.lock, 0));
    T_EXPECT(dragon_cond_wait(pr.cond, 10000), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == TS_PARENT_PUID && n == 3);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *l2, *c2;
        child_pair(p, &pr, &l2, &c2);
        T_EXPECT(dragon_cond_wait(c2, 0), DRAGON_ERR_NOT_OWNER);
        T_EXPECT(dragon_cond_notify(c2, 1), DRAGON_ERR_NOT_OWNER);
        T_EXPECT(dragon_cond_notify_all(c2), DRAGON_ERR_NOT_OWNER);
        _exit(0);
    }
    T_ASSERT(ts_wait(pid) == 0);
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == TS_PARENT_PUID && n == 3);
    T_ASSERT(ts_cond_pending(pr.cond) == 0);
    for (int i = 0; i < 3; i++)
        T_OK(dragon_lock_release(pr.lock));
    free_pair(&pr);
}

/* The async form, with the RLOCK depth carried through begin/end, and a
 * cancelled ticket that notify skips. */
static void test_async(void)
{
    pair_t pr;
    make_pair(&pr, DRAGON_SYNC_RLOCK);
    T_OK(dragon_lock_acquire(pr.lock, 0));
    T_OK(dragon_lock_acquire(pr.lock, 0));
    uint64_t t1, depth;
    T_OK(dragon_cond_wait_begin(pr.cond, &t1, &depth));
    T_ASSERT(depth == 2);
    uint64_t o, n;
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == 0 && n == 0); /* released fully */
    T_EXPECT(dragon_cond_wait_check(pr.cond, t1, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_cond_wait_check(pr.cond, t1 + 100, 0), DRAGON_ERR_INVALID_ARGUMENT);

    /* A second ticket t2; t1 gives up: a child's notify(1) skips the
     * cancelled t1 and reaches t2. */
    T_OK(dragon_lock_acquire(pr.lock, 0));
    uint64_t t2, d2;
    T_OK(dragon_cond_wait_begin(pr.cond, &t2, &d2));
    T_ASSERT(d2 == 1 && t2 > t1);
    T_OK(dragon_cond_wait_cancel(pr.cond, t1));
    T_ASSERT(ts_cond_pending(pr.cond) == 1);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *l2, *c2;
        child_pair(p, &pr, &l2, &c2);
        T_OK(dragon_lock_acquire(l2, DRAGON_WAIT_FOREVER));
        T_OK(dragon_cond_notify(c2, 1));
        T_OK(dragon_lock_release(l2));
        _exit(0);
    }
    T_OK(dragon_cond_wait_check(pr.cond, t2, 5000000));
    T_ASSERT(ts_wait(pid) == 0);
    T_ASSERT(ts_cond_pending(pr.cond) == 0);
    T_OK(dragon_cond_wait_end(pr.cond, d2, 0));
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == TS_PARENT_PUID && n == 1);
    T_OK(dragon_lock_release(pr.lock));
    T_OK(dragon_cond_wait_end(pr.cond, depth, 0));
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(o == TS_PARENT_PUID && n == 2);

    /* A notified ticket that gives up passes the notification on. */
    uint64_t t3, d3, t4, d4;
    T_OK(dragon_cond_wait_begin(pr.cond, &t3, &d3)); /* releases both levels */
    T_OK(dragon_lock_acquire(pr.lock, 0));
    T_OK(dragon_cond_wait_begin(pr.cond, &t4, &d4));
    T_OK(dragon_lock_acquire(pr.lock, 0));
    T_OK(dragon_cond_notify(pr.cond, 1)); /* reaches t3 */
    T_EXPECT(dragon_cond_wait_check(pr.cond, t4, 0), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_cond_wait_cancel(pr.cond, t3)); /* gives up: t4 gets it */
    T_OK(dragon_cond_wait_check(pr.cond, t4, 0));
    T_OK(dragon_lock_release(pr.lock));
    T_OK(dragon_cond_wait_end(pr.cond, d4, 0));
    T_OK(dragon_lock_release(pr.lock));
    T_OK(dragon_cond_wait_end(pr.cond, d3, 0));
    T_OK(dragon_lock_owner(pr.lock, &o, &n));
    T_ASSERT(n == 2);
    T_OK(dragon_lock_release(pr.lock));
    T_OK(dragon_lock_release(pr.lock));
    free_pair(&pr);
}

/* A process waiting on a condition that is destroyed gets DESTROYED, with
 * the lock held again. */
static void test_destroy(void)
{
    pair_t pr;
    make_pair(&pr, DRAGON_SYNC_LOCK);
    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *lk, *cv;
        child_pair(p, &pr, &lk, &cv);
        T_OK(dragon_lock_acquire(lk, DRAGON_WAIT_FOREVER));
        ts_signal(fds[1]);
        T_EXPECT(dragon_cond_wait(cv, 10000000), DRAGON_ERR_DESTROYED);
        uint64_t o, n;
        T_OK(dragon_lock_owner(lk, &o, &n));
        T_ASSERT(o == TS_CHILD_PUID(0) && n == 1);
        T_OK(dragon_lock_release(lk));
        _exit(0);
    }
    ts_expect_signal(fds[0]);
    T_OK(dragon_lock_acquire(pr.lock, DRAGON_WAIT_FOREVER)); /* child is waiting */
    T_OK(dragon_lock_release(pr.lock));
    T_OK(dragon_sync_destroy(pr.cond));
    T_ASSERT(ts_wait(pid) == 0);
    T_OK(dragon_sync_destroy(pr.lock));
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    ts_setup();
    test_producer_consumer();
    test_notify_counts();
    test_timeout_and_rules();
    test_async();
    test_destroy();
    ts_teardown();
    printf("sync_cond_test: ok\n");
    return 0;
}
