/* Pool behaviour: create/attach/destroy, allocation patterns, a random
 * stress with full invariant checks, descriptors across fork(), blocking
 * allocation, size limits, stats, lazy initialisation and the /dev/shm
 * space check. Crash recovery is in pool_crash_test.c, a full tmpfs in
 * pool_shmfull_test.c. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "pool_check.h"

static uint64_t rtid;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int wait_child(pid_t pid)
{
    int st;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_create_attach_destroy(void)
{
    dragon_pool_t *p = t_pool(rtid, 3, 1 << 20, 1);
    char name[128];
    T_OK(dragon_pool_name(p, name, sizeof name));
    /* "/dragon-<user>-<rtid hex>-p<pool_id>" */
    char want_tail[64];
    snprintf(want_tail, sizeof want_tail, "-%llx-p3", (unsigned long long)rtid);
    T_ASSERT(strncmp(name, "/dragon-", 8) == 0);
    T_ASSERT(strlen(name) > strlen(want_tail) &&
             strcmp(name + strlen(name) - strlen(want_tail), want_tail) == 0);
    struct passwd *pw = getpwuid(geteuid());
    if (pw) {
        char want_user[80];
        snprintf(want_user, sizeof want_user, "/dragon-%s-", pw->pw_name);
        T_ASSERT(strncmp(name, want_user, strlen(want_user)) == 0);
    }
    char path[160];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct stat st;
    T_ASSERT(stat(path, &st) == 0);
    T_ASSERT((st.st_mode & 0777) == 0600);
    T_ASSERT(st.st_uid == geteuid());
    char small[4];
    T_EXPECT(dragon_pool_name(p, small, sizeof small), DRAGON_ERR_BUFFER_TOO_SMALL);

    uint64_t r, id;
    T_OK(dragon_pool_ids(p, &r, &id));
    T_ASSERT(r == rtid && id == 3);

    /* same ids again: the name is taken */
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = 3, .bytes = 1 << 20};
    dragon_pool_t *dup = NULL;
    T_EXPECT(dragon_pool_create(&a, &dup), DRAGON_ERR_EXISTS);
    a.rtid = 0;
    T_EXPECT(dragon_pool_create(&a, &dup), DRAGON_ERR_INVALID_ARGUMENT);
    a.rtid = rtid;
    a.pool_id = 99;
    a.bytes = 100; /* below the minimum block */
    T_EXPECT(dragon_pool_create(&a, &dup), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_pool_create(NULL, &dup), DRAGON_ERR_INVALID_ARGUMENT);

    uint8_t desc[DRAGON_DESC_BYTES + 8];
    size_t len = 0;
    T_EXPECT(dragon_pool_serialize(p, desc, 10, &len), DRAGON_ERR_BUFFER_TOO_SMALL);
    T_OK(dragon_pool_serialize(p, desc, sizeof desc, &len));
    T_ASSERT(len == DRAGON_DESC_BYTES);

    dragon_pool_t *q = NULL;
    T_EXPECT(dragon_pool_attach(desc, len, rtid + 1, 2, &q), DRAGON_ERR_FOREIGN_RUNTIME);
    T_EXPECT(dragon_pool_attach(desc, len - 1, rtid, 2, &q), DRAGON_ERR_BAD_DESCRIPTOR);
    T_OK(dragon_pool_attach(desc, len, rtid, 2, &q));
    dragon_pool_t *any = NULL;
    T_OK(dragon_pool_attach(desc, len, 0, 2, &any)); /* 0: any run-time */
    T_OK(dragon_pool_detach(any));

    /* a second mapping sees the same memory */
    dragon_alloc_t al;
    T_OK(dragon_pool_alloc(p, 1000, 0, &al));
    void *pp, *qp;
    T_OK(dragon_alloc_ptr(p, al, &pp));
    T_OK(dragon_alloc_ptr(q, al, &qp));
    T_ASSERT(pp != qp);
    memset(pp, 0x5a, 1000);
    T_ASSERT(((uint8_t *)qp)[999] == 0x5a);
    T_OK(dragon_pool_free(q, al));

    /* an allocation descriptor is not a pool descriptor */
    T_OK(dragon_pool_alloc(p, 10, 0, &al));
    uint8_t adesc[DRAGON_DESC_BYTES];
    T_OK(dragon_alloc_serialize(p, al, adesc, sizeof adesc, &len));
    dragon_pool_t *x = NULL;
    T_EXPECT(dragon_pool_attach(adesc, len, rtid, 2, &x), DRAGON_ERR_WRONG_KIND);
    T_OK(dragon_pool_free(p, al));

    /* a descriptor whose size does not match the segment */
    dg__desc_t d;
    T_OK(dg__desc_decode(desc, DRAGON_DESC_BYTES, DRAGON_DESC_POOL, &d));
    d.segment_bytes += 4096;
    uint8_t bad[DRAGON_DESC_BYTES];
    T_OK(dg__desc_encode(&d, bad, sizeof bad, &len));
    T_EXPECT(dragon_pool_attach(bad, len, rtid, 2, &x), DRAGON_ERR_BAD_DESCRIPTOR);
    /* ... or names a pool that does not exist */
    d.segment_bytes -= 4096;
    d.pool_id = 12345;
    T_OK(dg__desc_encode(&d, bad, sizeof bad, &len));
    T_EXPECT(dragon_pool_attach(bad, len, rtid, 2, &x), DRAGON_ERR_NOT_FOUND);

    /* a segment of the right name owned by someone else is never mapped */
    if (geteuid() == 0) {
        T_ASSERT(chown(path, 65534, 65534) == 0);
        T_EXPECT(dragon_pool_attach(desc, DRAGON_DESC_BYTES, rtid, 2, &x),
                 DRAGON_ERR_PERMISSION);
        T_ASSERT(chown(path, 0, 0) == 0);
    }

    /* detach refuses while a waiter watches the pool */
    atomic_store(&q->watchers, 1);
    T_EXPECT(dragon_pool_detach(q), DRAGON_ERR_BUSY);
    atomic_store(&q->watchers, 0);

    T_OK(dragon_pool_destroy(p));
    T_ASSERT(stat(path, &st) != 0 && errno == ENOENT);
    T_EXPECT(dragon_pool_attach(desc, DRAGON_DESC_BYTES, rtid, 2, &x), DRAGON_ERR_NOT_FOUND);
    /* the other mapping stays valid but refuses to allocate */
    T_EXPECT(dragon_pool_alloc(q, 10, 0, &al), DRAGON_ERR_DESTROYED);
    T_OK(dragon_pool_detach(q));
    T_EXPECT(dragon_pool_detach(NULL), DRAGON_ERR_INVALID_ARGUMENT);
}

