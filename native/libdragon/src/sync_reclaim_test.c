/* Crash recovery of sync objects: a process SIGKILLed while holding a lock,
 * an rlock, semaphore units, a barrier arrival and condition tickets (also
 * one notified but never seen); a process dying at every crash point inside
 * the critical sections (the undo log must roll a half-done operation
 * back); and random SIGKILLs in the middle of operation storms. After
 * dragon_pool_reclaim of the dead puid every object must work again. */
#include "sync_testutil.h"

static uint64_t lock_count(dragon_sync_t *lk, uint64_t *owner)
{
    uint64_t o, n;
    T_OK(dragon_lock_owner(lk, &o, &n));
    if (owner)
        *owner = o;
    return n;
}

static int64_t sem_value(dragon_sync_t *s)
{
    int64_t v;
    T_OK(dragon_sem_value(s, &v));
    return v;
}

static uint32_t sleepers(dragon_sync_t *s)
{
    return atomic_load(&dg__sync_rec(s->pool, s->offset)->changed.sleepers);
}

static dragon_reclaim_stats_t reclaim(uint64_t puid)
{
    dragon_reclaim_stats_t st;
    T_OK(dragon_pool_reclaim(ts_pool, puid, &st));
    return st;
}

/* A child (puid) that waits on the condition d_cv, holding its lock, after
 * writing to fd; exits 0 once notified. */
static pid_t spawn_cond_waiter(const uint8_t *d_cv, uint64_t puid, int fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(puid);
        dragon_sync_t *c = ts_attach(p, d_cv), *cl;
        T_OK(dragon_cond_lock(c, &cl));
        T_OK(dragon_lock_acquire(cl, DRAGON_WAIT_FOREVER));
        ts_signal(fd);
        T_OK(dragon_cond_wait(c, 10000000));
        T_OK(dragon_lock_release(cl));
        _exit(0);
    }
    return pid;
}

/* ---- a process killed while holding everything ---------------------------- */

