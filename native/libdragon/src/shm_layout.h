/* Layout of everything libdragon keeps in shared memory. Any change here
 * bumps DRAGON_LAYOUT_VERSION. Ownership and locking rules are stated per
 * structure; docs/DESIGN.md explains the crash-recovery reasoning. */
#ifndef DG_SHM_LAYOUT_H
#define DG_SHM_LAYOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define DG_CACHELINE 64
#define DG_ALIGNED __attribute__((aligned(DG_CACHELINE)))

/* ---- events: something to wait for -------------------------------------
 * An event is signalled after a state change that a waiter may want
 * (message published, slot freed, lock released...). Signalling is free when
 * nobody waits: the signaller bumps seq and calls futex_wake only if
 * sleep_mask or extra is non-zero, and rings doorbells only if nwatch > 0
 * (Dekker-style with seq_cst fences on both sides, see event.c). The first cache line is all a
 * signaller reads; it is written only by waiters going to sleep. */
#define DG_EVENT_WATCHERS 64
#define DG_EVENT_SLEEPERS 64
#define DG_SLEEPER_ANON UINT64_MAX /* sleeper[] tag of a waiter without a puid */
typedef struct dg__event {
    _Atomic uint32_t seq;      /* futex word of blocking (sync) waiters */
    /* Registered blocking waiters (spinners are not): what destroy drains.
     * Incremented before a registration, decremented after it is undone,
     * so a crash in between leaves it too high, never too low. */
    _Atomic uint32_t sleepers;
    _Atomic uint32_t nwatch;   /* occupied entries in watch[] (>= the truth after a crash) */
    _Atomic uint32_t extra;    /* registered waiters not in sleeper[] (it was full) */
    _Atomic uint32_t all_extra;/* of those, the ones wanting every wake */
    uint32_t _pad;
    /* Bit i set while sleeper[i] is registered: this (with `extra`) is what a
     * signaller reads, and reclaim keeps it exact (set after the entry is
     * claimed, cleared before it is released). */
    _Atomic uint64_t sleep_mask;
    /* Subset of sleep_mask wanting every wake (they do not consume what
     * they wait for, e.g. poll): a signal-one then wakes all. */
    _Atomic uint64_t all_mask;
    /* Blocking waiters by the puid of their handle (DG_SLEEPER_ANON if none),
     * 0 = free; claimed by CAS, cleared by the waiter on its way out or by
     * reclaim for a process killed asleep. */
    _Atomic uint64_t sleeper[DG_EVENT_SLEEPERS] DG_ALIGNED;
    /* Async watchers: 0 = empty, else dg__watch_pack(slot, slot_gen, bit).
     * Claimed and cleared by CAS, no lock. A stale entry (its doorbell slot
     * freed or reused: gen differs) is cleared by whoever rings it. */
    _Atomic uint64_t watch[DG_EVENT_WATCHERS] DG_ALIGNED;
} dg__event_t;

/* ---- doorbells: one per (process, pool) that waits asynchronously ------- */
#define DG_DOORBELLS 1024
typedef struct dg__doorbell {
    _Atomic uint64_t owner;    /* puid holding the slot, 0 = free (claim by CAS) */
    _Atomic uint32_t gen;      /* bumped on each claim: invalidates old watches */
    _Atomic uint32_t seq;      /* futex word of the owner's waiter thread */
    _Atomic uint64_t ready;    /* bits rung since the owner last took them */
    _Atomic uint32_t sleeping; /* the waiter thread is (about to be) in futex_waitv */
    uint32_t _pad[9];
} DG_ALIGNED dg__doorbell_t;

/* ---- pool segment --------------------------------------------------------
 * [dg__pool_hdr][block map: 1 byte per min block][heap], each page aligned.
 * The block map is authoritative: an entry is nonzero only where a block
 * starts, DG_MAP_ALLOC | order for allocated blocks, order alone for free
 * ones (order >= DG_MIN_ORDER so 0 means "no block starts here"). Free lists
 * (in-band links in free blocks) are a cache rebuilt from the map after a
 * process died holding the allocator mutex. Every allocator step commits
 * with one map byte written in an order that keeps the map walkable. */
#define DG_POOL_MAGIC 0x4c4f4f50474400ULL /* "\0DGPOOL" */
#define DG_MIN_ORDER 7                    /* 128-byte minimum block */
#define DG_MAX_ORDER 48
#define DG_MAP_ALLOC 0x80
#define DG_MAP_ORDER 0x3f
#define DG_RESERVE_BITS 65536             /* heap reservation chunks (bitmap) */
#define DG_NO_BLOCK UINT64_MAX

