/* The buddy allocator of a pool, whose whole state lives in the segment
 * (segment.c maps it), so every process of the node can allocate and free,
 * and a process that dies anywhere (even holding the allocator lock) leaves
 * a pool the next process can repair.
 *
 * The heap is decomposed into power-of-two top-level blocks, largest first,
 * so every block of order k starts at a multiple of 2^k (relative to the
 * heap) and a block's buddy position is always the start of a real block
 * whenever the block is smaller than its top-level block: merge checks only
 * ever read real block starts.
 *
 * The block map is the truth: DG_MAP_ALLOC|order where an allocated block
 * starts, order where a free block starts, anything else is interior (0, or
 * a stale entry that no walk ever reads). The free lists (doubly linked, the
 * links in the first 16 bytes of each free block) and the counters
 * free_bytes / num_allocs are a cache of the map. Every allocator step is
 * made of map writes ordered so that the map describes a valid heap after
 * each single write:
 *   split  : write the buddy's entry, then shrink the parent's entry (until
 *            the parent shrinks, the buddy's entry is interior and unread);
 *   alloc  : write the block header, then commit with DG_MAP_ALLOC|order;
 *   free   : clear DG_MAP_ALLOC first (the free is decided), then merge;
 *   merge  : grow the lower half's entry, then clear the upper half's.
 * All of it happens under hdr->lock, a robust process-shared mutex. When a
 * process dies holding it, the next locker sees owner_died and rebuilds the
 * cache by walking the map (merging free buddies that a crash left apart).
 * That rebuild replaces an undo log: since the map is valid after every
 * single write, there is never anything to undo, only a cache to refill, and
 * the cache can be refilled from the map alone. The price is a walk of the
 * map after a crash, which is rare, instead of log writes on every call.
 *
 * Heap reservation: the heap is reserved in chunks (hdr->reserved bitmap,
 * under the lock) before the allocator writes into them or hands a block
 * out, so a full /dev/shm is DRAGON_ERR_SHM_FULL, never a SIGBUS.
 * Allocator metadata is initialised lazily: only the top-level map entries
 * and free-list heads are written at create, the rest of the map stays zero
 * pages, so creating a pool of many GiB takes milliseconds.
 *
 * Every free signals the pool's free_ev (the "free doorbell"): blocking
 * allocations, dragon_pool_wait_space and async watchers wait on it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DG_BLK_HDR ((uint64_t)sizeof(dg__block_hdr_t))
/* Internal "no space right now" result of one allocation attempt; this is
 * what dg__wait_until retries on, so it is the same code as a timeout. */
#define DG_NO_SPACE DRAGON_ERR_TIMEOUT
/* Internal result of a free-list check that found the cache inconsistent
 * with the map (a stray write from a user, or a bug): rebuild it. */
#define DG_CACHE_BAD DRAGON_ERR_INTERNAL

_Static_assert(sizeof(dg__block_hdr_t) == 64, "block header must be one cache line");
_Static_assert(sizeof(dg__free_links_t) <= DG_MIN_BLOCK, "links must fit the min block");

/* ---- block arithmetic ------------------------------------------------------ */

