/* Channels: bounded MPMC FIFO queues of messages in a pool allocation.
 *
 * Layout (shm_layout.h): a dg__channel_t header DG_CHANNEL_SKEW bytes into
 * the allocation (so its 128-byte alignment is real), then `capacity` slots
 * of slot_stride bytes (a 64-byte dg__slot_t, then block_size inline bytes,
 * rounded up to 128). Positions head/tail only grow; position p lives in
 * slot p % capacity.
 *
 * Two-lock queue. Senders serialise on send_lock and own `tail`; receivers
 * serialise on recv_lock and own `head`. Each lock is held for one slot copy
 * inside one call. A message is published to receivers by the release store
 * slot.pos = p, written after everything else in the slot; receivers look at
 * slot[head].pos, never at tail, so a streaming producer/consumer pair only
 * moves the slot's lines between their caches. The producer caches head
 * under send_lock and reads the consumer's line only when that cached view
 * says "full". head moves (release) only after the message was copied out or
 * handed over, so the slot is never overwritten under a reader.
 *
 * Large messages (> block_size) travel as a separate DG_KIND_MSG allocation
 * whose descriptor sits in the slot (DG_SLOT_ALLOC). Its owner word moves
 * PROC(sender) -> CHANNEL(channel offset) -> PROC(receiver), each step one
 * atomic store, so dragon_pool_reclaim always knows who frees it. Steps,
 * with the crash point after each:
 *
 *   send, large: alloc, owner PROC(me)        [chan.send.large_alloced]
 *                copy the payload in           [chan.send.large_copied]
 *                lock send_lock                [chan.send.locked]
 *                slot fields, pos=PENDING(t)   [chan.send.slot_written]
 *                owner = CHANNEL               [chan.send.owner_changed]
 *                pos = t (published)           [chan.send.published]
 *                tail = t + 1                  [chan.send.tail_moved]
 *                unlock, signal readable
 *   send, small: lock, payload then len/flags  [chan.send.copied]
 *                pos = t, tail = t + 1, unlock (same points as above)
 *   recv:        lock recv_lock                [chan.recv.locked]
 *                small: copy out               [chan.recv.copied]
 *                large: owner = PROC(me)       [chan.recv.owner_changed]
 *                head = h + 1                  [chan.recv.published]
 *                unlock, signal writable
 *                copying recv of a large message: copy out of the block
 *                outside the lock              [chan.recv.large_taken]
 *                then free it.
 *
 * What a process killed at each point leaves, and who repairs it. The next
 * locker of a dead holder's robust mutex gets EOWNERDEAD and runs
 * send_repair / recv_repair; dragon_pool_reclaim locks both locks of every
 * channel (dg__channel_reclaim) BEFORE it frees the dead process's blocks.
 *   large_alloced, large_copied: a block owned by PROC(dead) that the
 *     channel never saw: reclaim frees it. Nothing was sent.
 *   send.locked, send.copied: slot.pos is not t: nothing was sent, the
 *     half-written slot is overwritten by the next sender. Nothing to repair.
 *   send.slot_written: pos == PENDING(t), the block still PROC(dead): the
 *     repair forgets the slot, reclaim frees the block. Nothing was sent.
 *   send.owner_changed: pos == PENDING(t) and the block already belongs to
 *     the channel, which no one else would free: the repair frees it.
 *   send.published: pos == t, receivers may already have taken it, but tail
 *     was not moved: the repair moves it. The message was sent (the sender
 *     just never heard OK).
 *   send.tail_moved: sent; nothing to repair.
 *   recv.locked, recv.copied: head not moved: the message stays queued for
 *     the next receiver (the dead one's copy died with it). No loss.
 *   recv.owner_changed: head not moved but the block says PROC(dead): the
 *     repair gives it back to the channel, so reclaim does not free it and
 *     the next receiver gets it. No loss.
 *   recv.published, recv.large_taken: the message was taken and is lost
 *     with its receiver; reclaim frees the block (PROC(dead)).
 * So no message is ever delivered twice, a message is lost only when its
 * receiver died after taking it, and no block leaks. A process killed while
 * asleep in a call leaves a registration in the event (dropped by reclaim
 * by its puid) and nothing else.
 *
 * Destroy takes both locks, sets `destroyed`, frees the queued blocks,
 * wakes everybody (they fail with DRAGON_ERR_DESTROYED), waits (bounded)
 * for every call in progress to leave (send_active/recv_active), then frees
 * the channel's block. A handle of a channel destroyed elsewhere is caught
 * by the block generation check every call starts with. A destroyer killed
 * half-way ([chan.destroy.marked], [chan.destroy.unlocked]) is finished by
 * reclaim (the channel records its puid).
 *
 * The active counts: every call is counted in its side's count from entry
 * to exit, and so are destroy and reclaim while they hold the locks. A dead
 * lock holder therefore left exactly one count (taken back by the repair),
 * and a dead sleeper one per registration (taken back by reclaim); only a
 * process killed while spinning or between locks leaves a count behind,
 * which costs the eventual destroy its bounded wait (DG_DESTROY_DRAIN_US). */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "reclaim.h"

struct dragon_channel {
    dragon_pool_t *pool;
    dg__channel_t *c;
    uint64_t offset, size, gen; /* the channel's allocation */
    uint64_t capacity, block_size;
    /* dg__event_wait spin budgets (process-local, per direction) */
    uint32_t send_spin, recv_spin, poll_spin;
};

_Static_assert(sizeof(dg__slot_t) == 64, "inline payload starts one cache line into a slot");

