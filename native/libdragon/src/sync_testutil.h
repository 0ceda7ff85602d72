/* Test-only helpers shared by src/sync*_test.c: a pool per test program,
 * child processes that attach it under their own puid, descriptors, and the
 * final check that nothing is left in /dev/shm. */
#ifndef DG_SYNC_TESTUTIL_H
#define DG_SYNC_TESTUTIL_H

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "sync_impl.h"
#include "testutil.h"

#define TS_PARENT_PUID 1
/* Children get puids 100, 101, ... */
#define TS_CHILD_PUID(i) (100 + (uint64_t)(i))

static uint64_t ts_rtid;
static dragon_pool_t *ts_pool;
static uint8_t ts_pool_desc[DRAGON_DESC_BYTES];
static pid_t ts_owner;

/* A failed assertion exits: unlink the segment then too (only in the
 * process that created it, not in a failing child). */
static void ts_atexit(void)
{
    if (getpid() == ts_owner && ts_pool) {
        char name[128];
        if (dragon_pool_name(ts_pool, name, sizeof name) == DRAGON_OK)
            shm_unlink(name);
    }
}

__attribute__((unused)) static void ts_setup(void)
{
    ts_owner = getpid();
    atexit(ts_atexit);
    ts_rtid = t_rtid();
    dragon_pool_attrs_t a = {
        .rtid = ts_rtid, .pool_id = 1, .bytes = 8u << 20, .puid = TS_PARENT_PUID, .host_id = 0};
    T_OK(dragon_pool_create(&a, &ts_pool));
    size_t len;
    T_OK(dragon_pool_serialize(ts_pool, ts_pool_desc, sizeof ts_pool_desc, &len));
    T_ASSERT(len == DRAGON_DESC_BYTES);
}

/* Checks that every object was freed by its destroy, destroys the pool and
 * checks that no segment of this run-time is left. */
__attribute__((unused)) static void ts_teardown(void)
{
    dragon_pool_stats_t st;
    T_OK(dragon_pool_stats(ts_pool, &st));
    T_ASSERT(st.num_allocs == 0);
    T_OK(dragon_pool_destroy(ts_pool));
    ts_pool = NULL;
    t_check_no_segments(ts_rtid);
}

/* In a child: the pool attached under the child's own puid. */
__attribute__((unused)) static dragon_pool_t *ts_child_pool(uint64_t puid)
{
    dragon_pool_t *p;
    T_OK(dragon_pool_attach(ts_pool_desc, DRAGON_DESC_BYTES, ts_rtid, puid, &p));
    return p;
}

__attribute__((unused)) static dragon_sync_t *ts_make(dragonSyncKind_t kind, int64_t value,
                                                      int64_t max)
{
    dragon_sync_t *s;
    T_OK(dragon_sync_create(ts_pool, kind, value, max, &s));
    return s;
}

__attribute__((unused)) static void ts_desc(const dragon_sync_t *s, uint8_t *buf)
{
    size_t len;
    T_OK(dragon_sync_serialize(s, buf, DRAGON_DESC_BYTES, &len));
    T_ASSERT(len == DRAGON_DESC_BYTES);
}

__attribute__((unused)) static dragon_sync_t *ts_attach(dragon_pool_t *p, const uint8_t *desc)
{
    dragon_sync_t *s;
    T_OK(dragon_sync_attach(p, desc, DRAGON_DESC_BYTES, &s));
    return s;
}

/* Shared scratch memory in the pool, visible to every child at the same
 * allocation (each maps it through its own pool handle). */
__attribute__((unused)) static dragon_alloc_t ts_scratch(uint64_t bytes)
{
    dragon_alloc_t a;
    T_OK(dragon_pool_alloc(ts_pool, bytes, 0, &a));
    void *ptr;
    T_OK(dragon_alloc_ptr(ts_pool, a, &ptr));
    memset(ptr, 0, bytes);
    return a;
}

__attribute__((unused)) static void *ts_ptr(dragon_pool_t *p, dragon_alloc_t a)
{
    void *ptr;
    T_OK(dragon_alloc_ptr(p, a, &ptr));
    return ptr;
}

/* Exit status of a child: its exit code, or 128 + signal. */
__attribute__((unused)) static int ts_wait(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

__attribute__((unused)) static void ts_sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Polls (up to ~5 s) until *v reaches at least want; the value seen. */
__attribute__((unused)) static uint64_t ts_await(_Atomic uint64_t *v, uint64_t want)
{
    for (int i = 0; i < 5000 && atomic_load(v) < want; i++)
        ts_sleep_us(1000);
    return atomic_load(v);
}

/* Polls (up to ~5 s) until at least want parties wait at barrier b; the
 * number seen. */
__attribute__((unused)) static uint64_t ts_barrier_await(dragon_sync_t *b, uint64_t want)
{
    uint64_t waiting = 0;
    for (int i = 0; i < 5000; i++) {
        T_OK(dragon_barrier_state(b, NULL, &waiting, NULL));
        if (waiting >= want)
            break;
        ts_sleep_us(1000);
    }
    return waiting;
}

/* Live tickets of a condition not notified yet, cancelled ones excluded
 * (internal view). Callers made sure any repair happened already. */
__attribute__((unused)) static uint64_t ts_cond_pending(dragon_sync_t *cond)
{
    dg__sync_t *s = dg__sync_rec(cond->pool, cond->offset);
    int died;
    T_OK(dg__mutex_lock(&s->lock, &died));
    T_ASSERT(!died);
    uint64_t n = s->next_ticket - s->wake_upto;
    for (int i = 0; i < DG_SYNC_HOLDERS; i++)
        if (s->holders[i].count == DG_COND_CANCELLED && s->holders[i].tag >= s->wake_upto)
            n--;
    dg__mutex_unlock(&s->lock);
    return n;
}

/* Child-side pipe handshake: the child writes one byte when it got where
 * the parent waits for; the parent reads it. */
__attribute__((unused)) static void ts_signal(int fd)
{
    char c = 1;
    T_ASSERT(write(fd, &c, 1) == 1);
}

__attribute__((unused)) static void ts_expect_signal(int fd)
{
    char c;
    T_ASSERT(read(fd, &c, 1) == 1);
}

#endif
