/* Question 10: what do channel operations cost through two transport agents
 * (two "nodes" on this machine's loopback), compared with libfabric's own
 * fi_pingpong over the same provider in the same run? Figures: a remote
 * request/reply (64 B send to a channel of the other node), a user-level
 * ping-pong (process A on node 0 sends into a channel of node 1, process B
 * there answers into a channel of node 0), and one-way bandwidth of 64 KiB
 * and 4 MiB messages (16 requests in flight, a local receiver draining).
 * Targets (issue 5, between nodes): round trip within 2x of fi_pingpong's,
 * 4 MiB bandwidth at least 70% of fi_pingpong's. */
#include <fcntl.h>
#include "bench.h"
#include "harness.h"
#include "wire.h"

/* Per-hop trace: DRAGON_BENCH_TRACE=1 makes the agents record their hops
 * (DRAGON_TRANSPORT_TRACE, see transport/agent.h) and the clients theirs;
 * after the run the records are merged by time and each round trip is
 * printed as its sequence of hops with the median time of each. */
enum { C_SEND = 101, C_REPLY = 102, C_GOT_T0 = 103, C_GOT_T1 = 104, C_PHASE = 110 };
#define CTRACE_CAP (1u << 20)
static trace_rec_t *ctrace;
static uint64_t nctrace;
static char trace_base[256];

static void crec(uint16_t who, uint16_t ev, uint32_t arg)
{
    if (!ctrace || nctrace >= CTRACE_CAP)
        return;
    ctrace[nctrace++] = (trace_rec_t){.ns = bench_now_ns(), .who = who, .ev = ev, .arg = arg};
}

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define WINDOW 16

static char agent_path[4096];
static dragon_pool_t *pools[2];
static harness_agent_t ags[2];

static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        harness_agent_kill(&ags[i]);
    for (int i = 0; i < 2; i++)
        if (pools[i]) {
            dragon_pool_destroy(pools[i]);
            pools[i] = NULL;
        }
}

static void on_term(int sig)
{
    (void)sig;
    exit(1);
}

static void spawn(harness_agent_t *ag, int node, dragon_pool_t *pool, const char *provider)
{
    harness_env_t env[] = {{"DRAGON_TRANSPORT_KEY", KEY}, {"DRAGON_LOG_LEVEL", "warn"}};
    harness_spawn_t s = {.agent_path = agent_path, .pool = pool, .node = node,
                         .provider = provider, .env = env, .n_env = 2};
    dragonError_t rc = harness_agent_spawn(&s, ag);
    if (rc == DRAGON_ERR_NO_TRANSPORT) {
        fprintf(stderr, "transport agent %d did not start: %s\n", node, ag->ready);
        exit(1);
    }
    BENCH_CHECK(rc);
}

/* A gateway client; who names it in the trace (10 = A, 11 = B). Payloads
 * are written in place (harness_payload), as a client library would. */
typedef struct client {
    harness_client_t h;
    uint16_t who;
} client_t;

static void client_open(client_t *c, dragon_pool_t *pool, const char *gw, uint64_t maxlen,
                        uint16_t who)
{
    BENCH_CHECK(harness_client_open(&c->h, pool, gw, 64, maxlen));
    c->who = who;
}

static void post(client_t *c, uint16_t op, const uint8_t *target, uint64_t len)
{
    harness_req_t q = {.op = op, .target = target, .timeout_us = -1, .len = len};
    crec(c->who, C_SEND, op);
    BENCH_CHECK(harness_post(&c->h, &q, NULL));
}

static void wait_ok(client_t *c)
{
    gw_rep_t rep;
    BENCH_CHECK(harness_wait_reply(&c->h, -1, &rep, NULL));
    crec(c->who, C_REPLY, 0);
    if (rep.status) {
        fprintf(stderr, "remote operation failed: %s\n", dragon_errname((dragonError_t)rep.status));
        exit(1);
    }
}

