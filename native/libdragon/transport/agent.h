/* Shared state and module interfaces of the transport agent. Two threads:
 * the epoll loop of main.c and the gateway thread (gateway.c), which sleeps
 * directly on the gateway channel. Everything below (and every libfabric
 * call: the domain is FI_THREAD_DOMAIN) is touched only with agent.mu held;
 * each thread lets go of it only to sleep. */
#ifndef DG_TRANSPORT_AGENT_H
#define DG_TRANSPORT_AGENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_errno.h>
#include "dragon/dragon.h"
#include "clock.h"
#include "b64.h"
#include "wire.h"

#define MAX_NODES 1024
#define MAX_INFLIGHT 256          /* origin requests outstanding, all peers */
#define MAX_INFLIGHT_PEER 128     /* ... towards one peer */
#define RX_BUFS 64                /* posted receive buffers of WIRE_MAX bytes */
#define READS_PER_OP 4            /* outstanding fi_read chunks per transfer */
#define HEARTBEAT_US 500000       /* probe a peer we wait for after this much silence */
#define PEER_TIMEOUT_US 3000000   /* unanswered probes this long: the peer is lost */
#define RETRY_US 2000             /* re-try after EAGAIN / full pool */

typedef struct agent agent_t;

/* ---- util.c ---- */
void alog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum { L_ERR = 0, L_WARN = 1, L_INFO = 2, L_DEBUG = 3 };
dragonError_t log_init(void);
dragonError_t random_bytes(void *buf, size_t len);
dragonError_t hex_encode(const uint8_t *in, size_t len, char *out, size_t cap);
dragonError_t hex_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen);
/* Per-hop trace for measurements (bench/native/transport_rtt.c): with
 * DRAGON_TRANSPORT_TRACE=PATH the agent keeps (CLOCK_MONOTONIC ns, event)
 * records in memory and writes them to PATH.<node> at exit; without it
 * a->trace is NULL and TRACE costs one predictable branch. Records are
 * trace_rec_t (wire.h), shared with the benchmark. */
enum { T_WAKE = 1, T_GW_TAKE, T_SEND, T_RECV, T_DELIVER, T_SPIN_CATCH, T_POSTING };
typedef struct trace trace_t;
dragonError_t trace_open(agent_t *a);
void trace_rec(agent_t *a, uint32_t ev, uint32_t arg);
dragonError_t trace_close(agent_t *a);
#define TRACE(a, ev, arg)                                                                      \
    do {                                                                                       \
        if ((a)->trace)                                                                        \
            trace_rec((a), (ev), (arg));                                                       \
    } while (0)

/* ---- fabric.c ---- */
typedef struct fctx fctx_t;
typedef void (*fdone_fn)(agent_t *a, fctx_t *c, int err, size_t len);
/* Context of every posted libfabric operation (fi_context2 first: providers
 * that ask for FI_CONTEXT/FI_CONTEXT2 scribble there). */
struct fctx {
    struct fi_context2 fi;
    fdone_fn done;
    int peer;      /* node the op talks to, -1 for receives */
    void *owner;
};

typedef struct fab {
    struct fi_info *info;
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    struct fid_ep *ep;
    struct fid_av *av;
    struct fid_cq *cq;
    int cq_fd;
    int mr_local, mr_virt, mr_prov_key, mr_endpoint;
    char prov[64];
    uint8_t addr[256];
    size_t addrlen;
} fab_t;

dragonError_t fab_open(fab_t *f, const char *provider, const char *addr, char *err, size_t errcap);
dragonError_t fab_close(fab_t *f);
dragonError_t fab_insert(fab_t *f, const uint8_t *addr, size_t len, fi_addr_t *out);
/* Registers [buf, buf+len) for remote read with a random key (only that buffer). */
dragonError_t fab_expose(fab_t *f, void *buf, size_t len, struct fid_mr **mr, uint64_t *raddr,
                         uint64_t *rkey);
/* Local registration when the provider needs FI_MR_LOCAL (else *mr = NULL). */
dragonError_t fab_local(fab_t *f, void *buf, size_t len, uint64_t access, struct fid_mr **mr);
dragonError_t fab_unreg(struct fid_mr *mr);
/* 0 = may sleep on cq_fd now; else completions are ready. */
dragonError_t fab_trywait(fab_t *f, int *may_sleep);

/* ---- wire transmission (fabric.c) ---- */
typedef struct wmsg {
    fctx_t ctx;
    struct wmsg *next;
    struct fid_mr *lmr;
    size_t len;
    uint8_t data[]; /* wire_hdr_t + inline payload */
} wmsg_t;
wmsg_t *wmsg_new(agent_t *a, int type, size_t payload);
/* Queues or posts; frees the message on completion. A send error marks the peer lost. */
dragonError_t wire_send(agent_t *a, int peer, wmsg_t *m);
dragonError_t wire_reply(agent_t *a, int peer, uint32_t op, uint64_t xid, dragonError_t rc,
                         uint64_t value, const void *payload, uint64_t plen);
