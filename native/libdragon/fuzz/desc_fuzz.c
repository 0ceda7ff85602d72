/* Fuzz target for descriptor decoding: descriptors arrive from other
 * processes (channels, the environment), so every byte string must give an
 * error code or a valid descriptor, never a crash, and a valid one must
 * re-encode to the same bytes.
 *
 * Built three ways by fuzz/run-fuzz.sh: with clang -fsanitize=fuzzer
 * (libFuzzer, -DFUZZ_LIBFUZZER), with AFL++ (same entry point), or with any
 * C compiler as a plain driver: `desc_fuzz SECONDS [FILE...]` replays the
 * files, then feeds random bytes and mutations of valid descriptors until
 * the time is up; `desc_fuzz --seeds DIR` writes a seed corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void check_one(const uint8_t *data, size_t size)
{
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(data, size, 0, &d);
    if (rc == DRAGON_OK) {
        /* a valid descriptor is canonical: it re-encodes to itself */
        uint8_t again[DRAGON_DESC_BYTES];
        size_t len = 0;
        if (dg__desc_encode(&d, again, sizeof again, &len) != DRAGON_OK ||
            len != DRAGON_DESC_BYTES || size != DRAGON_DESC_BYTES ||
            memcmp(again, data, DRAGON_DESC_BYTES) != 0)
            abort();
    } else if (rc != DRAGON_ERR_BAD_DESCRIPTOR && rc != DRAGON_ERR_VERSION_MISMATCH &&
               rc != DRAGON_ERR_INVALID_ARGUMENT) {
        abort(); /* no other code makes sense for bytes alone */
    }
    for (uint32_t kind = DRAGON_DESC_POOL; kind <= DRAGON_DESC_SYNC; kind++) {
        dg__desc_t k;
        dragonError_t krc = dg__desc_decode(data, size, kind, &k);
        if (rc == DRAGON_OK && krc != (d.kind == kind ? DRAGON_OK : DRAGON_ERR_WRONG_KIND))
            abort();
        if (rc != DRAGON_OK && krc != rc)
            abort();
    }
    uint32_t kind;
    uint64_t rtid, pool_id, host_id;
    dragonError_t irc = dragon_desc_inspect(data, size, &kind, &rtid, &pool_id, &host_id);
    if (irc != rc || (irc == DRAGON_OK && (kind != d.kind || rtid != d.rtid)))
        abort();
    uint8_t pool[DRAGON_DESC_BYTES];
    size_t plen = 0;
    dragonError_t prc = dragon_desc_pool(data, size, pool, sizeof pool, &plen);
    if (prc != rc)
        abort();
    if (prc == DRAGON_OK) {
        dg__desc_t p;
        if (dg__desc_decode(pool, plen, DRAGON_DESC_POOL, &p) != DRAGON_OK ||
            p.rtid != d.rtid || p.pool_id != d.pool_id || p.host_id != d.host_id ||
            p.segment_bytes != d.segment_bytes || p.uid != d.uid)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    /* A coverage-guided fuzzer almost never guesses a 64-bit checksum, so
     * also check the input re-sealed with a correct one: that reaches the
     * field checks behind the checksum. */
    if (size == DRAGON_DESC_BYTES) {
        uint8_t sealed[DRAGON_DESC_BYTES];
        memcpy(sealed, data, 88);
        uint64_t h = fnv(sealed, 88);
        for (int b = 0; b < 8; b++)
            sealed[88 + b] = (uint8_t)(h >> (8 * b));
        check_one(sealed, sizeof sealed);
    }
    return 0;
}

#ifndef FUZZ_LIBFUZZER
#include <dirent.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Valid descriptors of every kind: the seeds and the mutation bases. */
static size_t make_valid(uint8_t out[][DRAGON_DESC_BYTES], size_t max)
{
    size_t n = 0;
    for (uint32_t kind = DRAGON_DESC_POOL; kind <= DRAGON_DESC_SYNC && n < max; kind++) {
        dg__desc_t d = {.kind = kind, .uid = 1000, .rtid = 0x7e5700aa, .pool_id = kind,
                        .host_id = kind - 1, .segment_bytes = 1 << 24};
        if (kind != DRAGON_DESC_POOL) {
            d.offset = 64 * kind;
            d.size = 100 * kind;
            d.gen = kind;
            d.extra = kind == DRAGON_DESC_SYNC ? 3 : 0;
        }
        size_t len;
        if (dg__desc_encode(&d, out[n], DRAGON_DESC_BYTES, &len) == DRAGON_OK)
            n++;
    }
    return n;
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t valid[8][DRAGON_DESC_BYTES];
    size_t nvalid = make_valid(valid, 8);
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0) {
        for (size_t i = 0; i < nvalid; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/valid-%zu", argv[2], i);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(valid[i], 1, DRAGON_DESC_BYTES, f) != DRAGON_DESC_BYTES)
                return 1;
            fclose(f);
        }
        return 0;
    }
    double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    for (int i = 2; i < argc; i++) {
        DIR *dir = opendir(argv[i]);
        if (!dir) {
            replay_file(argv[i]);
            continue;
        }
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            replay_file(path);
        }
        closedir(dir);
    }
    rng ^= (uint64_t)time(NULL);
    double end = now_s() + seconds;
    unsigned long iters = 0;
    uint8_t buf[2 * DRAGON_DESC_BYTES];
    while (now_s() < end) {
        for (int batch = 0; batch < 4096; batch++, iters++) {
            size_t len;
            uint64_t r = next();
            if (r % 8 == 0) { /* pure garbage, any length */
                len = (size_t)(next() % sizeof buf);
                for (size_t i = 0; i < len; i++)
                    buf[i] = (uint8_t)next();
            } else { /* a valid descriptor, mutated */
                memcpy(buf, valid[r % nvalid], DRAGON_DESC_BYTES);
                len = DRAGON_DESC_BYTES;
                int flips = 1 + (int)(next() % 4);
                for (int f = 0; f < flips; f++) {
                    uint64_t m = next();
                    size_t at = (size_t)(m >> 8) % DRAGON_DESC_BYTES;
                    switch (m % 4) {
                    case 0: buf[at] ^= (uint8_t)(1u << ((m >> 32) % 8)); break;
                    case 1: buf[at] = (uint8_t)(m >> 40); break;
                    case 2: buf[at] = (m >> 40) & 1 ? 0xff : 0; break;
                    default: { /* an interesting 64-bit field value */
                        static const uint64_t v[] = {0, 1, 64, 4096, UINT64_MAX,
                                                     UINT64_MAX - 63, 1ULL << 63, 1 << 24};
                        uint64_t x = v[(m >> 40) % 8];
                        size_t f8 = at & ~(size_t)7;
                        for (int b = 0; b < 8; b++)
                            buf[f8 + (size_t)b] = (uint8_t)(x >> (8 * b));
                    }
                    }
                }
                /* usually re-seal, so the checks behind the checksum run */
                if (next() % 4 != 0) {
                    uint64_t h = fnv(buf, 88);
                    for (int b = 0; b < 8; b++)
                        buf[88 + b] = (uint8_t)(h >> (8 * b));
                }
                if (next() % 16 == 0)
                    len = (size_t)(next() % sizeof buf);
            }
            LLVMFuzzerTestOneInput(buf, len);
        }
    }
    printf("desc_fuzz: %lu inputs in %.0f s, no failure\n", iters, seconds);
    return 0;
}
#endif
