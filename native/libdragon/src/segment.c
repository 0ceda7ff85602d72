/* The shared-memory segment of a pool: its name, its layout, the checks of
 * a header another process wrote, and the handle a process holds (create,
 * attach, detach, destroy, descriptors). What lives in the heap, and the
 * lock that guards it, belong to the allocator (buddy.c).
 *
 * Segment: [dg__pool_hdr_t][block map, 1 byte per 128-byte min block][heap],
 * each part page aligned.
 *
 * Memory reservation: tmpfs reserves nothing at ftruncate, and touching a
 * page when /dev/shm is full raises SIGBUS. The header and the map are
 * reserved with posix_fallocate at create (the heap is reserved by the
 * allocator, chunk by chunk, before it writes there), so a full /dev/shm is
 * DRAGON_ERR_SHM_FULL. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "internal.h"

#define DG_RESERVE_MIN_CHUNK (2ULL << 20)

/* ---- layout --------------------------------------------------------------- */

typedef struct dg__layout {
    uint64_t map_offset, heap_offset, segment_bytes, reserve_chunk;
} dg__layout_t;

static uint64_t round_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Everything about a segment follows from its heap size (and the page size,
 * which is the same for every process of the node): attach recomputes it to
 * check a header it did not write. */
static dragonError_t layout_for(uint64_t heap_bytes, dg__layout_t *l)
{
    if (heap_bytes < DG_MIN_BLOCK || heap_bytes % DG_MIN_BLOCK != 0 ||
        heap_bytes >= (2ULL << DG_MAX_ORDER))
        return DRAGON_ERR_INVALID_ARGUMENT;
    long ps = sysconf(_SC_PAGESIZE);
    uint64_t page = ps > 0 ? (uint64_t)ps : 4096u;
    l->map_offset = round_up(sizeof(dg__pool_hdr_t), page);
    l->heap_offset = round_up(l->map_offset + (heap_bytes >> DG_MIN_ORDER), page);
    l->segment_bytes = round_up(l->heap_offset + heap_bytes, page);
    uint64_t per_bit = (heap_bytes + DG_RESERVE_BITS - 1) / DG_RESERVE_BITS;
    uint64_t chunk = 1ULL << dg__ceil_log2(per_bit);
    l->reserve_chunk = chunk < DG_RESERVE_MIN_CHUNK ? DG_RESERVE_MIN_CHUNK : chunk;
    return DRAGON_OK;
}

/* ---- segment names ---------------------------------------------------------- */

static void user_name(uint32_t uid, char *out, size_t cap)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    size_t n = 0;
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name) {
        /* Only [A-Za-z0-9_.]: the name is part of a file name and of what
         * dragon-cleanup matches; anything else becomes '_'. */
        for (const char *p = res->pw_name; *p && n < 32 && n + 1 < cap; p++) {
            char c = *p;
            int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '_' || c == '.';
            out[n++] = ok ? c : '_';
        }
    }
    if (n == 0) {
        snprintf(out, cap, "u%u", uid);
        return;
    }
    out[n] = '\0';
}

static void segment_name(uint32_t uid, uint64_t rtid, uint64_t pool_id, char *out, size_t cap)
{
    char user[40];
    user_name(uid, user, sizeof user);
    snprintf(out, cap, "/dragon-%s-%llx-p%llu", user, (unsigned long long)rtid,
             (unsigned long long)pool_id);
}

/* ---- create / attach / detach / destroy -------------------------------------- */

static dragonError_t errno_to_dragon(int e)
{
    switch (e) {
    case ENOENT:
        return DRAGON_ERR_NOT_FOUND;
    case EEXIST:
        return DRAGON_ERR_EXISTS;
    case EACCES:
    case EPERM:
        return DRAGON_ERR_PERMISSION;
    case ENOSPC:
        return DRAGON_ERR_SHM_FULL;
    case ENOMEM:
        return DRAGON_ERR_NO_MEMORY;
    default:
        return DRAGON_ERR_SYSTEM;
    }
}

static dragonError_t new_handle(int fd, void *base, uint64_t bytes, uint64_t puid,
                                const char *name, dragon_pool_t **out)
{
    dragon_pool_t *p = calloc(1, sizeof *p);
    if (!p)
        return DRAGON_ERR_NO_MEMORY;
    p->hdr = base;
    p->map = (uint8_t *)base + p->hdr->map_offset;
    p->heap = (uint8_t *)base + p->hdr->heap_offset;
    p->mapped_bytes = bytes;
    p->puid = puid;
    atomic_store(&p->watchers, 0);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->fd = fd;
    p->alloc_spin = 0;
    *out = p;
    return DRAGON_OK;
}