dragonError_t wire_flush(agent_t *a);
dragonError_t wire_post_recvs(agent_t *a);
dragonError_t fab_progress(agent_t *a);
/* Chunked fi_read of a remote exposed buffer into local memory. */
typedef struct rma_xfer rma_xfer_t;
typedef void (*rma_done_fn)(agent_t *a, rma_xfer_t *x, dragonError_t rc);
struct rma_xfer {
    int peer;
    uint8_t *dst;
    uint64_t len, issued, done;
    uint64_t raddr, rkey;
    int outstanding;
    int failed;
    struct fid_mr *lmr;
    rma_done_fn cb;
    void *owner;
    rma_xfer_t *next_retry; /* on agent's retry list after EAGAIN */
    int on_retry;
};
dragonError_t rma_start(agent_t *a, rma_xfer_t *x);
dragonError_t rma_pump(agent_t *a, rma_xfer_t *x);

/* ---- peers ---- */
typedef struct stash stash_t; /* out-of-order REQ kept until its turn */
struct stash {
    stash_t *next;
    uint64_t seq;
    size_t len;
    uint8_t data[];
};

typedef struct peer {
    int known, lost;
    fi_addr_t fa;
    uint64_t seq_out;   /* next REQ sequence to this peer */
    uint64_t seq_in;    /* next REQ sequence expected from this peer */
    stash_t *stash;
    int inflight;       /* origin requests waiting for this peer */
    uint64_t last_rx, last_probe;
    uint64_t probe_since; /* first probe not yet answered (0 = none) */
} peer_t;

/* ---- serve.c: operations on this node's channels ---- */
typedef struct pool_ent pool_ent_t;
struct pool_ent {
    pool_ent_t *next;
    uint64_t rtid, pool_id;
    dragon_pool_t *pool;
};

typedef struct op op_t;
typedef struct lch lch_t;
struct lch {
    lch_t *next;
    uint8_t desc[DRAGON_DESC_BYTES];
    dragon_pool_t *pool; /* borrowed from the pool cache */
    dragon_channel_t *ch;
    uint64_t block;
    void *inbuf;         /* block-size buffer for dragon_channel_recv_msg */
    op_t *sendq, *recvq, *pollq;
    int watched;
    int dead;            /* channel destroyed: fail everything */
    int running;         /* run_lch is walking the queues (a nested call only asks again) */
    int again;
};

enum op_kind { OK_SEND = 1, OK_RECV = 2, OK_POLL = 3 };
enum op_role { R_SERVE = 1, R_DELIVER = 2 };
enum op_state { S_READY = 0, S_ALLOC, S_READING, S_CANCEL };

struct op {
    op_t *next;
    int kind, role, state;
    lch_t *lch;
    uint64_t deadline;
    uint32_t events;
    uint16_t gwop;
    /* payload of a send: malloc'd bytes or an allocation of lch's pool */
    uint8_t *buf;
    uint64_t len;
    int has_alloc;
    dragon_alloc_t alloc;
    /* serve: who asked */
    int peer;
    uint64_t xid;
    /* large send: where the origin exposed the bytes */
    uint64_t raddr, rkey;
    rma_xfer_t rx;
    /* deliver: the origin request this reply completes */
    void *oreq;
};

dragonError_t pools_get(agent_t *a, const uint8_t *desc, dragon_pool_t **out);
dragonError_t lch_get(agent_t *a, const uint8_t *desc, lch_t **out);
dragonError_t serve_request(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload);
dragonError_t serve_ack(agent_t *a, int peer, uint64_t ref);
dragonError_t serve_peer_lost(agent_t *a, int peer);
/* Queues a reply message for a local (client reply) channel. */
dragonError_t deliver(agent_t *a, lch_t *l, uint8_t *buf, uint64_t len, int has_alloc,
                      dragon_alloc_t alloc, void *oreq);
/* Runs every channel queue that can make progress; *next_us = earliest deadline. */
dragonError_t serve_run(agent_t *a, uint64_t *next_us);
dragonError_t serve_shutdown(agent_t *a);
int serve_busy(agent_t *a);

/* ---- syncserve.c: GW_SYNC requests of remote clients on this node's sync objects ---- */
#define CPOOL_MAX 64 /* pool handles attached as callers' puids, LRU beyond this */
dragonError_t sync_request(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload);
/* Retries every pending blocking sync op; *next_us = earliest deadline. */
dragonError_t sync_run(agent_t *a, uint64_t *next_us);
int sync_busy(agent_t *a);
dragonError_t sync_peer_lost(agent_t *a, int peer);
dragonError_t sync_shutdown(agent_t *a);

