/* Minimal helpers for the C tests: each test is a standalone program that
 * exits 0 (pass), 1 (fail) or 77 (skip). */
#ifndef DG_TESTUTIL_H
#define DG_TESTUTIL_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dragon/dragon.h"

#define T_SKIP(...) do { printf(__VA_ARGS__); printf("\n"); exit(77); } while (0)
#define T_ASSERT(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
    exit(1); } } while (0)
/* Asserts that a dragon call returns the expected code. */
#define T_EXPECT(call, want) do { dragonError_t t_rc_ = (call); if (t_rc_ != (want)) { \
    fprintf(stderr, "%s:%d: %s returned %s (%s), expected %s\n", __FILE__, __LINE__, #call, \
            dragon_errname(t_rc_), dragon_strerror(t_rc_), dragon_errname(want)); \
    exit(1); } } while (0)
#define T_OK(call) T_EXPECT(call, DRAGON_OK)

/* A run-time id unique to this test process, so parallel runs never clash. */
static inline uint64_t t_rtid(void) { return 0x7e570000ULL ^ ((uint64_t)getpid() << 8); }

/* Asserts that no segment of run-time rtid is left in /dev/shm. */
__attribute__((unused)) static void t_check_no_segments(uint64_t rtid)
{
    char hex[32];
    snprintf(hex, sizeof hex, "%llx", (unsigned long long)rtid);
    DIR *d = opendir("/dev/shm");
    T_ASSERT(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        T_ASSERT(!(strncmp(e->d_name, "dragon-", 7) == 0 && strstr(e->d_name, hex)));
    closedir(d);
}
#endif
