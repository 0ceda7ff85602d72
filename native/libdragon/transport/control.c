/* Lines of JSON with the node's backend: the ready line out, and in the
 * three shapes {"peers":[...]}, {"lost":K}, {"exit":true}. A tiny scanner
 * is enough: the backend writes exactly these shapes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"

dragonError_t control_ready(agent_t *a, const char *error)
{
    if (error) {
        char clean[512];
        size_t j = 0;
        for (size_t i = 0; error[i] && j + 1 < sizeof clean; i++)
            clean[j++] = (error[i] == '"' || error[i] == '\\' || error[i] == '\n') ? '\'' : error[i];
        clean[j] = 0;
        printf("{\"ready\":false,\"error\":\"%s\"}\n", clean);
        fflush(stdout);
        return DRAGON_OK;
    }
    char addr[2 * sizeof a->fab.addr + 1], gw[2 * DRAGON_DESC_BYTES];
    hex_encode(a->fab.addr, a->fab.addrlen, addr, sizeof addr);
    b64_encode(a->gw_desc, DRAGON_DESC_BYTES, gw, sizeof gw);
    printf("{\"ready\":true,\"provider\":\"%s\",\"address\":\"%s\",\"gateway\":\"%s\"}\n",
           a->fab.prov, addr, gw);
    fflush(stdout);
    return DRAGON_OK;
}

dragonError_t peer_lost(agent_t *a, int node, const char *why)
{
    if (node < 0 || node >= MAX_NODES || !a->peers[node].known || a->peers[node].lost)
        return DRAGON_OK;
    a->peers[node].lost = 1;
    alog(L_WARN, "node %d lost (%s): failing its requests with PEER_LOST", node, why);
    origin_peer_lost(a, node);
    serve_peer_lost(a, node);
    sync_peer_lost(a, node);
    return DRAGON_OK;
}

static const char *num_after(const char *s, const char *key, long *out)
{
    const char *p = strstr(s, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':' || *p == '"')
        p++;
    char *end;
    *out = strtol(p, &end, 10);
    return end == p ? NULL : end;
}

static void on_peers(agent_t *a, const char *line)
{
    const char *p = line;
    long node;
    while ((p = num_after(p, "\"node\"", &node))) {
        const char *q = strstr(p, "\"address\"");
        if (!q)
            break;
        q = strchr(q + 9, '"');
        if (!q)
            break;
        q++;
        const char *e = strchr(q, '"');
        if (!e)
            break;
        p = e + 1;
        if (node < 0 || node >= MAX_NODES || node == a->node)
            continue;
        uint8_t addr[256];
        size_t len;
        if (hex_decode(q, (size_t)(e - q), addr, sizeof addr, &len)) {
            alog(L_ERR, "bad address of node %ld", node);
            continue;
        }
        peer_t *pe = &a->peers[node];
        if (pe->known)
            continue;
        if (fab_insert(&a->fab, addr, len, &pe->fa)) {
            alog(L_ERR, "fi_av_insert of node %ld failed", node);
            continue;
        }
        pe->known = 1;
        alog(L_DEBUG, "peer node %ld added", node);
    }
}

static void on_line(agent_t *a, const char *line)
{
    long k;
    if (strstr(line, "\"peers\"")) {
        on_peers(a, line);
        a->have_peers = 1;
    }
    else if (num_after(line, "\"lost\"", &k))
        peer_lost(a, (int)k, "the backend says so");
    else if (strstr(line, "\"exit\""))
        a->stopping = 1;
    else if (*line)
        alog(L_WARN, "unknown control line: %.200s", line);
}

dragonError_t control_read(agent_t *a)
{
    for (;;) {
        if (a->ctl_len == sizeof a->ctl - 1) {
            alog(L_ERR, "control line too long, dropped");
            a->ctl_len = 0;
        }
        ssize_t n = read(0, a->ctl + a->ctl_len, sizeof a->ctl - 1 - a->ctl_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return DRAGON_OK;
        if (n <= 0) {
            a->stdin_open = 0;
            a->stopping = 1;
            return DRAGON_OK;
        }
        a->ctl_len += (size_t)n;
        a->ctl[a->ctl_len] = 0;
        char *start = a->ctl, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = 0;
            on_line(a, start);
            start = nl + 1;
        }
        a->ctl_len = (size_t)(a->ctl + a->ctl_len - start);
        memmove(a->ctl, start, a->ctl_len);
    }
}
