/* Helpers shared by the C benchmarks (header-only: the libdragon Makefile
 * compiles each bench/native/NAME.c on its own). Every benchmark answers one
 * question, measures its baseline in the same run, and reports medians over
 * repetitions because this 2-vCPU machine is noisy and runs split into fast
 * and slow groups depending on where the scheduler puts the processes. */
#ifndef DG_BENCH_H
#define DG_BENCH_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dragon/dragon.h"

typedef struct bench_opts {
    int quick; /* CI smoke run: a few hundred ms */
    int reps;  /* repetitions (0 = the benchmark's default) */
} bench_opts_t;

static inline void bench_usage(const char *prog, const char *what)
{
    fprintf(stderr,
            "usage: %s [--quick] [--reps N]\n  %s\n"
            "  --quick   short smoke run (a few hundred ms), figures are rough\n"
            "  --reps N  repetitions to take the median of\n",
            prog, what);
}

static inline void bench_on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "benchmark still running after its time limit: giving up\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    raise(SIGTERM); /* unlinks the pool segment (bench_on_signal), then dies */
}

/* Exits 2 on a bad flag: a benchmark fails only on errors, never on a
 * missed target. */
static inline bench_opts_t bench_parse(int argc, char **argv, const char *what)
{
    bench_opts_t o = {0, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o.quick = 1;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            o.reps = atoi(argv[++i]);
            if (o.reps < 1) {
                bench_usage(argv[0], what);
                exit(2);
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            bench_usage(argv[0], what);
            exit(0);
        } else {
            bench_usage(argv[0], what);
            exit(2);
        }
    }
    /* whatever hangs (a lost wake-up in the library or a baseline) ends
     * as an error instead of blocking a CI run */
    signal(SIGALRM, bench_on_alarm);
    alarm(o.quick ? 120 : 600);
    return o;
}

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of v[0..n) (sorts v in place). */
typedef struct bench_stat {
    double median, min, max;
    int n;
} bench_stat_t;

