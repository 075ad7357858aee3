/*
 * core_int.h: internal helpers shared by every module: the allocator
 * wrapper (with test-only failure injection), diagnostics, clocks, logging
 * and SWARM_ASSERT. Never installed.
 */
#ifndef SW_CORE_INT_H
#define SW_CORE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/swarm.h"

/* ---- allocation: every allocation goes through these (STYLE 9) ---- */
void *sw_malloc(size_t n);
void *sw_calloc(size_t count, size_t size); /* NULL on overflow of count*size */
void *sw_realloc(void *p, size_t n);
void sw_free(void *p);
char *sw_strdup(const char *s);
char *sw_strndup(const char *s, size_t n);
/* Tests only: the n-th next allocation (0 = the very next) fails; n < 0 disables. */
void sw_alloc_fail_after(long n);
/* Bytes currently allocated through sw_* (approximate; for /metrics). */
long sw_alloc_live_bytes(void);

/* A growable byte buffer for building strings and file images: appends
 * after an allocation failure are dropped and `oom` stays set, so a run of
 * appends is checked once at the end. The bytes are kept NUL-terminated.
 * Start from {0}; release p with sw_free. */
typedef struct sw_buf {
    void *p;
    size_t len, cap;
    bool oom;
} sw_buf;
void sw_buf_put(sw_buf *b, const void *src, size_t n);

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool sw_mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool sw_add_ok(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

/* ---- diagnostics ---- */
/* printf into d->msg (no-op when d is NULL). Returns rc so callers can
 * write `return sw_diag_set(d, SWARM_EFORMAT, "...")`. */
swarm_err sw_diag_set(swarm_diag *d, swarm_err rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to an existing message (e.g. the file name). */
void sw_diag_prefix(swarm_diag *d, const char *prefix);

/* ---- clocks ---- */
uint64_t sw_now_ns(void);  /* CLOCK_MONOTONIC */
double sw_now_ms(void);    /* CLOCK_MONOTONIC in ms */
uint64_t sw_wall_ms(void); /* CLOCK_REALTIME in ms since the epoch */
void sw_sleep_ms(double ms);

/* ---- isolation: a call in a forked child with a hard deadline ----
 * fn(arg, out, cap) runs in a child process (stdout and stderr to
 * /dev/null, address space limited to its current size plus mem_budget when
 * mem_budget > 0) and returns how many bytes of result it wrote to out
 * (0 = failed). The parent waits at most timeout_ms, then kills it. *st
 * says how it ended, why (when given) in words; on OK the result is copied
 * to out and its length to *out_len. SWARM_ENOMEM / SWARM_ESYS only when
 * the child could not be started. Safe to call from a threaded process as
 * long as fn only uses async-signal-safe code or glibc's fork-safe malloc. */
typedef size_t (*sw_isolated_fn)(void *arg, void *out, size_t cap);
typedef enum { SW_ISOLATED_OK, SW_ISOLATED_TIMEOUT, SW_ISOLATED_FAILED, SW_ISOLATED_COUNT } sw_isolated_status;
swarm_err sw_isolated_call(sw_isolated_fn fn, void *arg, void *out, size_t cap, size_t *out_len,
                           double timeout_ms, size_t mem_budget, sw_isolated_status *st,
                           char *why, size_t why_cap);

/* ---- logging (stderr; level from SWARM_LOG=debug|info|warn|error) ---- */
enum sw_log_level { SW_LOG_DEBUG, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR, SW_LOG_COUNT };
void sw_log(enum sw_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sw_log_debug(...) sw_log(SW_LOG_DEBUG, __VA_ARGS__)
#define sw_log_info(...) sw_log(SW_LOG_INFO, __VA_ARGS__)
#define sw_log_warn(...) sw_log(SW_LOG_WARN, __VA_ARGS__)
#define sw_log_error(...) sw_log(SW_LOG_ERROR, __VA_ARGS__)

/* ---- assertions: bugs only, never for input the environment controls ---- */
void sw_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define SWARM_ASSERT(x) ((x) ? (void)0 : sw_assert_fail(#x, __FILE__, __LINE__))

/* ---- I/O failure injection (tests only; TESTPLAN H6) ----
 * The n-th next checked I/O call (0 = the very next) fails with errno err;
 * n < 0 disables. Checked: opening, reading and mapping model and tokenizer
 * files (sw_read_file, sw_map_file, the engine's format sniff) and every
 * open, write, fsync, close and rename of the GGUF writer. */
void sw_io_fail_after(long n, int err);
/* True (with errno set) when the I/O call about to be made must fail. */
bool sw_io_fail(void);

/* ---- small utilities ---- */
/* Reads a whole file (regular or a pipe; at most SW_READ_FILE_MAX bytes)
 * into a NUL-terminated sw_malloc'd buffer. Directories and devices are
 * SWARM_EINVAL. */
#define SW_READ_FILE_MAX (1 << 30)
swarm_err sw_read_file(const char *path, char **out, size_t *out_len, swarm_diag *d);
/* The same for small user inputs (task and aggregate files, "-" as
 * /dev/stdin): refuses more than max bytes with SWARM_EINVAL ("larger than
 * the limit of N bytes"), so /dev/zero or an endless pipe fails fast.
 * Character devices (a terminal, /dev/stdin) are allowed here because max
 * bounds them. A missing or unreadable file and a directory are SWARM_EINVAL. */
swarm_err sw_read_file_max(const char *path, size_t max, char **out, size_t *out_len,
                           swarm_diag *d);
/* Number of online CPUs (>= 1). */
int sw_cpu_count(void);

#endif /* SW_CORE_INT_H */
