/* libdragon: shared-memory pools, channels and synchronization objects. */
#ifndef DRAGON_H
#define DRAGON_H

#define DRAGON_VERSION_MAJOR 0
#define DRAGON_VERSION_MINOR 1
/* Layout version of segments and descriptors: bumped on any change of
 * what lives in shared memory; mismatches are DRAGON_ERR_VERSION_MISMATCH. */
#define DRAGON_LAYOUT_VERSION 1

#include "return_codes.h"
#include "pool.h"
#include "waiter.h"
#include "channel.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif
/* Library version as "major.minor" and the layout version it speaks. */
const char *dragon_version(void);
int dragon_layout_version(void);
#ifdef __cplusplus
}
#endif
#endif
