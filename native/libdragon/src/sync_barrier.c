/* BARRIER, with Python's threading.Barrier semantics, in pool memory.
 *
 * State (guarded by the record's mutex, written through the undo log):
 *   parties      fixed at create
 *   generation   counts rounds; a round ends when the last party arrives
 *                (passed) or on reset (broken)
 *   arrived      parties inside the current round
 *   broken       the current round was aborted, timed out, or lost a party
 *                that died; arrivals fail with DRAGON_ERR_BROKEN until reset
 *   broken_bits  bit g%64: round g ended by reset (its waiters, if they look
 *                later, get DRAGON_ERR_BROKEN, not DRAGON_OK)
 *   holders[]    (puid, arrivals, round) so reclaim can break the round a
 *                dead process was waiting in; arrivals beyond the table are
 *                not tracked. A party that dies before arriving cannot be
 *                noticed: the others wait for their timeout.
 *
 * The index a party gets is its arrival order in the round (0 first), like
 * CPython's. The ticket of dragon_barrier_arrive is the round number;
 * dragon_barrier_check(ticket) is OK once the round passed, BROKEN if it was
 * broken (even after a reset), TIMEOUT while it is still open. A waiter that
 * does not look for 64 rounds after a reset is told OK (history is 64 bits).
 * dragon_barrier_cancel(ticket) is the timeout path of both forms: it breaks
 * the round only while that round is still open (the caller's arrival still
 * counts in the current generation), so a party whose round passed just
 * before its deadline neither breaks the next round nor reports failure. */
#include "sync_impl.h"

#define DG_BARRIER DG_SYNC_KIND_BIT(DRAGON_SYNC_BARRIER)

/* What a party of round `ticket` should be told now. */
static dragonError_t dg__barrier_outcome(const dg__sync_t *s, uint64_t ticket)
{
    if (ticket > s->generation)
        return DRAGON_ERR_INVALID_ARGUMENT; /* not a ticket this barrier gave */
    if (ticket < s->generation) {
        if (s->generation - ticket <= 64 && ((s->broken_bits >> (ticket % 64)) & 1))
            return DRAGON_ERR_BROKEN;
        return DRAGON_OK;
    }
    return s->broken ? DRAGON_ERR_BROKEN : DRAGON_ERR_TIMEOUT;
}

/* Ends the current round (passed or broken) and opens the next. The
 * generation is written last, but the undo log makes the order moot. */
static void dg__barrier_next_round(dg__sync_t *s, int broken)
{
    uint64_t bit = 1ULL << (s->generation % 64);
    DG_SYNC_SET(s, broken_bits, broken ? (s->broken_bits | bit) : (s->broken_bits & ~bit));
    DG_SYNC_SET(s, arrived, 0);
    DG_SYNC_SET(s, broken, 0);
    DG_SYNC_SET(s, generation, s->generation + 1);
}

/* Records one arrival of puid in the current round (best effort: a full
 * table leaves it untracked). Entries of older rounds are free slots. */
static void dg__barrier_track(dg__sync_t *s, uint64_t puid)
{
    uint64_t g = s->generation;
    int free_i = -1;
    for (int i = 0; i < DG_SYNC_HOLDERS; i++) {
        dg__sync_holder_t *e = &s->holders[i];
        int live = e->count != 0 && e->tag == g;
        if (live && e->puid == puid) {
            DG_SYNC_SET(s, holders[i].count, e->count + 1);
            return;
        }
        if (!live && free_i < 0)
            free_i = i;
    }
    if (free_i < 0)
        return;
    DG_SYNC_SET(s, holders[free_i].puid, puid);
    DG_SYNC_SET(s, holders[free_i].tag, g);
    DG_SYNC_SET(s, holders[free_i].count, 1);
}

dragonError_t dragon_barrier_arrive(dragon_sync_t *h, uint64_t *ticket, uint64_t *index)
{
    if (!ticket)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_BARRIER, &s);
    if (rc != DRAGON_OK)
        return rc;
    if (s->broken) {
        dg__sync_leave(s);
        return DRAGON_ERR_BROKEN;
    }
    uint64_t g = s->generation, idx = s->arrived;
    if (idx + 1 >= s->parties) {
        dg__barrier_next_round(s, 0); /* last party: everybody passes */
        dg__event_signal(h->pool, &s->changed);
    } else {
        DG_SYNC_SET(s, arrived, idx + 1);
        DG_CRASH_POINT("sync.barrier.half");
        dg__barrier_track(s, h->pool->puid);
    }
    dg__sync_commit(s);
    DG_CRASH_POINT("sync.barrier.arrived"); /* reclaim breaks the round */
    dg__sync_leave(s);
    *ticket = g;
    if (index)
        *index = idx;
    return DRAGON_OK;
}

