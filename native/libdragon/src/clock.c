/* Monotonic time and deadlines (clock.h). */
#include <time.h>

#include "clock.h"

uint64_t dg__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t dg__deadline(int64_t timeout_us)
{
    if (timeout_us < 0)
        return UINT64_MAX;
    if (timeout_us == 0)
        return 0;
    uint64_t now = dg__now_us();
    /* saturate instead of wrapping for absurdly large timeouts */
    return (uint64_t)timeout_us > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)timeout_us;
}
