/* Text for every dragonError_t: what went wrong, phrased for the user. */
#include "internal.h"

static const struct {
    const char *name;
    const char *text;
} dg__errors[DRAGON_ERR__COUNT] = {
    [DRAGON_OK] = {"DRAGON_OK", "success"},
    [DRAGON_ERR_INVALID_ARGUMENT] = {"DRAGON_ERR_INVALID_ARGUMENT", "invalid argument"},
    [DRAGON_ERR_NO_MEMORY] = {"DRAGON_ERR_NO_MEMORY", "out of process memory"},
    [DRAGON_ERR_TIMEOUT] = {"DRAGON_ERR_TIMEOUT", "timed out"},
    [DRAGON_ERR_BAD_DESCRIPTOR] = {"DRAGON_ERR_BAD_DESCRIPTOR",
                                   "not a valid descriptor (garbage, truncated or corrupted)"},
    [DRAGON_ERR_VERSION_MISMATCH] = {"DRAGON_ERR_VERSION_MISMATCH",
                                     "made by a libdragon with another memory layout version"},
    [DRAGON_ERR_FOREIGN_RUNTIME] = {"DRAGON_ERR_FOREIGN_RUNTIME",
                                    "descriptor belongs to another run-time"},
    [DRAGON_ERR_NOT_FOUND] = {"DRAGON_ERR_NOT_FOUND",
                              "shared-memory segment not found (pool destroyed?)"},
    [DRAGON_ERR_EXISTS] = {"DRAGON_ERR_EXISTS", "a segment with this name already exists"},
    [DRAGON_ERR_DESTROYED] = {"DRAGON_ERR_DESTROYED", "object was destroyed or freed"},
    [DRAGON_ERR_TOO_LARGE] = {"DRAGON_ERR_TOO_LARGE", "larger than the pool can ever hold"},
    [DRAGON_ERR_SHM_FULL] = {"DRAGON_ERR_SHM_FULL",
                             "/dev/shm is full: free space there or ask for a smaller pool"},
    [DRAGON_ERR_PERMISSION] = {"DRAGON_ERR_PERMISSION",
                               "permission denied on the shared-memory segment"},
    [DRAGON_ERR_SYSTEM] = {"DRAGON_ERR_SYSTEM", "operating-system call failed"},
    [DRAGON_ERR_NOT_HELD] = {"DRAGON_ERR_NOT_HELD", "release of a lock that is not held"},
    [DRAGON_ERR_NOT_OWNER] = {"DRAGON_ERR_NOT_OWNER", "lock is held by another process"},
    [DRAGON_ERR_BROKEN] = {"DRAGON_ERR_BROKEN", "barrier is broken (aborted or timed out)"},
    [DRAGON_ERR_OVERFLOW] = {"DRAGON_ERR_OVERFLOW", "semaphore released too many times"},
    [DRAGON_ERR_LIMIT] = {"DRAGON_ERR_LIMIT", "a fixed-size table is full"},
    [DRAGON_ERR_BUFFER_TOO_SMALL] = {"DRAGON_ERR_BUFFER_TOO_SMALL",
                                     "message is larger than the buffer"},
    [DRAGON_ERR_BUSY] = {"DRAGON_ERR_BUSY", "still in use"},
    [DRAGON_ERR_WRONG_KIND] = {"DRAGON_ERR_WRONG_KIND",
                               "descriptor or handle names another kind of object"},
    [DRAGON_ERR_INTERNAL] = {"DRAGON_ERR_INTERNAL", "internal error in libdragon (a bug)"},
    [DRAGON_ERR_PEER_LOST] = {"DRAGON_ERR_PEER_LOST",
                              "the node holding the object is unreachable (its agent or node died)"},
    [DRAGON_ERR_NO_TRANSPORT] = {"DRAGON_ERR_NO_TRANSPORT",
                                 "object of another node, and no transport agent on this node"},
};

const char *dragon_strerror(dragonError_t err)
{
    if ((unsigned)err >= DRAGON_ERR__COUNT || !dg__errors[err].text)
        return "unknown libdragon error code";
    return dg__errors[err].text;
}

const char *dragon_errname(dragonError_t err)
{
    if ((unsigned)err >= DRAGON_ERR__COUNT || !dg__errors[err].name)
        return "DRAGON_ERR_UNKNOWN";
    return dg__errors[err].name;
}
