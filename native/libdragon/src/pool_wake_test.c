/* Waiting for pool memory: dragon_pool_wait_space sleeps until a free (by
 * another process, through an allocation or a channel) and honours its
 * deadline; dragon_pool_watch rings a waiter's doorbell on such a free, and
 * stops after dragon_pool_unwatch. */
#include <poll.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "pool_check.h"

#define POOL_BYTES (1u << 20)
#define CHUNK (64u * 1024 - 64) /* one 64 KiB block with its header */

static uint64_t rtid;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int wait_child(pid_t pid)
{
    int st = 0;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Allocates every byte of the pool: CHUNK blocks, then minimum blocks. */
static size_t fill(dragon_pool_t *p, dragon_alloc_t *big, size_t cap)
{
    size_t n = 0;
    while (n < cap && dragon_pool_alloc(p, CHUNK, 0, &big[n]) == DRAGON_OK)
        n++;
    dragon_alloc_t small;
    while (dragon_pool_alloc(p, 64, 0, &small) == DRAGON_OK) {
    }
    dragon_pool_stats_t st;
    T_OK(dragon_pool_stats(p, &st));
    T_ASSERT(st.free_bytes == 0);
    return n;
}

/* Forks a process that attaches the pool, sleeps delay_ms, then runs `act`
 * on the descriptor `d` (an allocation to free, or a channel to receive a
 * large message from, which frees its block). */
enum { FREE_ALLOC, RECV_LARGE, DESTROY_POOL };
static pid_t spawn_freer(dragon_pool_t *p, int act, const uint8_t *d, long delay_ms)
{
    uint8_t pdesc[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_pool_serialize(p, pdesc, sizeof pdesc, &len));
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid != 0)
        return pid;
    dragon_pool_t *q;
    if (dragon_pool_attach(pdesc, len, rtid, 9, &q) != DRAGON_OK)
        _exit(2);
    sleep_ms(delay_ms);
    if (act == FREE_ALLOC) {
        dragon_alloc_t a;
        if (dragon_alloc_attach(q, d, DRAGON_DESC_BYTES, &a) != DRAGON_OK ||
            dragon_pool_free(q, a) != DRAGON_OK)
            _exit(3);
    } else if (act == RECV_LARGE) {
        dragon_channel_t *ch;
        static uint8_t buf[CHUNK];
        uint64_t got = 0;
        if (dragon_channel_attach(q, d, DRAGON_DESC_BYTES, &ch) != DRAGON_OK ||
            dragon_channel_recv(ch, buf, sizeof buf, &got, 0) != DRAGON_OK || got != CHUNK ||
            dragon_channel_detach(ch) != DRAGON_OK)
            _exit(4);
    } else {
        _exit(dragon_pool_destroy(q) == DRAGON_OK ? 0 : 5);
    }
    _exit(dragon_pool_detach(q) == DRAGON_OK ? 0 : 6);
}

static void alloc_desc(dragon_pool_t *p, dragon_alloc_t a, uint8_t *d)
{
    size_t len;
    T_OK(dragon_alloc_serialize(p, a, d, DRAGON_DESC_BYTES, &len));
}

static void test_wait_space_deadline(void)
{
    dragon_pool_t *p = t_pool(rtid, 1, POOL_BYTES, 1);
    static dragon_alloc_t big[32];
    fill(p, big, 32);
    T_EXPECT(dragon_pool_wait_space(NULL, 64, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_pool_wait_space(p, POOL_BYTES + 1, -1), DRAGON_ERR_TOO_LARGE);
    T_EXPECT(dragon_pool_wait_space(p, 64, 0), DRAGON_ERR_TIMEOUT);
    uint64_t t0 = now_ms();
    T_EXPECT(dragon_pool_wait_space(p, 64, 50000), DRAGON_ERR_TIMEOUT);
    T_ASSERT(now_ms() - t0 >= 49);
    /* a free in this process: space for that size, not for a larger one */
    T_OK(dragon_pool_free(p, big[0]));
    T_OK(dragon_pool_wait_space(p, CHUNK, 0));
    T_EXPECT(dragon_pool_wait_space(p, 2 * CHUNK, 0), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_pool_destroy(p));
}

/* A blocked wait wakes on a free by another process (long before its
 * deadline), through an allocation and through a channel. */
static void test_wait_space_woken(void)
{
    dragon_pool_t *p = t_pool(rtid, 2, POOL_BYTES, 1);
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 4, 64, &ch));
    static uint8_t payload[CHUNK];
    T_OK(dragon_channel_send(ch, payload, CHUNK, 0)); /* a block owned by the channel */
    static dragon_alloc_t big[32];
    size_t n = fill(p, big, 32);
    T_ASSERT(n > 2);
    uint8_t d[DRAGON_DESC_BYTES];

    alloc_desc(p, big[0], d);
    pid_t pid = spawn_freer(p, FREE_ALLOC, d, 50);
    uint64_t t0 = now_ms();
    T_OK(dragon_pool_wait_space(p, CHUNK, 10000000));
    T_ASSERT(now_ms() - t0 < 5000);
    T_ASSERT(wait_child(pid) == 0);
    T_OK(dragon_pool_alloc(p, CHUNK, 0, &big[0]));

    size_t len;
    T_OK(dragon_channel_serialize(ch, d, sizeof d, &len));
    pid = spawn_freer(p, RECV_LARGE, d, 50);
    t0 = now_ms();
    /* a blocking allocation sleeps on the same event */
    dragon_alloc_t a;
    T_OK(dragon_pool_alloc(p, CHUNK, 10000000, &a));
    T_ASSERT(now_ms() - t0 < 5000);
    T_ASSERT(wait_child(pid) == 0);

    T_OK(dragon_channel_destroy(ch));
    T_OK(dragon_pool_destroy(p));
}

