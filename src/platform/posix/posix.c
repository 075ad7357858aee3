/*
 * posix.c: clocks, sleeping, CPU count, whole-file reads and the logger:
 * the POSIX side of core_int.h.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/core_int.h"

uint64_t sw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double sw_now_ms(void)
{
    return (double)sw_now_ns() / 1e6;
}

uint64_t sw_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

void sw_sleep_ms(double ms)
{
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000.0),
                          .tv_nsec = (long)((ms - (double)(time_t)(ms / 1000.0) * 1000.0) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Process-wide like the allocator's countdown: a test arms it, the next
 * checked I/O calls count it down. Production code never arms it. */
static _Atomic long io_countdown = -1;
static _Atomic int io_errno = EIO;

void sw_io_fail_after(long n, int err)
{
    atomic_store(&io_errno, err);
    atomic_store(&io_countdown, n);
}

bool sw_io_fail(void)
{
    if (atomic_load_explicit(&io_countdown, memory_order_relaxed) < 0) return false;
    if (atomic_fetch_sub(&io_countdown, 1) != 0) return false;
    errno = atomic_load(&io_errno);
    return true;
}

int sw_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

/* Opens path for sw_read_file: regular files and pipes only. A device such
 * as /dev/zero would never end and a directory cannot be read; a FIFO is
 * opened without waiting for a writer (no writer reads as empty). */
static swarm_err open_readable(const char *path, bool devices_ok, FILE **out, swarm_diag *d)
{
    int fd = sw_io_fail() ? -1 : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    /* A user input that cannot be opened is the user's to fix (EINVAL);
     * a model file that cannot be opened stays an OS error. */
    if (fd < 0)
        return sw_diag_set(d, devices_ok ? SWARM_EINVAL : SWARM_ESYS, "%s: %s", path,
                           strerror(errno));
    struct stat st;
    bool stat_ok = fstat(fd, &st) == 0;
    FILE *f = NULL;
    swarm_err rc = SWARM_OK;
    if (stat_ok && S_ISDIR(st.st_mode))
        rc = sw_diag_set(d, SWARM_EINVAL, "%s: is a directory", path);
    else if (stat_ok && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
             !(devices_ok && S_ISCHR(st.st_mode)))
        rc = sw_diag_set(d, SWARM_EINVAL, "%s: not a regular file", path);
    else if (!stat_ok || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
             (f = fdopen(fd, "rb")) == NULL)
        rc = sw_diag_set(d, SWARM_ESYS, "%s: %s", path, strerror(errno));
    if (rc != SWARM_OK) {
        close(fd);
        return rc;
    }
    *out = f;
    return SWARM_OK;
}

/* Reads path into a NUL-terminated buffer; more than max bytes is an error:
 * SWARM_EFORMAT for model inputs (sw_read_file), SWARM_EINVAL for user
 * inputs (sw_read_file_max), as their callers promise. */
static swarm_err read_bounded(const char *path, size_t max, bool user_input, char **out,
                              size_t *out_len, swarm_diag *d)
{
    FILE *f = NULL;
    swarm_err rc = open_readable(path, user_input, &f, d);
    if (rc != SWARM_OK) return rc;
    size_t cap = 4096, len = 0;
    char *buf = sw_malloc(cap);
    if (buf == NULL) {
        fclose(f);
        return sw_diag_set(d, SWARM_ENOMEM, "%s: out of memory", path);
    }
    int err = 0;
    struct stat st;
    bool fifo = fstat(fileno(f), &st) == 0 && S_ISFIFO(st.st_mode);
    for (;;) {
        if (cap - len < 2) {
            if (len > max) break; /* a pipe that never ends: refused below */
            /* Room for max + 1 bytes and the NUL at most: one byte past the
             * limit is enough to know the input is too large. */
            size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
            char *nb = sw_realloc(buf, ncap);
            if (nb == NULL) {
                sw_free(buf);
                fclose(f);
                return sw_diag_set(d, SWARM_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        if (sw_io_fail()) {
            err = errno;
            break;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) err = errno ? errno : EIO;
            break;
        }
    }
    fclose(f);
    if (err) {
        sw_free(buf);
        return sw_diag_set(d, SWARM_ESYS, "%s: read error: %s", path, strerror(err));
    }
    if (len > max) {
        sw_free(buf);
        if (user_input)
            return sw_diag_set(d, SWARM_EINVAL, "%s: larger than the limit of %zu bytes", path,
                               max);
        return sw_diag_set(d, SWARM_EFORMAT, "%s: larger than %zu MiB", path, max >> 20);
    }
    if (fifo && len == 0 && user_input) {
        /* opened without waiting for a writer (a FIFO nobody writes to would
         * hang us): no writer means end of file at once, not an empty input */
        sw_free(buf);
        return sw_diag_set(d, SWARM_EINVAL, "%s: a pipe or FIFO that gave no data (no writer when "
                           "it was opened?); write to it first, or pass a regular file", path);
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len) *out_len = len;
    return SWARM_OK;
}

swarm_err sw_read_file(const char *path, char **out, size_t *out_len, swarm_diag *d)
{
    return read_bounded(path, SW_READ_FILE_MAX, false, out, out_len, d);
}

swarm_err sw_read_file_max(const char *path, size_t max, char **out, size_t *out_len,
                           swarm_diag *d)
{
    return read_bounded(path, max, true, out, out_len, d);
}

static int log_threshold(void)
{
    const char *s = getenv("SWARM_LOG");
    if (s == NULL) return SW_LOG_WARN;
    if (strcasecmp(s, "debug") == 0) return SW_LOG_DEBUG;
    if (strcasecmp(s, "info") == 0) return SW_LOG_INFO;
    if (strcasecmp(s, "error") == 0) return SW_LOG_ERROR;
    return SW_LOG_WARN;
}

void sw_log(enum sw_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if ((int)lvl < log_threshold()) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "swarm [%s] %s\n", names[lvl], line);
}