/* fi_pingpong server + client over provider prov: one-way usec/xfer and MB/s. */
static int fi_pingpong(const char *prov, uint64_t size, int iters, double *usec, double *mbs)
{
    static int port_off;
    char sz[32], it[32], port[16], cmd[512];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
    snprintf(it, sizeof it, "%d", iters);
    snprintf(port, sizeof port, "%d", 20000 + (getpid() * 7 + port_off++) % 20000);
    fflush(stdout);
    pid_t srv = fork();
    BENCH_SYS(srv >= 0, "fork");
    if (srv == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("fi_pingpong", "fi_pingpong", "-p", prov, "-e", "rdm", "-S", sz, "-I", it, "-B",
               port, (char *)NULL);
        _exit(127);
    }
    usleep(300000);
    snprintf(cmd, sizeof cmd, "fi_pingpong -p '%s' -e rdm -S %s -I %s -P %s 127.0.0.1 2>/dev/null",
             prov, sz, it, port);
    FILE *f = popen(cmd, "r");
    char line[512], last[512] = "";
    while (f && fgets(line, sizeof line, f))
        if (line[0] != '\n')
            snprintf(last, sizeof last, "%s", line);
    int st = f ? pclose(f) : -1;
    int sst = 0;
    waitpid(srv, &sst, 0);
    char b[32], i2[32], ack[32], tot[32], t[32];
    if (st != 0 ||
        sscanf(last, "%31s %31s %31s %31s %31s %lf %lf", b, i2, ack, tot, t, mbs, usec) != 7)
        return -1;
    return 0;
}

static int rec_cmp(const void *x, const void *y)
{
    const trace_rec_t *a = x, *b = y;
    return (a->ns > b->ns) - (a->ns < b->ns);
}

static size_t load_trace(const char *path, trace_rec_t **all, size_t n, size_t *cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return n;
    trace_rec_t r;
    while (fread(&r, sizeof r, 1, f) == 1) {
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 1 << 16;
            *all = realloc(*all, *cap * sizeof r);
            BENCH_SYS(*all != NULL, "realloc");
        }
        (*all)[n++] = r;
    }
    fclose(f);
    unlink(path);
    return n;
}

static const char *who_name(unsigned w)
{
    return w == 0 ? "agent0" : w == 1 ? "agent1" : w == 10 ? "A" : w == 11 ? "B" : "?";
}

static void ev_name(const trace_rec_t *r, char *out, size_t cap)
{
    switch (r->ev) {
    case 1: /* T_WAKE */
        snprintf(out, cap, "woke in epoll (%s%s%s%s%s)", r->arg & 1 ? "waiter pipe " : "",
                 r->arg & 2 ? "CQ " : "", r->arg & 4 ? "stdin " : "", r->arg & 8 ? "timer " : "", r->arg ? "" : "timeout");
        break;
    case 2: snprintf(out, cap, "took the gateway request"); break;
    case 3: snprintf(out, cap, "posted fi_send (type %u)", r->arg); break;
    case 4: snprintf(out, cap, "wire message completed (CQ)"); break;
    case 5: snprintf(out, cap, "reply put in the client's channel"); break;
    case 6: snprintf(out, cap, "spin caught it"); break;
    case 7: snprintf(out, cap, "calls fi_send"); break;
    case C_SEND: snprintf(out, cap, "put request (op %u) in its gateway", r->arg); break;
    case C_REPLY: snprintf(out, cap, "got its reply"); break;
    case C_GOT_T0: snprintf(out, cap, "received the echo from T0"); break;
    case C_GOT_T1: snprintf(out, cap, "received the message from T1"); break;
    default: snprintf(out, cap, "event %u", r->ev);
    }
}

