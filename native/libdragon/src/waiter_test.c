/* The waiter: one thread, many watched channels in two pools, rung by a
 * forked sender; the pipe becomes readable and take returns exactly the
 * rung bits; watch entries of a destroyed waiter (or a killed process) are
 * cleaned; the idle thread uses no CPU; forget_pool lets a pool go. */
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "channel_testutil.h"

#define NA 10 /* channels in pool A */
#define NB 3  /* channels in pool B */

static dragon_pool_t *make_pool(uint64_t rtid, uint64_t id)
{
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = id, .bytes = 4u << 20, .puid = 1};
    dragon_pool_t *p = NULL;
    T_OK(dragon_pool_create(&a, &p));
    return p;
}

/* The shared record behind a channel handle (white-box checks). */
static dg__channel_t *chan_rec_of(dragon_pool_t *p, dragon_channel_t *ch)
{
    desc_t d = chan_desc(ch);
    return chan_rec(p, &d);
}

static int fd_readable(int fd, int timeout_ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int n = poll(&pf, 1, timeout_ms);
    T_ASSERT(n >= 0);
    return n > 0 && (pf.revents & POLLIN);
}

/* Waits until every bit in `want` was taken (bits may come in several
 * takes when the sender's rings straddle one). */
static uint64_t take_until(dragon_waiter_t *w, int fd, uint64_t want)
{
    uint64_t got = 0;
    for (int i = 0; i < 100 && (got & want) != want; i++) {
        if (!fd_readable(fd, 100))
            continue;
        uint64_t m = 0;
        T_OK(dragon_waiter_take(w, &m));
        got |= m;
    }
    return got;
}

