/* dragon-exec: how Local Services starts every process of the run-time.
 *
 *   dragon-exec <expected parent pid> <command> [args...]
 *
 * Node cannot run code between fork and exec, so this shim does the three
 * things a child must do for itself there, then execs the real program:
 *   1. prctl(PR_SET_PDEATHSIG, SIGKILL): if Local Services dies (even by
 *      SIGKILL), the kernel kills this process, so nothing outlives it.
 *   2. checks that its parent is still the expected one: a parent that died
 *      before step 1 would never send the death signal (we were reparented).
 *   3. setpgid(0, 0): its own process group, so Local Services can signal the
 *      process and everything it started with one kill(-pgid).
 * The death signal survives execve (not across set-uid binaries).
 * Exit codes when it cannot exec: 127 (not found), 126 (not executable), as
 * a shell does; 125 for a usage error or a dead parent. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dragon-exec <expected parent pid> <command> [args...]\n");
        return 125;
    }
    char *end = NULL;
    long want = strtol(argv[1], &end, 10);
    if (!end || *end != '\0' || want <= 0) {
        fprintf(stderr, "dragon-exec: bad parent pid '%s'\n", argv[1]);
        return 125;
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        fprintf(stderr, "dragon-exec: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
        return 125;
    }
    /* After the prctl: a parent that dies from here on kills us. */
    if ((long)getppid() != want)
        return 125;
    /* EPERM: already a session leader (spawned with setsid), hence already
     * leading its own group. */
    if (setpgid(0, 0) != 0 && errno != EPERM) {
        fprintf(stderr, "dragon-exec: setpgid: %s\n", strerror(errno));
        return 125;
    }
    execvp(argv[2], argv + 2);
    int err = errno;
    fprintf(stderr, "dragon: cannot run '%s': %s. Check the command name and PATH\n", argv[2], strerror(err));
    return err == ENOENT ? 127 : 126;
}