typedef struct dg__pool_hdr {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t uid;
    uint64_t rtid, pool_id, host_id;
    uint64_t segment_bytes; /* whole mapping */
    uint64_t map_offset;    /* from the segment start */
    uint64_t heap_offset;   /* from the segment start */
    uint64_t heap_bytes;    /* multiple of the min block */
    uint64_t reserve_chunk; /* bytes per reservation bit */
    _Atomic uint32_t destroyed;
    uint32_t _pad0;

    /* Allocator state: everything below up to `free_ev` is guarded by lock. */
    pthread_mutex_t lock DG_ALIGNED; /* robust, process-shared */
    uint64_t free_head[DG_MAX_ORDER + 1]; /* heap offsets, DG_NO_BLOCK = empty */
    uint64_t free_bytes;
    uint64_t num_allocs;
    uint64_t next_gen; /* allocation ids; never reused */
    uint64_t reserved[DG_RESERVE_BITS / 64];

    dg__event_t free_ev DG_ALIGNED; /* signalled when memory is freed */
    _Atomic uint64_t next_object_id; /* channel / sync ids */
    dg__doorbell_t doorbells[DG_DOORBELLS];
} dg__pool_hdr_t;

/* In-band header in front of every allocation's user bytes (64 bytes, so
 * user bytes stay cache-line aligned). Written under the allocator lock
 * before the map byte commits the allocation. */
#define DG_BLOCK_MAGIC 0x4b4c4244u /* "DBLK" */
#define DG_BLOCK_FREED 0x45455246u /* "FREE" */
enum dg__block_kind {
    DG_KIND_USER = 1,
    DG_KIND_CHANNEL = 2,
    DG_KIND_SYNC = 3,
    DG_KIND_MSG = 4,
    DG_KIND_END /* one past the last kind: sizes tables indexed by kind */
};
/* owner word: kind of holder in the top byte, id below. */
#define DG_OWNER_NONE 0ULL
#define DG_OWNER_PROC(puid) ((1ULL << 56) | ((puid) & 0x00ffffffffffffffULL))
#define DG_OWNER_CHANNEL(off) ((2ULL << 56) | ((off) & 0x00ffffffffffffffULL))
#define DG_OWNER_TAG(o) ((o) >> 56)
#define DG_OWNER_ID(o) ((o) & 0x00ffffffffffffffULL)
typedef struct dg__block_hdr {
    _Atomic uint32_t magic;
    uint8_t order;
    uint8_t kind;            /* dg__block_kind */
    uint16_t _pad;
    uint64_t gen;
    uint64_t size;           /* bytes requested */
    _Atomic uint64_t owner;  /* DG_OWNER_*; reclaim frees DG_OWNER_PROC(puid) */
    uint64_t _pad2[4];
} dg__block_hdr_t;
/* While free, a block's first bytes hold the free-list links instead. */
typedef struct dg__free_links {
    uint64_t prev, next;
} dg__free_links_t;

/* ---- channel (user bytes of a DG_KIND_CHANNEL allocation) ----------------
 * Two-lock queue: producers serialise on send_lock, consumers on recv_lock,
 * each a robust mutex held for one slot copy. A message at position p is
 * published to receivers by the release store slot.pos = p, written last
 * (for a large message after its block was handed to the channel); tail
 * then moves for the next sender before send_lock is released. Receivers
 * poll the slot they want, not tail, so a streaming pair bounces only the
 * slot lines. head moves (release) only after the message was taken. So a
 * process that dies holding a lock leaves at most a half-written slot
 * (pos != p: ignored, or DG_POS_PENDING(p) naming a block to free), a
 * complete slot whose tail was not moved yet (repair moves it), or an
 * untaken message (delivered to the next receiver); channel.c has the
 * full case analysis. */
#define DG_CHANNEL_MAGIC 0x4e414843u /* "CHAN" */
#define DG_SLOT_INLINE 0u
#define DG_SLOT_ALLOC 1u
#define DG_POS_PENDING(p) ((p) | (1ULL << 63))
typedef struct dg__slot {
    /* position this slot was last published for; DG_POS_PENDING(p) while a
     * large message's block (fields below complete) is being handed over */
    uint64_t pos;
    uint64_t len;        /* payload length */
    uint32_t flags;      /* DG_SLOT_INLINE / DG_SLOT_ALLOC */
    uint32_t _pad;
    uint64_t alloc_offset, alloc_size, alloc_gen; /* DG_SLOT_ALLOC only */
    uint64_t _pad2[2];
    /* inline payload (block_size bytes) follows at offset 64 */
} dg__slot_t;

/* Lines that different processes write are kept 128 bytes apart: the L2
 * adjacent-line prefetcher moves 128-byte pairs, so two hot 64-byte lines
 * sharing a pair still ping-pong. The channel record starts 64 bytes into
 * its allocation's user bytes (DG_CHANNEL_SKEW) so that DG_PAIR_ALIGNED is
 * absolute: blocks are >= 128-byte aligned and user bytes start 64 in. */