static unsigned floor_log2(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

/* Order and start of the top-level block holding heap offset o. */
static unsigned top_block(uint64_t heap_bytes, uint64_t o, uint64_t *start)
{
    uint64_t s = 0;
    for (int b = 63; b >= DG_MIN_ORDER; b--) {
        if (!((heap_bytes >> b) & 1))
            continue;
        if (o < s + (1ULL << b)) {
            if (start)
                *start = s;
            return (unsigned)b;
        }
        s += 1ULL << b;
    }
    return 0;
}

/* ---- map and free-list primitives (hdr->lock held unless stated) ---------- */

static uint8_t map_get(const dragon_pool_t *p, uint64_t off)
{
    return __atomic_load_n(&p->map[off >> DG_MIN_ORDER], __ATOMIC_ACQUIRE);
}

static void map_set(const dragon_pool_t *p, uint64_t off, uint8_t v)
{
    __atomic_store_n(&p->map[off >> DG_MIN_ORDER], v, __ATOMIC_RELEASE);
}

static dg__free_links_t *links(const dragon_pool_t *p, uint64_t off)
{
    return (dg__free_links_t *)(p->heap + off);
}

/* Is off the start of a free block of order k according to the map? Every
 * offset read from in-band links is checked with this before it is used,
 * so a stray user write into a free block cannot send the allocator
 * outside the heap. */
static int is_free_block(const dragon_pool_t *p, uint64_t off, unsigned k)
{
    return off < p->hdr->heap_bytes && (off & ((1ULL << k) - 1)) == 0 &&
           map_get(p, off) == (uint8_t)k;
}

static dragonError_t list_remove(const dragon_pool_t *p, unsigned k, uint64_t off)
{
    dg__pool_hdr_t *h = p->hdr;
    dg__free_links_t *l = links(p, off);
    uint64_t prev = l->prev, next = l->next;
    if (prev == off || next == off)
        return DG_CACHE_BAD;
    if (prev == DG_NO_BLOCK) {
        if (h->free_head[k] != off)
            return DG_CACHE_BAD;
    } else if (!is_free_block(p, prev, k) || links(p, prev)->next != off) {
        return DG_CACHE_BAD;
    }
    if (next != DG_NO_BLOCK && (!is_free_block(p, next, k) || links(p, next)->prev != off))
        return DG_CACHE_BAD;
    if (prev == DG_NO_BLOCK)
        h->free_head[k] = next;
    else
        links(p, prev)->next = next;
    if (next != DG_NO_BLOCK)
        links(p, next)->prev = prev;
    return DRAGON_OK;
}

static dragonError_t list_push(const dragon_pool_t *p, unsigned k, uint64_t off)
{
    dg__pool_hdr_t *h = p->hdr;
    uint64_t head = h->free_head[k];
    if (head != DG_NO_BLOCK && (!is_free_block(p, head, k) || links(p, head)->prev != DG_NO_BLOCK))
        return DG_CACHE_BAD;
    dg__free_links_t *l = links(p, off);
    l->prev = DG_NO_BLOCK;
    l->next = head;
    if (head != DG_NO_BLOCK)
        links(p, head)->prev = off;
    h->free_head[k] = off;
    return DRAGON_OK;
}

/* ---- heap reservation ------------------------------------------------------ */

static int reserved_bit(const dg__pool_hdr_t *h, uint64_t c)
{
    return (int)((h->reserved[c / 64] >> (c % 64)) & 1);
}

/* Makes sure tmpfs has pages behind heap bytes [off, off+len) before anyone
 * writes there. The bitmap is guarded by hdr->lock; a bit is set only after
 * its posix_fallocate succeeded, so a crash in between only costs a second
 * (idempotent) fallocate later. */
static dragonError_t reserve(const dragon_pool_t *p, uint64_t off, uint64_t len)
{
    dg__pool_hdr_t *h = p->hdr;
    uint64_t chunk = h->reserve_chunk;
    uint64_t c0 = off / chunk, c1 = (off + len - 1) / chunk;
    for (uint64_t c = c0; c <= c1; c++) {
        if (reserved_bit(h, c))
            continue;
        uint64_t r = c;
        while (r + 1 <= c1 && !reserved_bit(h, r + 1))
            r++;
        uint64_t start = c * chunk;
        uint64_t end = (r + 1) * chunk;
        if (end > h->heap_bytes)
            end = h->heap_bytes;
        int rc;
        do {
            rc = posix_fallocate(p->fd, (off_t)(h->heap_offset + start), (off_t)(end - start));
        } while (rc == EINTR);
        if (rc == ENOSPC || rc == EFBIG)
            return DRAGON_ERR_SHM_FULL;
        if (rc != 0)
            return DRAGON_ERR_SYSTEM;
        for (uint64_t b = c; b <= r; b++)
            h->reserved[b / 64] |= 1ULL << (b % 64);
        c = r;
    }
    return DRAGON_OK;
}

/* ---- a fresh heap ------------------------------------------------------------ */

dragonError_t dg__buddy_init(dragon_pool_t *p)
{
    dg__pool_hdr_t *h = p->hdr;
    dragonError_t rc = dg__mutex_init(&h->lock);
    if (rc != DRAGON_OK)
        return rc;
    for (unsigned k = 0; k <= DG_MAX_ORDER; k++)
        h->free_head[k] = DG_NO_BLOCK;
    h->free_bytes = 0;
    h->num_allocs = 0;
    h->next_gen = 0;
    dg__event_init(&h->free_ev);
    uint64_t start = 0;
    for (int b = 63; b >= DG_MIN_ORDER; b--) {
        if (!((h->heap_bytes >> b) & 1))
            continue;
        rc = reserve(p, start, sizeof(dg__free_links_t));
        if (rc != DRAGON_OK)
            return rc;
        map_set(p, start, (uint8_t)b);
        if (list_push(p, (unsigned)b, start) != DRAGON_OK)
            return DRAGON_ERR_INTERNAL;
        h->free_bytes += 1ULL << b;
        start += 1ULL << b;
    }
    return DRAGON_OK;
}

/* ---- rebuild: refill the cache from the map -------------------------------- */

typedef struct dg__walk_ent {
    uint64_t off;
    unsigned order;
    int is_free;
} dg__walk_ent_t;

static void emit(const dragon_pool_t *p, const dg__walk_ent_t *e)
{
    dg__pool_hdr_t *h = p->hdr;
    if (e->is_free) {
        /* Cannot fail: the list was emptied before the walk and only ever
         * receives blocks that the map says are free. */
        (void)list_push(p, e->order, e->off);
        h->free_bytes += 1ULL << e->order;
    } else {
        h->num_allocs++;
    }
}

/* Walks every block in address order. Free buddies that a crash left apart
 * (a free that died before merging) are merged with a stack: each entry
 * waits for the block after it to become its free buddy; the waiting
 * entries have strictly decreasing orders, so the stack stays shallow, and
 * once the top cannot merge any more, nothing below it can either. */
static dragonError_t rebuild(const dragon_pool_t *p)
{
    dg__pool_hdr_t *h = p->hdr;
    for (unsigned k = 0; k <= DG_MAX_ORDER; k++)
        h->free_head[k] = DG_NO_BLOCK;
    h->free_bytes = 0;
    h->num_allocs = 0;
    uint64_t top_start = 0;
    for (int b = 63; b >= DG_MIN_ORDER; b--) {
        if (!((h->heap_bytes >> b) & 1))
            continue;
        unsigned top = (unsigned)b;
        uint64_t end = top_start + (1ULL << top);
        dg__walk_ent_t st[DG_MAX_ORDER + 2];
        int n = 0;
        for (uint64_t pos = top_start; pos < end;) {
            uint8_t m = map_get(p, pos);
            unsigned k = m & DG_MAP_ORDER;
            if (k < DG_MIN_ORDER || k > top || (pos & ((1ULL << k) - 1)) != 0 ||
                pos + (1ULL << k) > end || (m & ~(DG_MAP_ALLOC | DG_MAP_ORDER)) != 0)
                return DRAGON_ERR_INTERNAL; /* the map itself is corrupt */
            dg__walk_ent_t cur = {pos, k, !(m & DG_MAP_ALLOC)};
            pos += 1ULL << k;
            while (n > 0 && cur.is_free && st[n - 1].is_free && st[n - 1].order == cur.order &&
                   cur.order < top && (st[n - 1].off & ((2ULL << cur.order) - 1)) == 0) {
                uint64_t lower = st[n - 1].off;
                map_set(p, lower, (uint8_t)(cur.order + 1));
                map_set(p, cur.off, 0);
                cur.off = lower;
                cur.order++;
                n--;
            }
            int waits = cur.is_free && cur.order < top &&
                        (cur.off & ((2ULL << cur.order) - 1)) == 0;
            st[n++] = cur;
            if (!waits) {
                for (int i = 0; i < n; i++)
                    emit(p, &st[i]);
                n = 0;
            }
        }
        for (int i = 0; i < n; i++)
            emit(p, &st[i]);
        top_start = end;
    }
    return DRAGON_OK;
}

/* Takes the allocator lock, repairing the cache if its holder died. */
static dragonError_t pool_lock(const dragon_pool_t *p)
{
    int died = 0;
    dragonError_t rc = dg__mutex_lock(&p->hdr->lock, &died);
    if (rc != DRAGON_OK)
        return rc;
    if (died) {
        rc = rebuild(p);
        if (rc != DRAGON_OK) {
            /* A corrupt map cannot be repaired: leave the mutex
             * unrecoverable so every later call fails the same way. */
            dg__mutex_unlock(&p->hdr->lock);
            return rc;
        }
        rc = dg__mutex_consistent(&p->hdr->lock);
        if (rc != DRAGON_OK) {
            dg__mutex_unlock(&p->hdr->lock);
            return rc;
        }
    }
    return DRAGON_OK;
}

static void pool_unlock(const dragon_pool_t *p)
{
    dg__mutex_unlock(&p->hdr->lock);
}

/* ---- allocate / free (lock held) ------------------------------------------- */

static dragonError_t alloc_locked(const dragon_pool_t *p, unsigned k, uint64_t size,
                                  uint32_t kind, uint64_t owner, dragon_alloc_t *out)
{
    dg__pool_hdr_t *h = p->hdr;
    if (atomic_load(&h->destroyed))
        return DRAGON_ERR_DESTROYED;
    unsigned maxk = floor_log2(h->heap_bytes);
    for (int attempt = 0;; attempt++) {
        unsigned j = k;
        while (j <= maxk && h->free_head[j] == DG_NO_BLOCK)
            j++;
        if (j > maxk)
            return DG_NO_SPACE;
        uint64_t off = h->free_head[j];
        if (!is_free_block(p, off, j) || links(p, off)->prev != DG_NO_BLOCK ||
            list_remove(p, j, off) != DRAGON_OK) {
            if (attempt > 0)
                return DRAGON_ERR_INTERNAL;
            dragonError_t rc = rebuild(p);
            if (rc != DRAGON_OK)
                return rc;
            continue;
        }
        /* Reserve everything this allocation will write before changing
         * anything: the block itself and the starts of the buddies the
         * split creates. On failure the block goes back where it was. */
        dragonError_t rc = reserve(p, off, 1ULL << k);
        for (unsigned s = k; rc == DRAGON_OK && s < j; s++)
            rc = reserve(p, off + (1ULL << s), sizeof(dg__free_links_t));
        if (rc != DRAGON_OK) {
            if (list_push(p, j, off) != DRAGON_OK)
                (void)rebuild(p);
            return rc;
        }
        DG_CRASH_POINT("pool.alloc.reserved");
        for (unsigned s = j; s > k; s--) {
            uint64_t buddy = off + (1ULL << (s - 1));
            if (list_push(p, s - 1, buddy) != DRAGON_OK) {
                /* Cache broken mid-split: the map is still valid (the
                 * buddy's entry is interior), so refill it and retry. */
                map_set(p, off, (uint8_t)s);
                if (attempt > 0 || rebuild(p) != DRAGON_OK)
                    return DRAGON_ERR_INTERNAL;
                goto retry;
            }
            map_set(p, buddy, (uint8_t)(s - 1)); /* the buddy's entry first */
            DG_CRASH_POINT("pool.alloc.split");
            map_set(p, off, (uint8_t)(s - 1)); /* then shrink the parent */
        }
        h->free_bytes -= 1ULL << k;
        dg__block_hdr_t *blk = (dg__block_hdr_t *)(p->heap + off);
        blk->order = (uint8_t)k;
        blk->kind = (uint8_t)kind;
        blk->_pad = 0;
        blk->gen = ++h->next_gen;
        blk->size = size;
        atomic_store(&blk->owner, owner);
        atomic_store(&blk->magic, DG_BLOCK_MAGIC);
        DG_CRASH_POINT("pool.alloc.header");
        map_set(p, off, (uint8_t)(DG_MAP_ALLOC | k)); /* commit */
        h->num_allocs++;
        DG_CRASH_POINT("pool.alloc.committed");
        out->offset = off + DG_BLK_HDR;
        out->size = size;
        out->gen = blk->gen;
        return DRAGON_OK;
    retry:;
    }
}

/* Where the block of a user offset starts, or an error if offset cannot be
 * the user bytes of any block. */
static dragonError_t block_start(const dragon_pool_t *p, uint64_t offset, uint64_t *start)
{
    if (offset < DG_BLK_HDR || (offset - DG_BLK_HDR) % DG_MIN_BLOCK != 0 ||
        offset - DG_BLK_HDR >= p->hdr->heap_bytes)
        return DRAGON_ERR_INVALID_ARGUMENT;
    *start = offset - DG_BLK_HDR;
    return DRAGON_OK;
}

/* The live block at user offset `offset` with generation gen. Lock-free
 * readers may race with a free of the same block; the gen check then fails
 * (a use-after-free by the caller, reported as DESTROYED). */
static dragonError_t live_block(const dragon_pool_t *p, uint64_t offset, uint64_t gen,
                                dg__block_hdr_t **out, unsigned *order)
{
    uint64_t start;
    dragonError_t rc = block_start(p, offset, &start);
    if (rc != DRAGON_OK)
        return rc;
    uint8_t m = map_get(p, start);
    if (!(m & DG_MAP_ALLOC))
        return DRAGON_ERR_DESTROYED;
    unsigned k = m & DG_MAP_ORDER;
    if (k < DG_MIN_ORDER || (start & ((1ULL << k) - 1)) != 0 ||
        k > top_block(p->hdr->heap_bytes, start, NULL))
        return DRAGON_ERR_INTERNAL;
    dg__block_hdr_t *blk = (dg__block_hdr_t *)(p->heap + start);
    if (atomic_load(&blk->magic) != DG_BLOCK_MAGIC || blk->gen != gen || blk->order != k)
        return DRAGON_ERR_DESTROYED;
    *out = blk;
    if (order)
        *order = k;
    return DRAGON_OK;
}

/* Frees the block; if only_owner != DG_OWNER_NONE, only when its owner is
 * still that (reclaim: the owner may have changed since it looked). */
static dragonError_t free_locked(const dragon_pool_t *p, uint64_t offset, uint64_t gen,
                                 uint64_t only_owner, uint64_t *freed)
{
    dg__pool_hdr_t *h = p->hdr;
    dg__block_hdr_t *blk;
    unsigned k;
    dragonError_t rc = live_block(p, offset, gen, &blk, &k);
    if (rc != DRAGON_OK)
        return rc;
    if (only_owner != DG_OWNER_NONE && atomic_load(&blk->owner) != only_owner)
        return DRAGON_ERR_NOT_OWNER;
    uint64_t o = offset - DG_BLK_HDR;
    map_set(p, o, (uint8_t)k); /* the free is decided */
    atomic_store(&blk->magic, DG_BLOCK_FREED);
    DG_CRASH_POINT("pool.free.uncommitted");
    h->num_allocs--;
    h->free_bytes += 1ULL << k;
    if (freed)
        *freed = 1ULL << k;
    unsigned top = top_block(h->heap_bytes, o, NULL);
    while (k < top) {
        uint64_t buddy = o ^ (1ULL << k);
        if (map_get(p, buddy) != (uint8_t)k)
            break; /* allocated, or split into smaller blocks */
        if (list_remove(p, k, buddy) != DRAGON_OK)
            return rebuild(p); /* the map already says "free": rebuild merges */
        uint64_t lower = o < buddy ? o : buddy;
        uint64_t upper = o ^ buddy ^ lower;
        map_set(p, lower, (uint8_t)(k + 1));
        DG_CRASH_POINT("pool.free.merge");
        map_set(p, upper, 0);
        o = lower;
        k++;
    }
    if (list_push(p, k, o) != DRAGON_OK)
        return rebuild(p);
    DG_CRASH_POINT("pool.free.merged");
    return DRAGON_OK;
}

/* ---- stats and allocations ------------------------------------------------------- */

dragonError_t dragon_pool_stats(const dragon_pool_t *pool, dragon_pool_stats_t *out)
{
    if (!pool || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = pool_lock(pool);
    if (rc != DRAGON_OK)
        return rc;
    const dg__pool_hdr_t *h = pool->hdr;
    out->total_bytes = h->heap_bytes;
    out->free_bytes = h->free_bytes;
    out->num_allocs = h->num_allocs;
    out->segment_bytes = h->segment_bytes;
    pool_unlock(pool);
    out->utilization =
        out->total_bytes ? 1.0 - (double)out->free_bytes / (double)out->total_bytes : 0.0;
    return DRAGON_OK;
}

/* The order of the block an allocation of size bytes takes (0 = never fits). */
static unsigned order_for(const dg__pool_hdr_t *h, uint64_t size)
{
    if (size > h->heap_bytes)
        return 0;
    unsigned k = dg__ceil_log2(size + DG_BLK_HDR);
    if (k < DG_MIN_ORDER)
        k = DG_MIN_ORDER;
    return k > floor_log2(h->heap_bytes) ? 0 : k;
}

typedef struct dg__alloc_ctx {
    const dragon_pool_t *pool;
    unsigned order;
    uint32_t kind;
    uint64_t size, owner;
    dragon_alloc_t *out;
} dg__alloc_ctx_t;

static dragonError_t try_alloc(void *arg)
{
    dg__alloc_ctx_t *c = arg;
    dragonError_t rc = pool_lock(c->pool);
    if (rc != DRAGON_OK)
        return rc;
    rc = alloc_locked(c->pool, c->order, c->size, c->kind, c->owner, c->out);
    pool_unlock(c->pool);
    return rc;
}

dragonError_t dg__pool_alloc(dragon_pool_t *pool, uint64_t size, uint32_t kind, uint64_t owner,
                             int64_t timeout_us, dragon_alloc_t *out)
{
    if (!pool || !out || kind < DG_KIND_USER || kind > DG_KIND_MSG)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__pool_hdr_t *h = pool->hdr;
    unsigned k = order_for(h, size);
    if (k == 0)
        return DRAGON_ERR_TOO_LARGE; /* larger than the largest top-level block */
    dg__alloc_ctx_t c = {pool, k, kind, size, owner, out};
    /* Tries first (timeout 0 is one try). A sleeper is registered under the
     * handle's puid, so reclaim can drop it if the process dies asleep.
     * Frees wake every sleeper (dg__event_signal, not signal-one): waiters
     * want different sizes, and the one woken might not fit where another
     * would. */
    return dg__event_wait(&h->free_ev, pool->puid, 0, try_alloc, &c, dg__deadline(timeout_us),
                          &pool->alloc_spin);
}

typedef struct dg__space_ctx {
    const dragon_pool_t *pool;
    unsigned order;
} dg__space_ctx_t;

/* Is there a free block of at least the wanted order right now? Read under
 * the lock, so a process that died inside the allocator is repaired first. */
static dragonError_t try_space(void *arg)
{
    dg__space_ctx_t *c = arg;
    dragonError_t rc = pool_lock(c->pool);
    if (rc != DRAGON_OK)
        return rc;
    const dg__pool_hdr_t *h = c->pool->hdr;
    rc = DG_NO_SPACE;
    if (atomic_load(&h->destroyed))
        rc = DRAGON_ERR_DESTROYED;
    for (unsigned j = c->order; rc == DG_NO_SPACE && j <= floor_log2(h->heap_bytes); j++)
        if (h->free_head[j] != DG_NO_BLOCK)
            rc = DRAGON_OK;
    pool_unlock(c->pool);
    return rc;
}

dragonError_t dragon_pool_wait_space(dragon_pool_t *pool, uint64_t size, int64_t timeout_us)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__space_ctx_t c = {pool, order_for(pool->hdr, size)};
    if (c.order == 0)
        return DRAGON_ERR_TOO_LARGE;
    /* The same event blocking allocations sleep on: every free signals it. */
    return dg__event_wait(&pool->hdr->free_ev, pool->puid, DG_WAIT_ALL, try_space, &c,
                          dg__deadline(timeout_us), &pool->alloc_spin);
}

dragonError_t dragon_pool_watch(dragon_pool_t *pool, dragon_waiter_t *w, uint32_t bit)
{
    if (!pool || !w || bit > 63)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (atomic_load(&pool->hdr->destroyed))
        return DRAGON_ERR_DESTROYED;
    return dg__event_watch(pool, &pool->hdr->free_ev, w, bit);
}

dragonError_t dragon_pool_unwatch(dragon_pool_t *pool, dragon_waiter_t *w)
{
    if (!pool || !w)
        return DRAGON_ERR_INVALID_ARGUMENT;
    return dg__event_unwatch(pool, &pool->hdr->free_ev, w);
}

dragonError_t dragon_pool_alloc(dragon_pool_t *pool, uint64_t size, int64_t timeout_us,
                                dragon_alloc_t *out)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    uint64_t owner = pool->puid ? DG_OWNER_PROC(pool->puid) : DG_OWNER_NONE;
    return dg__pool_alloc(pool, size, DG_KIND_USER, owner, timeout_us, out);
}

