/* Channels: FIFO per sender with several producer and consumer processes,
 * capacity / poll / count, timeouts (0, bounded, forever), small, large and
 * zero-copy messages, BUFFER_TOO_SMALL keeping the message, destroy waking
 * blocked processes, bad input, every crash point (in both repair orders),
 * processes killed asleep, and a random SIGKILL loop. After each crash: the
 * channel works, nothing is duplicated, a message is lost only when its
 * receiver died holding it, and the pool's free bytes are back. */
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "channel_testutil.h"

#define BS 64        /* block size of most channels */
#define LARGE 3000   /* a message larger than BS */
#define POOL_BYTES (8u << 20)

static uint64_t g_rtid;

/* ---- helpers ------------------------------------------------------------- */

static dragon_pool_t *make_pool(uint64_t id, uint64_t bytes)
{
    dragon_pool_attrs_t a = {.rtid = g_rtid, .pool_id = id, .bytes = bytes, .puid = 1};
    dragon_pool_t *p = NULL;
    T_OK(dragon_pool_create(&a, &p));
    return p;
}

static uint64_t free_bytes(dragon_pool_t *p)
{
    dragon_pool_stats_t s;
    T_OK(dragon_pool_stats(p, &s));
    return s.free_bytes;
}

/* In a child: attach the pool (as process puid) and a channel; exit 90 on
 * failure. */
static dragon_channel_t *child_attach(const desc_t *dp, const desc_t *dc, uint64_t puid,
                                      dragon_pool_t **pool)
{
    dragon_channel_t *ch = NULL;
    if (dragon_pool_attach(dp->b, dp->len, g_rtid, puid, pool) != DRAGON_OK ||
        dragon_channel_attach(*pool, dc->b, dc->len, &ch) != DRAGON_OK)
        _exit(90);
    return ch;
}