#define DG_CHAN_HDR (((uint64_t)sizeof(dg__channel_t) + 127u) & ~127ULL)
#define DG_POS_NONE UINT64_MAX /* slot.pos of a slot never (or no longer) written */
/* How long destroy waits for calls in progress to leave before it frees
 * the memory anyway (a process killed inside a call never leaves). */
#define DG_DESTROY_DRAIN_US 200000u
/* poll on EMPTY|FULL needs both events; it sleeps on one in slices. */
#define DG_POLL_SLICE_US 1000u

enum { SEND_SIDE = 0, RECV_SIDE = 1 };

/* The channel record of the allocation at heap offset `offset`. */
static inline dg__channel_t *chan_at(const dragon_pool_t *pool, uint64_t offset)
{
    return (dg__channel_t *)((uint8_t *)dg__pool_user(pool, offset) + DG_CHANNEL_SKEW);
}

static inline dg__slot_t *slot_at(const dg__channel_t *c, uint64_t pos)
{
    /* a power-of-two capacity spares the hot path a 64-bit division */
    uint64_t cap = c->capacity;
    uint64_t i = (cap & (cap - 1)) == 0 ? pos & (cap - 1) : pos % cap;
    return (dg__slot_t *)((uint8_t *)c + DG_CHAN_HDR + i * c->slot_stride);
}

static inline uint8_t *slot_payload(dg__slot_t *s)
{
    return (uint8_t *)s + sizeof *s;
}

static inline uint64_t slot_pos(const dg__slot_t *s)
{
    return __atomic_load_n(&s->pos, __ATOMIC_ACQUIRE);
}

/* slot.pos is written last (release) so a repairer that finds pos == tail
 * can trust the fields written before it, even if the writer was killed. */
static inline void slot_set_pos(dg__slot_t *s, uint64_t pos)
{
    __atomic_store_n(&s->pos, pos, __ATOMIC_RELEASE);
}

static inline uint64_t me_owner(const dragon_pool_t *pool)
{
    return pool->puid ? DG_OWNER_PROC(pool->puid) : DG_OWNER_NONE;
}

static inline dg__block_hdr_t *blk_of(const dragon_pool_t *pool, uint64_t offset)
{
    return (dg__block_hdr_t *)(pool->heap + offset - sizeof(dg__block_hdr_t));
}

/* The channel's block is still the one this handle was made for. Only its
 * header is read (a line nobody writes while the channel lives), not the
 * allocator map, so this costs two loads of a shared-clean line. */
static int ch_live(const dragon_channel_t *ch)
{
    dg__block_hdr_t *b = blk_of(ch->pool, ch->offset);
    return atomic_load(&b->magic) == DG_BLOCK_MAGIC &&
           __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == ch->gen;
}

static _Atomic uint32_t *side_active(dg__channel_t *c, int side)
{
    return side == SEND_SIDE ? &c->send_active : &c->recv_active;
}

/* Every call that touches channel memory is counted in its side's active
 * count between enter and leave; destroy waits for the counts to drain
 * before it frees the memory. The order (generation check, count, destroyed,
 * generation again) closes the race with a concurrent destroy: either we see
 * `destroyed`, or destroy sees our count (seq_cst on both sides); the second
 * generation check proves the `destroyed` we read was this channel's. */
static dragonError_t ch_enter(const dragon_channel_t *ch, int side)
{
    if (!ch_live(ch))
        return DRAGON_ERR_DESTROYED;
    _Atomic uint32_t *a = side_active(ch->c, side);
    atomic_fetch_add(a, 1);
    if (atomic_load(&ch->c->destroyed) || !ch_live(ch)) {
        atomic_fetch_sub(a, 1);
        return DRAGON_ERR_DESTROYED;
    }
    return DRAGON_OK;
}

/* Takes back n counts a dead process left in a side's active count. Never
 * below zero: a count is only ever taken back for a call that made one. */
static void active_drop(dg__channel_t *c, int side, uint32_t n)
{
    _Atomic uint32_t *a = side_active(c, side);
    uint32_t v = atomic_load(a);
    while (n && v) {
        uint32_t nv = v > n ? v - n : 0;
        if (atomic_compare_exchange_weak(a, &v, nv))
            break;
    }
}

static void ch_leave(const dragon_channel_t *ch, int side)
{
    atomic_fetch_sub(side_active(ch->c, side), 1);
}

static uint64_t remaining_us(uint64_t deadline_us)
{
    if (deadline_us == UINT64_MAX)
        return UINT64_MAX;
    uint64_t now = dg__now_us();
    return deadline_us > now ? deadline_us - now : 0;
}

static int64_t timeout_from_deadline(uint64_t deadline_us)
{
    uint64_t left = remaining_us(deadline_us);
    if (left == UINT64_MAX)
        return DRAGON_WAIT_FOREVER;
    return left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left;
}

/* ---- repairs after a lock holder died --------------------------------------
 * Called with the lock held (EOWNERDEAD), before it is marked consistent.
 * `off` is the channel's heap offset (its owner word). Both may free blocks
 * (pool lock taken inside a channel lock: the pool never takes a channel
 * lock while it holds its own). */

