/* Events (futex words in shared memory that blocking callers sleep on), the
 * adaptive spin-then-sleep loop every blocking call goes through, doorbell
 * slots, and the per-process waiter thread that turns rung doorbells into a
 * readable pipe for an event loop.
 *
 * The ordering contract everything here rests on (Dekker): a waiter first
 * registers (its sleep_mask bit or a watch entry: a seq_cst RMW, then a
 * seq_cst fence) and only then re-runs its try; a signaller first makes its
 * state change visible, then issues a seq_cst fence, then reads
 * sleep_mask/extra/nwatch.
 * In the single total order of those fences either the signaller's read
 * comes after the registration (it wakes or rings) or the waiter's re-check
 * comes after the state change (it sees it). So a signal costs a fence and
 * two loads of a line nobody writes while nobody waits: no syscall, no RMW. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG
#endif
#ifndef FUTEX_WAITV_MAX
#define FUTEX_WAITV_MAX 128
#endif

/* Spin budget (ns) kept per handle by the caller. Spinning is what makes a
 * round trip between two running processes cost well under a microsecond,
 * and a futex sleep + wake costs tens of microseconds on a VM; but on this
 * 2-core machine a spinner may be stealing the very core its peer needs.
 * So the budget follows the waits this handle actually sees: doubled when
 * spinning paid off; when it did not, raised to cover the wait if that wait
 * ended within DG_SPIN_MAX_NS anyway (a peer working in bursts, e.g. copying
 * a large message), else halved. The minimum stays above zero so a budget
 * can grow back once the peer is responsive again. */
#define DG_SPIN_MIN_NS 2000u
#define DG_SPIN_INIT_NS 16000u
#define DG_SPIN_MAX_NS 256000u
/* While spinning, sched_yield this often. If the yield took long, another
 * task (maybe the very peer we wait for) needed our core: spinning is
 * stealing it, so stop and sleep, and count the spin as a failure even when
 * the peer's answer was there when we came back. */
#define DG_SPIN_YIELD_NS 4000u
#define DG_YIELD_BUSY_NS 2000u

/* A waiter thread waits on one futex per watched pool plus its control
 * word, and futex_waitv takes at most FUTEX_WAITV_MAX of them. */
#define DG_WAITER_POOLS (FUTEX_WAITV_MAX - 1)

_Static_assert(DG_DOORBELLS <= 1024, "watch entries keep the doorbell slot in 10 bits");
_Static_assert(DG_EVENT_SLEEPERS == 64, "sleeper bits live in one 64-bit mask");

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- watch entries ---------------------------------------------------------
 * bit 63: occupied; bits 16..47: doorbell generation; 6..15: slot; 0..5: bit */
static inline uint64_t dg__watch_pack(uint32_t slot, uint32_t gen, uint32_t bit)
{
    return (1ULL << 63) | ((uint64_t)gen << 16) | ((uint64_t)(slot & 0x3ffu) << 6) |
           (uint64_t)(bit & 63u);
}
static inline uint32_t watch_slot(uint64_t e) { return (uint32_t)(e >> 6) & 0x3ffu; }
static inline uint32_t watch_gen(uint64_t e) { return (uint32_t)(e >> 16); }
static inline uint32_t watch_bit(uint64_t e) { return (uint32_t)e & 63u; }

/* nwatch is incremented before an entry is claimed and decremented after
 * one is cleared, so a crash in between only leaves it too high (a few
 * wasted scans), never too low (a missed ring). */
static void watch_clear(dg__event_t *ev, int i, uint64_t e)
{
    if (atomic_compare_exchange_strong(&ev->watch[i], &e, 0))
        atomic_fetch_sub(&ev->nwatch, 1);
}

static int watch_stale(const dragon_pool_t *pool, uint64_t e)
{
    return atomic_load(&pool->hdr->doorbells[watch_slot(e)].gen) != watch_gen(e);
}

