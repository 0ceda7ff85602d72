/* Question 1: what does a 64-byte round trip through two libdragon channels
 * cost between two processes, compared with the cheapest thing that could do
 * the same job: a raw shared-memory ping-pong that waits the same way (spin
 * briefly, then sleep on a futex)? Targets: within 2x of raw, under 1 us
 * while both sides run. The futex-only ping-pong is printed for context: it
 * is what a round trip costs once both sides have gone to sleep. */
#include "bench.h"

#define MSG 64
#define STOP 0xffu

/* The raw baseline waits the way libdragon's events do (src/event.c): spin
 * for a per-side budget that doubles when spinning paid off and halves when
 * it did not (between 2 and 128 us, starting at 16 us), calling sched_yield
 * every 20 us so a peer that shares our vCPU gets to run, then sleep on the
 * futex. A fixed budget without yields would be a strawman on 2 busy vCPUs. */
#define SPIN_MIN_NS 2000u
#define SPIN_INIT_NS 16000u
#define SPIN_MAX_NS 128000u
#define SPIN_YIELD_NS 20000u

/* One direction of the raw ping-pong: a futex word bumped per message, a
 * count of sleepers so the signaller skips futex_wake when nobody sleeps
 * (the same Dekker pairing libdragon's events use), and the payload. */
typedef struct raw_dir {
    _Atomic uint32_t seq __attribute__((aligned(64)));
    _Atomic uint32_t sleepers;
    uint8_t payload[MSG] __attribute__((aligned(64)));
} raw_dir_t;

typedef struct raw_pair {
    raw_dir_t ping, pong;
} raw_pair_t;

static void raw_signal(raw_dir_t *d)
{
    atomic_fetch_add(&d->seq, 1);
    if (atomic_load(&d->sleepers) != 0)
        bench_futex_wake(&d->seq);
}

/* Returns the new sequence number once it moved past `seen`. *budget is
 * the caller's adaptive spin budget in ns; NULL means futex only. */
static uint32_t raw_wait(raw_dir_t *d, uint32_t seen, uint32_t *budget)
{
    uint32_t v = atomic_load_explicit(&d->seq, memory_order_acquire);
    if (v != seen)
        return v;
    if (budget) {
        uint64_t start = bench_now_ns(), last_yield = start, end = start + *budget;
        int paid = 0;
        for (unsigned i = 1;; i++) {
            bench_relax();
            v = atomic_load_explicit(&d->seq, memory_order_acquire);
            if (v != seen) {
                paid = 1;
                break;
            }
            if ((i & 7) == 0) {
                uint64_t now = bench_now_ns();
                if (now >= end)
                    break;
                if (now - last_yield >= SPIN_YIELD_NS) {
                    sched_yield();
                    last_yield = now;
                }
            }
        }
        uint32_t nb = paid ? *budget * 2 : *budget / 2;
        *budget = nb < SPIN_MIN_NS ? SPIN_MIN_NS : nb > SPIN_MAX_NS ? SPIN_MAX_NS : nb;
        if (paid)
            return v;
    }
    for (;;) {
        atomic_fetch_add(&d->sleepers, 1);
        v = atomic_load(&d->seq);
        if (v == seen)
            bench_futex_wait(&d->seq, seen);
        atomic_fetch_sub(&d->sleepers, 1);
        v = atomic_load_explicit(&d->seq, memory_order_acquire);
        if (v != seen)
            return v;
    }
}

/* Child side of the raw ping-pong: echo every payload until STOP. The
 * words start at 0 (zeroed before the fork): reading them here instead
 * could already see the parent's first ping and wait for a second. */
static void raw_echo(raw_pair_t *rp, int spin)
{
    uint32_t seen = 0, budget = SPIN_INIT_NS, *bp = spin ? &budget : NULL;
    uint8_t buf[MSG];
    for (;;) {
        seen = raw_wait(&rp->ping, seen, bp);
        memcpy(buf, rp->ping.payload, MSG);
        memcpy(rp->pong.payload, buf, MSG);
        raw_signal(&rp->pong);
        if (buf[0] == STOP)
            return;
    }
}

/* Parent side: round trips for warm_ns, then counts round trips for
 * run_ns; returns the mean round trip in microseconds. */
static double raw_drive(raw_pair_t *rp, int spin, uint64_t warm_ns, uint64_t run_ns)
{
    uint32_t budget = SPIN_INIT_NS, *bp = spin ? &budget : NULL;
    uint8_t out[MSG], in[MSG];
    memset(out, 0x5a, MSG);
    uint32_t seen = 0;
    uint64_t start = bench_now_ns(), t0 = 0, n = 0;
    for (uint64_t i = 0;; i++) {
        memcpy(rp->ping.payload, out, MSG);
        raw_signal(&rp->ping);
        seen = raw_wait(&rp->pong, seen, bp);
        memcpy(in, rp->pong.payload, MSG);
        if (in[0] != 0x5a) {
            fprintf(stderr, "raw ping-pong: corrupt echo\n");
            exit(1);
        }
        if (t0)
            n++;
        if ((i & 15) == 0) {
            uint64_t now = bench_now_ns();
            if (!t0 && now - start >= warm_ns) {
                t0 = now;
            } else if (t0 && now - t0 >= run_ns) {
                double us = (double)(now - t0) / 1e3 / (double)n;
                out[0] = STOP;
                memcpy(rp->ping.payload, out, MSG);
                raw_signal(&rp->ping);
                raw_wait(&rp->pong, seen, bp);
                return us;
            }
        }
    }
}

