/* Agent <-> agent messages over libfabric (see docs/TRANSPORT.md); the
 * gateway layout shared with clients is include/dragon/gateway.h. Little-endian, packed: every node of
 * a job runs the same build on the same architecture family. */
#ifndef DG_TRANSPORT_WIRE_H
#define DG_TRANSPORT_WIRE_H

#include <stdint.h>

#include "dragon/gateway.h"

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
_Static_assert(sizeof(gw_mem_t) + MEM_MAX <= EAGER_MAX + WIRE_SLACK, "a MEM request is inline");

/* A per-hop trace record (DRAGON_TRANSPORT_TRACE, see agent.h): written by
 * the agents and read by bench/native/transport_rtt.c. */
typedef struct trace_rec {
    uint64_t ns;  /* CLOCK_MONOTONIC */
    uint16_t who; /* node of the agent (clients of the benchmark use 10+) */
    uint16_t ev;
    uint32_t arg;
} trace_rec_t;

#endif
