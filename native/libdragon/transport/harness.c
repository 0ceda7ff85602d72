/* Test and benchmark side of the transport agent (see harness.h). */
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "b64.h"
#include "harness.h"

dragonError_t harness_agent_path(char *path, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return DRAGON_ERR_SYSTEM;
    exe[n] = 0;
    if ((size_t)snprintf(path, cap, "%s/../dragon-transport", dirname(exe)) >= cap)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    return access(path, X_OK) == 0 ? DRAGON_OK : DRAGON_ERR_NOT_FOUND;
}

/* The value of "key":"value" in a ready line. */
static dragonError_t ready_field(const char *line, const char *key, char *out, size_t cap)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":\"", key);
    const char *p = strstr(line, quoted);
    if (!p)
        return DRAGON_ERR_NOT_FOUND;
    p += strlen(quoted);
    const char *e = strchr(p, '"');
    if (!e)
        return DRAGON_ERR_INVALID_ARGUMENT;
    if ((size_t)(e - p) >= cap)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return DRAGON_OK;
}

/* In the child: stdin/stdout on the pipes, stderr to the log, the
 * environment, then the agent. Never returns. */
static void exec_agent(const harness_spawn_t *s, int pin[2], int pout[2], const char *pool_b64)
{
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    if (s->log_path) {
        int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
    }
    close(pin[1]);
    close(pout[0]);
    for (size_t i = 0; i < s->n_env; i++)
        setenv(s->env[i].name, s->env[i].value, 1);
    char node[16];
    snprintf(node, sizeof node, "%d", s->node);
    if (s->provider)
        execl(s->agent_path, s->agent_path, "--pool", pool_b64, "--node", node, "--addr",
              "127.0.0.1", "--provider", s->provider, (char *)NULL);
    else
        execl(s->agent_path, s->agent_path, "--pool", pool_b64, "--node", node, "--addr",
              "127.0.0.1", (char *)NULL);
    _exit(127);
}

dragonError_t harness_agent_spawn(const harness_spawn_t *s, harness_agent_t *ag)
{
    memset(ag, 0, sizeof *ag);
    ag->in = -1;
    if (s->log_path && (size_t)snprintf(ag->log, sizeof ag->log, "%s", s->log_path) >= sizeof ag->log)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    uint8_t pd[DRAGON_DESC_BYTES];
    size_t pl;
    char pool_b64[200];
    dragonError_t rc = dragon_pool_serialize(s->pool, pd, sizeof pd, &pl);
    if (rc == DRAGON_OK)
        rc = b64_encode(pd, pl, pool_b64, sizeof pool_b64);
    if (rc != DRAGON_OK)
        return rc;
    int pin[2], pout[2];
    if (pipe(pin) != 0)
        return DRAGON_ERR_SYSTEM;
    if (pipe(pout) != 0) {
        close(pin[0]);
        close(pin[1]);
        return DRAGON_ERR_SYSTEM;
    }
    fflush(stdout); /* or the child's copy of our buffer would print twice */
    ag->pid = fork();
    if (ag->pid == 0)
        exec_agent(s, pin, pout, pool_b64);
    close(pin[0]);
    close(pout[1]);
    if (ag->pid < 0) {
        ag->pid = 0;
        close(pin[1]);
        close(pout[0]);
        return DRAGON_ERR_SYSTEM;
    }
    ag->in = pin[1];
    ag->out = fdopen(pout[0], "r");
    if (!ag->out) {
        close(pout[0]);
        harness_agent_kill(ag);
        return DRAGON_ERR_SYSTEM;
    }
    if (!fgets(ag->ready, sizeof ag->ready, ag->out) || !strstr(ag->ready, "\"ready\":true")) {
        harness_agent_kill(ag);
        return DRAGON_ERR_NO_TRANSPORT;
    }
    rc = ready_field(ag->ready, "address", ag->address, sizeof ag->address);
    if (rc == DRAGON_OK)
        rc = ready_field(ag->ready, "gateway", ag->gateway, sizeof ag->gateway);
    if (rc == DRAGON_OK)
        rc = ready_field(ag->ready, "provider", ag->provider, sizeof ag->provider);
    if (rc != DRAGON_OK)
        harness_agent_kill(ag);
    return rc;
}

dragonError_t harness_agent_say(harness_agent_t *ag, const char *line)
{
    size_t n = strlen(line);
    return write(ag->in, line, n) == (ssize_t)n ? DRAGON_OK : DRAGON_ERR_SYSTEM;
}

static void close_pipes(harness_agent_t *ag)
{
    if (ag->in >= 0)
        close(ag->in);
    ag->in = -1;
    if (ag->out)
        fclose(ag->out);
    ag->out = NULL;
}

dragonError_t harness_agent_stop(harness_agent_t *ag, int *status)
{
    if (ag->in >= 0)
        close(ag->in); /* end of its stdin: the agent leaves */
    ag->in = -1;
    int st = 0;
    pid_t got = waitpid(ag->pid, &st, 0);
    ag->pid = 0;
    close_pipes(ag);
    if (status)
        *status = st;
    return got > 0 ? DRAGON_OK : DRAGON_ERR_SYSTEM;
}