static void test_alloc_patterns(void)
{
    dragon_pool_t *p = t_pool(rtid, 4, 1 << 20, 5);
    uint64_t start = t_free_bytes(p);
    T_ASSERT(start == 1 << 20);
    uint64_t sizes[] = {0, 1, 63, 64, 65, 127, 128, 1000, 4096, 65536 - 64, 65536, 200000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    dragon_alloc_t al[N];
    for (int i = 0; i < N; i++) {
        T_OK(dragon_pool_alloc(p, sizes[i], 0, &al[i]));
        T_ASSERT(al[i].offset % 64 == 0);
        T_ASSERT(al[i].size == sizes[i]);
        void *ptr;
        T_OK(dragon_alloc_ptr(p, al[i], &ptr));
        T_ASSERT((uintptr_t)ptr % 64 == 0);
        memset(ptr, i + 1, sizes[i]);
        dg__block_hdr_t *blk;
        T_OK(dg__pool_block(p, al[i].offset, al[i].gen, DG_KIND_USER, &blk));
        T_ASSERT(blk->owner == DG_OWNER_PROC(5));
        T_ASSERT(blk->size == sizes[i]);
        T_EXPECT(dg__pool_block(p, al[i].offset, al[i].gen, DG_KIND_CHANNEL, &blk),
                 DRAGON_ERR_WRONG_KIND);
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            T_ASSERT(al[i].gen != al[j].gen);
    T_ASSERT(t_check_pool(p) == N);
    /* contents survive the other allocations (no overlap) */
    for (int i = 0; i < N; i++) {
        uint8_t *ptr;
        T_OK(dragon_alloc_ptr(p, al[i], (void **)&ptr));
        for (uint64_t b = 0; b < sizes[i]; b++)
            T_ASSERT(ptr[b] == (uint8_t)(i + 1));
    }
    T_OK(dragon_alloc_set_owner(p, al[0], 0));
    dg__block_hdr_t *blk;
    T_OK(dg__pool_block(p, al[0].offset, al[0].gen, 0, &blk));
    T_ASSERT(blk->owner == DG_OWNER_NONE);
    T_OK(dragon_alloc_set_owner(p, al[0], 77));
    T_ASSERT(blk->owner == DG_OWNER_PROC(77));

    /* double free and stale handles */
    dragon_alloc_t old = al[3];
    T_OK(dragon_pool_free(p, al[3]));
    T_EXPECT(dragon_pool_free(p, old), DRAGON_ERR_DESTROYED);
    void *ptr;
    T_EXPECT(dragon_alloc_ptr(p, old, &ptr), DRAGON_ERR_DESTROYED);
    T_EXPECT(dragon_alloc_set_owner(p, old, 1), DRAGON_ERR_DESTROYED);
    /* the same block handed out again: the old handle still fails */
    T_OK(dragon_pool_alloc(p, sizes[3], 0, &al[3]));
    T_ASSERT(al[3].offset == old.offset && al[3].gen != old.gen);
    T_EXPECT(dragon_pool_free(p, old), DRAGON_ERR_DESTROYED);
    T_OK(dg__pool_block(p, al[3].offset, al[3].gen, 0, &blk));
    /* nonsense offsets */
    dragon_alloc_t bogus = {.offset = 12, .size = 1, .gen = 1};
    T_EXPECT(dragon_pool_free(p, bogus), DRAGON_ERR_INVALID_ARGUMENT);
    bogus.offset = (1 << 20) + 64;
    T_EXPECT(dragon_pool_free(p, bogus), DRAGON_ERR_INVALID_ARGUMENT);
    bogus.offset = al[5].offset + 128; /* inside a live block */
    T_EXPECT(dragon_pool_free(p, bogus), DRAGON_ERR_DESTROYED);
    bogus = al[5];
    bogus.gen += 1000;
    T_EXPECT(dragon_pool_free(p, bogus), DRAGON_ERR_DESTROYED);
    T_ASSERT(t_check_pool(p) == N);

    for (int i = N - 1; i >= 0; i--)
        T_OK(dragon_pool_free(p, al[i]));
    T_ASSERT(t_check_pool(p) == 0);
    T_ASSERT(t_free_bytes(p) == start);
    /* everything merged back: the whole heap in one allocation */
    dragon_alloc_t big;
    T_OK(dragon_pool_alloc(p, (1 << 20) - 64, 0, &big));
    T_EXPECT(dragon_pool_alloc(p, 0, 0, &al[0]), DRAGON_ERR_TIMEOUT);
    T_OK(dragon_pool_free(p, big));
    T_OK(dragon_pool_destroy(p));
}

/* Random alloc/free on a heap made of several top-level blocks, checking
 * every invariant along the way and the contents of every live block. */
static void test_stress(void)
{
    uint64_t heap = (4u << 20) + (256u << 10) + 384; /* 3 top-level blocks + 2 */
    dragon_pool_t *p = t_pool(rtid, 5, heap, 0);
    uint64_t start = t_free_bytes(p);
    T_ASSERT(start == heap);
    t_check_pool(p);
    enum { LIVE = 300, OPS = 20000 };
    dragon_alloc_t live[LIVE];
    int n = 0;
    for (int op = 0; op < OPS; op++) {
        int do_alloc = n == 0 || (n < LIVE && t_rand() % 100 < 55);
        if (do_alloc) {
            uint64_t r = t_rand();
            uint64_t size = (r % 4 == 0) ? r % 70000 : (r >> 8) % 2000;
            dragon_alloc_t a;
            dragonError_t rc = dragon_pool_alloc(p, size, 0, &a);
            if (rc == DRAGON_ERR_TIMEOUT)
                continue; /* full for now */
            T_OK(rc);
            uint8_t *ptr;
            T_OK(dragon_alloc_ptr(p, a, (void **)&ptr));
            memset(ptr, (int)(a.gen & 0xff), size);
            live[n++] = a;
        } else {
            int i = (int)(t_rand() % (uint64_t)n);
            uint8_t *ptr;
            T_OK(dragon_alloc_ptr(p, live[i], (void **)&ptr));
            for (uint64_t b = 0; b < live[i].size; b += 61)
                T_ASSERT(ptr[b] == (uint8_t)(live[i].gen & 0xff));
            if (live[i].size)
                T_ASSERT(ptr[live[i].size - 1] == (uint8_t)(live[i].gen & 0xff));
            T_OK(dragon_pool_free(p, live[i]));
            live[i] = live[--n];
        }
        if (op % 500 == 0)
            T_ASSERT(t_check_pool(p) == (uint64_t)n);
    }
    while (n > 0)
        T_OK(dragon_pool_free(p, live[--n]));
    T_ASSERT(t_check_pool(p) == 0);
    T_ASSERT(t_free_bytes(p) == start);
    /* merges complete: the largest top-level block is one allocation again */
    dragon_alloc_t a;
    T_OK(dragon_pool_alloc(p, (4u << 20) - 64, 0, &a));
    T_EXPECT(dragon_pool_alloc(p, (4u << 20) - 63, 0, &a), DRAGON_ERR_TOO_LARGE);
    T_OK(dragon_pool_destroy(p));
}

static void test_fork_descriptors(void)
{
    dragon_pool_t *p = t_pool(rtid, 6, 1 << 20, 1);
    uint8_t pdesc[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_pool_serialize(p, pdesc, sizeof pdesc, &len));
    dragon_alloc_t mine;
    T_OK(dragon_pool_alloc(p, 5000, 0, &mine));
    uint8_t mdesc[DRAGON_DESC_BYTES];
    T_OK(dragon_alloc_serialize(p, mine, mdesc, sizeof mdesc, &len));
    int to_parent[2];
    T_ASSERT(pipe(to_parent) == 0);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        /* a separate process: attach from the bytes only */
        dragon_pool_t *q;
        dragon_alloc_t a, theirs;
        uint8_t *ptr;
        uint8_t d[DRAGON_DESC_BYTES];
        size_t l;
        if (dragon_pool_attach(pdesc, sizeof pdesc, rtid, 7, &q) != DRAGON_OK ||
            dragon_alloc_attach(q, mdesc, sizeof mdesc, &theirs) != DRAGON_OK ||
            dragon_alloc_ptr(q, theirs, (void **)&ptr) != DRAGON_OK)
            _exit(2);
        for (int i = 0; i < 5000; i++)
            ptr[i] = (uint8_t)(i * 7);
        if (dragon_pool_alloc(q, 3000, 0, &a) != DRAGON_OK ||
            dragon_alloc_ptr(q, a, (void **)&ptr) != DRAGON_OK)
            _exit(3);
        for (int i = 0; i < 3000; i++)
            ptr[i] = (uint8_t)(i * 13 + 1);
        if (dragon_alloc_serialize(q, a, d, sizeof d, &l) != DRAGON_OK ||
            write(to_parent[1], d, l) != (ssize_t)l)
            _exit(4);
        if (dragon_pool_detach(q) != DRAGON_OK)
            _exit(5);
        _exit(0);
    }
    close(to_parent[1]);
    uint8_t d[DRAGON_DESC_BYTES];
    T_ASSERT(read(to_parent[0], d, sizeof d) == (ssize_t)sizeof d);
    close(to_parent[0]);
    T_ASSERT(wait_child(pid) == 0);

    uint8_t *ptr;
    T_OK(dragon_alloc_ptr(p, mine, (void **)&ptr));
    for (int i = 0; i < 5000; i++)
        T_ASSERT(ptr[i] == (uint8_t)(i * 7));
    dragon_alloc_t got;
    T_OK(dragon_alloc_attach(p, d, sizeof d, &got));
    T_ASSERT(got.size == 3000);
    T_OK(dragon_alloc_ptr(p, got, (void **)&ptr));
    for (int i = 0; i < 3000; i++)
        T_ASSERT(ptr[i] == (uint8_t)(i * 13 + 1));
    dg__block_hdr_t *blk;
    T_OK(dg__pool_block(p, got.offset, got.gen, DG_KIND_USER, &blk));
    T_ASSERT(blk->owner == DG_OWNER_PROC(7)); /* recorded for reclaim */

    /* the descriptor of a pool is derivable from the allocation's */
    uint8_t pd2[DRAGON_DESC_BYTES];
    T_OK(dragon_desc_pool(d, sizeof d, pd2, sizeof pd2, &len));
    T_ASSERT(len == DRAGON_DESC_BYTES && memcmp(pd2, pdesc, len) == 0);
    uint32_t kind;
    uint64_t r, id, host;
    T_OK(dragon_desc_inspect(d, sizeof d, &kind, &r, &id, &host));
    T_ASSERT(kind == DRAGON_DESC_ALLOC && r == rtid && id == 6 && host == 0);

    /* an allocation descriptor of another pool is refused */
    dragon_pool_t *other = t_pool(rtid, 16, 1 << 20, 1);
    T_EXPECT(dragon_alloc_attach(other, d, sizeof d, &got), DRAGON_ERR_BAD_DESCRIPTOR);
    T_OK(dragon_pool_destroy(other));

    T_OK(dragon_pool_free(p, got));
    /* ... and once freed, its descriptor is stale */
    T_EXPECT(dragon_alloc_attach(p, d, sizeof d, &got), DRAGON_ERR_DESTROYED);
    T_EXPECT(dragon_alloc_serialize(p, got, d, sizeof d, &len), DRAGON_ERR_DESTROYED);
    T_OK(dragon_pool_free(p, mine));
    T_OK(dragon_pool_destroy(p));
}

static void fill(dragon_pool_t *p, dragon_alloc_t *al, int *n, int max, uint64_t size)
{
    *n = 0;
    for (;;) {
        T_ASSERT(*n < max);
        dragonError_t rc = dragon_pool_alloc(p, size, 0, &al[*n]);
        if (rc == DRAGON_ERR_TIMEOUT)
            return;
        T_OK(rc);
        (*n)++;
    }
}

static void test_blocking(void)
{
    dragon_pool_t *p = t_pool(rtid, 7, 64 << 10, 1);
    dragon_alloc_t al[64], a;
    int n;
    fill(p, al, &n, 64, 4000);
    T_ASSERT(n == 16);
    /* timeout 0: one try */
    T_EXPECT(dragon_pool_alloc(p, 4000, 0, &a), DRAGON_ERR_TIMEOUT);
    /* a short timeout expires */
    T_EXPECT(dragon_pool_alloc(p, 4000, 20000, &a), DRAGON_ERR_TIMEOUT);
    /* too large never waits, even forever */
    T_EXPECT(dragon_pool_alloc(p, 64 << 10, DRAGON_WAIT_FOREVER, &a), DRAGON_ERR_TOO_LARGE);
    T_EXPECT(dragon_pool_alloc(p, UINT64_MAX, DRAGON_WAIT_FOREVER, &a), DRAGON_ERR_TOO_LARGE);
    T_EXPECT(dragon_pool_alloc(p, UINT64_MAX - 63, DRAGON_WAIT_FOREVER, &a),
             DRAGON_ERR_TOO_LARGE);

    /* another process frees after 50 ms: the blocked allocation succeeds */
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        sleep_ms(50);
        _exit(dragon_pool_free(p, al[7]) == DRAGON_OK ? 0 : 1);
    }
    T_OK(dragon_pool_alloc(p, 4000, 10 * 1000 * 1000, &a));
    T_ASSERT(wait_child(pid) == 0);
    T_ASSERT(a.offset == al[7].offset);
    al[7] = a;

    /* a process killed while asleep in an allocation: reclaim drops its
     * registration, so later frees do not keep paying for a dead sleeper */
    uint8_t pdesc[DRAGON_DESC_BYTES];
    size_t plen;
    T_OK(dragon_pool_serialize(p, pdesc, sizeof pdesc, &plen));
    T_ASSERT(atomic_load(&p->hdr->free_ev.sleepers) == 0);
    pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        dragon_pool_t *q;
        dragon_alloc_t b;
        if (dragon_pool_attach(pdesc, plen, rtid, 31, &q) != DRAGON_OK)
            _exit(2);
        dragon_pool_alloc(q, 4000, DRAGON_WAIT_FOREVER, &b);
        _exit(3);
    }
    for (int i = 0; i < 5000 && atomic_load(&p->hdr->free_ev.sleepers) == 0; i++)
        sleep_ms(1);
    T_ASSERT(atomic_load(&p->hdr->free_ev.sleepers) == 1);
    T_ASSERT(kill(pid, SIGKILL) == 0);
    T_ASSERT(wait_child(pid) == 128 + SIGKILL);
    T_OK(dragon_pool_reclaim(p, 31, NULL));
    T_ASSERT(atomic_load(&p->hdr->free_ev.sleepers) == 0);

    /* a process blocked forever on a full pool is released by destroy */
    uint8_t desc[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_pool_serialize(p, desc, sizeof desc, &len));
    int ready[2];
    T_ASSERT(pipe(ready) == 0);
    pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        dragon_pool_t *q;
        dragon_alloc_t b;
        if (dragon_pool_attach(desc, len, rtid, 9, &q) != DRAGON_OK)
            _exit(2);
        if (write(ready[1], "x", 1) != 1)
            _exit(3);
        dragonError_t rc = dragon_pool_alloc(q, 4000, DRAGON_WAIT_FOREVER, &b);
        dragon_pool_detach(q);
        _exit(rc == DRAGON_ERR_DESTROYED ? 0 : 10 + (int)rc);
    }
    char c;
    T_ASSERT(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    close(ready[1]);
    sleep_ms(30);
    T_OK(dragon_pool_destroy(p));
    T_ASSERT(wait_child(pid) == 0);
}

