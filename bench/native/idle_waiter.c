/* Question 3: does a process that waits on an empty channel cost CPU once
 * its brief spin phase is over? Two ways of waiting are measured:
 *   - "recv": a process blocked in dragon_channel_recv(forever);
 *   - "waiter": a process whose per-process waiter thread
 *     (dragon_waiter_create + dragon_channel_watch) watches the channel
 *     while its main thread sleeps in poll() on the waiter's pipe, as an
 *     event loop would.
 * Baseline: a process blocked in read() on a pipe (pure kernel sleep),
 * measured in the same window. CPU is read from /proc/PID/stat
 * (utime+stime, in clock ticks, as top and ps see it) and from
 * /proc/PID/task/TID/schedstat (nanoseconds on CPU, per thread). Target: no
 * measurable CPU: 0 ticks, and under 0.05% of the window by schedstat.
 * Several processes of each kind wait at the same time; medians are over
 * them. Each is then woken with a message it must receive, so the figure
 * cannot come from a waiter that already died or gave up. */
#include <dirent.h>
#include <poll.h>

#include "bench.h"

#define MSG 64
#define PER_KIND 3

enum { KIND_PIPE, KIND_RECV, KIND_WAITER, NKINDS };
static const char *kind_name[NKINDS] = {"pipe read()", "dragon_channel_recv(forever)",
                                        "dragon waiter thread + poll()"};

#define MAX_PROCS 96

/* Shared with the children: each says it is about to block, with the CPU
 * time it had used until then (same clock as schedstat), so the parent can
 * tell the spin phase apart from the idle window. */
typedef struct ctl {
    _Atomic uint32_t ready;
    _Atomic uint64_t cpu_before[MAX_PROCS];
} ctl_t;

static void say_ready(ctl_t *ctl, int idx)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    atomic_store(&ctl->cpu_before[idx], (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    atomic_fetch_add(&ctl->ready, 1);
}

typedef struct waiter_proc {
    int kind;
    pid_t pid;
    int pipe_w;             /* KIND_PIPE: parent's write end */
    dragon_channel_t *ch;   /* KIND_RECV / KIND_WAITER: parent's handle */
    bench_desc_t ch_desc;
    uint64_t ticks0, ticks1;
    uint64_t ns0, ns1;          /* all threads */
    uint64_t aux_ns0, aux_ns1;  /* threads other than the main one */
    uint64_t sw0, sw1;          /* context switches, all threads: wake-ups */
    uint64_t ready_ns;          /* CPU when it was about to block */
} waiter_proc_t;

/* utime + stime of the whole process (every thread), in clock ticks. */
static uint64_t proc_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    BENCH_SYS(f, path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* fields after the parenthesised command name: state is field 3,
     * utime 14, stime 15 */
    char *p = strrchr(buf, ')');
    if (!p) {
        fprintf(stderr, "cannot parse %s\n", path);
        exit(1);
    }
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
        fprintf(stderr, "cannot parse %s\n", path);
        exit(1);
    }
    return ut + st;
}

/* Nanoseconds on CPU summed over the process's threads; *aux gets the sum
 * over the threads other than the main one (the waiter thread). */
static uint64_t proc_ns(pid_t pid, uint64_t *aux)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    BENCH_SYS(d, path);
    uint64_t total = 0, others = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sp[320];
        snprintf(sp, sizeof sp, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(sp, "r");
        if (!f)
            continue; /* thread exited meanwhile */
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1) {
            total += ns;
            if (atoi(e->d_name) != (int)pid)
                others += ns;
        }
        fclose(f);
    }
    closedir(d);
    if (aux)
        *aux = others;
    return total;
}

/* Context switches (voluntary + involuntary) summed over the process's
 * threads: a sleeping thread that wakes up, even for a few microseconds of
 * CPU, counts one each time. */
static uint64_t proc_switches(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    BENCH_SYS(d, path);
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sp[320], line[256];
        snprintf(sp, sizeof sp, "/proc/%d/task/%s/status", (int)pid, e->d_name);
        FILE *f = fopen(sp, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f)) {
            unsigned long long v = 0;
            if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
                total += v;
        }
        fclose(f);
    }
    closedir(d);
    return total;
}