#define SIG_MAX 40
typedef struct sig {
    int len, count;
    uint32_t key[SIG_MAX];  /* who << 24 | ev << 8 | arg (wake bits) */
    trace_rec_t first[SIG_MAX];
    double *d[SIG_MAX];     /* per step: delta from the previous step, us */
    int cap;
} hopseq_t;

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* Per phase: every round trip (from A's request to its end) as its
 * sequence of hops; sequences grouped, the most frequent printed with the
 * median time of each hop. */
static void trace_report(void)
{
    trace_rec_t *all = NULL;
    size_t n = 0, cap = 0;
    char path[300];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s.%d", trace_base, i);
        n = load_trace(path, &all, n, &cap);
    }
    snprintf(path, sizeof path, "%s.B", trace_base);
    n = load_trace(path, &all, n, &cap);
    for (uint64_t i = 0; i < nctrace; i++) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            all = realloc(all, cap * sizeof *all);
            BENCH_SYS(all != NULL, "realloc");
        }
        all[n++] = ctrace[i];
    }
    qsort(all, n, sizeof *all, rec_cmp);
    static const char *phase_names[] = {"", "remote request/reply (COUNT)", "ping-pong A->node1->B->node0->A"};
    for (uint32_t phase = 1; phase <= 2; phase++) {
        size_t i = 0;
        while (i < n && !(all[i].who == 10 && all[i].ev == C_PHASE && all[i].arg == phase))
            i++;
        if (i == n)
            continue;
        size_t end = i + 1;
        while (end < n && !(all[end].who == 10 && all[end].ev == C_PHASE))
            end++;
        hopseq_t *sigs = calloc(64, sizeof *sigs);
        int nsig = 0, rounds = 0;
        double *tot = malloc(sizeof(double) * (end - i));
        for (size_t k = i + 1; k < end;) {
            if (!(all[k].who == 10 && all[k].ev == C_SEND)) {
                k++;
                continue;
            }
            size_t e = k + 1;
            uint16_t last = phase == 1 ? C_REPLY : C_GOT_T0;
            while (e < end && !(all[e].who == 10 && all[e].ev == last))
                e++;
            if (e >= end)
                break;
            int len = (int)(e - k + 1);
            tot[rounds++] = (double)(all[e].ns - all[k].ns) / 1000.0;
            if (len <= SIG_MAX) {
                uint32_t key[SIG_MAX];
                for (int j = 0; j < len; j++)
                    key[j] = (uint32_t)all[k + j].who << 24 | (uint32_t)all[k + j].ev << 8 |
                             (all[k + j].ev == 1 ? all[k + j].arg & 0xff : 0);
                int s = 0;
                while (s < nsig && !(sigs[s].len == len && !memcmp(sigs[s].key, key, sizeof key[0] * len)))
                    s++;
                if (s == nsig && nsig < 64) {
                    sigs[s].len = len;
                    memcpy(sigs[s].key, key, sizeof key[0] * len);
                    memcpy(sigs[s].first, &all[k], sizeof all[0] * len);
                    sigs[s].cap = 1024;
                    for (int j = 0; j < len; j++)
                        sigs[s].d[j] = malloc(sizeof(double) * 1024);
                    nsig++;
                }
                if (s < nsig) {
                    hopseq_t *g = &sigs[s];
                    if (g->count == g->cap) {
                        g->cap *= 2;
                        for (int j = 0; j < len; j++)
                            g->d[j] = realloc(g->d[j], sizeof(double) * g->cap);
                    }
                    for (int j = 0; j < len; j++)
                        g->d[j][g->count] = j ? (double)(all[k + j].ns - all[k + j - 1].ns) / 1000.0 : 0;
                    g->count++;
                }
            }
            k = e + 1;
        }
        printf("   -- trace, %s: %d round trips, median %.1f us; most frequent hop sequences:\n",
               phase_names[phase], rounds, median_of(tot, rounds));
        for (int shown = 0; shown < 3; shown++) {
            int best = -1;
            for (int s = 0; s < nsig; s++)
                if (sigs[s].count > 0 && (best < 0 || sigs[s].count > sigs[best].count))
                    best = s;
            if (best < 0)
                break;
            hopseq_t *g = &sigs[best];
            double sum = 0;
            printf("   %d rounds (%.0f%%):\n", g->count, 100.0 * g->count / (rounds ? rounds : 1));
            for (int j = 0; j < g->len; j++) {
                char en[96];
                ev_name(&g->first[j], en, sizeof en);
                double m = j ? median_of(g->d[j], g->count) : 0;
                sum += m;
                printf("      %+8.2f us  (%7.2f)  %-7s %s\n", m, sum, who_name(g->first[j].who), en);
            }
            g->count = -g->count;
        }
        for (int s = 0; s < nsig; s++)
            for (int j = 0; j < sigs[s].len; j++)
                free(sigs[s].d[j]);
        free(sigs);
        free(tot);
    }
    free(all);
}

