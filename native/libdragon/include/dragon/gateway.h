/* The gateway: how a process asks its node's transport agent to operate on
 * an object of another node. The client puts a request (gw_req_t, then the
 * payload) into the node's gateway channel; the answer (gw_rep_t, then the
 * payload) comes back in the client's own reply channel, named in the
 * request. Little-endian, packed. The protocol (ops, timeouts, ordering,
 * errors) is docs/GATEWAY.md; the TypeScript client's copy of these
 * layouts (src/runtime/core/ffi/gateway-wire.ts) is checked against this
 * header by a test. */
#ifndef DRAGON_GATEWAY_H
#define DRAGON_GATEWAY_H

#include <stdint.h>

#define GW_VERSION 1
#define GW_DESC_BYTES 96

#define GW_REQ_MAGIC "DGW1"
#define GW_REP_MAGIC "DGR1"
enum { GW_SEND = 1, GW_RECV = 2, GW_POLL = 3, GW_COUNT = 4, GW_SYNC = 5, GW_MEM = 6 };

/* GW_SYNC payload (32 bytes): the operation on the target sync object, done
 * at the target AS the caller's puid. */
enum {
    SOP_LOCK_ACQUIRE = 1, SOP_LOCK_RELEASE = 2, SOP_LOCK_OWNER = 3,
    SOP_SEM_ACQUIRE = 10, SOP_SEM_RELEASE = 11, SOP_SEM_VALUE = 12,
    SOP_EVENT_SET = 20, SOP_EVENT_CLEAR = 21, SOP_EVENT_IS_SET = 22, SOP_EVENT_WAIT = 23,
    SOP_BARRIER_WAIT = 30, SOP_BARRIER_ABORT = 31, SOP_BARRIER_RESET = 32,
    SOP_BARRIER_STATE = 33,
    /* CANCEL: arg0 = the req_id of an earlier SYNC request of the same
     * client (same reply channel) to the same node; the origin agent puts
     * that request's xid in arg1 before forwarding. */
    SOP_CANCEL = 34,
    /* Condition (target = the CONDITION's descriptor). */
    SOP_COND_WAIT = 40, SOP_COND_NOTIFY = 41, SOP_COND_NOTIFY_ALL = 42, SOP_COND_LOCK = 43,
};
typedef struct __attribute__((packed)) gw_sync {
    uint32_t sop;
    uint32_t pad;
    uint64_t caller; /* puid the op is performed as (owner of locks, units, tickets) */
    uint64_t arg0;   /* SEM_RELEASE: n */
    uint64_t arg1;
} gw_sync_t;
_Static_assert(sizeof(gw_sync_t) == 32, "sync request payload is 32 bytes");

/* GW_MEM payload: this 32-byte header, then the data (WRITE: length bytes;
 * CAS64: expected u64, desired u64; ADD64: delta i64). Target = an
 * allocation descriptor; offset/length are within the allocation. */
enum { MOP_READ = 1, MOP_WRITE = 2, MOP_CAS64 = 3, MOP_ADD64 = 4 };
#define MEM_MAX (64u * 1024u) /* bytes per READ / WRITE */
typedef struct __attribute__((packed)) gw_mem {
    uint32_t mop;
    uint32_t pad;
    uint64_t caller;
    uint64_t offset;
    uint64_t length;
} gw_mem_t;
_Static_assert(sizeof(gw_mem_t) == 32, "memory request header is 32 bytes");

typedef struct __attribute__((packed)) gw_req {
    char magic[4];
    uint16_t version;
    uint16_t op;
    uint64_t req_id;
    int64_t timeout_us;
    uint32_t events;
    uint32_t flags;
    uint64_t payload_len;
    uint8_t target[GW_DESC_BYTES];
    uint8_t reply[GW_DESC_BYTES];
} gw_req_t;

typedef struct __attribute__((packed)) gw_rep {
    char magic[4];
    uint16_t version;
    uint16_t op;
    uint64_t req_id;
    uint32_t status;
    uint32_t events;
    uint64_t value;
} gw_rep_t;

_Static_assert(sizeof(gw_req_t) == 232, "gateway request header is 232 bytes");
_Static_assert(sizeof(gw_rep_t) == 32, "gateway reply header is 32 bytes");

#endif
