/* One waiter per process: a thread that sleeps on this process's doorbell
 * slots (one per pool it watches, via futex_waitv) and writes a byte to a
 * pipe when any is rung, so an event loop can wait for many channel and
 * sync operations (and for pool memory: dragon_pool_watch) without parking
 * a thread per operation. The thread never
 * calls back into the caller. */
#ifndef DRAGON_WAITER_H
#define DRAGON_WAITER_H

#include <stdint.h>
#include "return_codes.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dragon_waiter dragon_waiter_t;

/* Starts the thread and a non-blocking pipe (pipe2 O_CLOEXEC). puid is the
 * owner recorded in the doorbell slots it claims. */
dragonError_t dragon_waiter_create(uint64_t puid, dragon_waiter_t **out);
/* Read end of the pipe. Readable means: call dragon_waiter_take. */
dragonError_t dragon_waiter_fd(const dragon_waiter_t *w, int *fd);
/* Returns (and clears) the OR of the 64 "ready" bits rung since the last
 * call, over every pool watched. Bits are chosen by the caller when it
 * watches an object (e.g. a hash of the object), so it only retries the
 * operations whose bit is set. Drains the pipe too. */
dragonError_t dragon_waiter_take(dragon_waiter_t *w, uint64_t *mask);
/* Releases the doorbell slot held in pool (all objects of the pool must be
 * unwatched first), so the pool can be detached. */
dragonError_t dragon_waiter_forget_pool(dragon_waiter_t *w, dragon_pool_t *pool);
/* Stops the thread, frees every doorbell slot, closes the pipe. */
dragonError_t dragon_waiter_destroy(dragon_waiter_t *w);

#ifdef __cplusplus
}
#endif
#endif
