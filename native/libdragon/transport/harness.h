/* Driving transport agents from a test or a benchmark on one machine
 * (transport_test.c, bench/native/transport_rtt.c): start an agent as its
 * backend would and read its ready line, then talk to its gateway as a
 * client library would. Not part of the agent. Every call returns a
 * dragonError_t; callers wrap them (T_OK, BENCH_CHECK). */
#ifndef DG_TRANSPORT_HARNESS_H
#define DG_TRANSPORT_HARNESS_H

#include <stdio.h>
#include <sys/types.h>
#include "dragon/dragon.h"
#include "dragon/gateway.h"

/* ---- agents ---- */
typedef struct harness_agent {
    pid_t pid;  /* 0 once reaped */
    int in;     /* its stdin: peers, lost and exit lines */
    FILE *out;  /* its stdout */
    char log[256];    /* where its stderr goes (harness_spawn_t.log_path), or "" */
    char ready[2048]; /* its first line: the ready line, or why it did not start */
    char address[600], gateway[200], provider[64]; /* from the ready line */
} harness_agent_t;

typedef struct harness_env {
    const char *name, *value;
} harness_env_t;

typedef struct harness_spawn {
    const char *agent_path; /* harness_agent_path */
    dragon_pool_t *pool;    /* the node's pool, passed as --pool */
    int node;
    const char *provider;   /* --provider; NULL lets the agent choose */
    const char *log_path;   /* its stderr, truncated; NULL: ours */
    const harness_env_t *env; /* set in the agent only */
    size_t n_env;
} harness_spawn_t;

/* The agent built next to the running program: <its dir>/../dragon-transport
 * (build/test/ and build/bench/ both sit under build/). DRAGON_ERR_NOT_FOUND
 * when it is not there or not executable (libfabric missing at build). */
dragonError_t harness_agent_path(char *path, size_t cap);
/* Starts the agent and reads its ready line. DRAGON_ERR_NO_TRANSPORT when it
 * printed something else (ag->ready holds it; the agent is reaped). */
dragonError_t harness_agent_spawn(const harness_spawn_t *s, harness_agent_t *ag);
/* Writes one line (ending in '\n') to the agent's stdin. */
dragonError_t harness_agent_say(harness_agent_t *ag, const char *line);
/* Closes its stdin and stdout and reaps it; *status as from waitpid. */
dragonError_t harness_agent_stop(harness_agent_t *ag, int *status);
/* SIGKILL, reap, close (a node lost, or cleanup after a failure). */
dragonError_t harness_agent_kill(harness_agent_t *ag);

/* ---- gateway clients ---- */
typedef struct harness_client {
    dragon_pool_t *pool;
    dragon_channel_t *gw, *reply;
    uint8_t reply_desc[DRAGON_DESC_BYTES];
    uint64_t next; /* req_id of the last request */
    /* A request as sent: gw_req_t, then the payload. A caller may write the
     * payload in place (harness_payload) to spare a copy, as a client
     * library would. */
    uint8_t *req;
    uint64_t req_cap; /* payload bytes req holds */
    uint8_t inbuf[1024]; /* the reply channel's block size */
} harness_client_t;

/* Attaches the gateway (base64 descriptor, as in the ready line) and creates
 * a reply channel of reply_capacity slots; payload_cap is the room for
 * payloads written in place (copied payloads grow it as needed). */
dragonError_t harness_client_open(harness_client_t *c, dragon_pool_t *pool, const char *gateway,
                                  uint64_t reply_capacity, uint64_t payload_cap);
dragonError_t harness_client_close(harness_client_t *c);
static inline uint8_t *harness_payload(harness_client_t *c)
{
    return c->req + sizeof(gw_req_t);
}

typedef struct harness_req {
    uint16_t op; /* GW_* */
    const uint8_t *target; /* descriptor of the object */
    int64_t timeout_us;
    uint32_t events;       /* GW_POLL */
    const void *payload;   /* copied in; NULL: already at harness_payload */
    uint64_t len;
} harness_req_t;

/* Puts a request in the gateway; *req_id (if not NULL) names its reply. */
dragonError_t harness_post(harness_client_t *c, const harness_req_t *q, uint64_t *req_id);
/* The next reply (checked: magic, version, length). *payload (if not NULL)
 * gets what follows the header, malloc'd, one byte longer for the caller. */
dragonError_t harness_wait_reply(harness_client_t *c, int64_t timeout_us, gw_rep_t *rep,
                                 uint8_t **payload);

#endif