static void test_stats(void)
{
    dragon_pool_t *p = t_pool(rtid, 8, 1 << 20, 0);
    dragon_pool_stats_t s;
    T_OK(dragon_pool_stats(p, &s));
    T_ASSERT(s.total_bytes == 1 << 20 && s.free_bytes == 1 << 20 && s.num_allocs == 0);
    T_ASSERT(s.utilization == 0.0);
    T_ASSERT(s.segment_bytes > s.total_bytes);
    void *base;
    uint64_t mlen;
    T_OK(dragon_pool_mapping(p, &base, &mlen));
    T_ASSERT(base != NULL && mlen == s.segment_bytes);
    dragon_alloc_t a, b;
    T_OK(dragon_pool_alloc(p, (256 << 10) - 64, 0, &a)); /* exactly a quarter */
    T_OK(dragon_pool_alloc(p, 100, 0, &b));              /* one 256-byte block */
    T_OK(dragon_pool_stats(p, &s));
    T_ASSERT(s.num_allocs == 2);
    T_ASSERT(s.free_bytes == (1 << 20) - (256 << 10) - 256);
    T_ASSERT(s.utilization > 0.25 && s.utilization < 0.26);
    T_OK(dragon_pool_free(p, a));
    T_OK(dragon_pool_free(p, b));
    T_OK(dragon_pool_stats(p, &s));
    T_ASSERT(s.num_allocs == 0 && s.free_bytes == 1 << 20 && s.utilization == 0.0);
    T_OK(dragon_pool_destroy(p));
}