static void test_killed_holder(void)
{
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0), *rl = ts_make(DRAGON_SYNC_RLOCK, 0, 0);
    dragon_sync_t *sem = ts_make(DRAGON_SYNC_SEMAPHORE, 3, 3), *bar = ts_make(DRAGON_SYNC_BARRIER, 3, 0);
    dragon_sync_t *clk = ts_make(DRAGON_SYNC_LOCK, 0, 0), *cv;
    T_OK(dragon_cond_create(ts_pool, clk, &cv));
    uint8_t d_lk[96], d_rl[96], d_sem[96], d_bar[96], d_cv[96];
    ts_desc(lk, d_lk);
    ts_desc(rl, d_rl);
    ts_desc(sem, d_sem);
    ts_desc(bar, d_bar);
    ts_desc(cv, d_cv);
    const uint64_t dead = TS_CHILD_PUID(0);
    int fds[2];
    T_ASSERT(pipe(fds) == 0);

    pid_t holder = fork();
    if (holder == 0) {
        dragon_pool_t *p = ts_child_pool(dead);
        dragon_sync_t *l = ts_attach(p, d_lk), *r = ts_attach(p, d_rl), *s = ts_attach(p, d_sem);
        dragon_sync_t *b = ts_attach(p, d_bar), *c = ts_attach(p, d_cv), *cl;
        T_OK(dragon_cond_lock(c, &cl));
        T_OK(dragon_lock_acquire(l, 0));
        T_OK(dragon_lock_acquire(r, 0));
        T_OK(dragon_lock_acquire(r, 0));
        T_OK(dragon_sem_acquire(s, 0));
        T_OK(dragon_sem_acquire(s, 0));
        uint64_t ticket, idx, depth;
        T_OK(dragon_barrier_arrive(b, &ticket, &idx));
        T_OK(dragon_lock_acquire(cl, 0));
        T_OK(dragon_cond_wait_begin(c, &ticket, &depth)); /* a ticket, lock released */
        ts_signal(fds[1]);
        for (;;)
            pause();
    }
    ts_expect_signal(fds[0]);

    /* Another party waits at the barrier; another process blocks on the
     * lock (it sleeps registered under its puid and is killed too). */
    pid_t party = fork();
    if (party == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(1));
        dragon_sync_t *b = ts_attach(p, d_bar);
        T_EXPECT(dragon_barrier_wait(b, 10000000, NULL), DRAGON_ERR_BROKEN);
        _exit(0);
    }
    pid_t sleeper = fork();
    if (sleeper == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(2));
        dragon_sync_t *l = ts_attach(p, d_lk);
        dragon_lock_acquire(l, DRAGON_WAIT_FOREVER);
        _exit(3);
    }
    for (int i = 0; i < 5000 && sleepers(lk) == 0; i++)
        ts_sleep_us(1000);
    T_ASSERT(sleepers(lk) == 1);
    T_ASSERT(ts_barrier_await(bar, 2) == 2);

    kill(holder, SIGKILL);
    kill(sleeper, SIGKILL);
    T_ASSERT(ts_wait(holder) == 128 + SIGKILL);
    T_ASSERT(ts_wait(sleeper) == 128 + SIGKILL);
    uint64_t owner;
    T_ASSERT(lock_count(lk, &owner) == 1 && owner == dead);
    T_ASSERT(lock_count(rl, &owner) == 2 && owner == dead);
    T_ASSERT(sem_value(sem) == 1);

    dragon_reclaim_stats_t st = reclaim(dead);
    T_ASSERT(st.locks_released == 1 + 1 + 2);
    T_ASSERT(st.barriers_broken == 1);
    T_ASSERT(ts_wait(party) == 0); /* got BROKEN */
    (void)reclaim(TS_CHILD_PUID(2));
    T_ASSERT(sleepers(lk) == 0); /* the killed sleeper's registration is gone */

    T_ASSERT(lock_count(lk, NULL) == 0);
    T_ASSERT(lock_count(rl, NULL) == 0);
    T_ASSERT(sem_value(sem) == 3);
    int broken;
    T_OK(dragon_barrier_state(bar, NULL, NULL, &broken));
    T_ASSERT(broken);
    T_OK(dragon_barrier_reset(bar));
    T_ASSERT(lock_count(clk, NULL) == 0);
    T_ASSERT(ts_cond_pending(cv) == 0); /* the dead ticket was cancelled */

    /* Everything works; a reclaim again finds nothing. */
    T_OK(dragon_lock_acquire(lk, 0));
    T_OK(dragon_lock_acquire(rl, 0));
    for (int i = 0; i < 3; i++)
        T_OK(dragon_sem_acquire(sem, 0));
    st = reclaim(dead);
    T_ASSERT(st.locks_released == 0 && st.barriers_broken == 0);
    T_OK(dragon_lock_release(lk));
    T_OK(dragon_lock_release(rl));
    T_OK(dragon_sem_release(sem, 3));

    /* A live waiter on the condition gets a notify(1) (not lost to the dead
     * ticket). */
    pid_t w = spawn_cond_waiter(d_cv, TS_CHILD_PUID(3), fds[1]);
    ts_expect_signal(fds[0]);
    T_OK(dragon_lock_acquire(clk, DRAGON_WAIT_FOREVER)); /* w is waiting now */
    T_OK(dragon_cond_notify(cv, 1));
    T_OK(dragon_lock_release(clk));
    T_ASSERT(ts_wait(w) == 0);

    close(fds[0]);
    close(fds[1]);
    dragon_sync_t *all[] = {lk, rl, sem, bar, cv, clk};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        T_OK(dragon_sync_destroy(all[i]));
}

/* A process that watched an object (async waiting) dies: reclaim drops its
 * watch entry and its doorbell slot. */
static void test_killed_watcher(void)
{
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0);
    uint8_t d_lk[96];
    ts_desc(lk, d_lk);
    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_waiter_t *w;
        T_OK(dragon_waiter_create(TS_CHILD_PUID(0), &w));
        T_OK(dragon_sync_watch(ts_attach(p, d_lk), w, 1));
        ts_signal(fds[1]);
        for (;;)
            pause();
    }
    ts_expect_signal(fds[0]);
    _Atomic uint32_t *nwatch = &dg__sync_rec(ts_pool, lk->offset)->changed.nwatch;
    T_ASSERT(atomic_load(nwatch) == 1);
    kill(pid, SIGKILL);
    T_ASSERT(ts_wait(pid) == 128 + SIGKILL);
    dragon_reclaim_stats_t st = reclaim(TS_CHILD_PUID(0));
    T_ASSERT(atomic_load(nwatch) == 0);
    T_ASSERT(st.doorbells_freed == 1);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(lk));
}

/* A waiter notified by notify(1) dies before it looks: reclaim passes the
 * notification on to the next waiter instead of losing it. */
