/* Test-only helpers for the pool tests: a full consistency check of the
 * allocator (map walk against free lists and counters) and small utilities.
 * Included by src/pool*_test.c only. */
#ifndef DG_POOL_CHECK_H
#define DG_POOL_CHECK_H

#include <dirent.h>
#include <string.h>
#include <sys/statvfs.h>

#include "internal.h"
#include "testutil.h"

/* Walks the whole map and every free list under the allocator lock and
 * asserts: the map tiles the heap with valid blocks, no two free buddies
 * are left unmerged, the free lists hold exactly the free blocks (linked
 * both ways), and free_bytes / num_allocs agree with the map. Returns the
 * number of allocated blocks. */
__attribute__((unused)) static uint64_t t_check_pool(dragon_pool_t *p)
{
    dragon_pool_stats_t s;
    T_OK(dragon_pool_stats(p, &s)); /* repairs first if a holder died */
    dg__pool_hdr_t *h = p->hdr;
    int died = 0;
    T_OK(dg__mutex_lock(&h->lock, &died));
    T_ASSERT(!died);
    uint64_t free_sum = 0, nfree = 0, nalloc = 0, start = 0;
    for (int b = 63; b >= DG_MIN_ORDER; b--) {
        if (!((h->heap_bytes >> b) & 1))
            continue;
        uint64_t end = start + (1ULL << b);
        for (uint64_t pos = start; pos < end;) {
            uint8_t m = p->map[pos >> DG_MIN_ORDER];
            unsigned k = m & DG_MAP_ORDER;
            T_ASSERT(k >= DG_MIN_ORDER && k <= (unsigned)b);
            T_ASSERT((pos & ((1ULL << k) - 1)) == 0);
            T_ASSERT(pos + (1ULL << k) <= end);
            if (m & DG_MAP_ALLOC) {
                dg__block_hdr_t *blk = (dg__block_hdr_t *)(p->heap + pos);
                T_ASSERT(blk->magic == DG_BLOCK_MAGIC);
                T_ASSERT(blk->order == k);
                T_ASSERT(blk->size + 64 <= (1ULL << k));
                nalloc++;
            } else {
                free_sum += 1ULL << k;
                nfree++;
                if (k < (unsigned)b) {
                    uint64_t buddy = pos ^ (1ULL << k);
                    T_ASSERT(p->map[buddy >> DG_MIN_ORDER] != (uint8_t)k); /* merged */
                }
            }
            pos += 1ULL << k;
        }
        start = end;
    }
    uint64_t listed = 0, listed_bytes = 0;
    for (unsigned k = 0; k <= DG_MAX_ORDER; k++) {
        uint64_t prev = DG_NO_BLOCK;
        for (uint64_t o = h->free_head[k]; o != DG_NO_BLOCK;) {
            T_ASSERT(k >= DG_MIN_ORDER);
            T_ASSERT(o < h->heap_bytes);
            T_ASSERT(p->map[o >> DG_MIN_ORDER] == (uint8_t)k);
            dg__free_links_t *l = (dg__free_links_t *)(p->heap + o);
            T_ASSERT(l->prev == prev);
            listed++;
            listed_bytes += 1ULL << k;
            T_ASSERT(listed <= nfree); /* no cycle */
            prev = o;
            o = l->next;
        }
    }
    T_ASSERT(listed == nfree);
    T_ASSERT(listed_bytes == free_sum);
    T_ASSERT(h->free_bytes == free_sum);
    T_ASSERT(h->num_allocs == nalloc);
    dg__mutex_unlock(&h->lock);
    return nalloc;
}

__attribute__((unused)) static uint64_t t_free_bytes(dragon_pool_t *p)
{
    dragon_pool_stats_t s;
    T_OK(dragon_pool_stats(p, &s));
    return s.free_bytes;
}

/* Number of /dev/shm entries whose name contains the hex rtid. */
__attribute__((unused)) static int t_shm_count(uint64_t rtid)
{
    char pat[32];
    snprintf(pat, sizeof pat, "-%llx-", (unsigned long long)rtid);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "dragon-", 7) == 0 && strstr(e->d_name, pat))
            n++;
    closedir(d);
    return n;
}

__attribute__((unused)) static dragon_pool_t *t_pool(uint64_t rtid, uint64_t pool_id, uint64_t bytes, uint64_t puid)
{
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = pool_id, .bytes = bytes, .puid = puid};
    dragon_pool_t *p = NULL;
    T_OK(dragon_pool_create(&a, &p));
    return p;
}

static uint64_t t_rand_state = 88172645463325252ULL;
__attribute__((unused)) static uint64_t t_rand(void)
{
    t_rand_state ^= t_rand_state << 13;
    t_rand_state ^= t_rand_state >> 7;
    t_rand_state ^= t_rand_state << 17;
    return t_rand_state;
}

#endif