dragonError_t dragon_pool_free(dragon_pool_t *pool, dragon_alloc_t alloc)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = pool_lock(pool);
    if (rc != DRAGON_OK)
        return rc;
    rc = free_locked(pool, alloc.offset, alloc.gen, DG_OWNER_NONE, NULL);
    pool_unlock(pool);
    if (rc == DRAGON_OK)
        dg__event_signal(pool, &pool->hdr->free_ev);
    return rc;
}

dragonError_t dg__pool_block(const dragon_pool_t *pool, uint64_t offset, uint64_t gen,
                             uint32_t kind, dg__block_hdr_t **out)
{
    if (!pool || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__block_hdr_t *blk;
    dragonError_t rc = live_block(pool, offset, gen, &blk, NULL);
    if (rc != DRAGON_OK)
        return rc;
    if (kind != 0 && blk->kind != kind)
        return DRAGON_ERR_WRONG_KIND;
    *out = blk;
    return DRAGON_OK;
}

dragonError_t dragon_alloc_ptr(const dragon_pool_t *pool, dragon_alloc_t alloc, void **ptr)
{
    if (!pool || !ptr)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__block_hdr_t *blk;
    dragonError_t rc = live_block(pool, alloc.offset, alloc.gen, &blk, NULL);
    if (rc != DRAGON_OK)
        return rc;
    *ptr = dg__pool_user(pool, alloc.offset);
    return DRAGON_OK;
}

dragonError_t dragon_alloc_set_owner(dragon_pool_t *pool, dragon_alloc_t alloc, uint64_t puid)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    /* Under the lock, so the owner cannot land on a block that a concurrent
     * free just handed to someone else. */
    dragonError_t rc = pool_lock(pool);
    if (rc != DRAGON_OK)
        return rc;
    dg__block_hdr_t *blk;
    rc = live_block(pool, alloc.offset, alloc.gen, &blk, NULL);
    if (rc == DRAGON_OK)
        atomic_store(&blk->owner, puid ? DG_OWNER_PROC(puid) : DG_OWNER_NONE);
    pool_unlock(pool);
    return rc;
}

