/* Base64 for the agent and the harness that drives it (see b64.h). */
#include "b64.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

dragonError_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (cap < 4 * ((len + 2) / 3) + 1)
        return DRAGON_ERR_BUFFER_TOO_SMALL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    out[o] = 0;
    return DRAGON_OK;
}

/* Accepts standard and URL-safe alphabets, with or without padding. */
dragonError_t b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
    uint32_t v = 0;
    int bits = 0;
    size_t o = 0;
    for (; *in && *in != '='; in++) {
        int c = *in;
        int x;
        if (c >= 'A' && c <= 'Z')
            x = c - 'A';
        else if (c >= 'a' && c <= 'z')
            x = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            x = c - '0' + 52;
        else if (c == '+' || c == '-')
            x = 62;
        else if (c == '/' || c == '_')
            x = 63;
        else
            return DRAGON_ERR_INVALID_ARGUMENT;
        v = v << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return DRAGON_ERR_BUFFER_TOO_SMALL;
            out[o++] = (uint8_t)(v >> bits);
        }
    }
    *outlen = o;
    return DRAGON_OK;
}
