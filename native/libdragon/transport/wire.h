/* Agent <-> agent messages over libfabric, and the gateway layout shared
 * with clients (see docs/TRANSPORT.md). Little-endian, packed: every node of
 * a job runs the same build on the same architecture family. */
#ifndef DG_TRANSPORT_WIRE_H
#define DG_TRANSPORT_WIRE_H

#include <stdint.h>

#define WIRE_KEY_BYTES 32
#define WIRE_MAGIC 0x31544744u /* "DGT1" */
#define EAGER_MAX (64u * 1024u) /* payloads up to this travel inline */
#define RMA_CHUNK (4u * 1024u * 1024u)

enum wire_type {
    W_REQ = 1,   /* origin -> target: perform op on a channel of the target node */
    W_REPLY = 2, /* target -> origin: result (inline payload, or RMA descriptor) */
    W_ACK = 3,   /* origin -> target: done reading the RMA reply, release it */
    W_PING = 4,  /* liveness probe while requests to the peer are pending */
    W_PONG = 5,  /* answer to W_PING: the peer's agent is alive and progressing */
};

enum { WF_LARGE = 1 }; /* payload is exposed for fi_read: rma_addr/rma_key/len */

typedef struct __attribute__((packed)) wire_hdr {
    uint8_t key[WIRE_KEY_BYTES]; /* job key: anything else is dropped and logged */
    uint32_t magic;
    uint16_t type;
    uint16_t op;      /* gateway op code (REQ/REPLY) */
    uint32_t src_node;
    uint32_t status;  /* REPLY: dragonError_t */
    uint64_t seq;     /* REQ: per (origin, target) sequence, processed strictly in order */
    uint64_t xid;     /* origin's transaction id, echoed in the REPLY */
    uint64_t ref;     /* REPLY with WF_LARGE: target's id of the exposed buffer (for ACK) */
    int64_t timeout_us;
    uint32_t events;
    uint32_t flags;
    uint64_t value;   /* REPLY: COUNT result / RECV length */
    uint64_t len;     /* payload bytes (inline after the header, or exposed by RMA) */
    uint64_t rma_addr;
    uint64_t rma_key;
    uint8_t target[96]; /* REQ: target channel descriptor */
} wire_hdr_t;

/* Inline payloads are at most EAGER_MAX bytes, except a MEM request, whose
 * 32-byte header comes on top of up to MEM_MAX data bytes. */
#define WIRE_SLACK 64u
#define WIRE_MAX (sizeof(wire_hdr_t) + EAGER_MAX + WIRE_SLACK)

/* A per-hop trace record (DRAGON_TRANSPORT_TRACE, see agent.h): written by
 * the agents and read by bench/native/transport_rtt.c. */
typedef struct trace_rec {
    uint64_t ns;  /* CLOCK_MONOTONIC */
    uint16_t who; /* node of the agent (clients of the benchmark use 10+) */
    uint16_t ev;
    uint32_t arg;
} trace_rec_t;

/* Gateway request / reply headers (client <-> local agent), see the brief. */
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
_Static_assert(sizeof(gw_mem_t) + MEM_MAX <= EAGER_MAX + WIRE_SLACK, "a MEM request is inline");

typedef struct __attribute__((packed)) gw_req {
    char magic[4];
    uint16_t version;
    uint16_t op;
    uint64_t req_id;
    int64_t timeout_us;
    uint32_t events;
    uint32_t flags;
    uint64_t payload_len;
    uint8_t target[96];
    uint8_t reply[96];
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