/* Writes the header of a fresh (all-zero) segment, then has the allocator
 * lay out its heap. The magic is written last: an attacher that sees it
 * sees the rest. */
static dragonError_t init_segment(dragon_pool_t *p, const dragon_pool_attrs_t *a,
                                  uint64_t heap_bytes, const dg__layout_t *l)
{
    dg__pool_hdr_t *h = p->hdr;
    h->layout_version = DRAGON_LAYOUT_VERSION;
    h->uid = (uint32_t)geteuid();
    h->rtid = a->rtid;
    h->pool_id = a->pool_id;
    h->host_id = a->host_id;
    h->segment_bytes = l->segment_bytes;
    h->map_offset = l->map_offset;
    h->heap_offset = l->heap_offset;
    h->heap_bytes = heap_bytes;
    h->reserve_chunk = l->reserve_chunk;
    atomic_store(&h->destroyed, 0);
    atomic_store(&h->next_object_id, 1);
    dragonError_t rc = dg__buddy_init(p);
    if (rc != DRAGON_OK)
        return rc;
    __atomic_store_n(&h->magic, DG_POOL_MAGIC, __ATOMIC_RELEASE);
    return DRAGON_OK;
}

dragonError_t dragon_pool_create(const dragon_pool_attrs_t *attrs, dragon_pool_t **out)
{
    if (!attrs || !out || attrs->rtid == 0)
        return DRAGON_ERR_INVALID_ARGUMENT;
    uint64_t heap_bytes = attrs->bytes & ~(DG_MIN_BLOCK - 1);
    dg__layout_t l;
    dragonError_t rc = layout_for(heap_bytes, &l);
    if (rc != DRAGON_OK)
        return rc;
    /* Refuse before creating anything a pool that /dev/shm cannot hold
     * whole: it would only fail later, in the middle of someone's work. */
    struct statvfs sv;
    if (statvfs("/dev/shm", &sv) == 0 &&
        l.segment_bytes / (sv.f_frsize ? sv.f_frsize : 1) > (uint64_t)sv.f_bavail)
        return DRAGON_ERR_SHM_FULL;
    char name[96];
    segment_name((uint32_t)geteuid(), attrs->rtid, attrs->pool_id, name, sizeof name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno_to_dragon(errno);
    void *base = MAP_FAILED;
    dragon_pool_t *p = NULL;
    /* umask may have cleared bits of 0600 (never added any): set it exactly */
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)l.segment_bytes) != 0) {
        rc = errno_to_dragon(errno);
        goto fail;
    }
    int frc;
    do {
        frc = posix_fallocate(fd, 0, (off_t)l.heap_offset);
    } while (frc == EINTR);
    if (frc != 0) {
        rc = frc == ENOSPC ? DRAGON_ERR_SHM_FULL : DRAGON_ERR_SYSTEM;
        goto fail;
    }
    base = mmap(NULL, l.segment_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = errno_to_dragon(errno);
        goto fail;
    }
    /* new_handle reads the offsets from the header: put them there first */
    ((dg__pool_hdr_t *)base)->map_offset = l.map_offset;
    ((dg__pool_hdr_t *)base)->heap_offset = l.heap_offset;
    rc = new_handle(fd, base, l.segment_bytes, attrs->puid, name, &p);
    if (rc != DRAGON_OK)
        goto fail;
    rc = init_segment(p, attrs, heap_bytes, &l);
    if (rc != DRAGON_OK)
        goto fail;
    *out = p;
    return DRAGON_OK;
fail:
    free(p);
    if (base != MAP_FAILED)
        munmap(base, l.segment_bytes);
    close(fd);
    shm_unlink(name);
    return rc;
}

/* Checks a mapped header against the descriptor that led to it and against
 * the layout its heap size implies: the segment is shared with other
 * processes and nothing in it is trusted before this. */
static dragonError_t check_header(const dg__pool_hdr_t *h, const dg__desc_t *d)
{
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != DG_POOL_MAGIC)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (h->layout_version != DRAGON_LAYOUT_VERSION)
        return DRAGON_ERR_VERSION_MISMATCH;
    if (h->rtid != d->rtid || h->pool_id != d->pool_id || h->host_id != d->host_id ||
        h->uid != d->uid || h->segment_bytes != d->segment_bytes)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    dg__layout_t l;
    if (layout_for(h->heap_bytes, &l) != DRAGON_OK || l.segment_bytes != h->segment_bytes ||
        l.map_offset != h->map_offset || l.heap_offset != h->heap_offset ||
        l.reserve_chunk != h->reserve_chunk)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (atomic_load(&h->destroyed))
        return DRAGON_ERR_DESTROYED;
    return DRAGON_OK;
}