static double raw_rep(raw_pair_t *rp, int spin, uint64_t warm_ns, uint64_t run_ns)
{
    memset(rp, 0, sizeof *rp);
    pid_t pid = bench_fork();
    if (pid == 0) {
        raw_echo(rp, spin);
        _exit(0);
    }
    double us = raw_drive(rp, spin, warm_ns, run_ns);
    bench_reap(pid, "raw ping-pong");
    return us;
}

/* ---- libdragon channels: ping on `a`, pong on `b` ------------------------ */
typedef struct chan_setup {
    uint64_t rtid;
    bench_desc_t pool, a, b;
} chan_setup_t;

static void chan_echo(const chan_setup_t *cs)
{
    dragon_pool_t *pool = bench_pool_attach(&cs->pool, cs->rtid, 2);
    dragon_channel_t *a = bench_channel_attach(pool, &cs->a);
    dragon_channel_t *b = bench_channel_attach(pool, &cs->b);
    uint8_t buf[MSG];
    for (;;) {
        uint64_t len = 0;
        BENCH_CHECK(dragon_channel_recv(a, buf, sizeof buf, &len, BENCH_WAIT_US));
        if (len != MSG) {
            fprintf(stderr, "channel echo: got %llu bytes\n", (unsigned long long)len);
            exit(1);
        }
        BENCH_CHECK(dragon_channel_send(b, buf, MSG, BENCH_WAIT_US));
        if (buf[0] == STOP)
            break;
    }
    BENCH_CHECK(dragon_channel_detach(a));
    BENCH_CHECK(dragon_channel_detach(b));
    BENCH_CHECK(dragon_pool_detach(pool));
}

static double chan_rep(const chan_setup_t *cs, dragon_channel_t *a, dragon_channel_t *b,
                       uint64_t warm_ns, uint64_t run_ns)
{
    pid_t pid = bench_fork();
    if (pid == 0) {
        chan_echo(cs);
        _exit(0);
    }
    uint8_t out[MSG], in[MSG];
    memset(out, 0x5a, MSG);
    uint64_t start = bench_now_ns(), t0 = 0, n = 0, len = 0;
    double us = 0;
    for (uint64_t i = 0;; i++) {
        BENCH_CHECK(dragon_channel_send(a, out, MSG, BENCH_WAIT_US));
        BENCH_CHECK(dragon_channel_recv(b, in, sizeof in, &len, BENCH_WAIT_US));
        if (len != MSG || in[0] != out[0]) {
            fprintf(stderr, "channel ping-pong: corrupt echo\n");
            exit(1);
        }
        if (out[0] == STOP)
            break;
        if (t0)
            n++;
        if ((i & 15) == 0) {
            uint64_t now = bench_now_ns();
            if (!t0 && now - start >= warm_ns) {
                t0 = now;
            } else if (t0 && now - t0 >= run_ns) {
                us = (double)(now - t0) / 1e3 / (double)n;
                out[0] = STOP;
            }
        }
    }
    bench_reap(pid, "channel ping-pong");
    return us;
}

int main(int argc, char **argv)
{
    bench_opts_t o = bench_parse(argc, argv,
                                 "C channel round trip (64 B, two processes) vs raw ping-pong");
    int reps = o.reps ? o.reps : (o.quick ? 5 : 11);
    /* per repetition and variant: warm-up, then the timed window */
    uint64_t warm_ns = o.quick ? 2000000u : 20000000u;
    uint64_t run_ns = o.quick ? 10000000u : 80000000u;

    raw_pair_t *rp = bench_shared(sizeof *rp);
    uint64_t rtid = bench_rtid();
    dragon_pool_t *pool = bench_pool(rtid, 1, 4u << 20);
    dragon_channel_t *a = NULL, *b = NULL;
    BENCH_CHECK(dragon_channel_create(pool, 16, MSG, &a));
    BENCH_CHECK(dragon_channel_create(pool, 16, MSG, &b));
    chan_setup_t cs = {.rtid = rtid, .pool = bench_pool_desc(pool), .a = bench_channel_desc(a),
                       .b = bench_channel_desc(b)};

    double *spin = calloc((size_t)reps, sizeof(double));
    double *futex = calloc((size_t)reps, sizeof(double));
    double *chan = calloc((size_t)reps, sizeof(double));
    double *ratio = calloc((size_t)reps, sizeof(double));
    BENCH_SYS(spin && futex && chan && ratio, "calloc");

    bench_header("channel_rtt", "64 B round trip between two processes", &o, reps);
    /* Interleaved so both figures of a repetition see the same placement
     * and the same neighbours. */
    for (int r = 0; r < reps; r++) {
        spin[r] = raw_rep(rp, 1, warm_ns, run_ns);
        chan[r] = chan_rep(&cs, a, b, warm_ns, run_ns);
        futex[r] = raw_rep(rp, 0, warm_ns / 4, run_ns / 4);
        ratio[r] = chan[r] / spin[r];
    }
    bench_stat_t s_spin = bench_stats(spin, reps), s_chan = bench_stats(chan, reps),
                 s_futex = bench_stats(futex, reps), s_ratio = bench_stats(ratio, reps);
    bench_line("raw ping-pong, spin then futex (baseline)", s_spin, "us RTT");
    bench_line("raw ping-pong, futex only (context)", s_futex, "us RTT");
    bench_line("dragon channel send+recv x2", s_chan, "us RTT");
    bench_ratio("channel / raw spin+futex (median of ratios)", s_ratio.median,
                "lower is better");
    bench_target("channel <= 2x raw", s_ratio.median <= 2.0);
    bench_target("channel < 1 us RTT", s_chan.median < 1.0);

    BENCH_CHECK(dragon_channel_destroy(a));
    BENCH_CHECK(dragon_channel_destroy(b));
    bench_pool_destroy(pool);
    free(spin);
    free(futex);
    free(chan);
    free(ratio);
    return 0;
}