int main(int argc, char **argv)
{
    bench_opts_t o = bench_parse(argc, argv, "transport agents round trip and bandwidth vs fi_pingpong");
    dragonError_t rc = harness_agent_path(agent_path, sizeof agent_path);
    if (rc == DRAGON_ERR_NOT_FOUND) {
        printf("== transport_rtt: skipped (no %s: libfabric-dev missing?)\n", agent_path);
        return 0;
    }
    BENCH_CHECK(rc);
    int reps = o.reps ? o.reps : (o.quick ? 1 : 5);
    int rtt_iters = o.quick ? 300 : 3000;
    int n64k = o.quick ? 200 : 2000, n4m = o.quick ? 16 : 128;
    const char *provider = getenv("DRAGON_BENCH_PROVIDER");
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);

    if (getenv("DRAGON_BENCH_TRACE") && *getenv("DRAGON_BENCH_TRACE")) {
        snprintf(trace_base, sizeof trace_base, "/tmp/dragon-transport-trace-%d", (int)getpid());
        setenv("DRAGON_TRANSPORT_TRACE", trace_base, 1);
        ctrace = malloc(sizeof *ctrace * CTRACE_CAP);
        BENCH_SYS(ctrace != NULL, "malloc");
    }
    uint64_t rtid = 0xbe7c0000ull ^ ((uint64_t)getpid() << 4);
    for (int i = 0; i < 2; i++) {
        dragon_pool_attrs_t at = {.rtid = rtid, .pool_id = (uint64_t)i + 1, .bytes = 512ull << 20,
                                  .puid = 1, .host_id = (uint64_t)i};
        BENCH_CHECK(dragon_pool_create(&at, &pools[i]));
    }
    spawn(&ags[0], 0, pools[0], provider);
    spawn(&ags[1], 1, pools[1], provider);
    char peers[2048];
    snprintf(peers, sizeof peers,
             "{\"peers\":[{\"node\":0,\"address\":\"%s\"},{\"node\":1,\"address\":\"%s\"}]}\n",
             ags[0].address, ags[1].address);
    for (int i = 0; i < 2; i++)
        BENCH_CHECK(harness_agent_say(&ags[i], peers));

    bench_header("transport_rtt", "channel operations through two transport agents (loopback) vs fi_pingpong", &o, reps);
    printf("   provider %s (agents bound to 127.0.0.1, both on this machine's 2 cores)\n",
           ags[0].provider);

    dragon_channel_t *T0, *T1;
    uint8_t d0[DRAGON_DESC_BYTES], d1[DRAGON_DESC_BYTES];
    size_t len;
    BENCH_CHECK(dragon_channel_create(pools[0], 64, 256, &T0));
    BENCH_CHECK(dragon_channel_create(pools[1], 64, 256, &T1));
    BENCH_CHECK(dragon_channel_serialize(T0, d0, sizeof d0, &len));
    BENCH_CHECK(dragon_channel_serialize(T1, d1, sizeof d1, &len));
    client_t A;
    client_open(&A, pools[0], ags[0].gateway, 4u << 20, 10);

    /* B, "on node 1": echoes 64 B messages of T1 into T0 through agent 1,
     * then drains the bandwidth phases; told what comes by a 1-byte kind. */
    pid_t child = bench_fork();
    if (child == 0) {
        client_t B;
        client_open(&B, pools[1], ags[1].gateway, 64, 11);
        nctrace = 0; /* A's records so far are the parent's */
        uint8_t *buf = malloc(4u << 20);
        for (;;) {
            uint64_t l;
            BENCH_CHECK(dragon_channel_recv(T1, buf, 4u << 20, &l, -1));
            if (l == 64)
                crec(11, C_GOT_T1, 0);
            if (l == 1 && buf[0] == 'q') {
                if (ctrace) {
                    char path[300];
                    snprintf(path, sizeof path, "%s.B", trace_base);
                    FILE *f = fopen(path, "wb");
                    if (f) {
                        fwrite(ctrace, sizeof *ctrace, nctrace, f);
                        fclose(f);
                    }
                }
                _exit(0);
            }
            if (l == 64) {
                memcpy(harness_payload(&B.h), buf, 64);
                post(&B, GW_SEND, d0, 64);
                wait_ok(&B);
            }
            /* other sizes: bandwidth phases, just drained */
        }
    }

    double *v = calloc((size_t)reps, sizeof *v);
    double rr[3][16], pp[16];
    uint8_t got[64];
    /* remote request/reply: 64 B send into T1, drained by... nobody: use COUNT */
    crec(10, C_PHASE, 1);
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < rtt_iters; i++) {
            post(&A, GW_COUNT, d1, 0);
            wait_ok(&A);
        }
        v[r] = (double)(bench_now_ns() - t0) / rtt_iters / 1000.0;
    }
    bench_stat_t req_rtt = bench_stats(v, reps);
    bench_line("remote request/reply (COUNT), us", req_rtt, "us");
    crec(10, C_PHASE, 2);
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < rtt_iters; i++) {
            memset(harness_payload(&A.h), i & 0xff, 64);
            post(&A, GW_SEND, d1, 64);
            wait_ok(&A);
            uint64_t l;
            BENCH_CHECK(dragon_channel_recv(T0, got, sizeof got, &l, -1));
            crec(10, C_GOT_T0, 0);
        }
        pp[r] = v[r] = (double)(bench_now_ns() - t0) / rtt_iters / 1000.0;
    }
    bench_stat_t ping = bench_stats(v, reps);
    bench_line("ping-pong 64 B A->node1->B->node0->A, us", ping, "us");
    (void)pp;
    crec(10, C_PHASE, 3);

    uint64_t sizes[2] = {64u << 10, 4u << 20};
    int counts[2] = {n64k, n4m};
    bench_stat_t bw[2];
    for (int s = 0; s < 2; s++) {
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = bench_now_ns();
            int outstanding = 0;
            for (int i = 0; i < counts[s]; i++) {
                harness_payload(&A.h)[0] = (uint8_t)i;
                post(&A, GW_SEND, d1, sizes[s]);
                if (++outstanding == WINDOW) {
                    wait_ok(&A);
                    outstanding--;
                }
            }
            while (outstanding--)
                wait_ok(&A);
            rr[s][r] = v[r] = (double)sizes[s] * counts[s] / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
        }
        bw[s] = bench_stats(v, reps);
        bench_line(s ? "bandwidth 4 MiB messages, MB/s" : "bandwidth 64 KiB messages, MB/s", bw[s], "MB/s");
    }
    (void)rr;
    harness_payload(&A.h)[0] = 'q';
    post(&A, GW_SEND, d1, 1);
    wait_ok(&A);
    waitpid(child, NULL, 0);

    /* Baselines: fi_pingpong over the agents' provider and over the other
     * candidate, same run, same loopback. */
    const char *provs[2] = {ags[0].provider, strcmp(ags[0].provider, "net") ? "net" : "tcp;ofi_rxm"};
    double base_rtt = 0, base_bw = 0;
    for (int p = 0; p < 2; p++) {
        double us64, mb64, us64k, mb64k, us4m, mb4m;
        if (fi_pingpong(provs[p], 64, o.quick ? 1000 : 10000, &us64, &mb64) ||
            fi_pingpong(provs[p], 64u << 10, o.quick ? 300 : 2000, &us64k, &mb64k) ||
            fi_pingpong(provs[p], 4u << 20, o.quick ? 30 : 200, &us4m, &mb4m)) {
            printf("   fi_pingpong -p '%s' failed or is not installed (libfabric-bin)\n", provs[p]);
            continue;
        }
        printf("   fi_pingpong %-12s 64 B round trip %8.2f us | 64 KiB %8.0f MB/s | 4 MiB %8.0f MB/s\n",
               provs[p], 2 * us64, mb64k, mb4m);
        if (p == 0) {
            base_rtt = 2 * us64;
            base_bw = mb4m;
        }
    }
    if (base_rtt > 0) {
        bench_ratio("request/reply vs fi_pingpong round trip", req_rtt.median / base_rtt, "(target <= 2x)");
        bench_target("round trip within 2x of fi_pingpong", req_rtt.median <= 2 * base_rtt);
        bench_ratio("4 MiB bandwidth vs fi_pingpong", bw[1].median / base_bw, "(target >= 0.70)");
        bench_target("4 MiB bandwidth >= 70% of fi_pingpong", bw[1].median >= 0.7 * base_bw);
    }
    for (int i = 0; i < 2; i++) {
        BENCH_CHECK(harness_agent_say(&ags[i], "{\"exit\":true}\n"));
        BENCH_CHECK(harness_agent_stop(&ags[i], NULL));
    }
    if (ctrace)
        trace_report();
    harness_client_close(&A.h);
    dragon_channel_destroy(T0);
    dragon_channel_destroy(T1);
    free(v);
    return 0;
}
