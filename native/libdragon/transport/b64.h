/* Base64 of descriptors on the agent's command line and in its ready line.
 * Plain C (no libfabric), so the test and bench harness (harness.c) link the
 * agent's own copy. */
#ifndef DG_TRANSPORT_B64_H
#define DG_TRANSPORT_B64_H

#include <stddef.h>
#include <stdint.h>
#include "dragon/return_codes.h"

/* DRAGON_ERR_BUFFER_TOO_SMALL unless cap >= 4 * ceil(len / 3) + 1. */
dragonError_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
dragonError_t b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);

#endif
