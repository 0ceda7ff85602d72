/* Serialized descriptors: the bytes one process hands another (through a
 * channel, the environment, a file) so it can find a pool or an object in
 * it. A descriptor is untrusted input: decode checks every byte before
 * anything is derived from it, so garbage gives an error code, never a
 * crash.
 *
 * Wire format (DRAGON_DESC_BYTES = 96 bytes, little-endian):
 *    0  "DGN1"            16  rtid            56  size
 *    4  u16 layout ver.   24  pool_id         64  gen
 *    6  u16 kind          32  host_id         72  extra
 *    8  u32 uid           40  segment_bytes   80  u64 reserved (0)
 *   12  u32 reserved (0)  48  offset          88  FNV-1a 64 of bytes 0..87
 */
#include <string.h>

#include "internal.h"

#define DG_DESC_SUM_AT 88u
/* Smallest sane segment: a header plus one page of map and heap. */
#define DG_DESC_MIN_SEGMENT ((uint64_t)sizeof(dg__pool_hdr_t))
/* Segments are whole pages; 4096 divides every page size Linux uses. */
#define DG_DESC_PAGE 4096u

static const uint8_t dg__desc_magic[4] = {'D', 'G', 'N', '1'};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Field checks shared by encode (catches our own bugs) and decode (catches
 * forged or corrupted input that happens to carry a valid checksum). */
static dragonError_t check_fields(const dg__desc_t *d)
{
    if (d->kind < DRAGON_DESC_POOL || d->kind > DRAGON_DESC_SYNC)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (d->rtid == 0)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (d->segment_bytes < DG_DESC_MIN_SEGMENT || d->segment_bytes % DG_DESC_PAGE != 0)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (d->kind == DRAGON_DESC_POOL) {
        if (d->offset != 0 || d->size != 0 || d->gen != 0 || d->extra != 0)
            return DRAGON_ERR_BAD_DESCRIPTOR;
        return DRAGON_OK;
    }
    /* Objects: user bytes are 64-byte aligned, behind a 64-byte block
     * header, and lie inside the segment. */
    if (d->gen == 0 || d->offset < sizeof(dg__block_hdr_t) || d->offset % DG_CACHELINE != 0)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (d->offset >= d->segment_bytes || d->size > d->segment_bytes - d->offset)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    return DRAGON_OK;
}

dragonError_t dg__desc_encode(const dg__desc_t *d, uint8_t *buf, size_t cap, size_t *len)
{
    if (!d || !buf)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (cap < DRAGON_DESC_BYTES)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    dragonError_t rc = check_fields(d);
    if (rc != DRAGON_OK)
        return DRAGON_ERR_INTERNAL;
    memset(buf, 0, DRAGON_DESC_BYTES);
    memcpy(buf, dg__desc_magic, 4);
    put16(buf + 4, DRAGON_LAYOUT_VERSION);
    put16(buf + 6, (uint16_t)d->kind);
    put32(buf + 8, d->uid);
    put64(buf + 16, d->rtid);
    put64(buf + 24, d->pool_id);
    put64(buf + 32, d->host_id);
    put64(buf + 40, d->segment_bytes);
    put64(buf + 48, d->offset);
    put64(buf + 56, d->size);
    put64(buf + 64, d->gen);
    put64(buf + 72, d->extra);
    put64(buf + DG_DESC_SUM_AT, fnv1a64(buf, DG_DESC_SUM_AT));
    if (len)
        *len = DRAGON_DESC_BYTES;
    return DRAGON_OK;
}

dragonError_t dg__desc_decode(const uint8_t *buf, size_t len, uint32_t expect_kind,
                              dg__desc_t *out)
{
    if (!buf || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (len != DRAGON_DESC_BYTES || memcmp(buf, dg__desc_magic, 4) != 0)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    /* The version is checked before the checksum: another layout version
     * may place (or compute) the checksum differently, and "wrong version"
     * is the message that tells the user what to fix. */
    if (get16(buf + 4) != DRAGON_LAYOUT_VERSION)
        return DRAGON_ERR_VERSION_MISMATCH;
    if (get64(buf + DG_DESC_SUM_AT) != fnv1a64(buf, DG_DESC_SUM_AT))
        return DRAGON_ERR_BAD_DESCRIPTOR;
    if (get32(buf + 12) != 0 || get64(buf + 80) != 0)
        return DRAGON_ERR_BAD_DESCRIPTOR;
    dg__desc_t d;
    d.kind = get16(buf + 6);
    d.uid = get32(buf + 8);
    d.rtid = get64(buf + 16);
    d.pool_id = get64(buf + 24);
    d.host_id = get64(buf + 32);
    d.segment_bytes = get64(buf + 40);
    d.offset = get64(buf + 48);
    d.size = get64(buf + 56);
    d.gen = get64(buf + 64);
    d.extra = get64(buf + 72);
    dragonError_t rc = check_fields(&d);
    if (rc != DRAGON_OK)
        return rc;
    if (expect_kind != 0 && d.kind != expect_kind)
        return DRAGON_ERR_WRONG_KIND;
    *out = d;
    return DRAGON_OK;
}

dragonError_t dragon_desc_inspect(const uint8_t *desc, size_t len, uint32_t *kind,
                                  uint64_t *rtid, uint64_t *pool_id, uint64_t *host_id)
{
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(desc, len, 0, &d);
    if (rc != DRAGON_OK)
        return rc;
    if (kind)
        *kind = d.kind;
    if (rtid)
        *rtid = d.rtid;
    if (pool_id)
        *pool_id = d.pool_id;
    if (host_id)
        *host_id = d.host_id;
    return DRAGON_OK;
}

dragonError_t dragon_desc_pool(const uint8_t *desc, size_t len, uint8_t *pool_desc, size_t cap,
                               size_t *out_len)
{
    if (!pool_desc)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(desc, len, 0, &d);
    if (rc != DRAGON_OK)
        return rc;
    /* Every object descriptor carries its pool's identity; dropping the
     * object fields leaves exactly the pool's own descriptor. */
    d.kind = DRAGON_DESC_POOL;
    d.offset = d.size = d.gen = d.extra = 0;
    return dg__desc_encode(&d, pool_desc, cap, out_len);
}
