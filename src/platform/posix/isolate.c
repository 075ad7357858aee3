/*
 * isolate.c: runs a function in a forked child with a hard deadline and an
 * address-space budget, its result returned through shared memory. For
 * third-party code that cannot be interrupted or bounded from inside (the
 * MIP solvers: CBC's preprocessing overruns its own time limit by minutes
 * and gigabytes on large instances, and Clp prints to stdout whatever the
 * log level). The child's stdout and stderr go to /dev/null, so nothing it
 * prints reaches the caller's streams, and whatever process-wide state the
 * library keeps dies with the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/core_int.h"

/* Sanitizer runtimes reserve terabytes of address space as they go, so an
 * RLIMIT_AS budget would kill a sanitized child at its first allocation:
 * those builds enforce the deadline only. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ISOLATE_LIMIT_AS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define ISOLATE_LIMIT_AS 0
#endif
#endif
#ifndef ISOLATE_LIMIT_AS
#define ISOLATE_LIMIT_AS 1
#endif

/* The current address-space size (the budget is added to it: a process that
 * maps a large model must not leave the child no room at all). */
static size_t current_vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == NULL) return 0;
    unsigned long pages = 0;
    int got = fscanf(f, "%lu", &pages);
    fclose(f);
    return got == 1 ? (size_t)pages * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static void child_run(sw_isolated_fn fn, void *arg, void *shared, size_t cap, size_t mem_budget,
                      int done_fd)
{
    /* A crash must end the child: handlers inherited from the caller (a
     * test framework's, which longjmp back into its runner) would let the
     * child go on as a second copy of the caller. */
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) signal(fatal[i], SIG_DFL);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    if (ISOLATE_LIMIT_AS && mem_budget > 0) {
        size_t base = current_vm_bytes();
        struct rlimit rl = {.rlim_cur = base + mem_budget, .rlim_max = base + mem_budget};
        setrlimit(RLIMIT_AS, &rl);
    }
    size_t *len = shared;
    *len = fn(arg, (char *)shared + sizeof(size_t), cap);
    close(done_fd);
    _exit(*len > 0 && *len <= cap ? 0 : 1);
}

/* Waits for the child until deadline_ms (sw_now_ms clock): true when it
 * ended. The child closes its end of the pipe as its last act before
 * _exit, so once the pipe reports hang-up the blocking waitpid is short
 * (a large child may take tens of ms to tear its memory down). */
static bool wait_until(pid_t pid, int done_fd, double deadline_ms, int *wstatus)
{
    bool hung_up = false;
    for (;;) {
        double left = deadline_ms - sw_now_ms();
        if (left <= 0) break;
        struct pollfd p = {.fd = done_fd, .events = POLLIN};
        int r = poll(&p, 1, left > 1e6 ? 1000000 : (int)left + 1);
        if (r < 0 && errno != EINTR) break;
        if (r > 0) {
            hung_up = true;
            break;
        }
    }
    pid_t w;
    do {
        w = waitpid(pid, wstatus, hung_up ? 0 : WNOHANG);
    } while (w < 0 && errno == EINTR);
    return w == pid;
}

swarm_err sw_isolated_call(sw_isolated_fn fn, void *arg, void *out, size_t cap, size_t *out_len,
                           double timeout_ms, size_t mem_budget, sw_isolated_status *st,
                           char *why, size_t why_cap)
{
    *st = SW_ISOLATED_FAILED;
    *out_len = 0;
    if (why && why_cap) why[0] = '\0';
    size_t map_len = sizeof(size_t) + cap;
    void *shared = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return SWARM_ENOMEM;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        munmap(shared, map_len);
        return SWARM_ESYS;
    }
    fflush(NULL); /* nothing buffered is written twice by the child */
    double deadline = sw_now_ms() + timeout_ms;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        munmap(shared, map_len);
        return SWARM_ESYS;
    }
    if (pid == 0) {
        close(fds[0]);
        child_run(fn, arg, shared, cap, mem_budget, fds[1]);
    }
    close(fds[1]);
    int ws = 0;
    bool ended = wait_until(pid, fds[0], deadline, &ws);
    close(fds[0]);
    if (!ended) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
        }
        *st = SW_ISOLATED_TIMEOUT;
        if (why) snprintf(why, why_cap, "stopped at the time limit of %.0f ms", timeout_ms);
    } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
        size_t len = *(size_t *)shared;
        if (len > 0 && len <= cap) {
            memcpy(out, (char *)shared + sizeof(size_t), len);
            *out_len = len;
            *st = SW_ISOLATED_OK;
        } else if (why) {
            snprintf(why, why_cap, "no result");
        }
    } else if (why) {
        if (WIFSIGNALED(ws) && mem_budget > 0)
            snprintf(why, why_cap, "died of signal %d (out of its memory budget of %zu MiB?)",
                     WTERMSIG(ws), mem_budget >> 20);
        else if (WIFSIGNALED(ws))
            snprintf(why, why_cap, "died of signal %d", WTERMSIG(ws));
        else
            snprintf(why, why_cap, "failed (exit %d)", WEXITSTATUS(ws));
    }
    munmap(shared, map_len);
    return SWARM_OK;
}