static void send_repair(dragon_pool_t *pool, dg__channel_t *c, uint64_t off)
{
    uint64_t t = atomic_load(&c->tail);
    dg__slot_t *s = slot_at(c, t);
    uint64_t pos = slot_pos(s);
    if (pos == t) {
        /* Published to receivers (maybe taken already): finish the send. */
        atomic_store(&c->tail, t + 1);
    } else if (pos == DG_POS_PENDING(t)) {
        /* A large message being handed over, never published: forget it.
         * If the block already belongs to the channel only we can free it;
         * still PROC(dead), reclaim does. The fields are complete (written
         * before the PENDING mark) and generation-checked anyway. */
        dg__block_hdr_t *b;
        if (s->flags == DG_SLOT_ALLOC &&
            dg__pool_block(pool, s->alloc_offset, s->alloc_gen, 0, &b) == DRAGON_OK &&
            atomic_load(&b->owner) == DG_OWNER_CHANNEL(off)) {
            dragon_alloc_t a = {s->alloc_offset, s->alloc_size, s->alloc_gen};
            dragon_pool_free(pool, a);
        }
        slot_set_pos(s, DG_POS_NONE);
    }
    c->send_cached_head = atomic_load(&c->head);
}

/* The state of slot s for position pos: not published yet (or never will
 * be), published and usable (*b = its block if large), or published but
 * unusable (its block was freed by someone who had no right to: skipped
 * rather than wedging the queue). pos is read once. */
enum { SLOT_EMPTY, SLOT_READY, SLOT_BROKEN };
static int slot_state(dragon_pool_t *pool, dg__slot_t *s, uint64_t pos, dg__block_hdr_t **b)
{
    *b = NULL;
    if (slot_pos(s) != pos)
        return SLOT_EMPTY;
    if (s->flags != DG_SLOT_ALLOC)
        return SLOT_READY;
    return dg__pool_block(pool, s->alloc_offset, s->alloc_gen, 0, b) == DRAGON_OK ? SLOT_READY
                                                                                  : SLOT_BROKEN;
}

/* Returns 1 if it dropped a message (head moved). */
static int recv_repair(dragon_pool_t *pool, dg__channel_t *c, uint64_t off)
{
    int dropped = 0;
    for (;;) {
        uint64_t h = atomic_load(&c->head);
        dg__block_hdr_t *b;
        int st = slot_state(pool, slot_at(c, h), h, &b);
        if (st == SLOT_BROKEN) {
            atomic_store_explicit(&c->head, h + 1, memory_order_release);
            dropped = 1;
            continue;
        }
        /* The dead receiver may have taken the block without moving head:
         * the message is still queued, so the block is the channel's. */
        if (st == SLOT_READY && b && atomic_load(&b->owner) != DG_OWNER_CHANNEL(off))
            atomic_store(&b->owner, DG_OWNER_CHANNEL(off));
        return dropped;
    }
}

static dragonError_t lock_side(dragon_pool_t *pool, dg__channel_t *c, uint64_t off, int side,
                               int *repaired)
{
    int died = 0;
    pthread_mutex_t *m = side == SEND_SIDE ? &c->send_lock : &c->recv_lock;
    dragonError_t rc = dg__mutex_lock(m, &died);
    if (rc != DRAGON_OK)
        return rc;
    if (died) {
        if (side == SEND_SIDE)
            send_repair(pool, c, off);
        else
            recv_repair(pool, c, off);
        /* Whoever holds a lock is counted in that side's active count (calls,
         * destroy and reclaim alike), so the dead holder left exactly one. */
        active_drop(c, side, 1);
        rc = dg__mutex_consistent(m);
        if (rc != DRAGON_OK) {
            dg__mutex_unlock(m);
            return rc;
        }
        if (repaired)
            *repaired = 1;
    }
    return DRAGON_OK;
}

static void unlock_side(dg__channel_t *c, int side)
{
    dg__mutex_unlock(side == SEND_SIDE ? &c->send_lock : &c->recv_lock);
}

/* ---- create / attach / detach / serialize ------------------------------------- */

static dragonError_t new_handle(dragon_pool_t *pool, dg__channel_t *c, uint64_t offset,
                                uint64_t size, uint64_t gen, dragon_channel_t **out)
{
    dragon_channel_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return DRAGON_ERR_NO_MEMORY;
    ch->pool = pool;
    ch->c = c;
    ch->offset = offset;
    ch->size = size;
    ch->gen = gen;
    ch->capacity = c->capacity;
    ch->block_size = c->block_size;
    *out = ch;
    return DRAGON_OK;
}

dragonError_t dragon_channel_create(dragon_pool_t *pool, uint64_t capacity, uint64_t block_size,
                                    dragon_channel_t **out)
{
    if (!pool || !out || capacity == 0 || block_size == 0)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (block_size > (1ULL << 40) || capacity > (1ULL << 40))
        return DRAGON_ERR_TOO_LARGE;
    uint64_t stride = (sizeof(dg__slot_t) + block_size + 127u) & ~127ULL;
    if (capacity > (UINT64_MAX - DG_CHANNEL_SKEW - DG_CHAN_HDR) / stride)
        return DRAGON_ERR_TOO_LARGE;
    uint64_t size = DG_CHANNEL_SKEW + DG_CHAN_HDR + capacity * stride;
    /* Owned by its creator until initialised (a creator killed half-way
     * leaves a block that reclaim frees), then by nobody: a channel outlives
     * its creator and is freed only by destroy. Timeout 0: no space right
     * now is DRAGON_ERR_TIMEOUT, never a wait. */
    dragon_alloc_t a;
    dragonError_t rc = dg__pool_alloc(pool, size, DG_KIND_CHANNEL, me_owner(pool), 0, &a);
    if (rc != DRAGON_OK)
        return rc;
    dg__channel_t *c = chan_at(pool, a.offset);
    memset(c, 0, DG_CHAN_HDR);
    c->layout_version = DRAGON_LAYOUT_VERSION;
    c->id = atomic_fetch_add(&pool->hdr->next_object_id, 1);
    c->capacity = capacity;
    c->block_size = block_size;
    c->slot_stride = stride;
    if ((rc = dg__mutex_init(&c->send_lock)) != DRAGON_OK ||
        (rc = dg__mutex_init(&c->recv_lock)) != DRAGON_OK) {
        dragon_pool_free(pool, a);
        return rc;
    }
    dg__event_init(&c->readable);
    dg__event_init(&c->writable);
    for (uint64_t p = 0; p < capacity; p++) {
        dg__slot_t *s = slot_at(c, p);
        memset(s, 0, sizeof *s);
        s->pos = DG_POS_NONE; /* slot 0 must not look written for position 0 */
    }
    rc = new_handle(pool, c, a.offset, a.size, a.gen, out);
    if (rc != DRAGON_OK) {
        dragon_pool_free(pool, a);
        return rc;
    }
    atomic_store(&c->magic, DG_CHANNEL_MAGIC);
    atomic_store(&blk_of(pool, a.offset)->owner, DG_OWNER_NONE);
    return DRAGON_OK;
}