static inline bench_stat_t bench_stats(double *v, int n)
{
    bench_stat_t s = {0, 0, 0, n};
    if (n <= 0)
        return s;
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

static inline void bench_header(const char *name, const char *question, const bench_opts_t *o,
                                int reps)
{
    printf("== %s: %s\n", name, question);
    printf("   %s run, median of %d repetitions (min..max in brackets), libdragon %s\n",
           o->quick ? "quick (smoke: figures are rough)" : "full", reps, dragon_version());
}

/* One figure line: label, median with unit, spread. */
static inline void bench_line(const char *label, bench_stat_t s, const char *unit)
{
    printf("   %-44s %10.3f %-8s [%.3f..%.3f]\n", label, s.median, unit, s.min, s.max);
}

static inline void bench_ratio(const char *label, double ratio, const char *how)
{
    printf("   %-44s %10.2fx  %s\n", label, ratio, how);
}

/* "target met/missed" next to the figure; never changes the exit code. */
static inline void bench_target(const char *what, int met)
{
    printf("   target %-37s %s\n", what, met ? "target met" : "target missed");
}

/* Any libdragon failure is a benchmark error: print and exit 1. */
#define BENCH_CHECK(call)                                                                      \
    do {                                                                                       \
        dragonError_t bench_rc_ = (call);                                                      \
        if (bench_rc_ != DRAGON_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call,        \
                    dragon_errname(bench_rc_), dragon_strerror(bench_rc_));                    \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

#define BENCH_SYS(cond, what)                                                                  \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, what, strerror(errno));   \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* Anonymous shared memory inherited across fork(): control words and the raw
 * baselines live here, so they pay the same cache-coherence costs as a pool
 * segment without any libdragon code involved. */
static inline void *bench_shared(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    BENCH_SYS(p != MAP_FAILED, "mmap");
    memset(p, 0, bytes);
    return p;
}

static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Shared (not private) futexes: the words are in memory mapped by two
 * processes. */
static inline void bench_futex_wait(_Atomic uint32_t *w, uint32_t expected)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static inline void bench_futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* fork() with stdio flushed first, so a child that exits through exit()
 * does not print the parent's buffered output a second time. */
static inline pid_t bench_fork(void)
{
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    BENCH_SYS(pid >= 0, "fork");
    if (pid == 0) {
        /* a child blocked forever in a receive must not outlive a parent
         * that died on an error or a signal */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
    }
    return pid;
}

/* Blocking libdragon calls in the benchmarks wait at most this long: a lost
 * message or wake-up becomes an error exit instead of a hang. */
#define BENCH_WAIT_US 30000000

/* Waits (at most 60 s) for the child and turns anything but exit 0 into a
 * benchmark error. */
static inline void bench_reap(pid_t pid, const char *what)
{
    int st = 0;
    uint64_t give_up = bench_now_ns() + 60000000000ull;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        BENCH_SYS(r == 0 || errno == EINTR, "waitpid");
        if (bench_now_ns() > give_up) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(stderr, "%s: child %d still running after 60 s (lost message or wake-up?)\n",
                    what, (int)pid);
            exit(1);
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s: child %d failed (%s %d)\n", what, (int)pid,
                WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        exit(1);
    }
}

/* A fresh run-time id per benchmark run so concurrent runs (and tests)
 * never collide on segment names. */
static inline uint64_t bench_rtid(void)
{
    return ((uint64_t)getpid() << 20) ^ (bench_now_ns() & 0xfffffu) ^ 0xbe00000000000ULL;
}

/* The segment of the one pool a benchmark creates, unlinked by an exit or
 * signal handler of the creating process if the benchmark stops before
 * bench_pool_destroy (an error exit, Ctrl-C, a CI timeout), so no run leaves
 * a segment behind in /dev/shm. */
static char bench_segment[128];
static pid_t bench_segment_owner;

static inline void bench_unlink_segment(void)
{
    if (bench_segment[0] && getpid() == bench_segment_owner) {
        shm_unlink(bench_segment);
        bench_segment[0] = 0;
    }
}

static inline void bench_on_signal(int sig)
{
    bench_unlink_segment();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A pool of `bytes` heap, owned by puid 1 (the benchmark's parent). */
static inline dragon_pool_t *bench_pool(uint64_t rtid, uint64_t pool_id, uint64_t bytes)
{
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = pool_id, .bytes = bytes, .puid = 1,
                             .host_id = 0};
    dragon_pool_t *p = NULL;
    BENCH_CHECK(dragon_pool_create(&a, &p));
    char name[sizeof bench_segment];
    BENCH_CHECK(dragon_pool_name(p, name, sizeof name));
    memcpy(bench_segment, name, sizeof bench_segment);
    bench_segment_owner = getpid();
    atexit(bench_unlink_segment);
    signal(SIGINT, bench_on_signal);
    signal(SIGTERM, bench_on_signal);
    signal(SIGHUP, bench_on_signal);
    return p;
}

static inline void bench_pool_destroy(dragon_pool_t *p)
{
    BENCH_CHECK(dragon_pool_destroy(p));
    bench_segment[0] = 0;
}

/* Serialized descriptors handed to a forked child, which attaches through
 * them like a process started by Local Services would (its own mapping and
 * its own puid), instead of reusing the parent's handles. */
typedef struct bench_desc {
    uint8_t b[DRAGON_DESC_BYTES];
    size_t len;
} bench_desc_t;

static inline bench_desc_t bench_pool_desc(dragon_pool_t *p)
{
    bench_desc_t d;
    BENCH_CHECK(dragon_pool_serialize(p, d.b, sizeof d.b, &d.len));
    return d;
}

static inline bench_desc_t bench_channel_desc(dragon_channel_t *c)
{
    bench_desc_t d;
    BENCH_CHECK(dragon_channel_serialize(c, d.b, sizeof d.b, &d.len));
    return d;
}

static inline dragon_pool_t *bench_pool_attach(const bench_desc_t *d, uint64_t rtid, uint64_t puid)
{
    dragon_pool_t *p = NULL;
    BENCH_CHECK(dragon_pool_attach(d->b, d->len, rtid, puid, &p));
    return p;
}

static inline dragon_channel_t *bench_channel_attach(dragon_pool_t *p, const bench_desc_t *d)
{
    dragon_channel_t *c = NULL;
    BENCH_CHECK(dragon_channel_attach(p, d->b, d->len, &c));
    return c;
}

#endif