static pid_t fork_child(void)
{
    fflush(NULL);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Messages carry (producer, seq) and a checkable pattern. */
typedef struct mhdr {
    uint32_t producer, seq;
    uint64_t len;
} mhdr_t;

static void make_msg(uint8_t *buf, uint32_t producer, uint32_t seq, uint64_t len)
{
    mhdr_t h = {producer, seq, len};
    T_ASSERT(len >= sizeof h);
    memcpy(buf, &h, sizeof h);
    for (uint64_t i = sizeof h; i < len; i++)
        buf[i] = (uint8_t)(producer * 31u + seq + i);
}

/* Returns 0 if buf holds a well-formed message of length len. */
static int check_msg(const uint8_t *buf, uint64_t len, mhdr_t *out)
{
    if (len < sizeof(mhdr_t))
        return -1;
    memcpy(out, buf, sizeof *out);
    if (out->len != len)
        return -1;
    for (uint64_t i = sizeof *out; i < len; i++)
        if (buf[i] != (uint8_t)(out->producer * 31u + out->seq + i))
            return -1;
    return 0;
}

/* In a child: receives one message (zero_copy: through recv_msg, freeing
 * a zero-copy allocation after the check) into b (64 KiB) and checks it;
 * 0, or the exit code the child uses for the step that failed. */
static int recv_checked(dragon_pool_t *q, dragon_channel_t *x, uint8_t *b, int zero_copy,
                        mhdr_t *hh)
{
    if (!zero_copy) {
        uint64_t l = 0;
        return dragon_channel_recv(x, b, 1 << 16, &l, -1) || check_msg(b, l, hh) ? 6 : 0;
    }
    dragon_msg_t msg;
    if (dragon_channel_recv_msg(x, b, 1 << 16, &msg, -1))
        return 2;
    const uint8_t *src = b;
    void *ptr = NULL;
    if (msg.is_alloc) {
        if (dragon_alloc_ptr(q, msg.alloc, &ptr))
            return 3;
        src = ptr;
    }
    if (check_msg(src, msg.len, hh))
        return 4;
    if (msg.is_alloc && dragon_pool_free(q, msg.alloc))
        return 5;
    return 0;
}

static void send_msg(dragon_channel_t *ch, uint32_t producer, uint32_t seq, uint64_t len)
{
    uint8_t *buf = malloc(len);
    T_ASSERT(buf);
    make_msg(buf, producer, seq, len);
    T_OK(dragon_channel_send(ch, buf, len, 0));
    free(buf);
}

/* Receives with timeout 0 until empty; returns the seqs (producer checked). */
static int drain(dragon_channel_t *ch, uint32_t producer, uint32_t *seqs, int max)
{
    static uint8_t buf[1 << 16];
    int n = 0;
    for (;;) {
        uint64_t len = 0;
        dragonError_t rc = dragon_channel_recv(ch, buf, sizeof buf, &len, 0);
        if (rc == DRAGON_ERR_TIMEOUT)
            return n;
        T_OK(rc);
        mhdr_t h;
        T_ASSERT(check_msg(buf, len, &h) == 0);
        T_ASSERT(h.producer == producer);
        T_ASSERT(n < max);
        seqs[n++] = h.seq;
    }
}

/* ---- basic behaviour ------------------------------------------------------- */

static void test_basic(dragon_pool_t *p)
{
    uint64_t f0 = free_bytes(p);
    dragon_channel_t *ch;
    T_EXPECT(dragon_channel_create(p, 0, BS, &ch), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_create(p, 4, 0, &ch), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_create(NULL, 4, BS, &ch), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_create(p, 1u << 30, 1u << 20, &ch), DRAGON_ERR_TOO_LARGE);
    T_OK(dragon_channel_create(p, 4, BS, &ch));
    uint64_t f1 = free_bytes(p);
    uint64_t cap, bs, n;
    T_OK(dragon_channel_info(ch, &cap, &bs));
    T_ASSERT(cap == 4 && bs == BS);
    T_OK(dragon_channel_count(ch, &n));
    T_ASSERT(n == 0);
    uint32_t rev = 0;
    T_OK(dragon_channel_poll(ch, DRAGON_POLL_OUT, 0, &rev));
    T_ASSERT(rev == (DRAGON_POLL_OUT | DRAGON_POLL_EMPTY));
    T_EXPECT(dragon_channel_poll(ch, DRAGON_POLL_IN, 0, &rev), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_channel_poll(ch, DRAGON_POLL_IN, 10000, &rev), DRAGON_ERR_TIMEOUT);
    T_ASSERT(rev == (DRAGON_POLL_OUT | DRAGON_POLL_EMPTY));
    T_EXPECT(dragon_channel_poll(ch, 0, 0, &rev), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_poll(ch, 64, 0, &rev), DRAGON_ERR_INVALID_ARGUMENT);

    /* fill: capacity, full, timeouts 0 and bounded */
    for (uint32_t i = 1; i <= 4; i++)
        send_msg(ch, 1, i, 20);
    T_OK(dragon_channel_count(ch, &n));
    T_ASSERT(n == 4);
    T_OK(dragon_channel_poll(ch, DRAGON_POLL_IN | DRAGON_POLL_FULL, 0, &rev));
    T_ASSERT(rev == (DRAGON_POLL_IN | DRAGON_POLL_FULL));
    T_EXPECT(dragon_channel_poll(ch, DRAGON_POLL_OUT, 10000, &rev), DRAGON_ERR_TIMEOUT);
    uint8_t m[BS] = {0};
    T_EXPECT(dragon_channel_send(ch, m, 8, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_channel_send(ch, m, 8, 20000), DRAGON_ERR_TIMEOUT);
    /* a large send that times out gives its block back */
    uint8_t *big = malloc(LARGE);
    make_msg(big, 1, 99, LARGE);
    T_EXPECT(dragon_channel_send(ch, big, LARGE, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_channel_send(ch, big, LARGE, 10000), DRAGON_ERR_TIMEOUT);
    T_ASSERT(free_bytes(p) == f1);
    uint32_t seqs[16];
    T_ASSERT(drain(ch, 1, seqs, 16) == 4);
    for (uint32_t i = 0; i < 4; i++)
        T_ASSERT(seqs[i] == i + 1);
    uint64_t len = 0;
    T_EXPECT(dragon_channel_recv(ch, m, sizeof m, &len, 0), DRAGON_ERR_TIMEOUT);
    T_EXPECT(dragon_channel_recv(ch, m, sizeof m, &len, 20000), DRAGON_ERR_TIMEOUT);

    /* empty messages */
    T_OK(dragon_channel_send(ch, NULL, 0, 0));
    len = 7;
    T_OK(dragon_channel_recv(ch, m, sizeof m, &len, 0));
    T_ASSERT(len == 0);

    /* BUFFER_TOO_SMALL leaves a small message queued */
    send_msg(ch, 1, 5, 40);
    T_EXPECT(dragon_channel_recv(ch, m, 10, &len, 0), DRAGON_ERR_BUFFER_TOO_SMALL);
    T_ASSERT(len == 40);
    T_EXPECT(dragon_channel_recv(ch, NULL, 0, &len, 0), DRAGON_ERR_BUFFER_TOO_SMALL);
    T_OK(dragon_channel_count(ch, &n));
    T_ASSERT(n == 1);
    T_OK(dragon_channel_recv(ch, m, sizeof m, &len, 0));
    mhdr_t h;
    T_ASSERT(len == 40 && check_msg(m, len, &h) == 0 && h.seq == 5);

    /* large: copied into a block; too small a buffer leaves it queued */
    T_OK(dragon_channel_send(ch, big, LARGE, 0));
    T_ASSERT(free_bytes(p) < f1);
    uint8_t *rb = malloc(2 * LARGE);
    T_EXPECT(dragon_channel_recv(ch, rb, 100, &len, 0), DRAGON_ERR_BUFFER_TOO_SMALL);
    T_ASSERT(len == LARGE);
    T_OK(dragon_channel_recv(ch, rb, 2 * LARGE, &len, 0));
    T_ASSERT(len == LARGE && check_msg(rb, len, &h) == 0 && h.seq == 99);
    T_ASSERT(free_bytes(p) == f1);

    /* recv_msg: large ones are handed over, small ones copied */
    dragon_msg_t msg;
    T_EXPECT(dragon_channel_recv_msg(ch, m, BS - 1, &msg, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_channel_send(ch, big, LARGE, 0));
    send_msg(ch, 1, 6, 30);
    T_OK(dragon_channel_recv_msg(ch, m, sizeof m, &msg, 0));
    T_ASSERT(msg.is_alloc == 1 && msg.len == LARGE);
    void *ptr = NULL;
    T_OK(dragon_alloc_ptr(p, msg.alloc, &ptr));
    T_ASSERT(check_msg(ptr, msg.len, &h) == 0 && h.seq == 99);
    T_ASSERT(free_bytes(p) < f1);
    T_OK(dragon_pool_free(p, msg.alloc));
    T_OK(dragon_channel_recv_msg(ch, m, sizeof m, &msg, 0));
    T_ASSERT(msg.is_alloc == 0 && msg.len == 30 && check_msg(m, 30, &h) == 0 && h.seq == 6);
    T_ASSERT(free_bytes(p) == f1);

    /* zero-copy send: the receiver gets the very allocation */
    dragon_alloc_t al;
    T_OK(dragon_pool_alloc(p, 5000, 0, &al));
    T_OK(dragon_alloc_ptr(p, al, &ptr));
    make_msg(ptr, 2, 1, 4000);
    T_EXPECT(dragon_channel_send_alloc(ch, al, 5001 + 4096, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_channel_send_alloc(ch, al, 4000, 0));
    /* it belongs to the channel now: sending it again is refused */
    T_EXPECT(dragon_channel_send_alloc(ch, al, 4000, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_channel_recv_msg(ch, m, sizeof m, &msg, 0));
    T_ASSERT(msg.is_alloc && msg.alloc.offset == al.offset && msg.alloc.gen == al.gen);
    T_ASSERT(msg.len == 4000);
    T_OK(dragon_alloc_ptr(p, msg.alloc, &ptr));
    T_ASSERT(check_msg(ptr, msg.len, &h) == 0 && h.producer == 2);
    /* and a zero-copy message received by copy is freed by recv */
    T_OK(dragon_channel_send_alloc(ch, msg.alloc, 4000, 0));
    T_OK(dragon_channel_recv(ch, rb, 2 * LARGE, &len, 0));
    T_ASSERT(len == 4000 && check_msg(rb, len, &h) == 0);
    T_EXPECT(dragon_pool_free(p, al), DRAGON_ERR_DESTROYED);
    T_ASSERT(free_bytes(p) == f1);
    /* a stale allocation cannot be sent */
    T_EXPECT(dragon_channel_send_alloc(ch, al, 10, 0), DRAGON_ERR_DESTROYED);
    /* a message larger than the pool */
    T_EXPECT(dragon_channel_send(ch, big, (uint64_t)POOL_BYTES * 2, 0), DRAGON_ERR_TOO_LARGE);
    T_ASSERT(free_bytes(p) == f1);
    /* destroy with queued large messages frees everything */
    T_OK(dragon_channel_send(ch, big, LARGE, 0));
    T_OK(dragon_channel_send(ch, big, LARGE, 0));
    send_msg(ch, 1, 7, 16);
    T_OK(dragon_channel_destroy(ch));
    T_ASSERT(free_bytes(p) == f0);
    free(big);
    free(rb);
}

/* ---- waiting across processes ---------------------------------------------- */

static void test_waits(dragon_pool_t *p)
{
    desc_t dp = pool_desc(p);
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 2, BS, &ch));
    desc_t dc = chan_desc(ch);
    uint8_t m[BS];
    uint64_t len;
    uint32_t rev;

    /* recv forever / poll IN with a deadline: a child sends later */
    pid_t pid = fork_child();
    if (pid == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x = child_attach(&dp, &dc, 20, &q);
        sleep_us(30000);
        uint8_t b[BS];
        make_msg(b, 3, 1, 32);
        if (dragon_channel_send(x, b, 32, -1))
            _exit(2);
        sleep_us(30000);
        make_msg(b, 3, 2, 32);
        if (dragon_channel_send(x, b, 32, -1))
            _exit(3);
        _exit(0);
    }
    T_OK(dragon_channel_poll(ch, DRAGON_POLL_IN, 5000000, &rev));
    T_ASSERT(rev & DRAGON_POLL_IN);
    T_OK(dragon_channel_recv(ch, m, sizeof m, &len, -1));
    T_OK(dragon_channel_recv(ch, m, sizeof m, &len, -1));
    mhdr_t h;
    T_ASSERT(check_msg(m, len, &h) == 0 && h.seq == 2);
    T_ASSERT(wait_exit(pid) == 0);

    /* send forever on a full channel / poll OUT: a child drains later */
    send_msg(ch, 4, 1, 16);
    send_msg(ch, 4, 2, 16);
    pid = fork_child();
    if (pid == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x = child_attach(&dp, &dc, 21, &q);
        uint8_t b[BS];
        uint64_t l;
        for (int i = 0; i < 4; i++) {
            sleep_us(20000);
            if (dragon_channel_recv(x, b, sizeof b, &l, -1))
                _exit(2);
            mhdr_t hh;
            if (check_msg(b, l, &hh) || hh.seq != (uint32_t)i + 1)
                _exit(3);
        }
        _exit(0);
    }
    T_OK(dragon_channel_poll(ch, DRAGON_POLL_OUT, 5000000, &rev));
    T_ASSERT(rev & DRAGON_POLL_OUT);
    make_msg(m, 4, 3, 16);
    T_OK(dragon_channel_send(ch, m, 16, -1));
    make_msg(m, 4, 4, 16);
    T_OK(dragon_channel_send(ch, m, 16, 5000000));
    T_ASSERT(wait_exit(pid) == 0);

    /* poll EMPTY|FULL (both events): a child drains the one message */
    send_msg(ch, 4, 5, 16);
    T_EXPECT(dragon_channel_poll(ch, DRAGON_POLL_EMPTY | DRAGON_POLL_FULL, 0, &rev),
             DRAGON_ERR_TIMEOUT);
    pid = fork_child();
    if (pid == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x = child_attach(&dp, &dc, 22, &q);
        uint8_t b[BS];
        uint64_t l;
        sleep_us(20000);
        _exit(dragon_channel_recv(x, b, sizeof b, &l, -1) ? 2 : 0);
    }
    T_OK(dragon_channel_poll(ch, DRAGON_POLL_EMPTY | DRAGON_POLL_FULL, 5000000, &rev));
    T_ASSERT(rev & DRAGON_POLL_EMPTY);
    T_ASSERT(wait_exit(pid) == 0);
    T_OK(dragon_channel_destroy(ch));
}

/* ---- FIFO per sender, several producers and consumers ------------------------ */

#define NPROD 3
#define NCONS 3
#define PER_PROD 15000
#define STOP_PRODUCER 0xffffu

typedef struct rec {
    uint16_t producer;
    uint32_t seq;
} __attribute__((packed)) rec_t;

typedef struct mlog {
    _Atomic uint32_t n[NCONS + 1];
    rec_t recs[NCONS + 1][NPROD * PER_PROD + 16];
} mlog_t;

static void test_mpmc(dragon_pool_t *p)
{
    uint64_t f0 = free_bytes(p);
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 8, BS, &ch));
    desc_t dp = pool_desc(p), dc = chan_desc(ch);
    mlog_t *lg = mmap(NULL, sizeof(mlog_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    T_ASSERT(lg != MAP_FAILED);
    pid_t prod[NPROD], cons[NCONS];
    for (int c = 0; c < NCONS; c++) {
        cons[c] = fork_child();
        if (cons[c] == 0) {
            dragon_pool_t *q;
            dragon_channel_t *x = child_attach(&dp, &dc, 40 + (uint64_t)c, &q);
            uint8_t *b = malloc(1 << 16);
            for (uint32_t i = 0;; i++) {
                mhdr_t hh;
                int rc = recv_checked(q, x, b, i % 3 == 2, &hh); /* mix in zero-copy */
                if (rc)
                    _exit(rc);
                if (hh.producer == STOP_PRODUCER)
                    _exit(0);
                uint32_t k = atomic_load(&lg->n[c]);
                lg->recs[c][k] = (rec_t){(uint16_t)hh.producer, hh.seq};
                atomic_store(&lg->n[c], k + 1);
            }
        }
    }
    for (int i = 0; i < NPROD; i++) {
        prod[i] = fork_child();
        if (prod[i] == 0) {
            dragon_pool_t *q;
            dragon_channel_t *x = child_attach(&dp, &dc, 30 + (uint64_t)i, &q);
            uint8_t *b = malloc(LARGE);
            for (uint32_t s = 1; s <= PER_PROD; s++) {
                uint64_t l = s % 97 == 0 ? LARGE : 16 + s % 48;
                make_msg(b, (uint32_t)i, s, l);
                if (dragon_channel_send(x, b, l, -1))
                    _exit(2);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < NPROD; i++)
        T_ASSERT(wait_exit(prod[i]) == 0);
    for (int c = 0; c < NCONS; c++) { /* may have to wait for room */
        uint8_t b[16];
        make_msg(b, STOP_PRODUCER, 0, 16);
        T_OK(dragon_channel_send(ch, b, 16, -1));
    }
    for (int c = 0; c < NCONS; c++)
        T_ASSERT(wait_exit(cons[c]) == 0);
    /* every message exactly once, in order per producer within each consumer */
    static uint8_t seen[NPROD][PER_PROD + 1];
    memset(seen, 0, sizeof seen);
    uint64_t total = 0;
    for (int c = 0; c < NCONS; c++) {
        uint32_t last[NPROD] = {0};
        for (uint32_t k = 0; k < atomic_load(&lg->n[c]); k++) {
            rec_t r = lg->recs[c][k];
            T_ASSERT(r.producer < NPROD && r.seq >= 1 && r.seq <= PER_PROD);
            T_ASSERT(r.seq > last[r.producer]);
            last[r.producer] = r.seq;
            T_ASSERT(!seen[r.producer][r.seq]);
            seen[r.producer][r.seq] = 1;
            total++;
        }
    }
    T_ASSERT(total == (uint64_t)NPROD * PER_PROD);
    T_OK(dragon_channel_destroy(ch));
    T_ASSERT(free_bytes(p) == f0);
    munmap(lg, sizeof(mlog_t));
}

/* ---- destroy ---------------------------------------------------------------- */

static void test_destroy(dragon_pool_t *p)
{
    uint64_t f0 = free_bytes(p);
    desc_t dp = pool_desc(p);
    dragon_channel_t *empty, *full;
    T_OK(dragon_channel_create(p, 2, BS, &empty));
    T_OK(dragon_channel_create(p, 1, BS, &full));
    desc_t de = chan_desc(empty), df = chan_desc(full);
    send_msg(full, 1, 1, 16);
    int go[2], attached[2];
    T_ASSERT(pipe(go) == 0 && pipe(attached) == 0);
    /* a receiver blocked forever, a sender blocked forever, and a process
     * that holds a handle and uses it only after the destroy */
    pid_t r = fork_child();
    if (r == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x = child_attach(&dp, &de, 50, &q);
        uint8_t b[BS];
        uint64_t l;
        _exit(dragon_channel_recv(x, b, sizeof b, &l, -1) == DRAGON_ERR_DESTROYED ? 0 : 2);
    }
    pid_t s = fork_child();
    if (s == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x = child_attach(&dp, &df, 51, &q);
        uint8_t b[BS] = {0};
        _exit(dragon_channel_send(x, b, 8, -1) == DRAGON_ERR_DESTROYED ? 0 : 2);
    }
    pid_t late = fork_child();
    if (late == 0) {
        dragon_pool_t *q;
        dragon_channel_t *x = child_attach(&dp, &de, 52, &q);
        char c = 'a';
        if (write(attached[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        uint8_t b[BS] = {0};
        uint64_t l, n;
        uint32_t rev;
        dragon_waiter_t *w;
        dragon_channel_t *y;
        if (dragon_waiter_create(52, &w))
            _exit(3);
        dragonError_t rcs[7] = {
            dragon_channel_send(x, b, 8, 0),
            dragon_channel_recv(x, b, sizeof b, &l, 1000),
            dragon_channel_poll(x, DRAGON_POLL_IN, 0, &rev),
            dragon_channel_count(x, &n),
            dragon_channel_watch(x, w, DRAGON_WATCH_IN, 1),
            dragon_channel_destroy(x),
            dragon_channel_attach(q, de.b, de.len, &y),
        };
        dragon_waiter_destroy(w);
        dragon_channel_detach(x);
        for (int i = 0; i < 7; i++) {
            if (rcs[i] != DRAGON_ERR_DESTROYED) {
                fprintf(stderr, "late user: call %d returned %s\n", i, dragon_errname(rcs[i]));
                _exit(10 + i);
            }
        }
        _exit(0);
    }
    char a;
    T_ASSERT(read(attached[0], &a, 1) == 1);
    close(attached[0]);
    close(attached[1]);
    /* wait until both are asleep in their events */
    dg__channel_t *ce = chan_rec(p, &de), *cf = chan_rec(p, &df);
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(&ce->readable.sleepers) == 1 && atomic_load(&cf->writable.sleepers) == 1)
            break;
        sleep_us(1000);
    }
    T_ASSERT(atomic_load(&ce->readable.sleepers) == 1);
    T_ASSERT(atomic_load(&cf->writable.sleepers) == 1);
    T_OK(dragon_channel_destroy(empty));
    T_OK(dragon_channel_destroy(full));
    T_ASSERT(wait_exit(r) == 0);
    T_ASSERT(wait_exit(s) == 0);
    T_ASSERT(write(go[1], "g", 1) == 1);
    int code = wait_exit(late);
    if (code != 0) {
        fprintf(stderr, "late user exited %d\n", code);
        exit(1);
    }
    close(go[0]);
    close(go[1]);
    dragon_channel_t *y;
    T_EXPECT(dragon_channel_attach(p, de.b, de.len, &y), DRAGON_ERR_DESTROYED);
    T_ASSERT(free_bytes(p) == f0);
}

/* ---- bad input ----------------------------------------------------------------- */

static void test_bad_input(dragon_pool_t *p, dragon_pool_t *other)
{
    dragon_channel_t *ch, *y = NULL;
    T_OK(dragon_channel_create(p, 2, BS, &ch));
    desc_t d = chan_desc(ch);
    uint8_t junk[DRAGON_DESC_BYTES];
    srand(7);
    for (int k = 0; k < 200; k++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        T_EXPECT(dragon_channel_attach(p, junk, sizeof junk, &y), DRAGON_ERR_BAD_DESCRIPTOR);
    }
    T_EXPECT(dragon_channel_attach(p, d.b, d.len - 1, &y), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_channel_attach(p, d.b, 0, &y), DRAGON_ERR_BAD_DESCRIPTOR);
    for (size_t i = 4; i < d.len; i += 7) { /* any flipped byte */
        desc_t e = d;
        e.b[i] ^= 0x40;
        dragonError_t rc = dragon_channel_attach(p, e.b, e.len, &y);
        T_ASSERT(rc == DRAGON_ERR_BAD_DESCRIPTOR || rc == DRAGON_ERR_VERSION_MISMATCH);
    }
    desc_t pd = pool_desc(p);
    T_EXPECT(dragon_channel_attach(p, pd.b, pd.len, &y), DRAGON_ERR_WRONG_KIND);
    T_EXPECT(dragon_channel_attach(other, d.b, d.len, &y), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_channel_attach(NULL, d.b, d.len, &y), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_attach(p, NULL, d.len, &y), DRAGON_ERR_INVALID_ARGUMENT);
    /* a user allocation is not a channel */
    dragon_alloc_t al;
    T_OK(dragon_pool_alloc(p, 100, 0, &al));
    uint8_t ad[DRAGON_DESC_BYTES];
    size_t al_len;
    T_OK(dragon_alloc_serialize(p, al, ad, sizeof ad, &al_len));
    T_EXPECT(dragon_channel_attach(p, ad, al_len, &y), DRAGON_ERR_WRONG_KIND);
    T_OK(dragon_pool_free(p, al));
    /* NULL handles and buffers */
    uint64_t n;
    T_EXPECT(dragon_channel_send(NULL, "x", 1, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_send(ch, NULL, 1, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_recv(NULL, &n, 8, &n, 0), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_count(NULL, &n), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_channel_destroy(NULL), DRAGON_ERR_INVALID_ARGUMENT);
    /* a second handle of a destroyed channel */
    T_OK(dragon_channel_attach(p, d.b, d.len, &y));
    T_OK(dragon_channel_destroy(ch));
    T_EXPECT(dragon_channel_send(y, "x", 1, 0), DRAGON_ERR_DESTROYED);
    T_EXPECT(dragon_channel_recv(y, &n, 8, &n, -1), DRAGON_ERR_DESTROYED);
    T_EXPECT(dragon_channel_count(y, &n), DRAGON_ERR_DESTROYED);
    uint8_t buf[DRAGON_DESC_BYTES];
    size_t bl;
    T_EXPECT(dragon_channel_serialize(y, buf, sizeof buf, &bl), DRAGON_ERR_DESTROYED);
    /* even after the block was reused by another allocation */
    dragon_alloc_t reuse;
    T_OK(dragon_pool_alloc(p, 4000, 0, &reuse));
    T_EXPECT(dragon_channel_send(y, "x", 1, 0), DRAGON_ERR_DESTROYED);
    T_OK(dragon_pool_free(p, reuse));
    T_OK(dragon_channel_detach(y));
}

/* ---- crash points ------------------------------------------------------------- */

enum op { SEND_SMALL, SEND_LARGE, SEND_ALLOC, RECV_SMALL, RECV_LARGE, RECVMSG_LARGE, DESTROY };

typedef struct crash_case {
    const char *point;
    enum op op;
    int present; /* is the child's message in the channel afterwards? */
} crash_case_t;

static const crash_case_t crash_cases[] = {
    {"chan.send.locked", SEND_SMALL, 0},
    {"chan.send.copied", SEND_SMALL, 0},
    {"chan.send.published", SEND_SMALL, 1},
    {"chan.send.tail_moved", SEND_SMALL, 1},
    {"chan.send.large_alloced", SEND_LARGE, 0},
    {"chan.send.large_copied", SEND_LARGE, 0},
    {"chan.send.locked", SEND_LARGE, 0},
    {"chan.send.slot_written", SEND_LARGE, 0},
    {"chan.send.owner_changed", SEND_LARGE, 0},
    {"chan.send.published", SEND_LARGE, 1},
    {"chan.send.tail_moved", SEND_LARGE, 1},
    {"chan.send.slot_written", SEND_ALLOC, 0},
    {"chan.send.owner_changed", SEND_ALLOC, 0},
    {"chan.send.published", SEND_ALLOC, 1},
    {"chan.recv.locked", RECV_SMALL, 1},
    {"chan.recv.copied", RECV_SMALL, 1},
    {"chan.recv.published", RECV_SMALL, 0},
    {"chan.recv.locked", RECV_LARGE, 1},
    {"chan.recv.owner_changed", RECV_LARGE, 1},
    {"chan.recv.published", RECV_LARGE, 0},
    {"chan.recv.large_taken", RECV_LARGE, 0},
    {"chan.recv.owner_changed", RECVMSG_LARGE, 1},
    {"chan.recv.published", RECVMSG_LARGE, 0},
    {"chan.destroy.marked", DESTROY, 0},
    {"chan.destroy.unlocked", DESTROY, 0},
};

#define CHILD_PUID 7

static void child_op(const desc_t *dp, const desc_t *dc, const crash_case_t *cc)
{
    dragon_pool_t *q;
    dragon_channel_t *x = child_attach(dp, dc, CHILD_PUID, &q);
    setenv("DRAGON_CRASH_POINT", cc->point, 1);
    uint8_t *b = malloc(2 * LARGE);
    uint64_t l;
    dragon_msg_t msg;
    dragon_alloc_t al;
    void *ptr;
    switch (cc->op) {
    case SEND_SMALL:
        make_msg(b, 1, 2, 24);
        dragon_channel_send(x, b, 24, 0);
        break;
    case SEND_LARGE:
        make_msg(b, 1, 2, LARGE);
        dragon_channel_send(x, b, LARGE, 0);
        break;
    case SEND_ALLOC:
        if (dragon_pool_alloc(q, LARGE, 0, &al) || dragon_alloc_ptr(q, al, &ptr))
            _exit(91);
        make_msg(ptr, 1, 2, LARGE);
        dragon_channel_send_alloc(x, al, LARGE, 0);
        break;
    case RECV_SMALL:
    case RECV_LARGE:
        dragon_channel_recv(x, b, 2 * LARGE, &l, 0);
        break;
    case RECVMSG_LARGE:
        dragon_channel_recv_msg(x, b, 2 * LARGE, &msg, 0);
        break;
    case DESTROY:
        dragon_channel_destroy(x);
        break;
    }
    _exit(0); /* the crash point was not reached */
}

static void run_crash(dragon_pool_t *p, const crash_case_t *cc, int live_first)
{
    uint64_t f_before = free_bytes(p);
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 4, BS, &ch));
    uint64_t f0 = free_bytes(p);
    desc_t dp = pool_desc(p), dc = chan_desc(ch);
    dg__channel_t *c = chan_rec(p, &dc);
    int is_recv = cc->op == RECV_SMALL || cc->op == RECV_LARGE || cc->op == RECVMSG_LARGE;
    /* queued before the child runs: seq 1 (the receivers' target, large for
     * the large receives), and seq 2 after it for receivers */
    if (is_recv) {
        send_msg(ch, 1, 1, cc->op == RECV_SMALL ? 24 : LARGE);
        send_msg(ch, 1, 2, 24);
    } else {
        send_msg(ch, 1, 1, cc->op == DESTROY ? LARGE : 24);
    }
    pid_t pid = fork_child();
    if (pid == 0)
        child_op(&dp, &dc, cc);
    int code = wait_exit(pid);
    if (code != 86) {
        fprintf(stderr, "crash point %s (op %d): child exited %d, not at the point\n", cc->point,
                cc->op, code);
        exit(1);
    }
    if (cc->op == DESTROY) {
        /* Our handle outlives the channel: reclaim finishes the destroy. */
        dragon_reclaim_stats_t rs;
        T_OK(dragon_pool_reclaim(p, CHILD_PUID, &rs));
        T_EXPECT(dragon_channel_send(ch, "x", 1, 0), DRAGON_ERR_DESTROYED);
        T_OK(dragon_channel_detach(ch));
        T_ASSERT(free_bytes(p) == f_before);
        return;
    }
    uint32_t got[8];
    int n = 0;
    uint8_t buf[2 * LARGE];
    uint64_t len;
    mhdr_t h;
    if (live_first) {
        /* A live process locks the dead holder's mutex first and repairs;
         * reclaim comes after. */
        if (is_recv) {
            T_OK(dragon_channel_recv(ch, buf, sizeof buf, &len, 0));
            T_ASSERT(check_msg(buf, len, &h) == 0);
            got[n++] = h.seq;
        } else {
            send_msg(ch, 1, 3, 24);
        }
    }
    dragon_reclaim_stats_t rs;
    T_OK(dragon_pool_reclaim(p, CHILD_PUID, &rs));
    if (!live_first && !is_recv)
        send_msg(ch, 1, 3, 24);
    n += drain(ch, 1, got + n, 8 - n);
    /* what must be there: senders: 1, [2], 3; receivers: [1], 2 */
    uint32_t want[4];
    int nw = 0;
    if (is_recv) {
        if (cc->present)
            want[nw++] = 1;
        want[nw++] = 2;
    } else {
        want[nw++] = 1;
        if (cc->present)
            want[nw++] = 2;
        want[nw++] = 3;
    }
    if (n != nw || memcmp(got, want, (size_t)n * sizeof got[0]) != 0) {
        fprintf(stderr, "crash point %s (op %d, %s first): got", cc->point, cc->op,
                live_first ? "live op" : "reclaim");
        for (int i = 0; i < n; i++)
            fprintf(stderr, " %u", got[i]);
        fprintf(stderr, ", want");
        for (int i = 0; i < nw; i++)
            fprintf(stderr, " %u", want[i]);
        fprintf(stderr, "\n");
        exit(1);
    }
    /* still works, nothing left behind: the dead process held a lock at
     * every point but the two before the send locks, so its call count was
     * taken back too */
    T_ASSERT(atomic_load(&c->readable.sleepers) == 0 && atomic_load(&c->writable.sleepers) == 0);
    int unlocked = strcmp(cc->point, "chan.send.large_alloced") == 0 ||
                   strcmp(cc->point, "chan.send.large_copied") == 0 ||
                   strcmp(cc->point, "chan.recv.large_taken") == 0;
    T_ASSERT(atomic_load(&c->recv_active) == 0);
    T_ASSERT(atomic_load(&c->send_active) == (unlocked && !is_recv ? 1u : 0u));
    send_msg(ch, 1, 9, LARGE);
    T_OK(dragon_channel_recv(ch, buf, sizeof buf, &len, 0));
    T_ASSERT(check_msg(buf, len, &h) == 0 && h.seq == 9);
    if (free_bytes(p) != f0) {
        fprintf(stderr, "crash point %s (op %d): free bytes %llu, want %llu\n", cc->point, cc->op,
                (unsigned long long)free_bytes(p), (unsigned long long)f0);
        exit(1);
    }
    T_OK(dragon_channel_destroy(ch));
    T_ASSERT(free_bytes(p) == f_before);
}

static void test_crash_points(dragon_pool_t *p)
{
    for (size_t i = 0; i < sizeof crash_cases / sizeof crash_cases[0]; i++) {
        run_crash(p, &crash_cases[i], 0);
        if (crash_cases[i].op != DESTROY)
            run_crash(p, &crash_cases[i], 1);
    }
}

/* ---- processes killed while asleep ---------------------------------------------- */

static void test_killed_asleep(dragon_pool_t *p)
{
    uint64_t f0 = free_bytes(p);
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 1, BS, &ch));
    desc_t dp = pool_desc(p), dc = chan_desc(ch);
    dg__channel_t *c = chan_rec(p, &dc);
    pid_t r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = fork_child();
        if (r[i] == 0) {
            dragon_pool_t *q;
            dragon_channel_t *x = child_attach(&dp, &dc, 60 + (uint64_t)i, &q);
            uint8_t b[BS];
            uint64_t l;
            uint32_t rev;
            if (i == 2)
                dragon_channel_poll(x, DRAGON_POLL_IN, -1, &rev);
            else
                dragon_channel_recv(x, b, sizeof b, &l, -1);
            _exit(2);
        }
    }
    for (int i = 0; i < 5000 && atomic_load(&c->readable.sleepers) < 3; i++)
        sleep_us(1000);
    T_ASSERT(atomic_load(&c->readable.sleepers) == 3);
    for (int i = 0; i < 3; i++) {
        kill(r[i], SIGKILL);
        T_ASSERT(wait_exit(r[i]) == 128 + SIGKILL);
    }
    for (int i = 0; i < 3; i++)
        T_OK(dragon_pool_reclaim(p, 60 + (uint64_t)i, NULL));
    /* registrations gone: a send no longer pays a futex_wake; their calls
     * are no longer counted (destroy will not wait for them) */
    T_ASSERT(atomic_load(&c->recv_active) == 0);
    T_ASSERT(atomic_load(&c->readable.sleepers) == 0);
    T_ASSERT(atomic_load(&c->readable.all_mask) == 0);
    uint32_t seq = atomic_load(&c->readable.seq);
    send_msg(ch, 1, 1, 16);
    T_ASSERT(atomic_load(&c->readable.seq) == seq);
    uint32_t got[2];
    T_ASSERT(drain(ch, 1, got, 2) == 1 && got[0] == 1);
    T_OK(dragon_channel_destroy(ch));
    T_ASSERT(free_bytes(p) == f0);
}

/* ---- random SIGKILLs ---------------------------------------------------------------- */

#define RK_PROD 2
#define RK_CONS 2
#define RK_MAXREC 400000

typedef struct rk_log {
    _Atomic uint32_t attempting[RK_PROD]; /* seq being sent */
    _Atomic uint32_t acked[RK_PROD];      /* last seq whose send returned OK */
    _Atomic uint32_t n[RK_CONS];
    rec_t recs[RK_CONS][RK_MAXREC];
} rk_log_t;

static void rk_producer(const desc_t *dp, const desc_t *dc, uint64_t puid, int idx,
                        uint32_t producer, rk_log_t *lg)
{
    dragon_pool_t *q;
    dragon_channel_t *x = child_attach(dp, dc, puid, &q);
    uint8_t *b = malloc(LARGE);
    for (uint32_t s = 1;; s++) {
        uint64_t l = s % 5 == 0 ? 200 + s % 700 : 16 + s % 40;
        make_msg(b, producer, s, l);
        atomic_store(&lg->attempting[idx], s);
        if (s % 11 == 0) { /* zero-copy sends too */
            dragon_alloc_t al;
            void *ptr;
            if (dragon_pool_alloc(q, l, -1, &al) || dragon_alloc_ptr(q, al, &ptr))
                _exit(2);
            memcpy(ptr, b, l);
            if (dragon_channel_send_alloc(x, al, l, -1))
                _exit(3);
        } else if (dragon_channel_send(x, b, l, -1)) {
            _exit(4);
        }
        atomic_store(&lg->acked[idx], s);
    }
}

static void rk_consumer(const desc_t *dp, const desc_t *dc, uint64_t puid, int idx, rk_log_t *lg)
{
    dragon_pool_t *q;
    dragon_channel_t *x = child_attach(dp, dc, puid, &q);
    uint8_t *b = malloc(1 << 16);
    for (uint32_t i = 0;; i++) {
        mhdr_t hh;
        int rc = recv_checked(q, x, b, i % 2, &hh);
        if (rc)
            _exit(rc);
        uint32_t k = atomic_load(&lg->n[idx]);
        if (k >= RK_MAXREC)
            _exit(7);
        lg->recs[idx][k] = (rec_t){(uint16_t)hh.producer, hh.seq};
        atomic_store(&lg->n[idx], k + 1);
    }
}

static void test_random_kills(dragon_pool_t *p)
{
    enum { ROUNDS = 30 };
    uint64_t f_before = free_bytes(p);
    dragon_channel_t *ch;
    T_OK(dragon_channel_create(p, 8, BS, &ch));
    uint64_t f0 = free_bytes(p);
    desc_t dp = pool_desc(p), dc = chan_desc(ch);
    dg__channel_t *c = chan_rec(p, &dc);
    rk_log_t *lg = mmap(NULL, sizeof(rk_log_t), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    T_ASSERT(lg != MAP_FAILED);
    uint32_t *drained = malloc(RK_MAXREC * sizeof(rec_t));
    uint8_t *buf = malloc(1 << 16);
    srand((unsigned)getpid());
    for (int round = 0; round < ROUNDS; round++) {
        memset(lg, 0, offsetof(rk_log_t, recs));
        pid_t pids[RK_PROD + RK_CONS];
        uint64_t puids[RK_PROD + RK_CONS];
        for (int i = 0; i < RK_PROD + RK_CONS; i++) {
            puids[i] = 1000 + (uint64_t)round * 10 + (uint64_t)i;
            pids[i] = fork_child();
            if (pids[i] == 0) {
                if (i < RK_PROD)
                    rk_producer(&dp, &dc, puids[i], i, (uint32_t)i, lg);
                else
                    rk_consumer(&dp, &dc, puids[i], i - RK_PROD, lg);
            }
        }
        sleep_us(2000 + rand() % 25000);
        /* kill in a random order with random small gaps */
        for (int i = 0; i < RK_PROD + RK_CONS; i++) {
            int j = i + rand() % (RK_PROD + RK_CONS - i);
            pid_t tp = pids[i];
            pids[i] = pids[j];
            pids[j] = tp;
            uint64_t tu = puids[i];
            puids[i] = puids[j];
            puids[j] = tu;
        }
        for (int i = 0; i < RK_PROD + RK_CONS; i++) {
            kill(pids[i], SIGKILL);
            if (rand() % 2)
                sleep_us(rand() % 500);
        }
        for (int i = 0; i < RK_PROD + RK_CONS; i++) {
            int code = wait_exit(pids[i]);
            if (code != 128 + SIGKILL) {
                fprintf(stderr, "round %d: child exited %d\n", round, code);
                exit(1);
            }
        }
        for (int i = 0; i < RK_PROD + RK_CONS; i++)
            T_OK(dragon_pool_reclaim(p, puids[i], NULL));
        /* drain what is left */
        uint32_t nd = 0;
        rec_t *dr = (rec_t *)drained;
        for (;;) {
            uint64_t len;
            dragonError_t rc = dragon_channel_recv(ch, buf, 1 << 16, &len, 0);
            if (rc == DRAGON_ERR_TIMEOUT)
                break;
            T_OK(rc);
            mhdr_t hh;
            T_ASSERT(check_msg(buf, len, &hh) == 0);
            dr[nd++] = (rec_t){(uint16_t)hh.producer, hh.seq};
        }
        /* verify per producer: no duplicate, order kept per receiver, loss
         * only with a killed receiver, nothing beyond what was attempted */
        for (int pr = 0; pr < RK_PROD; pr++) {
            uint32_t acked = atomic_load(&lg->acked[pr]);
            uint32_t att = atomic_load(&lg->attempting[pr]);
            uint8_t *seen = calloc(att + 2, 1);
            uint32_t received = 0;
            for (int k = 0; k <= RK_CONS; k++) {
                const rec_t *rs = k < RK_CONS ? lg->recs[k] : dr;
                uint32_t nr = k < RK_CONS ? atomic_load(&lg->n[k]) : nd;
                uint32_t last = 0;
                for (uint32_t j = 0; j < nr; j++) {
                    if (rs[j].producer != pr)
                        continue;
                    uint32_t s = rs[j].seq;
                    if (s < 1 || s > att || seen[s] || s <= last) {
                        fprintf(stderr,
                                "round %d producer %d: seq %u (receiver %d, last %u, attempted "
                                "%u, %s)\n",
                                round, pr, s, k, last, att, seen[s] ? "duplicate" : "bad");
                        exit(1);
                    }
                    seen[s] = 1;
                    last = s;
                    received++;
                }
            }
            /* every acknowledged message arrived, except at most one per
             * killed receiver (taken, not yet logged) */
            uint32_t missing = 0;
            for (uint32_t s = 1; s <= acked; s++)
                missing += !seen[s];
            if (missing > RK_CONS) {
                fprintf(stderr, "round %d producer %d: %u acknowledged messages missing\n", round,
                        pr, missing);
                exit(1);
            }
            free(seen);
        }
        /* no registration of a dead process is left for signals to pay for
         * (`sleepers`, the drain count, may stay high if a kill landed
         * inside a registration: destroy's bounded wait covers that) */
        T_ASSERT(atomic_load(&c->readable.sleep_mask) == 0 && atomic_load(&c->readable.extra) == 0);
        T_ASSERT(atomic_load(&c->writable.sleep_mask) == 0 && atomic_load(&c->writable.extra) == 0);
        for (int i = 0; i < DG_EVENT_SLEEPERS; i++)
            T_ASSERT(atomic_load(&c->readable.sleeper[i]) == 0 &&
                     atomic_load(&c->writable.sleeper[i]) == 0);
        if (free_bytes(p) != f0) {
            fprintf(stderr, "round %d: free bytes %llu, want %llu\n", round,
                    (unsigned long long)free_bytes(p), (unsigned long long)f0);
            exit(1);
        }
        /* the channel still works */
        send_msg(ch, 9, 1, 30);
        send_msg(ch, 9, 2, LARGE);
        uint32_t got[4];
        T_ASSERT(drain(ch, 9, got, 4) == 2 && got[0] == 1 && got[1] == 2);
    }
    T_OK(dragon_channel_destroy(ch));
    T_ASSERT(free_bytes(p) == f_before);
    munmap(lg, sizeof(rk_log_t));
    free(drained);
    free(buf);
}

int main(void)
{
    alarm(120); /* a wedged channel shows up as a hang: fail instead */
    g_rtid = t_rtid();
    dragon_pool_t *p = make_pool(1, POOL_BYTES), *other = make_pool(2, 1u << 20);
    uint64_t f0 = free_bytes(p);
    test_basic(p);
    test_waits(p);
    test_mpmc(p);
    test_destroy(p);
    test_bad_input(p, other);
    test_crash_points(p);
    test_killed_asleep(p);
    test_random_kills(p);
    T_ASSERT(free_bytes(p) == f0);
    T_OK(dragon_pool_destroy(p));
    T_OK(dragon_pool_destroy(other));
    t_check_no_segments(g_rtid);
    printf("channel_test: ok\n");
    return 0;
}
