/* Crash recovery of the allocator: a process dies at every interesting
 * point inside alloc and free (most of them while holding the allocator
 * lock), then under random SIGKILLs in the middle of alloc/free storms. After
 * each death, reclaim of its puid must leave a consistent pool (full map
 * walk), free_bytes back at its value before the child ran, the survivors'
 * allocations intact, and a pool that still allocates and frees. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "pool_check.h"

#define PARENT_PUID 1
#define KEEP 6

static uint64_t rtid;

typedef struct {
    dragon_pool_t *p;
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_alloc_t keep[KEEP]; /* the parent's own allocations */
    uint64_t start_free;
} fixture_t;

static void fixture(fixture_t *f, uint64_t pool_id)
{
    f->p = t_pool(rtid, pool_id, (2u << 20) + (128u << 10) + 256, PARENT_PUID);
    size_t len;
    T_OK(dragon_pool_serialize(f->p, f->desc, sizeof f->desc, &len));
    for (int i = 0; i < KEEP; i++) {
        T_OK(dragon_pool_alloc(f->p, 100 + 3000 * (uint64_t)i, 0, &f->keep[i]));
        uint8_t *ptr;
        T_OK(dragon_alloc_ptr(f->p, f->keep[i], (void **)&ptr));
        memset(ptr, 0xa0 + i, f->keep[i].size);
    }
    f->start_free = t_free_bytes(f->p);
}

/* Everything the parent owns survived, and the pool works. */
static void verify(fixture_t *f)
{
    T_ASSERT(t_check_pool(f->p) == KEEP);
    T_ASSERT(t_free_bytes(f->p) == f->start_free);
    for (int i = 0; i < KEEP; i++) {
        uint8_t *ptr;
        T_OK(dragon_alloc_ptr(f->p, f->keep[i], (void **)&ptr));
        for (uint64_t b = 0; b < f->keep[i].size; b++)
            T_ASSERT(ptr[b] == 0xa0 + i);
    }
    dragon_alloc_t a[8];
    for (int i = 0; i < 8; i++)
        T_OK(dragon_pool_alloc(f->p, 1000 * (uint64_t)i, 0, &a[i]));
    for (int i = 0; i < 8; i++)
        T_OK(dragon_pool_free(f->p, a[i]));
    T_ASSERT(t_free_bytes(f->p) == f->start_free);
}

static void teardown(fixture_t *f)
{
    for (int i = 0; i < KEEP; i++)
        T_OK(dragon_pool_free(f->p, f->keep[i]));
    T_ASSERT(t_check_pool(f->p) == 0);
    T_OK(dragon_pool_destroy(f->p));
}

/* The child's work: allocations of mixed sizes (splits), frees in an order
 * that merges, forever or for `rounds`. Everything it allocates is owned
 * by its puid, so reclaim must give all of it back. */
static void storm(dragon_pool_t *q, uint64_t seed, long rounds)
{
    enum { LIVE = 40 };
    dragon_alloc_t live[LIVE];
    int n = 0;
    uint64_t s = seed | 1;
    for (long r = 0; rounds < 0 || r < rounds; r++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if (n < LIVE && (n == 0 || s % 3 != 0)) {
            uint64_t size = (s >> 16) % ((s & 8) ? 60000 : 900);
            if (dragon_pool_alloc(q, size, 0, &live[n]) == DRAGON_OK)
                n++;
        } else {
            int i = (int)((s >> 24) % (uint64_t)n);
            if (dragon_pool_free(q, live[i]) != DRAGON_OK)
                _exit(3);
            live[i] = live[--n];
        }
    }
    while (n > 0)
        dragon_pool_free(q, live[--n]);
}

static const char *points[] = {
    "pool.alloc.reserved", "pool.alloc.split",     "pool.alloc.header",
    "pool.alloc.committed", "pool.free.uncommitted", "pool.free.merge",
    "pool.free.merged",
};

static void test_crash_points(void)
{
    fixture_t f;
    fixture(&f, 1);
    uint64_t puid = 100;
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        /* first pass, and a later one when the child holds allocations */
        const char *nth[] = {"", ":7", ":25"};
        for (int v = 0; v < 3; v++) {
            char arm[64];
            snprintf(arm, sizeof arm, "%s%s", points[i], nth[v]);
            puid++;
            pid_t pid = fork();
            T_ASSERT(pid >= 0);
            if (pid == 0) {
                setenv("DRAGON_CRASH_POINT", arm, 1);
                dragon_pool_t *q;
                if (dragon_pool_attach(f.desc, sizeof f.desc, rtid, puid, &q) != DRAGON_OK)
                    _exit(2);
                storm(q, puid * 7919, 2000);
                _exit(0); /* the point was never reached */
            }
            int st;
            T_ASSERT(waitpid(pid, &st, 0) == pid);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 86) {
                fprintf(stderr, "crash point %s: child status %d\n", arm, st);
                T_ASSERT(0);
            }
            dragon_reclaim_stats_t rs;
            T_OK(dragon_pool_reclaim(f.p, puid, &rs));
            verify(&f);
        }
    }
    teardown(&f);
}

static void test_random_kills(void)
{
    fixture_t f;
    fixture(&f, 2);
    uint64_t seed = (uint64_t)getpid() * 2654435761u;
    for (int round = 0; round < 30; round++) {
        uint64_t puid = 1000 + (uint64_t)round;
        int ready[2];
        T_ASSERT(pipe(ready) == 0);
        pid_t pid = fork();
        T_ASSERT(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            dragon_pool_t *q;
            if (dragon_pool_attach(f.desc, sizeof f.desc, rtid, puid, &q) != DRAGON_OK)
                _exit(2);
            if (write(ready[1], "x", 1) != 1)
                _exit(2);
            storm(q, puid * 104729, -1);
            _exit(0);
        }
        close(ready[1]);
        char c;
        T_ASSERT(read(ready[0], &c, 1) == 1);
        close(ready[0]);
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        struct timespec ts = {0, (long)((seed >> 33) % 15000) * 1000L};
        nanosleep(&ts, NULL);
        T_ASSERT(kill(pid, SIGKILL) == 0);
        int st;
        T_ASSERT(waitpid(pid, &st, 0) == pid);
        T_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        dragon_reclaim_stats_t rs;
        T_OK(dragon_pool_reclaim(f.p, puid, &rs));
        verify(&f);
    }
    teardown(&f);
}

int main(void)
{
    rtid = t_rtid();
    test_crash_points();
    test_random_kills();
    T_ASSERT(t_shm_count(rtid) == 0);
    printf("pool_crash_test: all passed\n");
    return 0;
}
