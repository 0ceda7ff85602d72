/* Small helpers of the agent: logging to stderr, hex encoding, randomness
 * (time: src/clock.c, shared with libdragon; base64: b64.c, shared with the
 * test and bench harness). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <errno.h>
#include <sys/random.h>
#include "agent.h"

static int log_level = L_INFO; /* set once at start-up from DRAGON_LOG_LEVEL */

dragonError_t log_init(void)
{
    const char *l = getenv("DRAGON_LOG_LEVEL");
    if (!l)
        return DRAGON_OK;
    if (!strcasecmp(l, "debug"))
        log_level = L_DEBUG;
    else if (!strcasecmp(l, "info"))
        log_level = L_INFO;
    else if (!strcasecmp(l, "warn") || !strcasecmp(l, "warning"))
        log_level = L_WARN;
    else if (!strcasecmp(l, "error"))
        log_level = L_ERR;
    return DRAGON_OK;
}

void alog(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "dragon-transport %s: %s\n", names[level], line);
    fflush(stderr);
}

dragonError_t random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DRAGON_ERR_SYSTEM;
        }
        p += n;
        len -= (size_t)n;
    }
    return DRAGON_OK;
}

dragonError_t hex_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char d[] = "0123456789abcdef";
    if (cap < 2 * len + 1)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = 0;
    return DRAGON_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

dragonError_t hex_decode(const char *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    if (inlen % 2 || inlen / 2 > cap)
        return DRAGON_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < inlen / 2; i++) {
        int h = hexval(in[2 * i]), l = hexval(in[2 * i + 1]);
        if (h < 0 || l < 0)
            return DRAGON_ERR_INVALID_ARGUMENT;
        out[i] = (uint8_t)(h << 4 | l);
    }
    *outlen = inlen / 2;
    return DRAGON_OK;
}

/* ---- per-hop trace (DRAGON_TRANSPORT_TRACE) ---- */

#define TRACE_CAP (1u << 21) /* records kept; later ones are dropped */

struct trace {
    uint64_t n;
    char path[4096];
    trace_rec_t r[];
};

dragonError_t trace_open(agent_t *a)
{
    const char *p = getenv("DRAGON_TRANSPORT_TRACE");
    if (!p || !*p)
        return DRAGON_OK;
    trace_t *t = malloc(sizeof *t + (size_t)TRACE_CAP * sizeof(trace_rec_t));
    if (!t)
        return DRAGON_ERR_NO_MEMORY;
    t->n = 0;
    snprintf(t->path, sizeof t->path, "%s.%d", p, a->node);
    a->trace = t;
    return DRAGON_OK;
}

void trace_rec(agent_t *a, uint32_t ev, uint32_t arg)
{
    trace_t *t = a->trace;
    if (t->n >= TRACE_CAP)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    trace_rec_t *r = &t->r[t->n++];
    r->ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    r->who = (uint16_t)a->node;
    r->ev = (uint16_t)ev;
    r->arg = arg;
}

dragonError_t trace_close(agent_t *a)
{
    trace_t *t = a->trace;
    if (!t)
        return DRAGON_OK;
    a->trace = NULL;
    FILE *f = fopen(t->path, "wb");
    if (f) {
        fwrite(t->r, sizeof t->r[0], t->n, f);
        fclose(f);
    } else {
        alog(L_WARN, "trace: cannot write %s: %s", t->path, strerror(errno));
    }
    free(t);
    return DRAGON_OK;
}