static void test_notified_then_killed(void)
{
    dragon_sync_t *lk = ts_make(DRAGON_SYNC_LOCK, 0, 0), *cv;
    T_OK(dragon_cond_create(ts_pool, lk, &cv));
    uint8_t d_cv[96];
    ts_desc(cv, d_cv);
    int fds[2];
    T_ASSERT(pipe(fds) == 0);
    pid_t a = fork();
    if (a == 0) {
        dragon_pool_t *p = ts_child_pool(TS_CHILD_PUID(0));
        dragon_sync_t *c = ts_attach(p, d_cv), *cl;
        T_OK(dragon_cond_lock(c, &cl));
        T_OK(dragon_lock_acquire(cl, DRAGON_WAIT_FOREVER));
        uint64_t t, d;
        T_OK(dragon_cond_wait_begin(c, &t, &d));
        ts_signal(fds[1]);
        for (;;)
            pause(); /* never looks at its ticket */
    }
    ts_expect_signal(fds[0]);
    pid_t b = spawn_cond_waiter(d_cv, TS_CHILD_PUID(1), fds[1]);
    ts_expect_signal(fds[0]);
    T_OK(dragon_lock_acquire(lk, DRAGON_WAIT_FOREVER)); /* b has its ticket */
    T_ASSERT(ts_cond_pending(cv) == 2);
    T_OK(dragon_cond_notify(cv, 1)); /* goes to a's ticket (first) */
    T_OK(dragon_lock_release(lk));
    T_ASSERT(ts_cond_pending(cv) == 1);
    kill(a, SIGKILL);
    T_ASSERT(ts_wait(a) == 128 + SIGKILL);
    (void)reclaim(TS_CHILD_PUID(0));
    T_ASSERT(ts_wait(b) == 0); /* woken by the passed-on notification */
    T_ASSERT(ts_cond_pending(cv) == 0);
    close(fds[0]);
    close(fds[1]);
    T_OK(dragon_sync_destroy(cv));
    T_OK(dragon_sync_destroy(lk));
}

/* ---- crash points -----------------------------------------------------------
 * The child dies (exit 86) at the named point inside an operation; most of
 * them are inside the object's critical section. `before` checks the state
 * right after the death (a half-done operation rolled back by whoever locks
 * next), `after` checks it after reclaim, then the object must work. */

typedef struct {
    dragon_sync_t *lk, *rl, *sem, *bar, *clk, *cv;
    uint8_t d_lk[96], d_rl[96], d_sem[96], d_bar[96], d_cv[96];
} objs_t;

static void objs_make(objs_t *o)
{
    o->lk = ts_make(DRAGON_SYNC_LOCK, 0, 0);
    o->rl = ts_make(DRAGON_SYNC_RLOCK, 0, 0);
    o->sem = ts_make(DRAGON_SYNC_SEMAPHORE, 2, 2);
    o->bar = ts_make(DRAGON_SYNC_BARRIER, 2, 0);
    o->clk = ts_make(DRAGON_SYNC_LOCK, 0, 0);
    T_OK(dragon_cond_create(ts_pool, o->clk, &o->cv));
    ts_desc(o->lk, o->d_lk);
    ts_desc(o->rl, o->d_rl);
    ts_desc(o->sem, o->d_sem);
    ts_desc(o->bar, o->d_bar);
    ts_desc(o->cv, o->d_cv);
}

static void objs_free(objs_t *o)
{
    dragon_sync_t *all[] = {o->lk, o->rl, o->sem, o->bar, o->cv, o->clk};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        T_OK(dragon_sync_destroy(all[i]));
}

/* Every object works: used after each reclaim. */
static void objs_work(objs_t *o)
{
    T_OK(dragon_lock_acquire(o->lk, 0));
    T_OK(dragon_lock_release(o->lk));
    T_OK(dragon_lock_acquire(o->rl, 0));
    T_OK(dragon_lock_acquire(o->rl, 0));
    T_OK(dragon_lock_release(o->rl));
    T_OK(dragon_lock_release(o->rl));
    T_ASSERT(sem_value(o->sem) == 2);
    T_OK(dragon_sem_acquire(o->sem, 0));
    T_OK(dragon_sem_release(o->sem, 1));
    int broken;
    T_OK(dragon_barrier_state(o->bar, NULL, NULL, &broken));
    if (broken)
        T_OK(dragon_barrier_reset(o->bar));
    uint64_t t1, t2, i1, i2;
    T_OK(dragon_barrier_arrive(o->bar, &t1, &i1));
    T_OK(dragon_barrier_arrive(o->bar, &t2, &i2));
    T_ASSERT(t1 == t2 && i1 == 0 && i2 == 1);
    T_OK(dragon_barrier_check(o->bar, t1, 0));
    T_OK(dragon_lock_acquire(o->clk, 0));
    T_EXPECT(dragon_cond_wait(o->cv, 0), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_lock_release(o->clk));
    T_ASSERT(ts_cond_pending(o->cv) == 0);
}