/* ---- the waiting children ------------------------------------------------- */
static void child_pipe(int rfd, ctl_t *ctl, int idx)
{
    char c;
    say_ready(ctl, idx);
    ssize_t n;
    do {
        n = read(rfd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1 || c != 'x') {
        fprintf(stderr, "pipe waiter: bad wake-up\n");
        exit(1);
    }
}

static void check_msg(const uint8_t *buf, uint64_t len, const char *who)
{
    if (len != MSG || buf[0] != 0x42) {
        fprintf(stderr, "%s: bad message\n", who);
        exit(1);
    }
}

static void child_recv(uint64_t rtid, const bench_desc_t *pd, const bench_desc_t *cd, ctl_t *ctl,
                       int idx, uint64_t puid)
{
    dragon_pool_t *pool = bench_pool_attach(pd, rtid, puid);
    dragon_channel_t *ch = bench_channel_attach(pool, cd);
    uint8_t buf[MSG];
    uint64_t len = 0;
    say_ready(ctl, idx);
    BENCH_CHECK(dragon_channel_recv(ch, buf, sizeof buf, &len, DRAGON_WAIT_FOREVER));
    check_msg(buf, len, "recv waiter");
    BENCH_CHECK(dragon_channel_detach(ch));
    BENCH_CHECK(dragon_pool_detach(pool));
}

static void child_waiter(uint64_t rtid, const bench_desc_t *pd, const bench_desc_t *cd,
                         ctl_t *ctl, int idx, uint64_t puid)
{
    dragon_pool_t *pool = bench_pool_attach(pd, rtid, puid);
    dragon_channel_t *ch = bench_channel_attach(pool, cd);
    dragon_waiter_t *w = NULL;
    int fd = -1;
    BENCH_CHECK(dragon_waiter_create(puid, &w));
    BENCH_CHECK(dragon_waiter_fd(w, &fd));
    /* register, retry with timeout 0, then wait for the bit: the order
     * channel.h prescribes so no wake-up is lost */
    BENCH_CHECK(dragon_channel_watch(ch, w, DRAGON_WATCH_IN, 5));
    uint8_t buf[MSG];
    uint64_t len = 0;
    say_ready(ctl, idx);
    for (;;) {
        dragonError_t rc = dragon_channel_recv(ch, buf, sizeof buf, &len, 0);
        if (rc == DRAGON_OK)
            break;
        if (rc != DRAGON_ERR_TIMEOUT)
            BENCH_CHECK(rc);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, -1);
        BENCH_SYS(n >= 0 || errno == EINTR, "poll");
        uint64_t mask = 0;
        BENCH_CHECK(dragon_waiter_take(w, &mask));
    }
    check_msg(buf, len, "waiter");
    BENCH_CHECK(dragon_channel_unwatch(ch, w, DRAGON_WATCH_IN));
    BENCH_CHECK(dragon_waiter_forget_pool(w, pool));
    BENCH_CHECK(dragon_waiter_destroy(w));
    BENCH_CHECK(dragon_channel_detach(ch));
    BENCH_CHECK(dragon_pool_detach(pool));
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv)
{
    bench_opts_t o = bench_parse(argc, argv,
                                 "CPU used by an idle channel receiver and an idle waiter thread");
    int per_kind = o.reps ? o.reps : PER_KIND;
    if (per_kind * NKINDS > MAX_PROCS)
        per_kind = MAX_PROCS / NKINDS;
    uint64_t settle_ns = o.quick ? 50000000u : 300000000u;
    uint64_t window_ns = o.quick ? 200000000u : 2000000000u;

    ctl_t *ctl = bench_shared(sizeof *ctl);
    uint64_t rtid = bench_rtid();
    dragon_pool_t *pool = bench_pool(rtid, 1, 4u << 20);
    bench_desc_t pd = bench_pool_desc(pool);
    int nproc = per_kind * NKINDS;
    waiter_proc_t *wp = calloc((size_t)nproc, sizeof *wp);
    BENCH_SYS(wp, "calloc");

    bench_header("idle_waiter", "CPU of a process waiting on an empty channel", &o, per_kind);
    printf("   %d processes of each kind wait together; window %.1f s after %.0f ms settling\n",
           per_kind, (double)window_ns / 1e9, (double)settle_ns / 1e6);

    for (int i = 0; i < nproc; i++) {
        waiter_proc_t *p = &wp[i];
        p->kind = i % NKINDS;
        int pfd[2] = {-1, -1};
        if (p->kind == KIND_PIPE) {
            BENCH_SYS(pipe(pfd) == 0, "pipe");
        } else {
            BENCH_CHECK(dragon_channel_create(pool, 4, MSG, &p->ch));
            p->ch_desc = bench_channel_desc(p->ch);
        }
        p->pid = bench_fork();
        if (p->pid == 0) {
            uint64_t puid = 100 + (uint64_t)i;
            if (p->kind == KIND_PIPE) {
                close(pfd[1]);
                child_pipe(pfd[0], ctl, i);
            } else if (p->kind == KIND_RECV) {
                child_recv(rtid, &pd, &p->ch_desc, ctl, i, puid);
            } else {
                child_waiter(rtid, &pd, &p->ch_desc, ctl, i, puid);
            }
            _exit(0);
        }
        if (p->kind == KIND_PIPE) {
            close(pfd[0]);
            p->pipe_w = pfd[1];
        }
    }
    while (atomic_load(&ctl->ready) < (uint32_t)nproc)
        sleep_ns(100000);
    for (int i = 0; i < nproc; i++)
        wp[i].ready_ns = atomic_load(&ctl->cpu_before[i]);

    /* the spin phase ends well within the settling time */
    sleep_ns(settle_ns);
    for (int i = 0; i < nproc; i++) {
        wp[i].ticks0 = proc_ticks(wp[i].pid);
        wp[i].ns0 = proc_ns(wp[i].pid, &wp[i].aux_ns0);
        wp[i].sw0 = proc_switches(wp[i].pid);
    }
    sleep_ns(window_ns);
    for (int i = 0; i < nproc; i++) {
        wp[i].ticks1 = proc_ticks(wp[i].pid);
        wp[i].ns1 = proc_ns(wp[i].pid, &wp[i].aux_ns1);
        wp[i].sw1 = proc_switches(wp[i].pid);
    }

    /* wake everybody with a message it must receive */
    uint8_t msg[MSG];
    memset(msg, 0x42, MSG);
    for (int i = 0; i < nproc; i++) {
        if (wp[i].kind == KIND_PIPE)
            BENCH_SYS(write(wp[i].pipe_w, "x", 1) == 1, "write");
        else
            BENCH_CHECK(dragon_channel_send(wp[i].ch, msg, MSG, 1000000));
    }
    for (int i = 0; i < nproc; i++)
        bench_reap(wp[i].pid, kind_name[wp[i].kind]);

    double window_us = (double)window_ns / 1e3;
    double base_us = 0;
    for (int k = 0; k < NKINDS; k++) {
        double cpu[MAX_PROCS], ticks[MAX_PROCS], settle[MAX_PROCS], aux[MAX_PROCS], wakes[MAX_PROCS];
        int n = 0;
        for (int i = 0; i < nproc; i++) {
            if (wp[i].kind != k)
                continue;
            cpu[n] = (double)(wp[i].ns1 - wp[i].ns0) / 1e3;
            aux[n] = (double)(wp[i].aux_ns1 - wp[i].aux_ns0) / 1e3;
            ticks[n] = (double)(wp[i].ticks1 - wp[i].ticks0);
            settle[n] = (double)(wp[i].ns0 - wp[i].ready_ns) / 1e3;
            wakes[n] = (double)(wp[i].sw1 - wp[i].sw0) / ((double)window_ns / 1e9);
            n++;
        }
        bench_stat_t s_cpu = bench_stats(cpu, n), s_ticks = bench_stats(ticks, n),
                     s_settle = bench_stats(settle, n), s_aux = bench_stats(aux, n),
                     s_wakes = bench_stats(wakes, n);
        printf("   -- %s\n", kind_name[k]);
        bench_line("CPU while waiting (schedstat, all threads)", s_cpu, "us");
        bench_line("CPU while waiting (/proc stat utime+stime)", s_ticks, "ticks");
        if (k == KIND_WAITER)
            bench_line("  of which the waiter thread", s_aux, "us");
        bench_line("wake-ups while waiting (context switches)", s_wakes, "per s");
        bench_line("CPU from blocking to window start (spin)", s_settle, "us");
        if (k == KIND_PIPE) {
            base_us = s_cpu.median;
            printf("   %-44s %10.4f %%  (baseline)\n", "share of the window", 100 * s_cpu.median / window_us);
        } else {
            printf("   %-44s %10.4f %%  (pipe read(): %.4f %%)\n", "share of the window",
                   100 * s_cpu.median / window_us, 100 * base_us / window_us);
            bench_target("no measurable CPU (0 ticks, <0.05%)",
                         s_ticks.max == 0 && s_cpu.median < 0.0005 * window_us);
        }
    }

    for (int i = 0; i < nproc; i++) {
        if (wp[i].kind == KIND_PIPE)
            close(wp[i].pipe_w);
        else
            BENCH_CHECK(dragon_channel_destroy(wp[i].ch));
    }
    free(wp);
    bench_pool_destroy(pool);
    return 0;
}