/* Reclaim without any crash: what the dead puid owned goes, the rest stays. */
static void test_reclaim_owned(void)
{
    dragon_pool_t *p = t_pool(rtid, 9, 1 << 20, 1);
    uint8_t desc[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_pool_serialize(p, desc, sizeof desc, &len));
    dragon_pool_t *q;
    T_OK(dragon_pool_attach(desc, len, rtid, 2, &q));
    uint64_t start = t_free_bytes(p);
    dragon_alloc_t a1, a2, b1, b2, m;
    T_OK(dragon_pool_alloc(p, 100, 0, &a1));
    T_OK(dragon_pool_alloc(q, 100, 0, &b1));
    T_OK(dragon_pool_alloc(q, 5000, 0, &b2));
    T_OK(dragon_pool_alloc(q, 300, 0, &a2));
    T_OK(dragon_alloc_set_owner(q, a2, 1)); /* handed over to puid 1 */
    T_OK(dg__pool_alloc(q, 700, DG_KIND_MSG, DG_OWNER_PROC(2), 0, &m));
    dragon_reclaim_stats_t st;
    T_OK(dragon_pool_reclaim(p, 2, &st));
    T_ASSERT(st.allocs_freed == 3);
    T_ASSERT(st.bytes_freed == 256 + 8192 + 1024);
    void *ptr;
    T_EXPECT(dragon_alloc_ptr(p, b1, &ptr), DRAGON_ERR_DESTROYED);
    T_EXPECT(dragon_alloc_ptr(p, m, &ptr), DRAGON_ERR_DESTROYED);
    T_OK(dragon_alloc_ptr(p, a1, &ptr));
    T_OK(dragon_alloc_ptr(p, a2, &ptr));
    T_ASSERT(t_check_pool(p) == 2);
    T_OK(dragon_pool_reclaim(p, 2, &st));
    T_ASSERT(st.allocs_freed == 0);
    T_EXPECT(dragon_pool_reclaim(p, 0, &st), DRAGON_ERR_INVALID_ARGUMENT);
    T_OK(dragon_pool_reclaim(p, 1, NULL));
    T_ASSERT(t_check_pool(p) == 0);
    T_ASSERT(t_free_bytes(p) == start);
    T_OK(dragon_pool_detach(q));
    T_OK(dragon_pool_destroy(p));
}

