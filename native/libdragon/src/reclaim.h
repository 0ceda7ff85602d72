/* The reclaim hooks of the object kinds, for the table in reclaim.c (the
 * only place that names them; dragon_pool_reclaim walks the table). Each is
 * a dg__reclaim_fn: called for every live block of its kind after process
 * puid died, it gives back what puid held in the object and frees the block
 * when puid died inside the object's create. */
#ifndef DG_RECLAIM_H
#define DG_RECLAIM_H

#include "internal.h"

void dg__channel_reclaim(dragon_pool_t *pool, dg__block_hdr_t *blk, uint64_t puid,
                         dragon_reclaim_stats_t *st);
void dg__sync_reclaim(dragon_pool_t *pool, dg__block_hdr_t *blk, uint64_t puid,
                      dragon_reclaim_stats_t *st);

#endif