/* Sets the bit in the slot's ready mask and wakes its waiter thread. The
 * mask only grows until dragon_waiter_take exchanges it with 0, and whoever
 * moves it away from 0 bumps seq; so a ring that finds it non-zero has
 * nothing to add: the thread was (or is being) told, and take will return
 * every bit. (If that first ringer is killed between its two steps, the
 * thread's periodic check writes the pipe byte a second later.) */
static void doorbell_ring(dg__doorbell_t *db, uint32_t bit)
{
    uint64_t b = 1ULL << bit;
    if (atomic_load(&db->ready) & b)
        return;
    if (atomic_fetch_or(&db->ready, b) != 0)
        return;
    atomic_fetch_add(&db->seq, 1);
    if (atomic_load(&db->sleeping))
        dg__futex_wake(&db->seq, 1);
}

static void event_ring(dragon_pool_t *pool, dg__event_t *ev)
{
    for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
        uint64_t e = atomic_load(&ev->watch[i]);
        if (!e)
            continue;
        if (watch_stale(pool, e)) {
            watch_clear(ev, i, e); /* its waiter released the slot (or died) */
            continue;
        }
        doorbell_ring(&pool->hdr->doorbells[watch_slot(e)], watch_bit(e));
    }
}

/* ---- events ------------------------------------------------------------------ */

void dg__event_init(dg__event_t *ev)
{
    memset(ev, 0, sizeof *ev);
}

static void event_wake(dg__event_t *ev, int n)
{
    atomic_fetch_add(&ev->seq, 1);
    dg__futex_wake(&ev->seq, n);
}

static void event_signal(dragon_pool_t *pool, dg__event_t *ev, int all)
{
    /* Orders the caller's state change before the reads below (see top). */
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t mask = atomic_load_explicit(&ev->sleep_mask, memory_order_relaxed);
    uint32_t extra = atomic_load_explicit(&ev->extra, memory_order_relaxed);
    uint32_t nwatch = atomic_load_explicit(&ev->nwatch, memory_order_relaxed);
    if (mask | extra) {
        /* A non-consuming sleeper (poll) must see every signal; a consuming
         * one that gets a wake it cannot use passes it on (dg__event_wait). */
        if (!all && (atomic_load_explicit(&ev->all_mask, memory_order_relaxed) ||
                     atomic_load_explicit(&ev->all_extra, memory_order_relaxed)))
            all = 1;
        event_wake(ev, all ? INT_MAX : 1);
    }
    if (nwatch && pool)
        event_ring(pool, ev);
}

void dg__event_signal(dragon_pool_t *pool, dg__event_t *ev)
{
    event_signal(pool, ev, 1);
}

void dg__event_signal_one(dragon_pool_t *pool, dg__event_t *ev)
{
    event_signal(pool, ev, 0);
}

/* Registers a blocking waiter: named in sleeper[] by its puid, then its bit
 * set in sleep_mask (the RMW that pairs with a signaller's fence). Returns
 * the entry, or -1 when the table is full (then counted in `extra`: such a
 * registration cannot be reclaimed, which costs a useless futex_wake per
 * signal after a crash, never a lost wake-up). The order of the steps, and
 * the reverse order in sleeper_unregister, is what lets dg__event_reclaim
 * undo a registration a process was killed in the middle of. */