/* Several processes allocate and free at once; each checks that its
 * blocks keep their contents (no block handed out twice). */
static void test_concurrent(void)
{
    dragon_pool_t *p = t_pool(rtid, 12, 2 << 20, 0);
    uint8_t desc[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_pool_serialize(p, desc, sizeof desc, &len));
    enum { PROCS = 3, OPS = 20000, LIVE = 32 };
    pid_t pids[PROCS];
    for (int c = 0; c < PROCS; c++) {
        pids[c] = fork();
        T_ASSERT(pids[c] >= 0);
        if (pids[c] != 0)
            continue;
        dragon_pool_t *q;
        if (dragon_pool_attach(desc, len, rtid, 20 + (uint64_t)c, &q) != DRAGON_OK)
            _exit(2);
        dragon_alloc_t live[LIVE];
        int n = 0;
        uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(c + 1);
        for (int op = 0; op < OPS; op++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if (n < LIVE && (n == 0 || s % 2)) {
                uint64_t size = (s >> 20) % ((s & 16) ? 40000 : 700);
                uint8_t *ptr;
                /* block briefly when full: the others free soon */
                if (dragon_pool_alloc(q, size, 100000, &live[n]) != DRAGON_OK)
                    continue;
                if (dragon_alloc_ptr(q, live[n], (void **)&ptr) != DRAGON_OK)
                    _exit(3);
                memset(ptr, (int)((live[n].gen * 31 + (uint64_t)c) & 0xff), size);
                n++;
            } else {
                int i = (int)((s >> 30) % (uint64_t)n);
                uint8_t *ptr;
                uint8_t want = (uint8_t)((live[i].gen * 31 + (uint64_t)c) & 0xff);
                if (dragon_alloc_ptr(q, live[i], (void **)&ptr) != DRAGON_OK)
                    _exit(4);
                for (uint64_t b = 0; b < live[i].size; b++)
                    if (ptr[b] != want)
                        _exit(5);
                if (dragon_pool_free(q, live[i]) != DRAGON_OK)
                    _exit(6);
                live[i] = live[--n];
            }
        }
        while (n > 0)
            if (dragon_pool_free(q, live[--n]) != DRAGON_OK)
                _exit(7);
        _exit(dragon_pool_detach(q) == DRAGON_OK ? 0 : 8);
    }
    for (int c = 0; c < PROCS; c++)
        T_ASSERT(wait_child(pids[c]) == 0);
    T_ASSERT(t_check_pool(p) == 0);
    T_ASSERT(t_free_bytes(p) == 2 << 20);
    T_OK(dragon_pool_destroy(p));
}

