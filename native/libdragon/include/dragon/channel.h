/* Channels: bounded MPMC FIFO queues of messages inside a pool. Messages up
 * to block_size are copied into the channel's blocks; larger ones travel as
 * a pool allocation whose ownership moves from sender to channel to
 * receiver. FIFO order per sender is guaranteed. */
#ifndef DRAGON_CHANNEL_H
#define DRAGON_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include "return_codes.h"
#include "pool.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dragon_channel dragon_channel_t;

/* A received message: either copied into the caller's inline buffer
 * (is_alloc = 0) or an allocation now owned by the caller (is_alloc = 1),
 * which the caller frees with dragon_pool_free. */
typedef struct dragon_msg {
    uint64_t len;
    uint32_t is_alloc;
    uint32_t _pad;
    dragon_alloc_t alloc;
} dragon_msg_t;

enum {
    DRAGON_POLL_IN = 1,    /* a message can be received */
    DRAGON_POLL_OUT = 2,   /* a message can be sent */
    DRAGON_POLL_EMPTY = 4, /* no message */
    DRAGON_POLL_FULL = 8,  /* capacity reached */
};

enum {
    DRAGON_WATCH_IN = 1,  /* ring when a message arrives or the channel dies */
    DRAGON_WATCH_OUT = 2, /* ring when a slot frees up or the channel dies */
};

dragonError_t dragon_channel_create(dragon_pool_t *pool, uint64_t capacity, uint64_t block_size,
                                    dragon_channel_t **out);
/* pool must be the (attached) pool the descriptor names. */
dragonError_t dragon_channel_attach(dragon_pool_t *pool, const uint8_t *desc, size_t len,
                                    dragon_channel_t **out);
dragonError_t dragon_channel_detach(dragon_channel_t *ch);
/* Wakes every waiter (they fail with DRAGON_ERR_DESTROYED), frees queued
 * large messages and the channel's memory, frees the handle. */
dragonError_t dragon_channel_destroy(dragon_channel_t *ch);
dragonError_t dragon_channel_serialize(const dragon_channel_t *ch, uint8_t *buf, size_t cap,
                                       size_t *len);
dragonError_t dragon_channel_info(const dragon_channel_t *ch, uint64_t *capacity,
                                  uint64_t *block_size);

/* Copies len bytes in (into a block, or a new allocation when larger). */
dragonError_t dragon_channel_send(dragon_channel_t *ch, const void *buf, uint64_t len,
                                  int64_t timeout_us);
/* Zero-copy: hands the allocation (of the channel's pool) to the receiver. On
 * success the caller must not touch or free it any more. */
dragonError_t dragon_channel_send_alloc(dragon_channel_t *ch, dragon_alloc_t alloc, uint64_t len,
                                        int64_t timeout_us);
/* Copies the next message into buf. If it is larger than cap, returns
 * DRAGON_ERR_BUFFER_TOO_SMALL with *len set and leaves it queued. */
dragonError_t dragon_channel_recv(dragon_channel_t *ch, void *buf, uint64_t cap, uint64_t *len,
                                  int64_t timeout_us);
/* Receives without copying large messages: see dragon_msg_t. A small message
 * is copied into inline_buf (inline_cap must be >= block_size). */
dragonError_t dragon_channel_recv_msg(dragon_channel_t *ch, void *inline_buf, uint64_t inline_cap,
                                      dragon_msg_t *msg, int64_t timeout_us);

/* Waits up to timeout_us until any of events holds; *revents gets the
 * events that hold now (DRAGON_POLL_*). */
dragonError_t dragon_channel_poll(dragon_channel_t *ch, uint32_t events, int64_t timeout_us,
                                  uint32_t *revents);
dragonError_t dragon_channel_count(const dragon_channel_t *ch, uint64_t *count);

/* Async waiting: ring w's doorbell with `bit` (0..63) on DRAGON_WATCH_IN /
 * OUT changes. Register, then retry the operation with timeout 0, then wait
 * for the bit: that order loses no wake-up. */
dragonError_t dragon_channel_watch(dragon_channel_t *ch, dragon_waiter_t *w, uint32_t which,
                                   uint32_t bit);
dragonError_t dragon_channel_unwatch(dragon_channel_t *ch, dragon_waiter_t *w, uint32_t which);

#ifdef __cplusplus
}
#endif
#endif