dragonError_t dragon_channel_attach(dragon_pool_t *pool, const uint8_t *desc, size_t len,
                                    dragon_channel_t **out)
{
    if (!pool || !desc || !out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__desc_t d;
    dragonError_t rc = dg__desc_decode(desc, len, DRAGON_DESC_CHANNEL, &d);
    if (rc != DRAGON_OK)
        return rc;
    if ((rc = dg__pool_check_desc(pool, &d)) != DRAGON_OK)
        return rc;
    dg__block_hdr_t *b;
    rc = dg__pool_block(pool, d.offset, d.gen, DG_KIND_CHANNEL, &b);
    if (rc == DRAGON_ERR_INVALID_ARGUMENT)
        return DRAGON_ERR_BAD_DESCRIPTOR; /* an offset no block can have */
    if (rc != DRAGON_OK)
        return rc;
    dg__channel_t *c = chan_at(pool, d.offset);
    if (atomic_load(&c->magic) != DG_CHANNEL_MAGIC)
        return DRAGON_ERR_DESTROYED; /* never finished creating */
    if (c->layout_version != DRAGON_LAYOUT_VERSION)
        return DRAGON_ERR_VERSION_MISMATCH;
    if (atomic_load(&c->destroyed))
        return DRAGON_ERR_DESTROYED;
    return new_handle(pool, c, d.offset, b->size, d.gen, out);
}

dragonError_t dragon_channel_detach(dragon_channel_t *ch)
{
    if (!ch)
        return DRAGON_ERR_INVALID_ARGUMENT;
    free(ch);
    return DRAGON_OK;
}

dragonError_t dragon_channel_serialize(const dragon_channel_t *ch, uint8_t *buf, size_t cap,
                                       size_t *len)
{
    if (!ch || !buf)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (!ch_live(ch))
        return DRAGON_ERR_DESTROYED;
    dg__desc_t d;
    dg__pool_fill_desc(ch->pool, &d);
    d.kind = DRAGON_DESC_CHANNEL;
    d.offset = ch->offset;
    d.size = ch->size;
    d.gen = ch->gen;
    d.extra = ch->c->id;
    return dg__desc_encode(&d, buf, cap, len);
}

dragonError_t dragon_channel_info(const dragon_channel_t *ch, uint64_t *capacity,
                                  uint64_t *block_size)
{
    if (!ch)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (!ch_live(ch))
        return DRAGON_ERR_DESTROYED;
    if (capacity)
        *capacity = ch->capacity;
    if (block_size)
        *block_size = ch->block_size;
    return DRAGON_OK;
}

/* ---- destroy ---------------------------------------------------------------------- */

/* Frees the large messages still queued (and forgets the queue). Both locks
 * held. Each free is generation-checked, so a destroyer killed half-way and
 * finished by reclaim never frees a block twice. */
static void free_queued(dragon_pool_t *pool, dg__channel_t *c, uint64_t off)
{
    uint64_t h = atomic_load(&c->head), t = atomic_load(&c->tail);
    for (uint64_t p = h; p != t; p++) {
        dg__slot_t *s = slot_at(c, p);
        dg__block_hdr_t *b;
        if (s->flags == DG_SLOT_ALLOC && slot_pos(s) == p &&
            dg__pool_block(pool, s->alloc_offset, s->alloc_gen, 0, &b) == DRAGON_OK &&
            atomic_load(&b->owner) == DG_OWNER_CHANNEL(off)) {
            dragon_alloc_t a = {s->alloc_offset, s->alloc_size, s->alloc_gen};
            dragon_pool_free(pool, a);
        }
    }
    atomic_store(&c->head, t);
}

/* After `destroyed` is set: wake everybody, let calls in progress leave,
 * give the memory back. */
static void finish_destroy(dragon_pool_t *pool, dg__channel_t *c, uint64_t off, uint64_t size,
                           uint64_t gen)
{
    dg__event_signal(pool, &c->readable);
    dg__event_signal(pool, &c->writable);
    uint64_t until = dg__now_us() + DG_DESTROY_DRAIN_US;
    for (int i = 0; atomic_load(&c->send_active) || atomic_load(&c->recv_active); i++) {
        if (dg__now_us() >= until)
            break; /* a process killed inside a call: its count never drops */
        if (i < 100) {
            sched_yield();
        } else {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        /* a waiter that registered after the first wake-up */
        if ((i & 15) == 15) {
            dg__event_signal(pool, &c->readable);
            dg__event_signal(pool, &c->writable);
        }
    }
    atomic_store(&c->magic, 0);
    dragon_alloc_t a = {off, size, gen};
    dragon_pool_free(pool, a);
}

/* Locks both sides (send first: the only order anybody takes both in). */
static dragonError_t lock_both(dragon_pool_t *pool, dg__channel_t *c, uint64_t off, int *repaired)
{
    dragonError_t rc = lock_side(pool, c, off, SEND_SIDE, repaired);
    if (rc != DRAGON_OK)
        return rc;
    rc = lock_side(pool, c, off, RECV_SIDE, repaired);
    if (rc != DRAGON_OK)
        unlock_side(c, SEND_SIDE);
    return rc;
}

dragonError_t dragon_channel_destroy(dragon_channel_t *ch)
{
    if (!ch)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (!ch_live(ch))
        return DRAGON_ERR_DESTROYED;
    dg__channel_t *c = ch->c;
    atomic_fetch_add(&c->send_active, 1);
    atomic_fetch_add(&c->recv_active, 1);
    dragonError_t rc = lock_both(ch->pool, c, ch->offset, NULL);
    if (rc == DRAGON_OK && (atomic_load(&c->destroyed) || !ch_live(ch))) {
        unlock_side(c, RECV_SIDE);
        unlock_side(c, SEND_SIDE);
        rc = DRAGON_ERR_DESTROYED; /* somebody else got here first */
    }
    if (rc != DRAGON_OK) {
        atomic_fetch_sub(&c->recv_active, 1);
        atomic_fetch_sub(&c->send_active, 1);
        return rc;
    }
    c->destroyer = ch->pool->puid;
    atomic_store(&c->destroyed, 1);
    DG_CRASH_POINT("chan.destroy.marked");
    free_queued(ch->pool, c, ch->offset);
    unlock_side(c, RECV_SIDE);
    unlock_side(c, SEND_SIDE);
    atomic_fetch_sub(&c->recv_active, 1);
    atomic_fetch_sub(&c->send_active, 1);
    DG_CRASH_POINT("chan.destroy.unlocked");
    finish_destroy(ch->pool, c, ch->offset, ch->size, ch->gen);
    free(ch);
    return DRAGON_OK;
}

/* ---- send ---------------------------------------------------------------------- */

typedef struct send_ctx {
    dragon_channel_t *ch;
    const void *buf;
    uint64_t len;
    int is_alloc;
    dragon_alloc_t alloc;  /* is_alloc: the message's block... */
    dg__block_hdr_t *blk;  /* ...and its header */
    unsigned tries;
} send_ctx_t;

static dragonError_t try_send(void *p)
{
    send_ctx_t *x = p;
    dragon_channel_t *ch = x->ch;
    dg__channel_t *c = ch->c;
    if (x->tries++ > 0) {
        /* Retrying (spinning or woken): look before taking the lock, so
         * waiting senders do not bounce the lock line between them. */
        if (atomic_load(&c->destroyed))
            return DRAGON_ERR_DESTROYED;
        if (atomic_load_explicit(&c->tail, memory_order_relaxed) -
                atomic_load_explicit(&c->head, memory_order_acquire) >=
            c->capacity)
            return DRAGON_ERR_TIMEOUT;
    }
    int repaired = 0;
    dragonError_t rc = lock_side(ch->pool, c, ch->offset, SEND_SIDE, &repaired);
    if (rc != DRAGON_OK)
        return rc;
    DG_CRASH_POINT("chan.send.locked");
    if (atomic_load_explicit(&c->destroyed, memory_order_relaxed)) {
        unlock_side(c, SEND_SIDE);
        return DRAGON_ERR_DESTROYED;
    }
    uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
    if (t - c->send_cached_head >= c->capacity) {
        c->send_cached_head = atomic_load_explicit(&c->head, memory_order_acquire);
        if (t - c->send_cached_head >= c->capacity) {
            unlock_side(c, SEND_SIDE);
            return DRAGON_ERR_TIMEOUT;
        }
    }
    dg__slot_t *s = slot_at(c, t);
    if (!x->is_alloc) {
        /* Payload first, then the header line in one go: a receiver polls
         * that line, and every store to it we let it steal in between costs
         * one more transfer before pos lands. */
        if (x->len)
            memcpy(slot_payload(s), x->buf, x->len);
        s->len = x->len;
        s->flags = DG_SLOT_INLINE;
        DG_CRASH_POINT("chan.send.copied");
    } else {
        s->len = x->len;
        s->flags = DG_SLOT_ALLOC;
        s->alloc_offset = x->alloc.offset;
        s->alloc_size = x->alloc.size;
        s->alloc_gen = x->alloc.gen;
        slot_set_pos(s, DG_POS_PENDING(t));
        DG_CRASH_POINT("chan.send.slot_written");
        atomic_store(&x->blk->owner, DG_OWNER_CHANNEL(ch->offset));
        DG_CRASH_POINT("chan.send.owner_changed");
    }
    slot_set_pos(s, t);
    DG_CRASH_POINT("chan.send.published");
    atomic_store_explicit(&c->tail, t + 1, memory_order_release);
    DG_CRASH_POINT("chan.send.tail_moved");
    unlock_side(c, SEND_SIDE);
    dg__event_signal_one(ch->pool, &c->readable);
    return DRAGON_OK;
}

static dragonError_t send_wait(send_ctx_t *x, uint64_t deadline_us)
{
    dragon_channel_t *ch = x->ch;
    return dg__event_wait(&ch->c->writable, ch->pool->puid, 0, try_send, x, deadline_us,
                          &ch->send_spin);
}

dragonError_t dragon_channel_send(dragon_channel_t *ch, const void *buf, uint64_t len,
                                  int64_t timeout_us)
{
    if (!ch || (!buf && len))
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = ch_enter(ch, SEND_SIDE);
    if (rc != DRAGON_OK)
        return rc;
    uint64_t deadline = dg__deadline(timeout_us);
    send_ctx_t x = {.ch = ch, .buf = buf, .len = len};
    if (len > ch->block_size) {
        /* Copied into a block of our own first (outside any channel lock),
         * so the lock is held only to write the slot. */
        rc = dg__pool_alloc(ch->pool, len, DG_KIND_MSG, me_owner(ch->pool),
                            timeout_from_deadline(deadline), &x.alloc);
        if (rc != DRAGON_OK)
            goto out;
        DG_CRASH_POINT("chan.send.large_alloced");
        x.blk = blk_of(ch->pool, x.alloc.offset);
        memcpy(dg__pool_user(ch->pool, x.alloc.offset), buf, len);
        DG_CRASH_POINT("chan.send.large_copied");
        x.is_alloc = 1;
    }
    rc = send_wait(&x, deadline);
    if (rc != DRAGON_OK && x.is_alloc)
        dragon_pool_free(ch->pool, x.alloc); /* still ours: never published */
out:
    ch_leave(ch, SEND_SIDE);
    return rc;
}

dragonError_t dragon_channel_send_alloc(dragon_channel_t *ch, dragon_alloc_t alloc, uint64_t len,
                                        int64_t timeout_us)
{
    if (!ch)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = ch_enter(ch, SEND_SIDE);
    if (rc != DRAGON_OK)
        return rc;
    uint64_t deadline = dg__deadline(timeout_us);
    send_ctx_t x = {.ch = ch, .len = len, .is_alloc = 1};
    rc = dg__pool_block(ch->pool, alloc.offset, alloc.gen, 0, &x.blk);
    if (rc != DRAGON_OK)
        goto out;
    if (x.blk->kind != DG_KIND_USER && x.blk->kind != DG_KIND_MSG) {
        rc = DRAGON_ERR_WRONG_KIND; /* a channel or sync object cannot travel */
        goto out;
    }
    if (len > x.blk->size || DG_OWNER_TAG(atomic_load(&x.blk->owner)) == 2) {
        rc = DRAGON_ERR_INVALID_ARGUMENT; /* too long, or already queued somewhere */
        goto out;
    }
    x.alloc.offset = alloc.offset;
    x.alloc.size = x.blk->size;
    x.alloc.gen = alloc.gen;
    rc = send_wait(&x, deadline);
out:
    ch_leave(ch, SEND_SIDE);
    return rc;
}

/* ---- receive ---------------------------------------------------------------------- */

typedef struct recv_ctx {
    dragon_channel_t *ch;
    void *buf;
    uint64_t cap;
    int zero_copy;        /* recv_msg: hand large messages over */
    uint64_t len;         /* out: message length */
    int is_alloc;         /* out: the message is `alloc`, now owned by us */
    dragon_alloc_t alloc;
    unsigned tries;
} recv_ctx_t;

static dragonError_t try_recv(void *p)
{
    recv_ctx_t *x = p;
    dragon_channel_t *ch = x->ch;
    dg__channel_t *c = ch->c;
    if (x->tries++ > 0) {
        /* Retrying: look at the slot we want without taking the lock. */
        if (atomic_load(&c->destroyed))
            return DRAGON_ERR_DESTROYED;
        uint64_t h = atomic_load_explicit(&c->head, memory_order_relaxed);
        dg__slot_t *s = slot_at(c, h);
        if (slot_pos(s) != h)
            return DRAGON_ERR_TIMEOUT;
        __builtin_prefetch(slot_payload(s), 0, 3); /* fetch it while we lock */
    }
    int moved = 0; /* a repair may have skipped a broken slot */
    dragonError_t rc = lock_side(ch->pool, c, ch->offset, RECV_SIDE, &moved);
    if (rc != DRAGON_OK)
        return rc;
    DG_CRASH_POINT("chan.recv.locked");
    if (atomic_load_explicit(&c->destroyed, memory_order_relaxed)) {
        unlock_side(c, RECV_SIDE);
        return DRAGON_ERR_DESTROYED;
    }
    for (;;) {
        uint64_t h = atomic_load_explicit(&c->head, memory_order_relaxed);
        dg__slot_t *s = slot_at(c, h);
        dg__block_hdr_t *b;
        int st = slot_state(ch->pool, s, h, &b);
        if (st == SLOT_BROKEN) {
            atomic_store_explicit(&c->head, h + 1, memory_order_release);
            moved = 1;
            continue;
        }
        if (st == SLOT_EMPTY) {
            unlock_side(c, RECV_SIDE);
            if (moved)
                dg__event_signal_one(ch->pool, &c->writable);
            return DRAGON_ERR_TIMEOUT;
        }
        uint64_t len = s->len;
        x->len = len;
        if (s->flags != DG_SLOT_ALLOC) {
            if (len > x->cap) {
                unlock_side(c, RECV_SIDE);
                return DRAGON_ERR_BUFFER_TOO_SMALL; /* stays queued */
            }
            if (len)
                memcpy(x->buf, slot_payload(s), len);
            x->is_alloc = 0;
            DG_CRASH_POINT("chan.recv.copied");
        } else {
            if (!x->zero_copy && len > x->cap) {
                unlock_side(c, RECV_SIDE);
                return DRAGON_ERR_BUFFER_TOO_SMALL;
            }
            /* Ours before head moves: a receiver killed after the move
             * leaves the block to reclaim, never to nobody. */
            atomic_store(&b->owner, me_owner(ch->pool));
            DG_CRASH_POINT("chan.recv.owner_changed");
            x->is_alloc = 1;
            x->alloc.offset = s->alloc_offset;
            x->alloc.size = s->alloc_size;
            x->alloc.gen = s->alloc_gen;
        }
        atomic_store_explicit(&c->head, h + 1, memory_order_release);
        DG_CRASH_POINT("chan.recv.published");
        unlock_side(c, RECV_SIDE);
        dg__event_signal_one(ch->pool, &c->writable);
        return DRAGON_OK;
    }
}

static dragonError_t recv_common(dragon_channel_t *ch, recv_ctx_t *x, int64_t timeout_us)
{
    dragonError_t rc = ch_enter(ch, RECV_SIDE);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__event_wait(&ch->c->readable, ch->pool->puid, 0, try_recv, x,
                        dg__deadline(timeout_us), &ch->recv_spin);
    ch_leave(ch, RECV_SIDE);
    return rc;
}

dragonError_t dragon_channel_recv(dragon_channel_t *ch, void *buf, uint64_t cap, uint64_t *len,
                                  int64_t timeout_us)
{
    if (!ch || (!buf && cap))
        return DRAGON_ERR_INVALID_ARGUMENT;
    recv_ctx_t x = {.ch = ch, .buf = buf, .cap = cap};
    dragonError_t rc = recv_common(ch, &x, timeout_us);
    if (len && (rc == DRAGON_OK || rc == DRAGON_ERR_BUFFER_TOO_SMALL))
        *len = x.len;
    if (rc == DRAGON_OK && x.is_alloc) {
        /* Taken (owned by us, off the queue): copy out without any lock. */
        DG_CRASH_POINT("chan.recv.large_taken");
        if (x.len)
            memcpy(buf, dg__pool_user(ch->pool, x.alloc.offset), x.len);
        dragon_pool_free(ch->pool, x.alloc);
    }
    return rc;
}

dragonError_t dragon_channel_recv_msg(dragon_channel_t *ch, void *inline_buf, uint64_t inline_cap,
                                      dragon_msg_t *msg, int64_t timeout_us)
{
    if (!ch || !msg || !inline_buf || inline_cap < ch->block_size)
        return DRAGON_ERR_INVALID_ARGUMENT;
    recv_ctx_t x = {.ch = ch, .buf = inline_buf, .cap = inline_cap, .zero_copy = 1};
    dragonError_t rc = recv_common(ch, &x, timeout_us);
    if (rc != DRAGON_OK)
        return rc;
    memset(msg, 0, sizeof *msg);
    msg->len = x.len;
    msg->is_alloc = (uint32_t)x.is_alloc;
    if (x.is_alloc)
        msg->alloc = x.alloc;
    return DRAGON_OK;
}

/* ---- poll, count ---------------------------------------------------------------- */

#define POLL_ALL (DRAGON_POLL_IN | DRAGON_POLL_OUT | DRAGON_POLL_EMPTY | DRAGON_POLL_FULL)

static uint32_t poll_state(const dg__channel_t *c)
{
    /* head first: tail read later is never behind it */
    uint64_t h = atomic_load(&c->head);
    uint64_t t = atomic_load(&c->tail);
    /* A message is receivable once its slot is published, a moment before
     * tail moves: head may be ahead of the tail we read. */
    uint64_t n = t > h ? t - h : 0;
    uint32_t st = 0;
    st |= n > 0 ? DRAGON_POLL_IN : DRAGON_POLL_EMPTY;
    if (n < c->capacity)
        st |= DRAGON_POLL_OUT;
    else
        st |= DRAGON_POLL_FULL;
    return st;
}

typedef struct poll_ctx {
    dg__channel_t *c;
    uint32_t events, revents;
} poll_ctx_t;

static dragonError_t try_poll(void *p)
{
    poll_ctx_t *x = p;
    if (atomic_load(&x->c->destroyed))
        return DRAGON_ERR_DESTROYED;
    uint32_t st = poll_state(x->c);
    if (!(st & x->events))
        return DRAGON_ERR_TIMEOUT;
    x->revents = st;
    return DRAGON_OK;
}

dragonError_t dragon_channel_poll(dragon_channel_t *ch, uint32_t events, int64_t timeout_us,
                                  uint32_t *revents)
{
    if (!ch || !revents || events == 0 || (events & ~(uint32_t)POLL_ALL))
        return DRAGON_ERR_INVALID_ARGUMENT;
    /* IN and FULL become true when a message is published (readable is
     * signalled), OUT and EMPTY when head moves (writable). Any mix of the
     * two kinds other than EMPTY|FULL holds already; that one sleeps in
     * slices on readable and re-checks. Pollers consume nothing: they want
     * every wake-up. Counted on the side whose event they sleep on (see
     * dg__channel_reclaim). */
    int on_tail = (events & (DRAGON_POLL_IN | DRAGON_POLL_FULL)) != 0;
    int on_head = (events & (DRAGON_POLL_OUT | DRAGON_POLL_EMPTY)) != 0;
    int side = on_tail ? RECV_SIDE : SEND_SIDE;
    dragonError_t rc = ch_enter(ch, side);
    if (rc != DRAGON_OK)
        return rc;
    dg__channel_t *c = ch->c;
    poll_ctx_t x = {.c = c, .events = events};
    uint64_t deadline = dg__deadline(timeout_us);
    dg__event_t *ev = on_tail ? &c->readable : &c->writable;
    if (on_tail && on_head) {
        rc = try_poll(&x);
        while (rc == DRAGON_ERR_TIMEOUT && dg__now_us() < deadline) {
            uint64_t slice = dg__now_us() + DG_POLL_SLICE_US;
            rc = dg__event_wait(ev, ch->pool->puid, DG_WAIT_ALL, try_poll, &x,
                                slice < deadline ? slice : deadline, &ch->poll_spin);
        }
    } else {
        rc = dg__event_wait(ev, ch->pool->puid, DG_WAIT_ALL, try_poll, &x, deadline,
                            &ch->poll_spin);
    }
    if (rc == DRAGON_ERR_TIMEOUT)
        x.revents = poll_state(c);
    *revents = x.revents;
    ch_leave(ch, side);
    return rc;
}

dragonError_t dragon_channel_count(const dragon_channel_t *ch, uint64_t *count)
{
    if (!ch || !count)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if (!ch_live(ch))
        return DRAGON_ERR_DESTROYED;
    uint64_t h = atomic_load(&ch->c->head);
    uint64_t t = atomic_load(&ch->c->tail);
    if (atomic_load(&ch->c->destroyed) || !ch_live(ch))
        return DRAGON_ERR_DESTROYED;
    uint64_t n = t > h ? t - h : 0;
    *count = n > ch->capacity ? ch->capacity : n;
    return DRAGON_OK;
}

/* ---- async watching ------------------------------------------------------------- */

dragonError_t dragon_channel_watch(dragon_channel_t *ch, dragon_waiter_t *w, uint32_t which,
                                   uint32_t bit)
{
    if (!ch || !w || bit > 63 || which == 0 ||
        (which & ~(uint32_t)(DRAGON_WATCH_IN | DRAGON_WATCH_OUT)))
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = ch_enter(ch, RECV_SIDE);
    if (rc != DRAGON_OK)
        return rc;
    if (which & DRAGON_WATCH_IN)
        rc = dg__event_watch(ch->pool, &ch->c->readable, w, bit);
    if (rc == DRAGON_OK && (which & DRAGON_WATCH_OUT)) {
        rc = dg__event_watch(ch->pool, &ch->c->writable, w, bit);
        if (rc != DRAGON_OK && (which & DRAGON_WATCH_IN))
            dg__event_unwatch(ch->pool, &ch->c->readable, w);
    }
    ch_leave(ch, RECV_SIDE);
    return rc;
}

dragonError_t dragon_channel_unwatch(dragon_channel_t *ch, dragon_waiter_t *w, uint32_t which)
{
    if (!ch || !w || which == 0 || (which & ~(uint32_t)(DRAGON_WATCH_IN | DRAGON_WATCH_OUT)))
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = ch_enter(ch, RECV_SIDE);
    if (rc != DRAGON_OK)
        return rc;
    if (which & DRAGON_WATCH_IN)
        dg__event_unwatch(ch->pool, &ch->c->readable, w);
    if (which & DRAGON_WATCH_OUT)
        dg__event_unwatch(ch->pool, &ch->c->writable, w);
    ch_leave(ch, RECV_SIDE);
    return DRAGON_OK;
}

/* ---- reclaim ---------------------------------------------------------------------- */

void dg__channel_reclaim(dragon_pool_t *pool, dg__block_hdr_t *blk, uint64_t puid,
                         dragon_reclaim_stats_t *st)
{
    uint64_t off = (uint64_t)((uint8_t *)blk + sizeof *blk - pool->heap);
    dg__channel_t *c = chan_at(pool, off);
    if (atomic_load(&c->magic) != DG_CHANNEL_MAGIC) {
        /* Its creator died half-way through create: nobody has a handle. */
        if (atomic_load(&blk->owner) == DG_OWNER_PROC(puid)) {
            dragon_alloc_t a = {off, blk->size, blk->gen};
            if (dragon_pool_free(pool, a) == DRAGON_OK && st)
                st->allocs_freed++;
        }
        return;
    }
    if (atomic_load(&blk->owner) == DG_OWNER_PROC(puid))
        atomic_store(&blk->owner, DG_OWNER_NONE); /* died just after creating it */
    /* Locking repairs whatever a dead holder left (EOWNERDEAD); this runs
     * before reclaim frees the dead process's blocks, so a message it had
     * taken without moving head is the channel's again by then. */
    int repaired = 0;
    atomic_fetch_add(&c->send_active, 1);
    atomic_fetch_add(&c->recv_active, 1);
    if (lock_both(pool, c, off, &repaired) != DRAGON_OK) {
        atomic_fetch_sub(&c->recv_active, 1);
        atomic_fetch_sub(&c->send_active, 1);
        return;
    }
    int finish = atomic_load(&c->destroyed) && c->destroyer == puid;
    if (finish)
        free_queued(pool, c, off); /* the dead process was destroying it */
    unlock_side(c, RECV_SIDE);
    unlock_side(c, SEND_SIDE);
    atomic_fetch_sub(&c->recv_active, 1);
    atomic_fetch_sub(&c->send_active, 1);
    if (repaired && st)
        st->channels_repaired++;
    /* Calls of the dead process that were asleep: their registrations go,
     * and so do their active counts (a receiver, or a poller of IN/FULL,
     * sleeps on readable and is counted on the receive side; senders and
     * pollers of OUT/EMPTY on writable, send side). */
    active_drop(c, RECV_SIDE, dg__event_reclaim(pool, &c->readable, puid));
    active_drop(c, SEND_SIDE, dg__event_reclaim(pool, &c->writable, puid));
    if (finish) {
        finish_destroy(pool, c, off, blk->size, blk->gen);
    } else if (repaired) {
        /* the repair may have freed a slot or given a message back */
        dg__event_signal(pool, &c->readable);
        dg__event_signal(pool, &c->writable);
    }
}