/* utime + stime (clock ticks) of the one thread that is not the caller. */
static long other_thread_ticks(void)
{
    DIR *d = opendir("/proc/self/task");
    T_ASSERT(d);
    long ticks = -1;
    pid_t me = (pid_t)syscall(SYS_gettid);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == me)
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        T_ASSERT(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')'); /* fields after the command name */
        T_ASSERT(p);
        long ut = 0, st = 0;
        /* after ')': state(3) ... utime is field 14, stime 15 */
        T_ASSERT(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) ==
                 2);
        ticks = ut + st;
    }
    closedir(d);
    T_ASSERT(ticks >= 0);
    return ticks;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_rings(uint64_t rtid, dragon_pool_t *pa, dragon_pool_t *pb)
{
    dragon_channel_t *ca[NA], *cb[NB];
    for (int i = 0; i < NA; i++)
        T_OK(dragon_channel_create(pa, 4, 64, &ca[i]));
    for (int i = 0; i < NB; i++)
        T_OK(dragon_channel_create(pb, 4, 64, &cb[i]));
    dragon_waiter_t *w = NULL;
    T_OK(dragon_waiter_create(1, &w));
    int fd = -1;
    T_OK(dragon_waiter_fd(w, &fd));
    /* pool A channels: bits 0..9 (IN); pool B: bits 20..22 (IN), and B[0]
     * also OUT on bit 40 */
    for (int i = 0; i < NA; i++)
        T_OK(dragon_channel_watch(ca[i], w, DRAGON_WATCH_IN, (uint32_t)i));
    for (int i = 0; i < NB; i++)
        T_OK(dragon_channel_watch(cb[i], w, DRAGON_WATCH_IN, 20u + (uint32_t)i));
    T_OK(dragon_channel_watch(cb[0], w, DRAGON_WATCH_OUT, 40));
    /* re-watching with the same bit is idempotent */
    T_OK(dragon_channel_watch(ca[0], w, DRAGON_WATCH_IN, 0));
    T_ASSERT(atomic_load(&chan_rec_of(pa, ca[0])->readable.nwatch) == 1);
    T_EXPECT(dragon_channel_watch(ca[0], w, DRAGON_WATCH_IN, 64), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_watch(ca[0], w, 0, 1), DRAGON_ERR_INVALID_ARGUMENT);
    /* a watched pool cannot be detached */
    T_EXPECT(dragon_pool_detach(pa), DRAGON_ERR_BUSY);

    /* Nothing rung yet. */
    uint64_t m = 123;
    T_ASSERT(!fd_readable(fd, 50));
    T_OK(dragon_waiter_take(w, &m));
    T_ASSERT(m == 0);

    /* A forked sender (its own attachments and puid) sends to A[3], A[7],
     * B[1]. */
    desc_t dpa = pool_desc(pa), dpb = pool_desc(pb);
    desc_t d3 = chan_desc(ca[3]), d7 = chan_desc(ca[7]), db1 = chan_desc(cb[1]);
    fflush(NULL);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        dragon_pool_t *qa = NULL, *qb = NULL;
        dragon_channel_t *x3, *x7, *y1;
        if (dragon_pool_attach(dpa.b, dpa.len, rtid, 5, &qa) ||
            dragon_pool_attach(dpb.b, dpb.len, rtid, 5, &qb) ||
            dragon_channel_attach(qa, d3.b, d3.len, &x3) ||
            dragon_channel_attach(qa, d7.b, d7.len, &x7) ||
            dragon_channel_attach(qb, db1.b, db1.len, &y1))
            _exit(2);
        char msg[8] = "hello";
        if (dragon_channel_send(x3, msg, 6, 0) || dragon_channel_send(x7, msg, 6, 0) ||
            dragon_channel_send(y1, msg, 6, 0))
            _exit(3);
        dragon_channel_detach(x3);
        dragon_channel_detach(x7);
        dragon_channel_detach(y1);
        dragon_pool_detach(qa);
        dragon_pool_detach(qb);
        _exit(0);
    }
    int st;
    T_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    uint64_t want = (1ULL << 3) | (1ULL << 7) | (1ULL << 21);
    uint64_t got = take_until(w, fd, want);
    T_ASSERT(got == want);
    /* the async protocol: retry only what the bits name, with timeout 0 */
    char buf[64];
    uint64_t len;
    T_OK(dragon_channel_recv(ca[3], buf, sizeof buf, &len, 0));
    T_ASSERT(len == 6 && strcmp(buf, "hello") == 0);
    T_OK(dragon_channel_recv(ca[7], buf, sizeof buf, &len, 0));
    T_OK(dragon_channel_recv(cb[1], buf, sizeof buf, &len, 0));
    T_EXPECT(dragon_channel_recv(ca[4], buf, sizeof buf, &len, 0), DRAGON_ERR_TIMEOUT);
    /* Receiving rang nobody (no OUT watch on those); the pipe is drained. */
    T_ASSERT(!fd_readable(fd, 50));

    /* OUT: fill B[0], drain one from this process, bit 40 rings. */
    for (int i = 0; i < 4; i++)
        T_OK(dragon_channel_send(cb[0], buf, 1, 0));
    got = take_until(w, fd, 1ULL << 20); /* our own sends rang IN */
    T_ASSERT(got & (1ULL << 20));
    T_EXPECT(dragon_channel_send(cb[0], buf, 1, 0), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_channel_recv(cb[0], buf, sizeof buf, &len, 0));
    got = take_until(w, fd, 1ULL << 40);
    T_ASSERT(got & (1ULL << 40));
    T_OK(dragon_channel_unwatch(cb[0], w, DRAGON_WATCH_OUT));
    T_OK(dragon_channel_recv(cb[0], buf, sizeof buf, &len, 0));
    sleep_ms(20);
    T_OK(dragon_waiter_take(w, &m));
    T_ASSERT(!(m & (1ULL << 40)));

    /* Many rings between two takes: one take gets them all. */
    for (int i = 0; i < NA; i++)
        T_OK(dragon_channel_send(ca[i], buf, 1, 0));
    got = take_until(w, fd, (1ULL << NA) - 1);
    T_ASSERT(got == (1ULL << NA) - 1);
    for (int i = 0; i < NA; i++)
        T_OK(dragon_channel_recv(ca[i], buf, sizeof buf, &len, 0));

    /* Idle: the thread sleeps in futex_waitv and burns nothing. */
    sleep_ms(50);
    long t0 = other_thread_ticks();
    sleep_ms(300);
    long t1 = other_thread_ticks();
    T_ASSERT(t1 - t0 <= 1);

    /* Unwatch everything, forget the pools: they can go. */
    for (int i = 0; i < NA; i++)
        T_OK(dragon_channel_unwatch(ca[i], w, DRAGON_WATCH_IN));
    for (int i = 0; i < NB; i++)
        T_OK(dragon_channel_unwatch(cb[i], w, DRAGON_WATCH_IN | DRAGON_WATCH_OUT));
    T_ASSERT(atomic_load(&chan_rec_of(pa, ca[0])->readable.nwatch) == 0);
    T_OK(dragon_waiter_forget_pool(w, pa));
    T_OK(dragon_waiter_forget_pool(w, pa)); /* twice is fine */
    T_ASSERT(atomic_load(&pa->watchers) == 0);
    T_EXPECT(dragon_pool_detach(pb), DRAGON_ERR_BUSY); /* still watched */
    T_OK(dragon_waiter_destroy(w));
    T_ASSERT(atomic_load(&pb->watchers) == 0);
    for (int i = 0; i < NA; i++)
        T_OK(dragon_channel_destroy(ca[i]));
    for (int i = 0; i < NB; i++)
        T_OK(dragon_channel_destroy(cb[i]));
}

/* Waiters that go away without unwatching leave stale entries: a ring or a
 * full table cleans them. */
