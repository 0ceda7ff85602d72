/* Status codes returned by every libdragon function. 0 is success; nothing
 * in the library reports failure through errno. */
#ifndef DRAGON_RETURN_CODES_H
#define DRAGON_RETURN_CODES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dragonError {
    DRAGON_OK = 0,
    DRAGON_ERR_INVALID_ARGUMENT = 1, /* NULL handle, zero capacity, bad flags */
    DRAGON_ERR_NO_MEMORY = 2,        /* malloc of a process-local handle failed */
    DRAGON_ERR_TIMEOUT = 3,          /* deadline passed (timeout 0 = try once) */
    DRAGON_ERR_BAD_DESCRIPTOR = 4,   /* garbage, truncated or checksum mismatch */
    DRAGON_ERR_VERSION_MISMATCH = 5, /* descriptor/segment from another libdragon layout */
    DRAGON_ERR_FOREIGN_RUNTIME = 6,  /* descriptor belongs to another run-time */
    DRAGON_ERR_NOT_FOUND = 7,        /* segment gone (pool destroyed) */
    DRAGON_ERR_EXISTS = 8,           /* a segment with this name already exists */
    DRAGON_ERR_DESTROYED = 9,        /* object destroyed (or freed) while in use */
    DRAGON_ERR_TOO_LARGE = 10,       /* request can never fit in this pool */
    DRAGON_ERR_SHM_FULL = 11,        /* /dev/shm has no room left for the reservation */
    DRAGON_ERR_PERMISSION = 12,      /* segment belongs to another user or mode forbids */
    DRAGON_ERR_SYSTEM = 13,          /* an unexpected OS call failure */
    DRAGON_ERR_NOT_HELD = 14,        /* release of a lock that is not held */
    DRAGON_ERR_NOT_OWNER = 15,       /* recursive lock released by a non-owner */
    DRAGON_ERR_BROKEN = 16,          /* barrier aborted or broken */
    DRAGON_ERR_OVERFLOW = 17,        /* bounded semaphore released above its bound */
    DRAGON_ERR_LIMIT = 18,           /* a fixed table (waiters, doorbells) is full */
    DRAGON_ERR_BUFFER_TOO_SMALL = 19,/* message larger than the caller's buffer; not consumed */
    DRAGON_ERR_BUSY = 20,            /* handle still in use (e.g. pool watched by a waiter) */
    DRAGON_ERR_WRONG_KIND = 21,      /* descriptor/handle names another kind of object */
    DRAGON_ERR_INTERNAL = 22,        /* invariant violated: a bug, please report */
    DRAGON_ERR_PEER_LOST = 23,       /* the node holding the object is unreachable (agent/node died) */
    DRAGON_ERR_NO_TRANSPORT = 24,    /* object of another node, and no transport agent on this node */
    DRAGON_ERR__COUNT
} dragonError_t;

/* Human-readable text and symbolic name of a code; never NULL. */
const char *dragon_strerror(dragonError_t err);
const char *dragon_errname(dragonError_t err);

#ifdef __cplusplus
}
#endif
#endif