typedef struct {
    dragon_sync_t *h;
    uint64_t ticket;
} dg__barrier_ctx_t;

static dragonError_t dg__barrier_try(void *p)
{
    dg__barrier_ctx_t *c = p;
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(c->h, DG_BARRIER, &s);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__barrier_outcome(s, c->ticket);
    dg__sync_leave(s);
    return rc;
}

static dragonError_t dg__barrier_wait_ticket(dragon_sync_t *h, uint64_t ticket, int64_t timeout_us)
{
    dg__barrier_ctx_t c = {.h = h, .ticket = ticket};
    return dg__sync_block_until(h, dg__barrier_try, &c, dg__deadline(timeout_us));
}

dragonError_t dragon_barrier_check(dragon_sync_t *h, uint64_t ticket, int64_t timeout_us)
{
    return dg__barrier_wait_ticket(h, ticket, timeout_us);
}

/* A party of round `ticket` gives up waiting: its timeout breaks the round
 * for everybody (DRAGON_ERR_TIMEOUT to the caller), unless the round ended
 * in the meantime: then it reports how it ended and changes nothing. */
dragonError_t dragon_barrier_cancel(dragon_sync_t *h, uint64_t ticket)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_BARRIER, &s);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__barrier_outcome(s, ticket);
    if (rc == DRAGON_ERR_TIMEOUT) {
        DG_SYNC_SET(s, broken, 1);
        dg__event_signal(h->pool, &s->changed);
    }
    dg__sync_leave(s);
    return rc;
}

dragonError_t dragon_barrier_wait(dragon_sync_t *h, int64_t timeout_us, uint64_t *index)
{
    uint64_t ticket, idx;
    dragonError_t rc = dragon_barrier_arrive(h, &ticket, &idx);
    if (rc != DRAGON_OK)
        return rc;
    rc = dg__barrier_wait_ticket(h, ticket, timeout_us);
    if (rc == DRAGON_ERR_TIMEOUT)
        rc = dragon_barrier_cancel(h, ticket);
    if (rc == DRAGON_OK && index)
        *index = idx;
    return rc;
}

dragonError_t dragon_barrier_abort(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_BARRIER, &s);
    if (rc != DRAGON_OK)
        return rc;
    if (!s->broken) {
        DG_SYNC_SET(s, broken, 1);
        dg__event_signal(h->pool, &s->changed);
    }
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_barrier_reset(dragon_sync_t *h)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_BARRIER, &s);
    if (rc != DRAGON_OK)
        return rc;
    /* An untouched round needs nothing; otherwise its parties (waiting, or
     * told BROKEN but not yet looking) must see it ended broken. */
    if (s->broken || s->arrived > 0) {
        dg__barrier_next_round(s, 1);
        dg__event_signal(h->pool, &s->changed);
    }
    dg__sync_leave(s);
    return DRAGON_OK;
}

dragonError_t dragon_barrier_state(const dragon_sync_t *h, uint64_t *parties,
                                   uint64_t *n_waiting, int *broken)
{
    dg__sync_t *s;
    dragonError_t rc = dg__sync_enter(h, DG_BARRIER, &s);
    if (rc != DRAGON_OK)
        return rc;
    if (parties)
        *parties = s->parties;
    if (n_waiting)
        *n_waiting = s->arrived;
    if (broken)
        *broken = s->broken != 0;
    dg__sync_leave(s);
    return DRAGON_OK;
}

void dg__sync_barrier_reclaim(dragon_pool_t *pool, dg__sync_t *s, uint64_t puid,
                              dragon_reclaim_stats_t *st)
{
    for (int i = 0; i < DG_SYNC_HOLDERS; i++) {
        dg__sync_holder_t *e = &s->holders[i];
        if (e->count == 0 || e->puid != puid || e->tag != s->generation)
            continue;
        /* The dead party will never leave: the others would wait forever. */
        if (!s->broken) {
            DG_SYNC_SET(s, broken, 1);
            st->barriers_broken++;
            dg__event_signal(pool, &s->changed);
        }
        DG_SYNC_SET(s, holders[i].count, 0);
        dg__sync_commit(s);
    }
}
