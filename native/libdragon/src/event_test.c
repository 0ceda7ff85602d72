/* Events and the wait loop: try-once and bounded timeouts, no lost wake-up
 * under a stress of threads and of processes, wake-one hand-over (a woken
 * waiter that cannot use the wake passes it on), wake-all for
 * non-consuming waiters, the free fast path (a signal with nobody waiting
 * changes nothing shared), and reclaim of a sleeper killed with SIGKILL. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "testutil.h"

/* Shared state of one stress: an event and a token count. */
typedef struct shared {
    dg__event_t ev;
    _Atomic int64_t tokens;   /* produced, not yet consumed */
    _Atomic int64_t consumed;
    _Atomic int32_t stop;
    _Atomic int32_t ready;
} shared_t;

static dragon_pool_t *make_pool(uint64_t rtid)
{
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = 1, .bytes = 1u << 20, .puid = 1};
    dragon_pool_t *p = NULL;
    T_OK(dragon_pool_create(&a, &p));
    return p;
}

/* A shared_t in pool memory, as channels and sync objects keep theirs. */
static shared_t *pool_shared(dragon_pool_t *p, dragon_alloc_t *al)
{
    void *ptr = NULL;
    T_OK(dragon_pool_alloc(p, sizeof(shared_t), 0, al));
    T_OK(dragon_alloc_ptr(p, *al, &ptr));
    shared_t *s = ptr;
    memset(s, 0, sizeof *s);
    dg__event_init(&s->ev);
    return s;
}

static dragonError_t take_token(void *arg)
{
    shared_t *s = arg;
    int64_t n = atomic_load(&s->tokens);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&s->tokens, &n, n - 1)) {
            atomic_fetch_add(&s->consumed, 1);
            return DRAGON_OK;
        }
    }
    return atomic_load(&s->stop) ? DRAGON_ERR_DESTROYED : DRAGON_ERR_TIMEOUT;
}

static void give_token(dragon_pool_t *p, shared_t *s)
{
    atomic_fetch_add(&s->tokens, 1);
    dg__event_signal_one(p, &s->ev);
}

/* Gives n tokens, pausing pause_ns after every every-th one (so consumers
 * fall asleep now and then); every token must be taken without any further
 * signal; then tells the consumers to stop. */
