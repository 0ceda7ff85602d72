/* Small OS wrappers every module uses: futexes, robust mutexes,
 * crash-point injection for the tests, version strings (time: clock.c). */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

dragonError_t dg__futex_wait(_Atomic uint32_t *addr, uint32_t expected, uint64_t deadline_us)
{
    for (;;) {
        struct timespec rel, *relp = NULL;
        if (deadline_us != UINT64_MAX) {
            uint64_t now = dg__now_us();
            if (now >= deadline_us)
                return DRAGON_ERR_TIMEOUT;
            uint64_t left = deadline_us - now;
            rel.tv_sec = (time_t)(left / 1000000u);
            rel.tv_nsec = (long)(left % 1000000u) * 1000;
            relp = &rel;
        }
        /* Shared futex (no FUTEX_PRIVATE_FLAG): waiters and wakers are
         * different processes mapping the same page. */
        long rc = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, expected, relp, NULL, 0);
        if (rc == 0)
            return DRAGON_OK;
        if (errno == EAGAIN)
            return DRAGON_OK; /* value already changed */
        if (errno == EINTR)
            continue;
        if (errno == ETIMEDOUT)
            return DRAGON_ERR_TIMEOUT;
        return DRAGON_ERR_SYSTEM;
    }
}

void dg__futex_wake(_Atomic uint32_t *addr, int n)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

dragonError_t dg__mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return DRAGON_ERR_SYSTEM;
    int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? DRAGON_OK : DRAGON_ERR_SYSTEM;
}

dragonError_t dg__mutex_lock(pthread_mutex_t *m, int *owner_died)
{
    *owner_died = 0;
    int rc = pthread_mutex_lock(m);
    if (rc == 0)
        return DRAGON_OK;
    if (rc == EOWNERDEAD) {
        *owner_died = 1;
        return DRAGON_OK;
    }
    /* ENOTRECOVERABLE: a repair was skipped; a bug in libdragon. */
    return DRAGON_ERR_INTERNAL;
}

dragonError_t dg__mutex_consistent(pthread_mutex_t *m)
{
    return pthread_mutex_consistent(m) == 0 ? DRAGON_OK : DRAGON_ERR_INTERNAL;
}

void dg__mutex_unlock(pthread_mutex_t *m)
{
    pthread_mutex_unlock(m);
}

#ifdef DG_CRASH_POINTS
void dg__crash_point(const char *name)
{
    /* Test builds only: read the environment on every pass so a test can
     * arm a point in a forked child without re-initialising anything. */
    const char *want = getenv("DRAGON_CRASH_POINT");
    if (!want)
        return;
    size_t n = strlen(name);
    if (strncmp(want, name, n) != 0 || (want[n] != '\0' && want[n] != ':'))
        return;
    static _Thread_local long passes;
    long at = want[n] == ':' ? strtol(want + n + 1, NULL, 10) : 1;
    if (++passes >= at)
        _exit(86);
}
#endif

const char *dragon_version(void)
{
#define DG_STR2(x) #x
#define DG_STR(x) DG_STR2(x)
    return DG_STR(DRAGON_VERSION_MAJOR) "." DG_STR(DRAGON_VERSION_MINOR);
}

int dragon_layout_version(void)
{
    return DRAGON_LAYOUT_VERSION;
}