typedef enum { OP_LOCK, OP_UNLOCK, OP_RLOCK2, OP_SEM, OP_BARRIER, OP_COND, OP_CREATE } op_t;

typedef struct {
    const char *point;
    op_t op;
} crash_case_t;

static const crash_case_t cases[] = {
    {"sync.lock.half", OP_LOCK},          {"sync.lock.acquired", OP_LOCK},
    {"sync.lock.release", OP_UNLOCK},     {"sync.lock.acquired:2", OP_RLOCK2},
    {"sync.sem.half", OP_SEM},
    {"sync.sem.acquired", OP_SEM},        {"sync.barrier.half", OP_BARRIER},
    {"sync.barrier.arrived", OP_BARRIER}, {"sync.cond.half", OP_COND},
    {"sync.cond.ticket", OP_COND},        {"sync.lock.release", OP_COND},
    {"sync.create.half", OP_CREATE},
};

static void child_op(objs_t *o, const crash_case_t *c, uint64_t puid)
{
    dragon_pool_t *p = ts_child_pool(puid);
    dragon_sync_t *s = NULL, *l;
    uint64_t t, i, d;
    switch (c->op) {
    case OP_LOCK:
        s = ts_attach(p, o->d_lk);
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_lock_acquire(s, 0));
        break;
    case OP_UNLOCK:
        s = ts_attach(p, o->d_lk);
        T_OK(dragon_lock_acquire(s, 0));
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_lock_release(s));
        break;
    case OP_RLOCK2: /* the point fires in the second (recursive) acquire */
        s = ts_attach(p, o->d_rl);
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_lock_acquire(s, 0));
        T_OK(dragon_lock_acquire(s, 0));
        break;
    case OP_SEM:
        s = ts_attach(p, o->d_sem);
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_sem_acquire(s, 0));
        break;
    case OP_BARRIER:
        s = ts_attach(p, o->d_bar);
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_barrier_arrive(s, &t, &i));
        break;
    case OP_COND:
        s = ts_attach(p, o->d_cv);
        T_OK(dragon_cond_lock(s, &l));
        T_OK(dragon_lock_acquire(l, 0));
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_cond_wait_begin(s, &t, &d));
        break;
    case OP_CREATE:
        setenv("DRAGON_CRASH_POINT", c->point, 1);
        T_OK(dragon_sync_create(p, DRAGON_SYNC_EVENT, 0, 0, &s));
        break;
    }
    _exit(0); /* the crash point did not fire */
}

