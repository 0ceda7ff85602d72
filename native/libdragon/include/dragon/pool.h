/* Managed memory pools: one POSIX shared-memory segment with a buddy
 * allocator whose whole state lives in the segment, so every process of the
 * node can allocate and free. See docs/DESIGN.md for the layout and the
 * crash-recovery rules. */
#ifndef DRAGON_POOL_H
#define DRAGON_POOL_H

#include <stddef.h>
#include <stdint.h>
#include "return_codes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every serialized descriptor (pool, allocation, channel, sync object) is
 * exactly this many bytes; the first 4 are the magic "DGN1". */
#define DRAGON_DESC_BYTES 96u

/* Timeouts are microseconds: <0 waits forever, 0 tries once. */
#define DRAGON_WAIT_FOREVER (-1)

typedef struct dragon_pool dragon_pool_t; /* process-local handle */
/* The per-process waiter of async callers (waiter.h). */
typedef struct dragon_waiter dragon_waiter_t;

/* A reference to an allocation. A plain value: copy it freely; gen guards
 * against use after the block was freed and reused. */
typedef struct dragon_alloc {
    uint64_t offset; /* of the user bytes from the start of the heap */
    uint64_t size;   /* bytes requested */
    uint64_t gen;    /* allocation id, unique within the pool */
} dragon_alloc_t;

typedef struct dragon_pool_stats {
    uint64_t total_bytes; /* heap bytes managed by the allocator */
    uint64_t free_bytes;
    uint64_t num_allocs;
    double utilization;   /* 1 - free/total */
    uint64_t segment_bytes; /* whole segment including metadata */
} dragon_pool_stats_t;

typedef struct dragon_reclaim_stats {
    uint64_t allocs_freed;
    uint64_t bytes_freed;
    uint64_t locks_released;   /* locks, rlocks, semaphore units */
    uint64_t channels_repaired;/* channels whose locks the dead process held */
    uint64_t barriers_broken;
    uint64_t doorbells_freed;
} dragon_reclaim_stats_t;

typedef struct dragon_pool_attrs {
    uint64_t rtid;    /* run-time id: part of the segment name and of descriptors */
    uint64_t pool_id; /* unique within the run-time */
    uint64_t bytes;   /* heap size, rounded down to the minimum block */
    uint64_t puid;    /* creator's run-time process id (0 = nobody) */
    uint64_t host_id; /* node index carried by descriptors (location-aware) */
} dragon_pool_attrs_t;

/* Creates the segment "/dragon-<user>-<rtid hex>-p<pool_id>" (mode 0600,
 * O_EXCL). The metadata is reserved with posix_fallocate; heap memory is
 * reserved in chunks as blocks are handed out, so a full /dev/shm is
 * DRAGON_ERR_SHM_FULL, never a SIGBUS. puid is recorded as the owner of what
 * is allocated through this handle. */
dragonError_t dragon_pool_create(const dragon_pool_attrs_t *attrs, dragon_pool_t **out);

/* Maps an existing pool from its descriptor. expect_rtid != 0 rejects
 * descriptors of another run-time with DRAGON_ERR_FOREIGN_RUNTIME. */
dragonError_t dragon_pool_attach(const uint8_t *desc, size_t len, uint64_t expect_rtid,
                                 uint64_t puid, dragon_pool_t **out);

/* Unmaps and frees the handle. DRAGON_ERR_BUSY while a waiter watches it. */
dragonError_t dragon_pool_detach(dragon_pool_t *pool);

/* Marks the pool destroyed, unlinks the segment and detaches. Other
 * processes' mappings stay valid until they detach; their next allocation
 * fails with DRAGON_ERR_DESTROYED. */
dragonError_t dragon_pool_destroy(dragon_pool_t *pool);

dragonError_t dragon_pool_serialize(const dragon_pool_t *pool, uint8_t *buf, size_t cap,
                                    size_t *len);
