/* Descriptors are untrusted bytes: every corruption gives a clear error
 * code, never a crash; valid ones round-trip exactly. */
#include "pool_check.h"

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Re-seals a hand-edited descriptor with a valid checksum, so the field
 * checks behind the checksum are what gets tested. */
static void reseal(uint8_t *b)
{
    uint64_t h = fnv(b, 88);
    for (int i = 0; i < 8; i++)
        b[88 + i] = (uint8_t)(h >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static const dg__desc_t sample_alloc = {
    .kind = DRAGON_DESC_ALLOC, .uid = 1000, .rtid = 0x1234abcd, .pool_id = 7, .host_id = 3,
    .segment_bytes = 1 << 24, .offset = 4096 + 64, .size = 999, .gen = 42, .extra = 0,
};

static void test_roundtrip(void)
{
    for (uint32_t kind = DRAGON_DESC_POOL; kind <= DRAGON_DESC_SYNC; kind++) {
        dg__desc_t d = sample_alloc, out;
        d.kind = kind;
        if (kind == DRAGON_DESC_POOL)
            d.offset = d.size = d.gen = 0;
        if (kind == DRAGON_DESC_SYNC)
            d.extra = 5;
        uint8_t b[DRAGON_DESC_BYTES];
        size_t len = 0;
        T_OK(dg__desc_encode(&d, b, sizeof b, &len));
        T_ASSERT(len == DRAGON_DESC_BYTES);
        T_ASSERT(memcmp(b, "DGN1", 4) == 0);
        T_ASSERT(b[4] == DRAGON_LAYOUT_VERSION && b[5] == 0); /* little-endian u16 */
        T_ASSERT(b[6] == kind && b[7] == 0);
        T_OK(dg__desc_decode(b, len, 0, &out));
        T_ASSERT(memcmp(&d, &out, sizeof d) == 0);
        T_OK(dg__desc_decode(b, len, kind, &out));
        T_EXPECT(dg__desc_decode(b, len, kind == 1 ? 2 : 1, &out), DRAGON_ERR_WRONG_KIND);

        uint32_t k;
        uint64_t r, id, host;
        T_OK(dragon_desc_inspect(b, len, &k, &r, &id, &host));
        T_ASSERT(k == kind && r == d.rtid && id == d.pool_id && host == d.host_id);
        T_OK(dragon_desc_inspect(b, len, NULL, NULL, NULL, NULL));
        uint8_t pd[DRAGON_DESC_BYTES + 4];
        T_OK(dragon_desc_pool(b, len, pd, sizeof pd, &len));
        T_OK(dg__desc_decode(pd, len, DRAGON_DESC_POOL, &out));
        T_ASSERT(out.rtid == d.rtid && out.pool_id == d.pool_id && out.host_id == d.host_id &&
                 out.uid == d.uid && out.segment_bytes == d.segment_bytes && out.offset == 0);
        T_EXPECT(dragon_desc_pool(b, DRAGON_DESC_BYTES, pd, DRAGON_DESC_BYTES - 1, &len),
                 DRAGON_ERR_BUFFER_TOO_SMALL);
    }
    uint8_t b[DRAGON_DESC_BYTES];
    T_EXPECT(dg__desc_encode(&sample_alloc, b, sizeof b - 1, NULL), DRAGON_ERR_BUFFER_TOO_SMALL);
    T_EXPECT(dg__desc_decode(NULL, 96, 0, NULL), DRAGON_ERR_INVALID_ARGUMENT);
    T_EXPECT(dragon_desc_inspect(NULL, 96, NULL, NULL, NULL, NULL), DRAGON_ERR_INVALID_ARGUMENT);
}

static void test_corruptions(void)
{
    uint8_t good[DRAGON_DESC_BYTES], b[DRAGON_DESC_BYTES + 1];
    size_t len;
    dg__desc_t out;
    T_OK(dg__desc_encode(&sample_alloc, good, sizeof good, &len));

    /* truncated or with trailing bytes */
    for (size_t l = 0; l <= DRAGON_DESC_BYTES + 1; l++) {
        memset(b, 0, sizeof b);
        memcpy(b, good, l < DRAGON_DESC_BYTES ? l : DRAGON_DESC_BYTES);
        dragonError_t rc = dg__desc_decode(b, l, 0, &out);
        T_ASSERT(l == DRAGON_DESC_BYTES ? rc == DRAGON_OK : rc == DRAGON_ERR_BAD_DESCRIPTOR);
    }
    /* every single bit flipped */
    for (size_t i = 0; i < DRAGON_DESC_BYTES; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, good, DRAGON_DESC_BYTES);
            b[i] ^= (uint8_t)(1u << bit);
            dragonError_t rc = dg__desc_decode(b, DRAGON_DESC_BYTES, 0, &out);
            dragonError_t want = (i == 4 || i == 5) ? DRAGON_ERR_VERSION_MISMATCH
                                                    : DRAGON_ERR_BAD_DESCRIPTOR;
            if (rc != want) {
                fprintf(stderr, "byte %zu bit %d: %s\n", i, bit, dragon_errname(rc));
                T_ASSERT(0);
            }
            uint32_t k;
            T_EXPECT(dragon_desc_inspect(b, DRAGON_DESC_BYTES, &k, NULL, NULL, NULL), want);
        }
    }
    /* garbage */
    for (int i = 0; i < 200000; i++) {
        for (size_t j = 0; j < DRAGON_DESC_BYTES; j += 8)
            put64(b + j, t_rand());
        if (i % 2)
            memcpy(b, "DGN1\x01\x00", 6); /* get past the cheap checks */
        size_t l = i % 7 == 0 ? t_rand() % (DRAGON_DESC_BYTES + 1) : DRAGON_DESC_BYTES;
        T_ASSERT(dg__desc_decode(b, l, 0, &out) != DRAGON_OK);
    }
    /* another layout version, even correctly sealed */
    memcpy(b, good, DRAGON_DESC_BYTES);
    b[4] = DRAGON_LAYOUT_VERSION + 1;
    reseal(b);
    T_EXPECT(dg__desc_decode(b, DRAGON_DESC_BYTES, 0, &out), DRAGON_ERR_VERSION_MISMATCH);
    T_EXPECT(dragon_desc_inspect(b, DRAGON_DESC_BYTES, NULL, NULL, NULL, NULL),
             DRAGON_ERR_VERSION_MISMATCH);
    uint8_t pd[DRAGON_DESC_BYTES];
    T_EXPECT(dragon_desc_pool(b, DRAGON_DESC_BYTES, pd, sizeof pd, &len),
             DRAGON_ERR_VERSION_MISMATCH);
}