static void feed(dragon_pool_t *p, shared_t *s, int n, int every, long pause_ns)
{
    for (int i = 0; i < n; i++) {
        give_token(p, s);
        if (i % every == 0) {
            struct timespec ts = {0, pause_ns};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < 5000 && atomic_load(&s->consumed) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    T_ASSERT(atomic_load(&s->consumed) == n);
    atomic_store(&s->stop, 1);
    dg__event_signal(p, &s->ev);
}

static dragonError_t never(void *arg)
{
    (void)arg;
    return DRAGON_ERR_TIMEOUT;
}

static void test_timeouts(dragon_pool_t *p, shared_t *s)
{
    uint32_t budget = 0;
    /* timeout 0: one try, then a clear TIMEOUT, no registration left */
    T_EXPECT(dg__event_wait(&s->ev, 1, 0, never, NULL, 0, &budget), DRAGON_ERR_TIMEOUT);
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
    /* bounded: spins, sleeps, times out, unregisters */
    uint64_t t0 = dg__now_us();
    T_EXPECT(dg__event_wait(&s->ev, 1, 0, never, NULL, dg__deadline(20000), &budget),
             DRAGON_ERR_TIMEOUT);
    T_ASSERT(dg__now_us() - t0 >= 20000);
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
    for (int i = 0; i < DG_EVENT_SLEEPERS; i++)
        T_ASSERT(atomic_load(&s->ev.sleeper[i]) == 0);
    /* spinning never paid: the budget went down (to its floor at most) */
    T_ASSERT(budget > 0);
    uint32_t failed = budget;
    /* success on the first try returns at once, budget untouched */
    atomic_store(&s->tokens, 1);
    T_OK(dg__event_wait(&s->ev, 1, 0, take_token, s, UINT64_MAX, &budget));
    T_ASSERT(budget == failed);
    /* invalid arguments */
    T_EXPECT(dg__event_wait(NULL, 1, 0, never, NULL, 0, NULL), DRAGON_ERR_INVALID_ARGUMENT);
    (void)p;
}

/* Nobody waits: a signal is a fence and two loads, nothing shared moves. */
static void test_free_signal(dragon_pool_t *p, shared_t *s)
{
    uint32_t seq = atomic_load(&s->ev.seq);
    for (int i = 0; i < 1000; i++) {
        dg__event_signal_one(p, &s->ev);
        dg__event_signal(p, &s->ev);
    }
    T_ASSERT(atomic_load(&s->ev.seq) == seq);
}

/* ---- threads ------------------------------------------------------------ */
typedef struct targ {
    dragon_pool_t *p;
    shared_t *s;
    int64_t got;
} targ_t;

static void *consumer_thread(void *arg)
{
    targ_t *t = arg;
    uint32_t budget = 0;
    for (;;) {
        dragonError_t rc = dg__event_wait(&t->s->ev, 1, 0, take_token, t->s, UINT64_MAX, &budget);
        if (rc == DRAGON_ERR_DESTROYED)
            return NULL;
        T_OK(rc);
        t->got++;
    }
}

static void test_threads(dragon_pool_t *p, shared_t *s)
{
    enum { NT = 6, N = 60000 };
    atomic_store(&s->tokens, 0);
    atomic_store(&s->consumed, 0);
    atomic_store(&s->stop, 0);
    pthread_t th[NT];
    targ_t ta[NT];
    for (int i = 0; i < NT; i++) {
        ta[i] = (targ_t){p, s, 0};
        T_ASSERT(pthread_create(&th[i], NULL, consumer_thread, &ta[i]) == 0);
    }
    feed(p, s, N, 1000, 2000000);
    int64_t sum = 0;
    for (int i = 0; i < NT; i++) {
        T_ASSERT(pthread_join(th[i], NULL) == 0);
        sum += ta[i].got;
    }
    T_ASSERT(sum == N);
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
}

/* ---- processes ------------------------------------------------------------ */
static void test_processes(dragon_pool_t *p, shared_t *s)
{
    enum { NP = 4, N = 40000 };
    atomic_store(&s->tokens, 0);
    atomic_store(&s->consumed, 0);
    atomic_store(&s->stop, 0);
    pid_t pid[NP];
    for (int i = 0; i < NP; i++) {
        fflush(NULL);
        pid[i] = fork();
        T_ASSERT(pid[i] >= 0);
        if (pid[i] == 0) {
            uint32_t budget = 0;
            for (;;) {
                dragonError_t rc =
                    dg__event_wait(&s->ev, 10 + (uint64_t)i, 0, take_token, s, UINT64_MAX, &budget);
                if (rc == DRAGON_ERR_DESTROYED)
                    _exit(0);
                if (rc != DRAGON_OK)
                    _exit(2);
            }
        }
    }
    feed(p, s, N, 2000, 3000000);
    for (int i = 0; i < NP; i++) {
        int st;
        T_ASSERT(waitpid(pid[i], &st, 0) == pid[i]);
        T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
}

/* ---- wake-one hand-over ---------------------------------------------------- */
typedef struct picky {
    shared_t *s;
    _Atomic int *refused; /* times the picky waiter saw a token and refused */
} picky_t;

/* Sees the token but cannot use it (like a receiver whose buffer is too
 * small): leaves with an error that is not TIMEOUT. */
static dragonError_t refuse(void *arg)
{
    picky_t *pk = arg;
    if (atomic_load(&pk->s->tokens) > 0) {
        atomic_fetch_add(pk->refused, 1);
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    }
    return DRAGON_ERR_TIMEOUT;
}

static void *picky_thread(void *arg)
{
    picky_t *pk = arg;
    dragonError_t rc = dg__event_wait(&pk->s->ev, 1, 0, refuse, pk, dg__deadline(10000000), NULL);
    T_EXPECT(rc, DRAGON_ERR_BUFFER_TOO_SMALL);
    return NULL;
}

static void *one_consumer(void *arg)
{
    shared_t *s = arg;
    T_OK(dg__event_wait(&s->ev, 1, 0, take_token, s, dg__deadline(10000000), NULL));
    return NULL;
}

static void wait_sleepers(shared_t *s, uint32_t n)
{
    for (int i = 0; i < 10000 && atomic_load(&s->ev.sleepers) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    T_ASSERT(atomic_load(&s->ev.sleepers) >= n);
    /* registered is not yet inside futex_wait: give them a moment */
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
}

static void test_pass_on(dragon_pool_t *p, shared_t *s)
{
    /* Whichever of the two gets the single wake-up, the consumer must end
     * up with the token: the picky one passes the wake on. Repeat so both
     * orders happen. */
    for (int round = 0; round < 20; round++) {
        _Atomic int refused = 0;
        atomic_store(&s->tokens, 0);
        atomic_store(&s->stop, 0);
        picky_t pk = {s, &refused};
        pthread_t a, b;
        T_ASSERT(pthread_create(&a, NULL, picky_thread, &pk) == 0);
        T_ASSERT(pthread_create(&b, NULL, one_consumer, s) == 0);
        wait_sleepers(s, 2);
        give_token(p, s); /* one signal-one */
        T_ASSERT(pthread_join(b, NULL) == 0);
        T_ASSERT(atomic_load(&s->tokens) == 0);
        /* the picky waiter leaves on its own when it sees the token gone or
         * times out; unblock it for good */
        atomic_store(&s->tokens, 1);
        dg__event_signal(p, &s->ev);
        T_ASSERT(pthread_join(a, NULL) == 0);
        atomic_store(&s->tokens, 0);
    }
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
}

/* A non-consuming waiter (DG_WAIT_ALL, like poll) and a consumer: one
 * signal-one must wake both. */
static dragonError_t observe(void *arg)
{
    shared_t *s = arg;
    return atomic_load(&s->tokens) > 0 ? DRAGON_OK : DRAGON_ERR_TIMEOUT;
}

static void *observer_thread(void *arg)
{
    shared_t *s = arg;
    T_OK(dg__event_wait(&s->ev, 1, DG_WAIT_ALL, observe, s, dg__deadline(10000000), NULL));
    return NULL;
}

static void test_wait_all(dragon_pool_t *p, shared_t *s)
{
    for (int round = 0; round < 10; round++) {
        atomic_store(&s->tokens, 0);
        pthread_t a, b;
        T_ASSERT(pthread_create(&a, NULL, observer_thread, s) == 0);
        T_ASSERT(pthread_create(&b, NULL, one_consumer, s) == 0);
        wait_sleepers(s, 2);
        T_ASSERT(atomic_load(&s->ev.all_mask) != 0);
        /* the observer must see the token before the consumer takes it:
         * add it without a signal, then wake both with one signal-one */
        atomic_fetch_add(&s->tokens, 1);
        atomic_fetch_add(&s->tokens, 1); /* one for the observer to look at */
        dg__event_signal_one(p, &s->ev);
        T_ASSERT(pthread_join(a, NULL) == 0);
        T_ASSERT(pthread_join(b, NULL) == 0);
    }
    T_ASSERT(atomic_load(&s->ev.all_mask) == 0);
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
}

/* A process killed while asleep leaves its registration; reclaim drops it
 * so later signals are free again. */
static void test_reclaim(dragon_pool_t *p, shared_t *s)
{
    atomic_store(&s->tokens, 0);
    atomic_store(&s->stop, 0);
    fflush(NULL);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        dg__event_wait(&s->ev, 77, 0, take_token, s, UINT64_MAX, NULL);
        _exit(3);
    }
    wait_sleepers(s, 1);
    kill(pid, SIGKILL);
    int st;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    T_ASSERT(WIFSIGNALED(st));
    T_ASSERT(atomic_load(&s->ev.sleepers) == 1);
    dg__event_reclaim(p, &s->ev, 76); /* somebody else: untouched */
    T_ASSERT(atomic_load(&s->ev.sleepers) == 1);
    dg__event_reclaim(p, &s->ev, 77);
    T_ASSERT(atomic_load(&s->ev.sleepers) == 0);
    for (int i = 0; i < DG_EVENT_SLEEPERS; i++)
        T_ASSERT(atomic_load(&s->ev.sleeper[i]) == 0);
    uint32_t seq = atomic_load(&s->ev.seq);
    dg__event_signal_one(p, &s->ev);
    T_ASSERT(atomic_load(&s->ev.seq) == seq);
}

int main(void)
{
    alarm(60); /* a lost wake-up shows up as a hang: fail instead */
    uint64_t rtid = t_rtid();
    dragon_pool_t *p = make_pool(rtid);
    dragon_alloc_t al;
    shared_t *s = pool_shared(p, &al);
    test_timeouts(p, s);
    test_free_signal(p, s);
    test_threads(p, s);
    test_processes(p, s);
    test_pass_on(p, s);
    test_wait_all(p, s);
    test_reclaim(p, s);
    T_OK(dragon_pool_free(p, al));
    T_OK(dragon_pool_destroy(p));
    printf("event_test: ok\n");
    return 0;
}