static int sleeper_register(dg__event_t *ev, uint64_t tag, int all)
{
    atomic_fetch_add(&ev->sleepers, 1);
    unsigned start = (unsigned)(((uint64_t)pthread_self() * 0x9E3779B97F4A7C15ULL) >> 58);
    for (unsigned k = 0; k < DG_EVENT_SLEEPERS; k++) {
        unsigned i = (start + k) % DG_EVENT_SLEEPERS;
        uint64_t zero = 0;
        if (atomic_load_explicit(&ev->sleeper[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&ev->sleeper[i], &zero, tag)) {
            if (all)
                atomic_fetch_or(&ev->all_mask, 1ULL << i);
            atomic_fetch_or(&ev->sleep_mask, 1ULL << i);
            return (int)i;
        }
    }
    if (all)
        atomic_fetch_add(&ev->all_extra, 1);
    atomic_fetch_add(&ev->extra, 1);
    return -1;
}

static void sleeper_unregister(dg__event_t *ev, int idx, int all)
{
    if (idx >= 0) {
        atomic_fetch_and(&ev->sleep_mask, ~(1ULL << idx));
        if (all)
            atomic_fetch_and(&ev->all_mask, ~(1ULL << idx));
        atomic_store(&ev->sleeper[idx], 0);
    } else {
        atomic_fetch_sub(&ev->extra, 1);
        if (all)
            atomic_fetch_sub(&ev->all_extra, 1);
    }
    atomic_fetch_sub(&ev->sleepers, 1);
}

static uint32_t budget_get(const uint32_t *spin_budget)
{
    uint32_t b = spin_budget ? __atomic_load_n(spin_budget, __ATOMIC_RELAXED) : 0;
    return b < DG_SPIN_MIN_NS || b > DG_SPIN_MAX_NS ? DG_SPIN_INIT_NS : b;
}

static void budget_set(uint32_t *spin_budget, uint64_t b)
{
    if (!spin_budget)
        return;
    b = b < DG_SPIN_MIN_NS ? DG_SPIN_MIN_NS : b > DG_SPIN_MAX_NS ? DG_SPIN_MAX_NS : b;
    __atomic_store_n(spin_budget, (uint32_t)b, __ATOMIC_RELAXED);
}

/* Spins on try_op for at most `budget` ns, yielding now and then (see
 * DG_SPIN_YIELD_NS); *contended is set when a yield showed that our core is
 * wanted by another task. */
static dragonError_t spin_phase(dg__try_fn try_op, void *ctx, uint64_t deadline_us,
                                uint64_t start, uint32_t budget, int *contended)
{
    uint64_t end = start + budget, last_yield = start;
    if (deadline_us != UINT64_MAX && deadline_us <= UINT64_MAX / 1000 && end > deadline_us * 1000)
        end = deadline_us * 1000;
    dragonError_t r = DRAGON_ERR_TIMEOUT;
    *contended = 0;
    for (unsigned i = 1;; i++) {
        cpu_relax();
        r = try_op(ctx);
        if (r != DRAGON_ERR_TIMEOUT)
            break;
        if ((i & 7) == 0) {
            uint64_t now = now_ns();
            if (now >= end)
                break;
            if (now - last_yield >= DG_SPIN_YIELD_NS) {
                sched_yield();
                last_yield = now_ns();
                if (last_yield - now >= DG_YIELD_BUSY_NS) {
                    *contended = 1;
                    break;
                }
            }
        }
    }
    return r;
}

dragonError_t dg__event_wait(dg__event_t *ev, uint64_t puid, uint32_t flags, dg__try_fn try_op,
                             void *ctx, uint64_t deadline_us, uint32_t *spin_budget)
{
    if (!ev || !try_op)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t r = try_op(ctx);
    if (r != DRAGON_ERR_TIMEOUT || deadline_us == 0)
        return r;
    uint32_t budget = budget_get(spin_budget);
    uint64_t start = now_ns();
    int contended = 0;
    r = spin_phase(try_op, ctx, deadline_us, start, budget, &contended);
    if (r != DRAGON_ERR_TIMEOUT) {
        budget_set(spin_budget, contended ? budget / 2 : (uint64_t)budget * 2);
        return r;
    }

    /* Registered for the whole sleep phase (not per futex_wait), so every
     * signal from here on bumps seq; the snapshot is taken before each try so
     * a signal between the try and the futex_wait makes the wait return at
     * once. Callers keep the object's memory valid while they are inside
     * (channel `active` counts, destroy drains sleepers). */
    int all = (flags & DG_WAIT_ALL) != 0;
    int idx = sleeper_register(ev, puid ? puid : DG_SLEEPER_ANON, all);
    atomic_thread_fence(memory_order_seq_cst);
    int woken = 0;
    for (;;) {
        uint32_t snap = atomic_load(&ev->seq);
        r = try_op(ctx);
        if (r != DRAGON_ERR_TIMEOUT)
            break;
        if (deadline_us != UINT64_MAX && dg__now_us() >= deadline_us)
            break;
        dragonError_t fr = dg__futex_wait(&ev->seq, snap, deadline_us);
        if (fr == DRAGON_OK) {
            woken = 1;
        } else if (fr != DRAGON_ERR_TIMEOUT) {
            r = fr;
            break;
        }
    }
    sleeper_unregister(ev, idx, all);
    /* We may have taken the only wake of a signal-one and are leaving without
     * consuming what it announced (buffer too small, error): hand it on. A
     * TIMEOUT after a wake means what was announced is gone already. */
    if (woken && !all && r != DRAGON_OK && r != DRAGON_ERR_TIMEOUT) {
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load(&ev->sleep_mask) | atomic_load(&ev->extra))
            event_wake(ev, 1);
    }
    uint64_t waited = now_ns() - start;
    if (r != DRAGON_ERR_TIMEOUT && !contended && waited <= DG_SPIN_MAX_NS)
        budget_set(spin_budget, waited + waited / 4); /* spin through it next time */
    else
        budget_set(spin_budget, budget / 2);
    return r;
}

