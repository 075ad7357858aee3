/*
 * swarm.h: the umbrella header: version, the error enum, the diagnostic
 * buffer used by every parser of untrusted input, and the allocator.
 * Module APIs live in their own headers (engine.h, assign.h, ...).
 */
#ifndef SWARM_SWARM_H
#define SWARM_SWARM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SWARM_API __attribute__((visibility("default")))
#else
#define SWARM_API
#endif

#define SWARM_VERSION_STRING "0.1.0"

/* One table gives code, name and message, so they cannot drift apart. */
#define SWARM_ERR_MAP(X)                                                \
    X(OK, 0, "success")                                                 \
    X(ENOMEM, 1, "out of memory")                                       \
    X(EINVAL, 2, "invalid argument")                                    \
    X(EFORMAT, 3, "malformed or unsupported file")                      \
    X(ETIMEDOUT, 4, "operation timed out")                              \
    X(EUNAVAIL, 5, "no healthy node can take the task")                 \
    X(ECLOSED, 6, "object is shutting down or closed")                  \
    X(ECANCELED, 7, "operation was canceled")                           \
    X(ETRANSPORT, 8, "NATS or HTTP transport failure")                  \
    X(ESYS, 9, "operating-system error")                                \
    X(EINFEASIBLE, 10, "problem has no feasible solution")              \
    X(EFULL, 11, "queue is full")                                       \
    X(ENOTFOUND, 12, "not found")                                       \
    X(EUNSUPPORTED, 13, "unsupported feature")                          \
    X(ETOOLONG, 14, "prompt longer than the model's context")

typedef enum {
#define X(name, val, msg) SWARM_##name = val,
    SWARM_ERR_MAP(X)
#undef X
    SWARM_ERR_COUNT
} swarm_err;

/* Never NULL, also for out-of-range codes. */
SWARM_API const char *swarm_strerror(swarm_err e);
/* "SWARM_ETIMEDOUT"; never NULL. */
SWARM_API const char *swarm_err_name(swarm_err e);

/*
 * A diagnostic: the human-readable reason behind an error code, written by
 * parsers of untrusted input (model files, JSON, requests). Callers that do
 * not care pass NULL. The message never contains a trailing newline.
 */
typedef struct swarm_diag {
    char msg[512];
} swarm_diag;

/* Frees memory the library allocated and documented as "free with swarm_free". */
SWARM_API void swarm_free(void *p);

/*
 * Reads a whole file of at most max bytes ("-" is stdin) into a
 * NUL-terminated buffer the caller frees with swarm_free. A larger input,
 * a directory, a missing or unreadable file are SWARM_EINVAL with d->msg
 * naming the path and the limit. Thread-safe.
 */
SWARM_API swarm_err swarm_file_read(const char *path, size_t max, char **out, size_t *out_len,
                                    swarm_diag *d);

/*
 * The library's one strict JSON policy, for callers that read JSON of their
 * own (the CLI's calibration files): at most 512 MiB, nesting at most 64
 * levels, duplicate keys, NUL bytes, NaN, Infinity and overflowing numbers
 * refused, an object or an array at the top level. Returns a jansson value
 * (json_decref it) or NULL with d->msg "line L column C: ..."; the file
 * variant prefixes messages with the path. Thread-safe.
 */
struct json_t;
SWARM_API struct json_t *swarm_json_load(const char *text, size_t len, swarm_diag *d);
SWARM_API struct json_t *swarm_json_load_file(const char *path, swarm_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_SWARM_H */
