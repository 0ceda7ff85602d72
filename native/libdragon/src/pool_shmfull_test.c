/* A full /dev/shm gives DRAGON_ERR_SHM_FULL, never a SIGBUS. Runs in a
 * child with its own mount namespace and a private 8 MiB tmpfs on
 * /dev/shm (needs root or CAP_SYS_ADMIN; skips otherwise), so the real
 * /dev/shm is never filled. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "pool_check.h"

#define SKIP_CODE 77

static int count_entries(void)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Eats every free byte of the (private) /dev/shm. */
static int fill_shm(void)
{
    int fd = open("/dev/shm/filler", O_RDWR | O_CREAT | O_EXCL, 0600);
    T_ASSERT(fd >= 0);
    off_t at = 0;
    for (off_t step = 1 << 20; step >= 4096; step /= 2)
        while (posix_fallocate(fd, at, step) == 0)
            at += step;
    return fd;
}

static void in_namespace(void)
{
    uint64_t rtid = t_rtid();
    /* 1. more than the tmpfs holds: refused, nothing created */
    dragon_pool_attrs_t a = {.rtid = rtid, .pool_id = 1, .bytes = 16u << 20, .puid = 1};
    dragon_pool_t *p = NULL;
    T_EXPECT(dragon_pool_create(&a, &p), DRAGON_ERR_SHM_FULL);
    T_ASSERT(count_entries() == 0);

    /* 2. a pool that fits, then something else takes the rest of /dev/shm:
     * allocations that need new reservations fail cleanly */
    a.bytes = 6u << 20; /* top-level blocks 4 MiB at 0 and 2 MiB at 4 MiB */
    T_OK(dragon_pool_create(&a, &p));
    uint64_t start = t_free_bytes(p);
    int fd = fill_shm();
    dragon_alloc_t al[64];
    int n = 0;
    dragonError_t rc;
    for (;;) {
        T_ASSERT(n < 64);
        rc = dragon_pool_alloc(p, 200000, 0, &al[n]);
        if (rc != DRAGON_OK)
            break;
        /* touch every byte: a missing reservation would SIGBUS here */
        void *ptr;
        T_OK(dragon_alloc_ptr(p, al[n], &ptr));
        memset(ptr, 0x33, al[n].size);
        n++;
    }
    T_EXPECT(rc, DRAGON_ERR_SHM_FULL);
    T_ASSERT(n == 8); /* the 2 MiB block at 4 MiB was reserved at create */
    /* a failed reservation changes nothing and never waits */
    T_ASSERT(t_check_pool(p) == (uint64_t)n);
    T_ASSERT(t_free_bytes(p) == start - (uint64_t)n * (256u << 10));
    T_EXPECT(dragon_pool_alloc(p, 200000, DRAGON_WAIT_FOREVER, &al[n]), DRAGON_ERR_SHM_FULL);

    /* 3. room again: the same allocation succeeds */
    close(fd);
    T_ASSERT(unlink("/dev/shm/filler") == 0);
    for (;;) {
        rc = dragon_pool_alloc(p, 200000, 0, &al[n]);
        if (rc != DRAGON_OK)
            break;
        void *ptr;
        T_OK(dragon_alloc_ptr(p, al[n], &ptr));
        memset(ptr, 0x44, al[n].size);
        n++;
    }
    T_EXPECT(rc, DRAGON_ERR_TIMEOUT); /* now simply full */
    T_ASSERT(n == 24);
    while (n > 0)
        T_OK(dragon_pool_free(p, al[--n]));
    T_ASSERT(t_check_pool(p) == 0 && t_free_bytes(p) == start);
    T_OK(dragon_pool_destroy(p));
    T_ASSERT(count_entries() == 0);
}

int main(void)
{
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0) {
            printf("needs root (CAP_SYS_ADMIN) for a private tmpfs: unshare: %s\n",
                   strerror(errno));
            _exit(SKIP_CODE);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=1777") != 0) {
            printf("cannot mount a private tmpfs on /dev/shm: %s\n", strerror(errno));
            _exit(SKIP_CODE);
        }
        in_namespace();
        _exit(0);
    }
    int st;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "child killed by signal %d (SIGBUS is %d)\n", WTERMSIG(st), SIGBUS);
        return 1;
    }
    if (WEXITSTATUS(st) == SKIP_CODE)
        T_SKIP("needs root (CAP_SYS_ADMIN) to mount a small private tmpfs on /dev/shm");
    if (WEXITSTATUS(st) != 0)
        return 1;
    printf("pool_shmfull_test: all passed\n");
    return 0;
}