dragonError_t dg__wait_until(dg__event_t *ev, dg__try_fn try_op, void *ctx, uint64_t deadline_us,
                             uint32_t *spin_budget)
{
    return dg__event_wait(ev, 0, 0, try_op, ctx, deadline_us, spin_budget);
}

void dg__event_drop_slot(dg__event_t *ev, uint32_t slot)
{
    for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
        uint64_t e = atomic_load(&ev->watch[i]);
        if (e && watch_slot(e) == slot)
            watch_clear(ev, i, e);
    }
}

uint32_t dg__event_reclaim(dragon_pool_t *pool, dg__event_t *ev, uint64_t puid)
{
    uint32_t dropped = 0;
    if (puid == 0)
        return 0;
    /* The dead process's registrations are frozen: nothing races on them.
     * Order mirrors sleeper_unregister (mask bits, entry, count): a bit is
     * never cleared once the entry may belong to somebody else. */
    for (int i = 0; i < DG_EVENT_SLEEPERS; i++) {
        uint64_t v = puid;
        if (atomic_load(&ev->sleeper[i]) != puid)
            continue;
        atomic_fetch_and(&ev->sleep_mask, ~(1ULL << i));
        atomic_fetch_and(&ev->all_mask, ~(1ULL << i));
        if (atomic_compare_exchange_strong(&ev->sleeper[i], &v, 0)) {
            atomic_fetch_sub(&ev->sleepers, 1);
            dropped++;
        }
    }
    for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
        uint64_t e = atomic_load(&ev->watch[i]);
        if (!e)
            continue;
        const dg__doorbell_t *db = &pool->hdr->doorbells[watch_slot(e)];
        if (watch_stale(pool, e) || atomic_load(&db->owner) == puid)
            watch_clear(ev, i, e);
    }
    return dropped;
}

/* ---- doorbells -------------------------------------------------------------
 * A slot belongs to one waiter of one process (owner = its puid, or
 * DG_SLEEPER_ANON when it has none). gen moves on every claim and release,
 * which is what makes watch entries of a former owner stale. */

static uint64_t owner_tag(uint64_t puid)
{
    return puid ? puid : DG_SLEEPER_ANON;
}

static dragonError_t doorbell_claim(dragon_pool_t *pool, uint64_t puid, uint32_t *slot,
                                    uint32_t *gen)
{
    dg__doorbell_t *dbs = pool->hdr->doorbells;
    uint32_t start = (uint32_t)((puid * 0x9E3779B97F4A7C15ULL) >> 40) % DG_DOORBELLS;
    for (uint32_t k = 0; k < DG_DOORBELLS; k++) {
        uint32_t i = (start + k) % DG_DOORBELLS;
        dg__doorbell_t *db = &dbs[i];
        uint64_t zero = 0;
        if (atomic_load_explicit(&db->owner, memory_order_relaxed) != 0 ||
            !atomic_compare_exchange_strong(&db->owner, &zero, owner_tag(puid)))
            continue;
        atomic_store(&db->ready, 0);
        atomic_store(&db->sleeping, 0);
        *gen = atomic_fetch_add(&db->gen, 1) + 1;
        *slot = i;
        return DRAGON_OK;
    }
    return DRAGON_ERR_LIMIT;
}