dragonError_t dragon_pool_stats(const dragon_pool_t *pool, dragon_pool_stats_t *out);
dragonError_t dragon_pool_name(const dragon_pool_t *pool, char *buf, size_t cap);
dragonError_t dragon_pool_ids(const dragon_pool_t *pool, uint64_t *rtid, uint64_t *pool_id);
/* Base address of the mapping and its length (for zero-copy views). */
dragonError_t dragon_pool_mapping(const dragon_pool_t *pool, void **base, uint64_t *len);

/* Allocates size bytes (64-byte aligned). Waits up to timeout_us for space;
 * DRAGON_ERR_TOO_LARGE at once when size can never fit. */
dragonError_t dragon_pool_alloc(dragon_pool_t *pool, uint64_t size, int64_t timeout_us,
                                dragon_alloc_t *out);
/* Waits up to timeout_us until a block for an allocation of size bytes is
 * free (0 checks once). A hint, not a reservation: another process may take
 * it first, so allocate with timeout 0 and wait again on DRAGON_ERR_TIMEOUT.
 * DRAGON_ERR_TOO_LARGE at once when size can never fit. */
dragonError_t dragon_pool_wait_space(dragon_pool_t *pool, uint64_t size, int64_t timeout_us);

/* Async waiting for memory: ring w's doorbell with `bit` (0..63) whenever
 * memory of the pool is freed (by any process, through any allocation or
 * channel) or the pool is destroyed. Register, then retry the allocation
 * (or the send) with timeout 0, then wait for the bit: that order loses no
 * wake-up. Unwatch drops every bit w watches the pool's frees with. */
dragonError_t dragon_pool_watch(dragon_pool_t *pool, dragon_waiter_t *w, uint32_t bit);
dragonError_t dragon_pool_unwatch(dragon_pool_t *pool, dragon_waiter_t *w);

/* Frees an allocation from any process; a stale or double free is
 * DRAGON_ERR_DESTROYED, never a corruption. */
dragonError_t dragon_pool_free(dragon_pool_t *pool, dragon_alloc_t alloc);
dragonError_t dragon_alloc_ptr(const dragon_pool_t *pool, dragon_alloc_t alloc, void **ptr);
/* Changes who reclaim will free the allocation for (0 = nobody). */
dragonError_t dragon_alloc_set_owner(dragon_pool_t *pool, dragon_alloc_t alloc, uint64_t puid);
dragonError_t dragon_alloc_serialize(const dragon_pool_t *pool, dragon_alloc_t alloc,
                                     uint8_t *buf, size_t cap, size_t *len);
/* Turns an allocation descriptor back into an allocation of this pool
 * (DRAGON_ERR_BAD_DESCRIPTOR if it names another pool). */
dragonError_t dragon_alloc_attach(const dragon_pool_t *pool, const uint8_t *desc, size_t len,
                                  dragon_alloc_t *out);

/* Frees what process puid held in this pool: its allocations, locks,
 * half-done channel operations, barrier arrivals and doorbell slots. Run it
 * only after puid is dead (Local Services does, when it reaps). */
dragonError_t dragon_pool_reclaim(dragon_pool_t *pool, uint64_t puid,
                                  dragon_reclaim_stats_t *out);

/* Reads the header fields of any descriptor without attaching: its kind
 * (DRAGON_DESC_*), run-time id, pool id and host id. */
enum {
    DRAGON_DESC_POOL = 1,
    DRAGON_DESC_ALLOC = 2,
    DRAGON_DESC_CHANNEL = 3,
    DRAGON_DESC_SYNC = 4,
};
dragonError_t dragon_desc_inspect(const uint8_t *desc, size_t len, uint32_t *kind,
                                  uint64_t *rtid, uint64_t *pool_id, uint64_t *host_id);
/* Extracts the descriptor of the pool that an object descriptor lives in. */
dragonError_t dragon_desc_pool(const uint8_t *desc, size_t len, uint8_t *pool_desc,
                               size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
