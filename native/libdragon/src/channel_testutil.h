/* Test-only helpers shared by src/channel_test.c and src/waiter_test.c:
 * descriptors of pools and channels, and the shared record behind a
 * channel for white-box checks. */
#ifndef DG_CHANNEL_TESTUTIL_H
#define DG_CHANNEL_TESTUTIL_H

#include "internal.h"
#include "testutil.h"

typedef struct desc {
    uint8_t b[DRAGON_DESC_BYTES];
    size_t len;
} desc_t;

__attribute__((unused)) static desc_t pool_desc(dragon_pool_t *p)
{
    desc_t d;
    T_OK(dragon_pool_serialize(p, d.b, sizeof d.b, &d.len));
    return d;
}

__attribute__((unused)) static desc_t chan_desc(dragon_channel_t *ch)
{
    desc_t d;
    T_OK(dragon_channel_serialize(ch, d.b, sizeof d.b, &d.len));
    return d;
}

/* The shared record behind a channel descriptor, mapped through pool p. */
__attribute__((unused)) static dg__channel_t *chan_rec(dragon_pool_t *p, const desc_t *d)
{
    dg__desc_t dd;
    T_OK(dg__desc_decode(d->b, d->len, DRAGON_DESC_CHANNEL, &dd));
    return (dg__channel_t *)(p->heap + dd.offset + DG_CHANNEL_SKEW);
}

#endif