static void doorbell_release(dg__doorbell_t *db, uint64_t tag)
{
    atomic_fetch_add(&db->gen, 1); /* every watch entry naming it is now stale */
    atomic_store(&db->ready, 0);
    atomic_store(&db->sleeping, 0);
    atomic_compare_exchange_strong(&db->owner, &tag, 0);
}

uint64_t dg__doorbells_reclaim(dragon_pool_t *pool, uint64_t puid)
{
    if (!pool || puid == 0)
        return 0;
    uint64_t n = 0;
    for (uint32_t i = 0; i < DG_DOORBELLS; i++) {
        dg__doorbell_t *db = &pool->hdr->doorbells[i];
        if (atomic_load(&db->owner) == puid) {
            doorbell_release(db, puid);
            n++;
        }
    }
    return n;
}

/* ---- the waiter ------------------------------------------------------------ */

typedef struct dg__wpool {
    dragon_pool_t *pool;
    uint32_t slot, gen;
} dg__wpool_t;

struct dragon_waiter {
    uint64_t puid;
    int rfd, wfd;
    pthread_t thread;
    /* Guards stop, n, ents and every access to their doorbell slots from
     * this process: forget_pool removes a pool under it, after which the
     * thread never touches that mapping again, so the pool may be detached. */
    pthread_mutex_t mu;
    int stop;
    uint32_t n;
    dg__wpool_t ents[DG_WAITER_POOLS];
    /* Private futex the thread also waits on: bumped when ents change or on
     * stop, so it rebuilds its wait list. */
    _Atomic uint32_t ctl;
};

