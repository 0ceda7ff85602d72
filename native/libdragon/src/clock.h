/* Time in CLOCK_MONOTONIC microseconds, and deadlines from relative
 * timeouts: shared by libdragon and the transport agent (which compiles
 * clock.c in, since libdragon exports only dragon_* symbols). */
#ifndef DG_CLOCK_H
#define DG_CLOCK_H

#include <stdint.h>

uint64_t dg__now_us(void);
/* timeout_us < 0 -> UINT64_MAX (never); 0 -> 0 (already due); else now+t. */
uint64_t dg__deadline(int64_t timeout_us);

#endif