dragonError_t dragon_alloc_serialize(const dragon_pool_t *pool, dragon_alloc_t alloc,
                                     uint8_t *buf, size_t cap, size_t *len)
{
    if (!pool || !buf)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__block_hdr_t *blk;
    dragonError_t rc = live_block(pool, alloc.offset, alloc.gen, &blk, NULL);
    if (rc != DRAGON_OK)
        return rc;
    dg__desc_t d;
    dg__pool_fill_desc(pool, &d);
    d.kind = DRAGON_DESC_ALLOC;
    d.offset = alloc.offset;
    d.size = blk->size;
    d.gen = alloc.gen;
    return dg__desc_encode(&d, buf, cap, len);
}

dragonError_t dragon_alloc_attach(const dragon_pool_t *pool, const uint8_t *desc, size_t len,
                                  dragon_alloc_t *out)
{
    if (!pool || !desc || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(desc, len, DRAGON_DESC_ALLOC, &d);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__pool_check_desc(pool, &d);
    if (rc != DRAGON_OK)
        return rc;
    dg__block_hdr_t *blk;
    rc = live_block(pool, d.offset, d.gen, &blk, NULL);
    if (rc == DRAGON_ERR_INVALID_ARGUMENT)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (rc != DRAGON_OK)
        return rc;
    if (blk->size != d.size)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    out->offset = d.offset;
    out->size = d.size;
    out->gen = d.gen;
    return DRAGON_OK;
}

/* ---- reclaim --------------------------------------------------------------------- */

typedef struct dg__live {
    uint64_t offset, gen, owner;
    uint32_t kind;
} dg__live_t;

/* Snapshot of every allocated block, taken under the lock (after a repair
 * if the dead process held it). */
static dragonError_t collect_live(const dragon_pool_t *p, dg__live_t **out, size_t *n_out)
{
    dg__pool_hdr_t *h = p->hdr;
    size_t n = 0, cap = 64;
    dg__live_t *v = malloc(cap * sizeof *v);
    if (!v)
        return DRAGON_ERR_NO_MEMORY;
    uint64_t top_start = 0;
    for (int b = 63; b >= DG_MIN_ORDER; b--) {
        if (!((h->heap_bytes >> b) & 1))
            continue;
        uint64_t end = top_start + (1ULL << b);
        for (uint64_t pos = top_start; pos < end;) {
            uint8_t m = map_get(p, pos);
            unsigned k = m & DG_MAP_ORDER;
            if (k < DG_MIN_ORDER || k > (unsigned)b || pos + (1ULL << k) > end) {
                free(v);
                return DRAGON_ERR_INTERNAL;
            }
            if (m & DG_MAP_ALLOC) {
                if (n == cap) {
                    dg__live_t *nv = realloc(v, 2 * cap * sizeof *v);
                    if (!nv) {
                        free(v);
                        return DRAGON_ERR_NO_MEMORY;
                    }
                    v = nv;
                    cap *= 2;
                }
                const dg__block_hdr_t *blk = (const dg__block_hdr_t *)(p->heap + pos);
                v[n].offset = pos + DG_BLK_HDR;
                v[n].gen = blk->gen;
                v[n].owner = atomic_load(&blk->owner);
                v[n].kind = blk->kind;
                n++;
            }
            pos += 1ULL << k;
        }
        top_start = end;
    }
    *out = v;
    *n_out = n;
    return DRAGON_OK;
}

/* NULL for plain memory, and for a kind no table knows (a torn header). */
static dg__reclaim_fn reclaim_hook(uint32_t kind)
{
    return kind < DG_KIND_END ? dg__reclaim_hooks[kind] : NULL;
}

dragonError_t dragon_pool_reclaim(dragon_pool_t *pool, uint64_t puid,
                                  dragon_reclaim_stats_t *out)
{
    if (!pool || puid == 0)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragon_reclaim_stats_t st;
    memset(&st, 0, sizeof st);
    dg__live_t *live = NULL;
    size_t n = 0;
    dragonError_t rc = pool_lock(pool);
    if (rc != DRAGON_OK)
        return rc;
    rc = collect_live(pool, &live, &n);
    pool_unlock(pool);
    if (rc != DRAGON_OK)
        return rc;

    /* Objects first, through the hooks of their kinds (reclaim.c), without
     * the allocator lock (hooks take their own locks and may free or re-own
     * messages): an object may hold messages the dead process was sending,
     * which it decides about. */
    for (size_t i = 0; i < n; i++) {
        dg__reclaim_fn hook = reclaim_hook(live[i].kind);
        dg__block_hdr_t *blk;
        if (hook &&
            dg__pool_block(pool, live[i].offset, live[i].gen, live[i].kind, &blk) == DRAGON_OK)
            hook(pool, blk, puid, &st);
    }

    /* Then the dead process's own blocks (user allocations and messages it
     * received or was sending). The owner is re-checked under the lock:
     * a hook above may have handed a message to an object. Objects are only
     * freed by their destroy (or their hook). */
    uint64_t me = DG_OWNER_PROC(puid);
    rc = pool_lock(pool);
    if (rc != DRAGON_OK) {
        free(live);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (live[i].owner != me || reclaim_hook(live[i].kind))
            continue;
        uint64_t bytes = 0;
        if (free_locked(pool, live[i].offset, live[i].gen, me, &bytes) == DRAGON_OK) {
            st.allocs_freed++;
            st.bytes_freed += bytes;
        }
    }
    pool_unlock(pool);
    free(live);
    if (st.allocs_freed)
        dg__event_signal(pool, &pool->hdr->free_ev);
    /* a process killed while blocked in an allocation stays registered */
    dg__event_reclaim(pool, &pool->hdr->free_ev, puid);
    st.doorbells_freed += dg__doorbells_reclaim(pool, puid);
    if (out)
        *out = st;
    return DRAGON_OK;
}