static void ctl_kick(dragon_waiter_t *w)
{
    atomic_fetch_add(&w->ctl, 1);
    syscall(SYS_futex, (uint32_t *)&w->ctl, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static dg__doorbell_t *ent_db(const dg__wpool_t *e)
{
    return &e->pool->hdr->doorbells[e->slot];
}

/* The waiter thread: sleeps on every slot's seq, writes one byte to the pipe
 * whenever some slot's ready mask is non-zero. It never calls anything of
 * the caller's, so a caller blocked in a synchronous call cannot deadlock it. */
static void *waiter_main(void *arg)
{
    dragon_waiter_t *w = arg;
    struct futex_waitv wv[DG_WAITER_POOLS + 1];
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals belong to the caller's threads */
    int legacy = 0;                          /* kernel without futex_waitv (< 5.16) */
    for (;;) {
        pthread_mutex_lock(&w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        uint32_t n = w->n;
        memset(wv, 0, sizeof wv[0] * (n + 1));
        wv[0].uaddr = (uintptr_t)&w->ctl;
        wv[0].val = atomic_load(&w->ctl);
        wv[0].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
        for (uint32_t i = 0; i < n; i++) {
            dg__doorbell_t *db = ent_db(&w->ents[i]);
            /* snapshot before the ready check: a ring after the check bumps
             * seq, so the wait below returns at once */
            wv[i + 1].uaddr = (uintptr_t)&db->seq;
            wv[i + 1].val = atomic_load(&db->seq);
            wv[i + 1].flags = FUTEX2_SIZE_U32; /* shared: ringers are other processes */
            atomic_store(&db->sleeping, 1);
        }
        atomic_thread_fence(memory_order_seq_cst);
        int any = 0;
        for (uint32_t i = 0; i < n && !any; i++)
            any = atomic_load(&ent_db(&w->ents[i])->ready) != 0;
        pthread_mutex_unlock(&w->mu);
        if (any) {
            char b = 1;
            ssize_t rc = write(w->wfd, &b, 1); /* EAGAIN: a byte is already pending */
            (void)rc;
        }
        /* 1 s safety net: recovers from a ringer killed between setting a
         * bit and bumping seq, at one wake-up per second of idleness. */
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 1;
        if (!legacy) {
            long rc = syscall(SYS_futex_waitv, wv, n + 1, 0, &dl, CLOCK_MONOTONIC);
            /* Woken, a value changed, timed out, interrupted, or a pool was
             * unmapped after we let go of the mutex: loop. Anything else
             * (no futex_waitv, or a refusal) must not become a busy loop. */
            if (rc < 0 && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR &&
                errno != EFAULT)
                legacy = 1;
        }
        if (legacy) {
            /* Poll every millisecond: degraded but correct. */
            struct timespec ms = {0, 1000000};
            syscall(SYS_futex, (uint32_t *)&w->ctl, FUTEX_WAIT_PRIVATE, (uint32_t)wv[0].val, &ms,
                    NULL, 0);
        }
    }
    return NULL;
}

dragonError_t dragon_waiter_create(uint64_t puid, dragon_waiter_t **out)
{
    if (!out)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragon_waiter_t *w = calloc(1, sizeof *w);
    if (!w)
        return DRAGON_ERR_NO_MEMORY;
    w->puid = puid;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(w);
        return errno == EMFILE || errno == ENFILE ? DRAGON_ERR_LIMIT : DRAGON_ERR_SYSTEM;
    }
    w->rfd = fds[0];
    w->wfd = fds[1];
    pthread_mutex_init(&w->mu, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&w->thread, &attr, waiter_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        close(w->rfd);
        close(w->wfd);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rc == EAGAIN ? DRAGON_ERR_LIMIT : DRAGON_ERR_SYSTEM;
    }
    *out = w;
    return DRAGON_OK;
}

dragonError_t dragon_waiter_fd(const dragon_waiter_t *w, int *fd)
{
    if (!w || !fd)
        return DRAGON_ERR_INVALID_ARGUMENT;
    *fd = w->rfd;
    return DRAGON_OK;
}

dragonError_t dragon_waiter_take(dragon_waiter_t *w, uint64_t *mask)
{
    if (!w || !mask)
        return DRAGON_ERR_INVALID_ARGUMENT;
    /* Drain first, then take the bits: a ring after the drain is either in
     * the bits we take or makes the thread write a fresh byte. */
    char buf[256];
    while (read(w->rfd, buf, sizeof buf) > 0) {
    }
    uint64_t m = 0;
    pthread_mutex_lock(&w->mu);
    for (uint32_t i = 0; i < w->n; i++)
        m |= atomic_exchange(&ent_db(&w->ents[i])->ready, 0);
    pthread_mutex_unlock(&w->mu);
    *mask = m;
    return DRAGON_OK;
}

dragonError_t dg__waiter_slot(dragon_waiter_t *w, dragon_pool_t *pool, uint32_t *slot,
                              uint32_t *gen)
{
    if (!w || !pool || !slot || !gen)
        return DRAGON_ERR_INVALID_ARGUMENT;
    dragonError_t rc = DRAGON_OK;
    pthread_mutex_lock(&w->mu);
    for (uint32_t i = 0; i < w->n; i++) {
        if (w->ents[i].pool == pool) {
            *slot = w->ents[i].slot;
            *gen = w->ents[i].gen;
            pthread_mutex_unlock(&w->mu);
            return DRAGON_OK;
        }
    }
    if (w->stop || w->n == DG_WAITER_POOLS) {
        rc = w->stop ? DRAGON_ERR_DESTROYED : DRAGON_ERR_LIMIT;
    } else {
        dg__wpool_t *e = &w->ents[w->n];
        rc = doorbell_claim(pool, w->puid, &e->slot, &e->gen);
        if (rc == DRAGON_OK) {
            e->pool = pool;
            w->n++;
            atomic_fetch_add(&pool->watchers, 1); /* the pool stays mapped */
            *slot = e->slot;
            *gen = e->gen;
            ctl_kick(w);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* The slot w holds in pool, without claiming one (0 = none). */
static int waiter_find(dragon_waiter_t *w, const dragon_pool_t *pool, uint32_t *slot,
                       uint32_t *gen)
{
    int found = 0;
    pthread_mutex_lock(&w->mu);
    for (uint32_t i = 0; i < w->n && !found; i++) {
        if (w->ents[i].pool == pool) {
            *slot = w->ents[i].slot;
            *gen = w->ents[i].gen;
            found = 1;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return found;
}

dragonError_t dragon_waiter_forget_pool(dragon_waiter_t *w, dragon_pool_t *pool)
{
    if (!w || !pool)
        return DRAGON_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&w->mu);
    for (uint32_t i = 0; i < w->n; i++) {
        if (w->ents[i].pool != pool)
            continue;
        doorbell_release(ent_db(&w->ents[i]), owner_tag(w->puid));
        w->ents[i] = w->ents[--w->n];
        atomic_fetch_sub(&pool->watchers, 1);
        ctl_kick(w);
        break;
    }
    pthread_mutex_unlock(&w->mu);
    return DRAGON_OK;
}

dragonError_t dragon_waiter_destroy(dragon_waiter_t *w)
{
    if (!w)
        return DRAGON_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    ctl_kick(w);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (uint32_t i = 0; i < w->n; i++) {
        doorbell_release(ent_db(&w->ents[i]), owner_tag(w->puid));
        atomic_fetch_sub(&w->ents[i].pool->watchers, 1);
    }
    close(w->rfd);
    close(w->wfd);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return DRAGON_OK;
}

/* ---- watching ----------------------------------------------------------------- */

dragonError_t dg__event_watch(dragon_pool_t *pool, dg__event_t *ev, dragon_waiter_t *w,
                              uint32_t bit)
{
    if (!pool || !ev || !w || bit > 63)
        return DRAGON_ERR_INVALID_ARGUMENT;
    uint32_t slot, gen;
    dragonError_t rc = dg__waiter_slot(w, pool, &slot, &gen);
    if (rc != DRAGON_OK)
        return rc;
    uint64_t want = dg__watch_pack(slot, gen, bit);
    /* Idempotent per (waiter, bit): several bits of one waiter may watch the
     * same event (each an entry). Old entries of this slot are ours from a
     * previous claim: drop them while we are here. */
    for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
        uint64_t e = atomic_load(&ev->watch[i]);
        if (e == want) {
            atomic_thread_fence(memory_order_seq_cst);
            return DRAGON_OK;
        }
        if (e && watch_slot(e) == slot && watch_gen(e) != gen)
            watch_clear(ev, i, e);
    }
    atomic_fetch_add(&ev->nwatch, 1);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
            uint64_t zero = 0;
            if (atomic_load_explicit(&ev->watch[i], memory_order_relaxed) == 0 &&
                atomic_compare_exchange_strong(&ev->watch[i], &zero, want)) {
                /* registered before the caller's retry of its operation */
                atomic_thread_fence(memory_order_seq_cst);
                return DRAGON_OK;
            }
        }
        /* Full: entries of waiters that went away without unwatching are
         * only cleared by a ring; sweep them and try once more. */
        int swept = 0;
        for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
            uint64_t e = atomic_load(&ev->watch[i]);
            if (e && watch_stale(pool, e)) {
                watch_clear(ev, i, e);
                swept = 1;
            }
        }
        if (!swept)
            break;
    }
    atomic_fetch_sub(&ev->nwatch, 1);
    return DRAGON_ERR_LIMIT;
}

dragonError_t dg__event_unwatch(dragon_pool_t *pool, dg__event_t *ev, dragon_waiter_t *w)
{
    if (!pool || !ev || !w)
        return DRAGON_ERR_INVALID_ARGUMENT;
    uint32_t slot, gen;
    if (!waiter_find(w, pool, &slot, &gen))
        return DRAGON_OK; /* never watched anything in this pool */
    for (int i = 0; i < DG_EVENT_WATCHERS; i++) {
        uint64_t e = atomic_load(&ev->watch[i]);
        if (e && watch_slot(e) == slot && watch_gen(e) == gen)
            watch_clear(ev, i, e);
    }
    return DRAGON_OK;
}