/* The free lists are a cache: garbage written over a free block's links (a
 * user overrunning its allocation) is detected against the map and the
 * cache rebuilt, instead of sending the allocator into the weeds. */
static void test_cache_corruption(void)
{
    dragon_pool_t *p = t_pool(rtid, 13, 1 << 20, 0);
    for (int round = 0; round < 200; round++) {
        dragon_alloc_t a[8];
        for (int i = 0; i < 8; i++)
            T_OK(dragon_pool_alloc(p, 100 + 700 * (uint64_t)i, 0, &a[i]));
        for (int i = 0; i < 8; i += 2)
            T_OK(dragon_pool_free(p, a[i]));
        /* scribble over the links of some free block */
        unsigned k = DG_MIN_ORDER + (unsigned)(t_rand() % 8);
        uint64_t victim = p->hdr->free_head[k];
        if (victim != DG_NO_BLOCK) {
            dg__free_links_t *l = (dg__free_links_t *)(p->heap + victim);
            switch (t_rand() % 4) {
            case 0: l->prev = t_rand(); break;
            case 1: l->next = t_rand(); break;
            case 2: l->prev = l->next = victim; break; /* self loop */
            default: l->next = victim; break;
            }
        }
        dragon_alloc_t b[8];
        for (int i = 0; i < 8; i++)
            T_OK(dragon_pool_alloc(p, 100 + 700 * (uint64_t)i, 0, &b[i]));
        for (int i = 0; i < 8; i++) {
            T_OK(dragon_pool_free(p, b[i]));
            if (i % 2)
                T_OK(dragon_pool_free(p, a[i]));
        }
        T_ASSERT(t_check_pool(p) == 0);
        T_ASSERT(t_free_bytes(p) == 1 << 20);
    }
    T_OK(dragon_pool_destroy(p));
}