static void test_stale(dragon_pool_t *p)
{
    enum { NW = DG_EVENT_WATCHERS };
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 4, 64, &ch));
    dg__channel_t *c = chan_rec_of(p, ch);
    dragon_waiter_t *w[NW + 1];
    for (int i = 0; i <= NW; i++)
        T_OK(dragon_waiter_create(100 + (uint64_t)i, &w[i]));
    for (int i = 0; i < NW; i++)
        T_OK(dragon_channel_watch(ch, w[i], DRAGON_WATCH_IN, (uint32_t)i));
    T_EXPECT(dragon_channel_watch(ch, w[NW], DRAGON_WATCH_IN, 1), DRAGON_ERR_LIMIT);
    T_ASSERT(atomic_load(&c->readable.nwatch) == NW);
    /* Half of them go away without unwatching. */
    for (int i = 0; i < NW / 2; i++)
        T_OK(dragon_waiter_destroy(w[i]));
    T_ASSERT(atomic_load(&c->readable.nwatch) == NW);
    /* A send rings: live watchers get their bit, stale entries are cleared. */
    char b = 1;
    T_OK(dragon_channel_send(ch, &b, 1, 0));
    T_ASSERT(atomic_load(&c->readable.nwatch) == NW / 2);
    int fd;
    T_OK(dragon_waiter_fd(w[NW - 1], &fd));
    uint64_t got = take_until(w[NW - 1], fd, 1ULL << (NW - 1));
    T_ASSERT(got == 1ULL << (NW - 1));
    /* Half stale again, then a full table: watch sweeps and succeeds. */
    for (int i = 0; i < NW / 2; i++) {
        T_OK(dragon_waiter_create(200 + (uint64_t)i, &w[i]));
        T_OK(dragon_channel_watch(ch, w[i], DRAGON_WATCH_IN, 2));
    }
    T_EXPECT(dragon_channel_watch(ch, w[NW], DRAGON_WATCH_IN, 1), DRAGON_ERR_LIMIT);
    T_OK(dragon_waiter_destroy(w[0]));
    T_OK(dragon_channel_watch(ch, w[NW], DRAGON_WATCH_IN, 1));
    T_ASSERT(atomic_load(&c->readable.nwatch) == NW);
    for (int i = 1; i <= NW; i++)
        T_OK(dragon_waiter_destroy(w[i]));
    /* All stale now; destroy rings them (clearing) and must not trip. */
    T_OK(dragon_channel_destroy(ch));
}

/* A process killed while it watched: reclaim frees its doorbell slot and
 * drops its watch entries. */
static void test_killed_watcher(uint64_t rtid, dragon_pool_t *p)
{
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 4, 64, &ch));
    dg__channel_t *c = chan_rec_of(p, ch);
    desc_t dp = pool_desc(p), dc = chan_desc(ch);
    int pipefd[2];
    T_ASSERT(pipe(pipefd) == 0);
    fflush(NULL);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x;
        dragon_waiter_t *w;
        if (dragon_pool_attach(dp.b, dp.len, rtid, 9, &q) ||
            dragon_channel_attach(q, dc.b, dc.len, &x) || dragon_waiter_create(9, &w) ||
            dragon_channel_watch(x, w, DRAGON_WATCH_IN | DRAGON_WATCH_OUT, 3))
            _exit(2);
        char ok = 1;
        if (write(pipefd[1], &ok, 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    char ok = 0;
    T_ASSERT(read(pipefd[0], &ok, 1) == 1 && ok == 1);
    close(pipefd[0]);
    close(pipefd[1]);
    T_ASSERT(atomic_load(&c->readable.nwatch) == 1);
    T_ASSERT(atomic_load(&c->writable.nwatch) == 1);
    kill(pid, SIGKILL);
    int st;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    dragon_reclaim_stats_t rs;
    T_OK(dragon_pool_reclaim(p, 9, &rs));
    T_ASSERT(rs.doorbells_freed == 1);
    T_ASSERT(atomic_load(&c->readable.nwatch) == 0);
    T_ASSERT(atomic_load(&c->writable.nwatch) == 0);
    for (int i = 0; i < DG_DOORBELLS; i++)
        T_ASSERT(atomic_load(&p->hdr->doorbells[i].owner) != 9);
    T_OK(dragon_channel_destroy(ch));
}

int main(void)
{
    alarm(60);
    uint64_t rtid = t_rtid();
    dragon_pool_t *pa = make_pool(rtid, 1), *pb = make_pool(rtid, 2);
    dragon_pool_stats_t s0, s1;
    T_OK(dragon_pool_stats(pa, &s0));
    test_rings(rtid, pa, pb);
    test_stale(pa);
    test_killed_watcher(rtid, pa);
    T_OK(dragon_pool_stats(pa, &s1));
    T_ASSERT(s1.free_bytes == s0.free_bytes);
    T_EXPECT(dragon_waiter_create(1, NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_waiter_take(NULL, NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_pool_destroy(pa));
    T_OK(dragon_pool_destroy(pb));
    t_check_no_segments(rtid);
    printf("waiter_test: ok\n");
    return 0;
}