#define DG_PAIR_ALIGNED __attribute__((aligned(128)))
#define DG_CHANNEL_SKEW 64
typedef struct dg__channel {
    _Atomic uint32_t magic;
    uint32_t layout_version;
    uint64_t id;
    uint64_t capacity, block_size, slot_stride; /* immutable */
    _Atomic uint32_t destroyed; /* set once, under both locks */
    uint32_t _pad0;
    uint64_t destroyer; /* puid that destroyed it: reclaim finishes a destroy it died in */

    /* Each side's lock line also counts that side's calls in progress
     * (`active`, incremented before `destroyed` is checked): destroy waits
     * for both to drop to 0 (bounded: a process killed inside a call leaves
     * its count) before the memory goes back to the pool. */
    pthread_mutex_t send_lock DG_PAIR_ALIGNED;
    uint64_t send_cached_head; /* guarded by send_lock */
    _Atomic uint32_t send_active;
    pthread_mutex_t recv_lock DG_PAIR_ALIGNED;
    _Atomic uint32_t recv_active;
    _Atomic uint64_t head DG_PAIR_ALIGNED; /* next position to receive */
    _Atomic uint64_t tail DG_PAIR_ALIGNED; /* next position to send (senders, count, poll) */
    dg__event_t readable DG_PAIR_ALIGNED; /* signalled after a message is published */
    dg__event_t writable DG_PAIR_ALIGNED; /* signalled after head moves */
    /* slots follow (DG_PAIR_ALIGNED), each slot_stride bytes, a multiple of 128 */
} dg__channel_t;

/* ---- sync objects (user bytes of a DG_KIND_SYNC allocation) -------------
 * Every field from `lock` to `changed` is guarded by the robust mutex `lock`
 * and changed only inside one libdragon call (sync*.c). Crash consistency:
 * each guarded 64-bit word is written through an undo log (undo[]): its old
 * value is logged before the first write of a critical section, undo_n = 0
 * commits. Whoever next locks the mutex after the holder died
 * (EOWNERDEAD) rolls the log back, so a dead process's half-done operation
 * never happened; a finished one (committed, not yet unlocked) stands and
 * reclaim releases what it held. Owners are run-time process ids (puids). */
#define DG_SYNC_MAGIC 0x434e5953u /* "SYNC" */
#define DG_SYNC_HOLDERS 64 /* puids tracked per object (see holders[]) */
#define DG_SYNC_UNDO 16    /* words one critical section may change */
/* holders[] entry states of a CONDITION (field count). */
#define DG_COND_WAITING 1ULL
#define DG_COND_CANCELLED 2ULL
typedef struct dg__sync_holder {
    uint64_t puid;
    /* 0 = free slot. SEMAPHORE: units held. BARRIER: arrivals in generation
     * `tag` (stale, i.e. free, once the generation moved on). CONDITION:
     * DG_COND_WAITING or DG_COND_CANCELLED for ticket `tag`. */
    uint64_t count;
    uint64_t tag;
} dg__sync_holder_t;
typedef struct dg__sync {
    _Atomic uint32_t magic;
    uint32_t layout_version;
    uint32_t kind; /* dragonSyncKind_t, immutable */
    _Atomic uint32_t destroyed; /* set once, under lock, before the block is freed */
    uint64_t id;
    uint64_t cond_lock_offset, cond_lock_gen; /* condition: its lock's allocation (immutable) */
    pthread_mutex_t lock DG_ALIGNED; /* robust, process-shared; guards every field below */
    uint64_t undo_n;                 /* valid entries in undo[]; 0 = committed */
    struct { uint64_t off, old; } undo[DG_SYNC_UNDO]; /* byte offset in dg__sync_t, old word */
    int64_t value;       /* semaphore count, event flag */
    int64_t max;         /* bounded semaphore bound, -1 = none */
    uint64_t owner;      /* lock/rlock holder puid (meaningful while count > 0) */
    uint64_t count;      /* lock: 1 held, 0 free; rlock: depth */
    uint64_t parties, arrived, generation; /* barrier; generation = event set count too */
    uint64_t broken;     /* barrier: current generation broken (abort/timeout/reclaim) */
    uint64_t broken_bits;/* barrier: bit g%64 set = generation g ended broken (reset) */
    uint64_t next_ticket, wake_upto; /* condition: tickets < wake_upto may leave */
    uint64_t all_upto;   /* condition: tickets < all_upto were woken by notify_all */
    /* semaphore units / barrier arrivals / condition tickets per puid, for reclaim */
    dg__sync_holder_t holders[DG_SYNC_HOLDERS];
    dg__event_t changed DG_ALIGNED; /* signalled on every state change */
} dg__sync_t;

#endif