static uint64_t shm_used(void)
{
    struct statvfs sv;
    T_ASSERT(statvfs("/dev/shm", &sv) == 0);
    return (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

/* Lazy initialisation: an 8 GiB pool reserves its metadata and the chunks
 * it touches, not the heap. */
static void test_lazy_large(void)
{
    struct statvfs sv;
    T_ASSERT(statvfs("/dev/shm", &sv) == 0);
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    uint64_t big = 8ULL << 30;
    if (avail < big + (1ULL << 30)) {
        printf("note: lazy-init check skipped, /dev/shm has only %llu MiB free\n",
               (unsigned long long)(avail >> 20));
        return;
    }
    uint64_t before = shm_used();
    dragon_pool_t *p = t_pool(rtid, 10, big, 1);
    dragon_alloc_t a, b;
    T_OK(dragon_pool_alloc(p, 100, 0, &a));
    T_OK(dragon_pool_alloc(p, (1 << 20) - 64, 0, &b));
    void *ptr;
    T_OK(dragon_alloc_ptr(p, b, &ptr));
    memset(ptr, 1, (1 << 20) - 64);
    uint64_t after = shm_used();
    /* map (64 MiB) + a few 2 MiB chunks; allow for other tests' noise */
    uint64_t used = after > before ? after - before : 0;
    T_ASSERT(used < big / 16);
    T_ASSERT(used >= (big >> DG_MIN_ORDER)); /* the map really is reserved */
    dragon_pool_stats_t s;
    T_OK(dragon_pool_stats(p, &s));
    T_ASSERT(s.total_bytes == big && s.num_allocs == 2);
    T_OK(dragon_pool_free(p, a));
    T_OK(dragon_pool_free(p, b));
    T_ASSERT(t_free_bytes(p) == big);
    T_OK(dragon_pool_destroy(p));
}

/* A pool larger than what /dev/shm has free is refused before anything is
 * created. */
static void test_shm_full_at_create(void)
{
    struct statvfs sv;
    T_ASSERT(statvfs("/dev/shm", &sv) == 0);
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = 11, .bytes = avail + (1ULL << 30)};
    dragon_pool_t *p = NULL;
    T_EXPECT(dragon_pool_create(&a, &p), DRAGON_ERR_SHM_FULL);
    T_ASSERT(p == NULL);
    T_ASSERT(t_shm_count(rtid) == 0);
    a.bytes = 1ULL << 50; /* beyond the largest order */
    T_EXPECT(dragon_pool_create(&a, &p), DRAGON_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    rtid = t_rtid();
    t_rand_state ^= (uint64_t)getpid();
    test_create_attach_destroy();
    test_alloc_patterns();
    test_stress();
    test_fork_descriptors();
    test_blocking();
    test_stats();
    test_reclaim_owned();
    test_concurrent();
    test_cache_corruption();
    test_lazy_large();
    test_shm_full_at_create();
    T_ASSERT(t_shm_count(rtid) == 0);
    printf("pool_test: all passed\n");
    return 0;
}