static void test_crash_points(void)
{
    objs_t o;
    objs_make(&o);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const crash_case_t *c = &cases[k];
        uint64_t puid = TS_CHILD_PUID(10 + k);
        dragon_pool_stats_t ps0, ps1;
        T_OK(dragon_pool_stats(ts_pool, &ps0));
        pid_t pid = fork();
        if (pid == 0)
            child_op(&o, c, puid);
        int rc = ts_wait(pid);
        if (rc != 86) {
            fprintf(stderr, "crash point %s: child exit %d\n", c->point, rc);
            T_ASSERT(rc == 86);
        }
        uint64_t owner;
        int broken;
        uint64_t waiting;
        /* Right after the death (the first lock of the object repairs it). */
        switch (c->op) {
        case OP_LOCK:
            T_ASSERT(lock_count(o.lk, &owner) == (strcmp(c->point, "sync.lock.half") ? 1u : 0u));
            break;
        case OP_UNLOCK: /* the release was rolled back: still held */
            T_ASSERT(lock_count(o.lk, &owner) == 1 && owner == puid);
            break;
        case OP_RLOCK2:
            T_ASSERT(lock_count(o.rl, &owner) == (strstr(c->point, "half") ? 1u : 2u));
            T_ASSERT(owner == puid);
            break;
        case OP_SEM:
            T_ASSERT(sem_value(o.sem) == (strstr(c->point, "half") ? 2 : 1));
            break;
        case OP_BARRIER:
            T_OK(dragon_barrier_state(o.bar, NULL, &waiting, &broken));
            T_ASSERT(!broken && waiting == (strstr(c->point, "half") ? 0u : 1u));
            break;
        case OP_COND: /* died holding the lock in every case */
            T_ASSERT(lock_count(o.clk, &owner) == 1 && owner == puid);
            break;
        case OP_CREATE:
            T_OK(dragon_pool_stats(ts_pool, &ps1));
            T_ASSERT(ps1.num_allocs == ps0.num_allocs + 1);
            break;
        }
        dragon_reclaim_stats_t st = reclaim(puid);
        switch (c->op) {
        case OP_LOCK:
        case OP_UNLOCK:
        case OP_RLOCK2:
            T_ASSERT(st.locks_released ==
                     (c->op == OP_LOCK && !strcmp(c->point, "sync.lock.half") ? 0u : 1u));
            break;
        case OP_SEM:
            T_ASSERT(st.locks_released == (strstr(c->point, "half") ? 0u : 1u));
            break;
        case OP_BARRIER:
            T_OK(dragon_barrier_state(o.bar, NULL, NULL, &broken));
            T_ASSERT(broken == !strstr(c->point, "half"));
            T_ASSERT(st.barriers_broken == (broken ? 1u : 0u));
            break;
        case OP_COND:
            T_ASSERT(st.locks_released == 1);
            break;
        case OP_CREATE:
            T_ASSERT(st.allocs_freed == 1);
            T_OK(dragon_pool_stats(ts_pool, &ps1));
            T_ASSERT(ps1.num_allocs == ps0.num_allocs);
            break;
        }
        if (c->op == OP_BARRIER && !broken) {
            /* The rolled-back arrival never happened: reset not needed. */
            T_OK(dragon_barrier_state(o.bar, NULL, &waiting, NULL));
            T_ASSERT(waiting == 0);
        }
        objs_work(&o);
    }
    objs_free(&o);
}

/* ---- random kills --------------------------------------------------------------
 * A child loops over every operation; it is SIGKILLed after a random delay,
 * wherever it is (often inside a critical section), reclaimed, and the
 * objects must be back to their resting state. */
static void test_random_kills(void)
{
    objs_t o;
    objs_make(&o);
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
    for (int round = 0; round < 40; round++) {
        uint64_t puid = TS_CHILD_PUID(100 + round);
        int fds[2];
        T_ASSERT(pipe(fds) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            dragon_pool_t *p = ts_child_pool(puid);
            dragon_sync_t *lk = ts_attach(p, o.d_lk), *rl = ts_attach(p, o.d_rl);
            dragon_sync_t *sem = ts_attach(p, o.d_sem), *cv = ts_attach(p, o.d_cv), *cl;
            T_OK(dragon_cond_lock(cv, &cl));
            ts_signal(fds[1]);
            for (;;) {
                T_OK(dragon_lock_acquire(lk, DRAGON_WAIT_FOREVER));
                T_OK(dragon_lock_release(lk));
                T_OK(dragon_lock_acquire(rl, 0));
                T_OK(dragon_lock_acquire(rl, 0));
                T_OK(dragon_lock_release(rl));
                T_OK(dragon_lock_release(rl));
                T_OK(dragon_sem_acquire(sem, DRAGON_WAIT_FOREVER));
                T_OK(dragon_sem_release(sem, 1));
                T_OK(dragon_lock_acquire(cl, DRAGON_WAIT_FOREVER));
                T_EXPECT(dragon_cond_wait(cv, 0), DRAGON_ERR_TIMEOUT);
                T_OK(dragon_lock_release(cl));
            }
        }
        ts_expect_signal(fds[0]);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        ts_sleep_us((long)(seed % 3000));
        kill(pid, SIGKILL);
        T_ASSERT(ts_wait(pid) == 128 + SIGKILL);
        (void)reclaim(puid);
        T_ASSERT(lock_count(o.lk, NULL) == 0);
        T_ASSERT(lock_count(o.rl, NULL) == 0);
        T_ASSERT(lock_count(o.clk, NULL) == 0);
        T_ASSERT(sem_value(o.sem) == 2);
        T_ASSERT(ts_cond_pending(o.cv) == 0);
        objs_work(&o);
        close(fds[0]);
        close(fds[1]);
    }
    objs_free(&o);
}

int main(void)
{
    ts_setup();
    test_killed_holder();
    test_notified_then_killed();
    test_killed_watcher();
    test_crash_points();
    test_random_kills();
    ts_teardown();
    printf("sync_reclaim_test: ok\n");
    return 0;
}