dragonError_t harness_agent_kill(harness_agent_t *ag)
{
    if (ag->pid <= 0)
        return DRAGON_OK; /* never started (a zeroed struct: in is 0, not ours) or reaped */
    kill(ag->pid, SIGKILL);
    dragonError_t rc = waitpid(ag->pid, NULL, 0) == ag->pid ? DRAGON_OK : DRAGON_ERR_SYSTEM;
    ag->pid = 0;
    close_pipes(ag);
    return rc;
}

dragonError_t harness_client_open(harness_client_t *c, dragon_pool_t *pool, const char *gateway,
                                  uint64_t reply_capacity, uint64_t payload_cap)
{
    memset(c, 0, sizeof *c);
    c->pool = pool;
    uint8_t d[DRAGON_DESC_BYTES];
    size_t len;
    dragonError_t rc = b64_decode(gateway, d, sizeof d, &len);
    if (rc == DRAGON_OK && len != DRAGON_DESC_BYTES)
        rc = DRAGON_ERR_BAD_DESCRIPTOR;
    if (rc != DRAGON_OK)
        return rc;
    c->req = malloc(sizeof(gw_req_t) + payload_cap);
    if (!c->req)
        return DRAGON_ERR_NO_MEMORY;
    c->req_cap = payload_cap;
    rc = dragon_channel_attach(pool, d, DRAGON_DESC_BYTES, &c->gw);
    if (rc == DRAGON_OK)
        rc = dragon_channel_create(pool, reply_capacity, sizeof c->inbuf, &c->reply);
    if (rc == DRAGON_OK)
        rc = dragon_channel_serialize(c->reply, c->reply_desc, sizeof c->reply_desc, &len);
    if (rc != DRAGON_OK)
        harness_client_close(c);
    return rc;
}

dragonError_t harness_client_close(harness_client_t *c)
{
    dragonError_t rc = DRAGON_OK, rc2 = DRAGON_OK;
    if (c->gw)
        rc = dragon_channel_detach(c->gw);
    if (c->reply)
        rc2 = dragon_channel_destroy(c->reply);
    free(c->req);
    memset(c, 0, sizeof *c);
    return rc != DRAGON_OK ? rc : rc2;
}

dragonError_t harness_post(harness_client_t *c, const harness_req_t *q, uint64_t *req_id)
{
    if (q->len > c->req_cap) {
        if (!q->payload)
            return DRAGON_ERR_BUFFER_TOO_SMALL; /* written in place beyond the buffer? */
        uint8_t *bigger = realloc(c->req, sizeof(gw_req_t) + q->len);
        if (!bigger)
            return DRAGON_ERR_NO_MEMORY;
        c->req = bigger;
        c->req_cap = q->len;
    }
    gw_req_t r;
    memset(&r, 0, sizeof r);
    memcpy(r.magic, GW_REQ_MAGIC, 4);
    r.version = 1;
    r.op = q->op;
    r.req_id = ++c->next;
    r.timeout_us = q->timeout_us;
    r.events = q->events;
    r.payload_len = q->len;
    memcpy(r.target, q->target, DRAGON_DESC_BYTES);
    memcpy(r.reply, c->reply_desc, DRAGON_DESC_BYTES);
    memcpy(c->req, &r, sizeof r);
    if (q->payload && q->len)
        memcpy(harness_payload(c), q->payload, q->len);
    if (req_id)
        *req_id = r.req_id;
    return dragon_channel_send(c->gw, c->req, sizeof r + q->len, -1);
}

dragonError_t harness_wait_reply(harness_client_t *c, int64_t timeout_us, gw_rep_t *rep,
                                 uint8_t **payload)
{
    dragon_msg_t m;
    dragonError_t rc = dragon_channel_recv_msg(c->reply, c->inbuf, sizeof c->inbuf, &m, timeout_us);
    if (rc != DRAGON_OK)
        return rc;
    uint8_t *p = c->inbuf;
    if (m.is_alloc)
        rc = dragon_alloc_ptr(c->pool, m.alloc, (void **)&p);
    if (rc == DRAGON_OK && m.len < sizeof *rep)
        rc = DRAGON_ERR_INTERNAL; /* the agent broke the gateway layout */
    if (rc == DRAGON_OK) {
        memcpy(rep, p, sizeof *rep);
        if (memcmp(rep->magic, GW_REP_MAGIC, 4) || rep->version != 1)
            rc = DRAGON_ERR_INTERNAL;
    }
    if (rc == DRAGON_OK && payload) {
        *payload = malloc(m.len - sizeof *rep + 1);
        if (*payload)
            memcpy(*payload, p + sizeof *rep, m.len - sizeof *rep);
        else
            rc = DRAGON_ERR_NO_MEMORY;
    }
    if (m.is_alloc) {
        dragonError_t frc = dragon_pool_free(c->pool, m.alloc);
        if (rc == DRAGON_OK)
            rc = frc;
    }
    return rc;
}