/* ---- memserve.c: GW_MEM requests of remote clients on this node's allocations ---- */
dragonError_t mem_request(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload);

/* ---- origin.c: requests of local clients in flight to peers ---- */
dragonError_t origin_submit(agent_t *a, const gw_req_t *r, const uint8_t *payload,
                            int has_alloc, dragon_alloc_t alloc, int *taken);
dragonError_t origin_reply(agent_t *a, int peer, const wire_hdr_t *h, const uint8_t *payload);
dragonError_t origin_delivered(agent_t *a, void *oreq);
dragonError_t origin_peer_lost(agent_t *a, int peer);
dragonError_t origin_probe(agent_t *a, uint64_t *next_us);
dragonError_t origin_shutdown(agent_t *a);

/* ---- gateway.c ---- */
/* threaded: take requests in a thread sleeping on the gateway channel
 * itself (else the epoll loop takes them, woken through the waiter). */
dragonError_t gateway_open(agent_t *a, int threaded);
/* Stops the gateway thread (called without mu, after the loop ended). */
dragonError_t gateway_stop_thread(agent_t *a);
dragonError_t gateway_pump(agent_t *a);
dragonError_t gateway_close(agent_t *a);
/* Sends a reply header (+payload) to a client's reply channel (queued if full). */
dragonError_t gateway_reply(agent_t *a, const uint8_t *reply_desc, uint16_t op, uint64_t req_id,
                            uint32_t status, uint32_t events, uint64_t value,
                            const uint8_t *payload, uint64_t plen, void *oreq);

/* ---- control.c ---- */
dragonError_t control_read(agent_t *a);
dragonError_t control_ready(agent_t *a, const char *error);
dragonError_t peer_lost(agent_t *a, int node, const char *why);

struct agent {
    int node;
    uint64_t puid, rtid;
    uint8_t key[WIRE_KEY_BYTES];
    fab_t fab;
    dragon_pool_t *pool;      /* default pool of this node */
    dragon_waiter_t *waiter;
    int waiter_fd;
    dragon_channel_t *gw;
    uint8_t gw_desc[DRAGON_DESC_BYTES];
    uint64_t gw_block;
    void *gw_buf;
    int gw_watched;
    /* gateway thread (see gateway.c) */
    pthread_mutex_t mu;       /* the agent's lock: see the top of this file */
    pthread_cond_t gw_cv;     /* the gateway thread waits here while it may not take */
    pthread_t gw_thread;
    int gw_started, gw_threaded, gw_stop, gw_stuck;
    _Atomic int gw_wants;     /* the gateway thread waits for mu: a spinning loop lets go */
    int kick_fd;              /* timerfd in the loop's epoll set, armed by the gateway thread */
    uint64_t timer_at;        /* when it fires (us, CLOCK_MONOTONIC; 0 = not armed) */
    int main_sleeping;        /* the loop is in epoll_wait until main_wake_at (us) */
    uint64_t main_wake_at;
    void *parked;             /* a request refused by back-pressure, retried first */
    peer_t peers[MAX_NODES];
    /* fabric */
    uint8_t *rxslab;
    struct fid_mr *rxmr;
    fctx_t rxctx[RX_BUFS];
    wmsg_t *txq, *txq_tail;   /* sends refused with EAGAIN, posted in order later */
    rma_xfer_t *rma_retry;
    int retry_soon;
    /* caches */
    pool_ent_t *pools;
    lch_t *lchs;
    void *cpools;             /* syncserve.c: pool handles per (pool, caller puid) */
    int ncpools;
    uint64_t cp_tick;
    void *sobjs;              /* syncserve.c: sync objects with pending ops */
    int sync_pass;            /* syncserve.c is walking its queues: peer loss defers the cleanup */
    int serve_pass;           /* serve.c is walking channel queues: likewise */
    int serve_lost;           /* a peer was lost during a serve pass: clean up after it */
    /* serve */
    void *acks;               /* large RECV replies awaiting W_ACK */
    uint64_t next_ref;
    /* origin */
    void *oreqs;
    uint64_t next_xid;
    int inflight;
    int stopping;
    uint64_t activity;        /* messages received + gateway requests taken (spin heuristic) */
    int have_peers;           /* the peers line arrived: requests may go out */
    int stdin_open;
    char ctl[1 << 16];
    size_t ctl_len;
    uint64_t dropped;
    uint64_t peer_timeout_us;
    trace_t *trace;           /* NULL unless DRAGON_TRANSPORT_TRACE is set */
};

#endif