dragonError_t dragon_pool_attach(const uint8_t *desc, size_t len, uint64_t expect_rtid,
                                 uint64_t puid, dragon_pool_t **out)
{
    if (!desc || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(desc, len, DRAGON_DESC_POOL, &d);
    if (rc != DRAGON_OK)
        return rc;
    if (expect_rtid != 0 && d.rtid != expect_rtid)
        return DRAGON_ERR_FOREIGN_RUNTIME;
    char name[96];
    segment_name(d.uid, d.rtid, d.pool_id, name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return errno_to_dragon(errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = errno_to_dragon(errno);
        close(fd);
        return rc;
    }
    /* A segment of the right name but another owner is someone else's
     * (squatting or a stale one): never map it. */
    if (st.st_uid != (uid_t)d.uid) {
        close(fd);
        return DRAGON_ERR_PERMISSION;
    }
    if ((uint64_t)st.st_size != d.segment_bytes) {
        close(fd);
        return DRAGON_ERR_BAD_DESCRIPTOR;
    }
    void *base = mmap(NULL, d.segment_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = errno_to_dragon(errno);
        close(fd);
        return rc;
    }
    rc = check_header(base, &d);
    dragon_pool_t *p = NULL;
    if (rc == DRAGON_OK)
        rc = new_handle(fd, base, d.segment_bytes, puid, name, &p);
    if (rc != DRAGON_OK) {
        munmap(base, d.segment_bytes);
        close(fd);
        return rc;
    }
    *out = p;
    return DRAGON_OK;
}

dragonError_t dragon_pool_detach(dragon_pool_t *pool)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (atomic_load(&pool->watchers) > 0)
        return DRAGON_ERR_BUSY;
    munmap(pool->hdr, pool->mapped_bytes);
    close(pool->fd);
    free(pool);
    return DRAGON_OK;
}

dragonError_t dragon_pool_destroy(dragon_pool_t *pool)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (atomic_load(&pool->watchers) > 0)
        return DRAGON_ERR_BUSY;
    atomic_store(&pool->hdr->destroyed, 1);
    /* wake blocked allocators: their next try sees `destroyed` */
    dg__event_signal(pool, &pool->hdr->free_ev);
    if (shm_unlink(pool->name) != 0 && errno != ENOENT) {
        dragon_pool_detach(pool);
        return DRAGON_ERR_SYSTEM;
    }
    return dragon_pool_detach(pool);
}

/* ---- descriptors, names ------------------------------------------------ */

void dg__pool_fill_desc(const dragon_pool_t *pool, dg__desc_t *d)
{
    const dg__pool_hdr_t *h = pool->hdr;
    memset(d, 0, sizeof *d);
    d->kind = DRAGON_DESC_POOL;
    d->uid = h->uid;
    d->rtid = h->rtid;
    d->pool_id = h->pool_id;
    d->host_id = h->host_id;
    d->segment_bytes = h->segment_bytes;
}

dragonError_t dg__pool_check_desc(const dragon_pool_t *pool, const dg__desc_t *d)
{
    if (!pool || !d)
        return DRAGON_ERR_INVALID_ARGUMENT;
    const dg__pool_hdr_t *h = pool->hdr;
    if (d->rtid != h->rtid || d->pool_id != h->pool_id || d->host_id != h->host_id ||
        d->uid != h->uid || d->segment_bytes != h->segment_bytes)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (d->kind != DRAGON_DESC_POOL && d->offset >= h->heap_bytes)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    return DRAGON_OK;
}

dragonError_t dragon_pool_serialize(const dragon_pool_t *pool, uint8_t *buf, size_t cap,
                                    size_t *len)
{
    if (!pool || !buf)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    dg__pool_fill_desc(pool, &d);
    return dg__desc_encode(&d, buf, cap, len);
}


dragonError_t dragon_pool_name(const dragon_pool_t *pool, char *buf, size_t cap)
{
    if (!pool || !buf)
        return DRAGON_ERR_INVALID_ARGUMENT;
    size_t n = strlen(pool->name);
    if (cap < n + 1)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, pool->name, n + 1);
    return DRAGON_OK;
}

dragonError_t dragon_pool_ids(const dragon_pool_t *pool, uint64_t *rtid, uint64_t *pool_id)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (rtid)
        *rtid = pool->hdr->rtid;
    if (pool_id)
        *pool_id = pool->hdr->pool_id;
    return DRAGON_OK;
}

dragonError_t dragon_pool_mapping(const dragon_pool_t *pool, void **base, uint64_t *len)
{
    if (!pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (base)
        *base = pool->hdr;
    if (len)
        *len = pool->mapped_bytes;
    return DRAGON_OK;
}
