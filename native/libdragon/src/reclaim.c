/* The reclaim registry: which kind of block is an object, and who reclaims
 * it (see internal.h). A new object kind adds its hook here, and buddy.c does
 * not change. */
#include "reclaim.h"

const dg__reclaim_fn dg__reclaim_hooks[DG_KIND_END] = {
    [DG_KIND_CHANNEL] = dg__channel_reclaim,
    [DG_KIND_SYNC] = dg__sync_reclaim,
};