/* Correct checksum, insane fields: the checks behind the checksum. */
static void test_sealed_nonsense(void)
{
    uint8_t good[DRAGON_DESC_BYTES], b[DRAGON_DESC_BYTES];
    size_t len;
    dg__desc_t out;
    T_OK(dg__desc_encode(&sample_alloc, good, sizeof good, &len));
    struct {
        size_t at;
        uint64_t v;
        int width;
    } cases[] = {
        {6, 0, 2},                  /* kind 0 */
        {6, 5, 2},                  /* kind beyond SYNC */
        {12, 1, 4},                 /* reserved word */
        {80, 1, 8},                 /* reserved word */
        {16, 0, 8},                 /* rtid 0 */
        {40, 0, 8},                 /* no segment */
        {40, (1 << 24) + 1, 8},     /* segment not whole pages */
        {48, 4096 + 65, 8},         /* misaligned user bytes */
        {48, 0, 8},                 /* no room for the block header */
        {48, (1 << 24), 8},         /* outside the segment */
        {56, (1 << 24), 8},         /* runs past the segment */
        {56, UINT64_MAX, 8},        /* offset + size overflows */
        {64, 0, 8},                 /* gen 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, good, sizeof b);
        for (int j = 0; j < cases[i].width; j++)
            b[cases[i].at + j] = (uint8_t)(cases[i].v >> (8 * j));
        reseal(b);
        dragonError_t rc = dg__desc_decode(b, sizeof b, 0, &out);
        if (rc != DRAGON_ERR_BAD_DESCRIPTOR) {
            fprintf(stderr, "case %zu: %s\n", i, dragon_errname(rc));
            T_ASSERT(0);
        }
    }
    /* a pool descriptor carries no object fields */
    dg__desc_t d = sample_alloc;
    d.kind = DRAGON_DESC_POOL;
    T_EXPECT(dg__desc_encode(&d, b, sizeof b, &len), DRAGON_ERR_INTERNAL);
    d.offset = d.size = d.gen = 0;
    T_OK(dg__desc_encode(&d, b, sizeof b, &len));
    b[64] = 1; /* gen */
    reseal(b);
    T_EXPECT(dg__desc_decode(b, sizeof b, 0, &out), DRAGON_ERR_BAD_DESCRIPTOR);
}

/* The same rules where descriptors enter the library: attach. */
static void test_attach_checks(void)
{
    uint64_t rtid = t_rtid();
    dragon_pool_t *p = t_pool(rtid, 1, 1 << 20, 1);
    uint8_t pd[DRAGON_DESC_BYTES], ad[DRAGON_DESC_BYTES], b[DRAGON_DESC_BYTES];
    size_t len;
    T_OK(dragon_pool_serialize(p, pd, sizeof pd, &len));
    dragon_alloc_t a, out;
    T_OK(dragon_pool_alloc(p, 100, 0, &a));
    T_OK(dragon_alloc_serialize(p, a, ad, sizeof ad, &len));
    dragon_pool_t *q = NULL;
    /* garbage and truncation */
    memset(b, 0xee, sizeof b);
    T_EXPECT(dragon_pool_attach(b, sizeof b, rtid, 2, &q), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_pool_attach(pd, 40, rtid, 2, &q), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_alloc_attach(p, ad, 95, &out), DRAGON_ERR_BAD_DESCRIPTOR);
    T_EXPECT(dragon_alloc_attach(p, b, sizeof b, &out), DRAGON_ERR_BAD_DESCRIPTOR);
    /* each byte flipped: never attaches, never crashes */
    for (size_t i = 0; i < DRAGON_DESC_BYTES; i++) {
        memcpy(b, pd, sizeof b);
        b[i] ^= 0x40;
        T_ASSERT(dragon_pool_attach(b, sizeof b, rtid, 2, &q) != DRAGON_OK);
        memcpy(b, ad, sizeof b);
        b[i] ^= 0x40;
        T_ASSERT(dragon_alloc_attach(p, b, sizeof b, &out) != DRAGON_OK);
    }
    /* wrong version, foreign run-time, wrong kind */
    memcpy(b, pd, sizeof b);
    b[4] ^= 0x02;
    reseal(b);
    T_EXPECT(dragon_pool_attach(b, sizeof b, rtid, 2, &q), DRAGON_ERR_VERSION_MISMATCH);
    T_EXPECT(dragon_pool_attach(pd, sizeof pd, rtid ^ 0x100, 2, &q), DRAGON_ERR_FOREIGN_RUNTIME);
    T_EXPECT(dragon_pool_attach(ad, sizeof ad, rtid, 2, &q), DRAGON_ERR_WRONG_KIND);
    T_EXPECT(dragon_alloc_attach(p, pd, sizeof pd, &out), DRAGON_ERR_WRONG_KIND);
    /* a sealed allocation descriptor naming a block that is not there */
    dg__desc_t d;
    T_OK(dg__desc_decode(ad, sizeof ad, DRAGON_DESC_ALLOC, &d));
    d.offset += 128;
    T_OK(dg__desc_encode(&d, b, sizeof b, &len));
    T_EXPECT(dragon_alloc_attach(p, b, sizeof b, &out), DRAGON_ERR_DESTROYED);
    d.offset = (1 << 20) + 64; /* past the heap, still inside the segment */
    T_OK(dg__desc_encode(&d, b, sizeof b, &len));
    T_EXPECT(dragon_alloc_attach(p, b, sizeof b, &out), DRAGON_ERR_BAD_DESCRIPTOR);
    d.offset -= (1 << 20);
    d.size = 5; /* does not match the block */
    T_OK(dg__desc_encode(&d, b, sizeof b, &len));
    T_EXPECT(dragon_alloc_attach(p, b, sizeof b, &out), DRAGON_ERR_BAD_DESCRIPTOR);
    T_OK(dragon_alloc_attach(p, ad, sizeof ad, &out));
    T_ASSERT(out.offset == a.offset && out.gen == a.gen && out.size == 100);
    T_OK(dragon_pool_free(p, a));
    T_OK(dragon_pool_destroy(p));
    T_ASSERT(t_shm_count(rtid) == 0);
}

int main(void)
{
    t_rand_state ^= (uint64_t)getpid() << 20;
    test_roundtrip();
    test_corruptions();
    test_sealed_nonsense();
    test_attach_checks();
    printf("desc_test: all passed\n");
    return 0;
}