static int fd_readable(int fd, int timeout_ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int n = poll(&pf, 1, timeout_ms);
    T_ASSERT(n >= 0);
    return n > 0 && (pf.revents & POLLIN);
}

/* The doorbell: register, retry (still no space), then the waiter's fd
 * becomes readable on another process's free, with the bit rung. */
static void test_watch(void)
{
    dragon_pool_t *p = t_pool(rtid, 3, POOL_BYTES, 1);
    static dragon_alloc_t big[32];
    fill(p, big, 32);
    dragon_waiter_t *w = NULL;
    T_OK(dragon_waiter_create(1, &w));
    int fd = -1;
    T_OK(dragon_waiter_fd(w, &fd));
    T_EXPECT(dragon_pool_watch(p, w, 64), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_pool_watch(NULL, w, 1), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_pool_unwatch(p, NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_pool_watch(p, w, 7));
    T_OK(dragon_pool_watch(p, w, 7)); /* idempotent */
    T_ASSERT(atomic_load(&p->hdr->free_ev.nwatch) == 1);
    dragon_alloc_t a;
    T_EXPECT(dragon_pool_alloc(p, CHUNK, 0, &a), DRAGON_ERR_TIMEOUT);
    T_ASSERT(!fd_readable(fd, 0));

    uint8_t d[DRAGON_DESC_BYTES];
    alloc_desc(p, big[0], d);
    pid_t pid = spawn_freer(p, FREE_ALLOC, d, 50);
    T_ASSERT(fd_readable(fd, 5000));
    uint64_t mask = 0;
    T_OK(dragon_waiter_take(w, &mask));
    T_ASSERT(mask == 1ULL << 7);
    T_ASSERT(wait_child(pid) == 0);
    T_OK(dragon_pool_alloc(p, CHUNK, 0, &big[0]));

    /* unwatched: a free rings nothing */
    T_OK(dragon_pool_unwatch(p, w));
    T_ASSERT(atomic_load(&p->hdr->free_ev.nwatch) == 0);
    T_OK(dragon_pool_free(p, big[1]));
    T_ASSERT(!fd_readable(fd, 50));
    T_OK(dragon_waiter_take(w, &mask));
    T_ASSERT(mask == 0);

    T_OK(dragon_waiter_forget_pool(w, p));
    T_OK(dragon_waiter_destroy(w));
    T_OK(dragon_pool_destroy(p));
}

/* A wait for space ends with DRAGON_ERR_DESTROYED when another process
 * destroys the pool, not at its deadline. */
static void test_destroyed_while_waiting(void)
{
    dragon_pool_t *p = t_pool(rtid, 4, POOL_BYTES, 1);
    static dragon_alloc_t big[32];
    fill(p, big, 32);
    pid_t pid = spawn_freer(p, DESTROY_POOL, NULL, 50);
    uint64_t t0 = now_ms();
    T_EXPECT(dragon_pool_wait_space(p, CHUNK, 10000000), DRAGON_ERR_DESTROYED);
    T_ASSERT(now_ms() - t0 < 5000);
    T_ASSERT(wait_child(pid) == 0);
    dragon_waiter_t *w = NULL;
    T_OK(dragon_waiter_create(1, &w));
    T_EXPECT(dragon_pool_watch(p, w, 1), DRAGON_ERR_DESTROYED);
    T_OK(dragon_waiter_destroy(w));
    T_OK(dragon_pool_detach(p));
}

int main(void)
{
    rtid = t_rtid();
    test_wait_space_deadline();
    test_wait_space_woken();
    test_watch();
    test_destroyed_while_waiting();
    t_check_no_segments(rtid);
    printf("pool_wake: ok\n");
    return 0;
}
