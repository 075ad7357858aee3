/*
 * serve.h: the swarm as an HTTP service (`swarm serve`): an OpenAI-compatible
 * API (chat/completions, completions, models) over libmicrohttpd in front of
 * one runtime's coordinator. Every request becomes a task submitted with a
 * ticket; streaming comes from the task's token events; a client that goes
 * away cancels its task. docs/api.md describes the API.
 *
 * No global state: a server object holds everything; several may run in
 * one process on different addresses.
 */
#ifndef SWARM_SERVE_H
#define SWARM_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/runtime.h"
#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* the request decoder (pure: no server needed; unit-tested and fuzzed)       */

typedef enum { SWARM_API_CHAT, SWARM_API_COMPLETION } swarm_api_kind;

#define SWARM_API_MAX_STOP 4

/* A decoded POST /v1/chat/completions or /v1/completions body. */
typedef struct swarm_api_request {
    swarm_api_kind kind;
    char *model;          /* the route name */
    char *prompt;         /* completion: the prompt; chat: the rendered transcript */
    int32_t max_tokens;   /* 0 = the route's default */
    bool has_temperature, has_top_p, has_seed;
    double temperature;   /* [0, 2] */
    double top_p;         /* (0, 1] */
    int64_t seed;
    size_t n_stop;
    char *stop[SWARM_API_MAX_STOP]; /* non-empty, at most 256 bytes each */
    int32_t n;            /* choices: only 1 is served for now */
    bool stream;
    bool include_usage;   /* stream_options.include_usage */
} swarm_api_request;

/* An error in OpenAI's shape: {"error": {"message", "type", "param", "code"}}
 * answered with status http. param and code are "" when they do not apply
 * (written as null). */
typedef struct swarm_api_error {
    int http;
    char type[40];        /* invalid_request_error, authentication_error, ... */
    char param[64];
    char code[40];
    char message[384];
} swarm_api_error;

/*
 * Decodes a request body strictly (core's JSON loader: size, depth, NaN,
 * duplicate keys, invalid UTF-8 refused) into *out. Unknown parameters, wrong
 * types and out-of-range values are refused naming the parameter; a few
 * OpenAI parameters with no effect here are accepted when they ask for the
 * default (docs/api.md). Chat messages are rendered as a plain transcript
 * (swarm_api_render_chat). On failure returns SWARM_EFORMAT / SWARM_EINVAL
 * (or SWARM_ENOMEM) with *e filled (http 400); *out is then empty. Release
 * with swarm_api_request_clear in every case.
 */
SWARM_API swarm_err swarm_api_decode(swarm_api_kind kind, const char *body, size_t len,
                                     swarm_api_request *out, swarm_api_error *e);
SWARM_API void swarm_api_request_clear(swarm_api_request *r);

/* Fills *e (printf-style message); returns SWARM_EINVAL for convenience. */
SWARM_API swarm_err swarm_api_error_set(swarm_api_error *e, int http, const char *type,
                                        const char *param, const char *code, const char *fmt,
                                        ...) __attribute__((format(printf, 6, 7)));
/* The error as its JSON body; *out malloc'd by jansson: free with free(). */
SWARM_API char *swarm_api_error_json(const swarm_api_error *e);

/* ------------------------------------------------------------------------ */
/* routes: a model name selects a task template                              */

typedef struct swarm_routes swarm_routes;

/*
 * The built-in routes for swarm s (swarm/ensemble-3, swarm/map-reduce,
 * swarm/classify-sentiment, and node/NAME per node), then, when path is not
 * NULL, the routes file at path (docs/api.md): its routes add to or replace
 * the built-in ones of the same name, or all of them with "builtin": false.
 * Every template is checked by parsing it as a task (SWARM_EFORMAT naming
 * the route otherwise).
 */
SWARM_API swarm_err swarm_routes_load(const swarm_swarm *s, const char *path,
                                      swarm_routes **out, swarm_diag *d);
SWARM_API void swarm_routes_destroy(swarm_routes *r);
SWARM_API size_t swarm_routes_count(const swarm_routes *r);
/* Route i's model name, or NULL out of range. */
SWARM_API const char *swarm_routes_name(const swarm_routes *r, size_t i);
/* Index of the route named model, or -1. */
SWARM_API int32_t swarm_routes_find(const swarm_routes *r, const char *model);
/*
 * The task JSON for route i and a request: the template with "input" set to
 * the request's prompt, limits.max_tokens to its max_tokens (when > 0) and
 * "sampling" to its temperature, top_p and seed (those it gives; a seed is
 * taken modulo 2^53, the task file's range). *out malloc'd (free with
 * free()).
 */
SWARM_API swarm_err swarm_routes_task_json(const swarm_routes *r, size_t i,
                                           const swarm_api_request *rq, char **out,
                                           swarm_diag *d);

/* ------------------------------------------------------------------------ */
/* the server                                                                */

typedef struct swarm_serve_opts {
    const char *listen;        /* "HOST:PORT" ("127.0.0.1:8080"); port 0 = any free port */
    const char *routes_path;   /* routes file or NULL (built-in routes only) */
    const char *api_key_file;  /* one key per line ('#' comments) or NULL: no keys */
    bool insecure;             /* allow a non-loopback address without keys */
    size_t max_body;           /* request body limit in bytes (1 MiB) */
    unsigned conn_limit;       /* concurrent connections (256) */
    unsigned conn_timeout_s;   /* idle connection / slow client limit in seconds (30) */
    double deadline_ms;        /* per request task deadline (300000; 0 = none) */
    double retry_after_s;      /* Retry-After on 429 (1) */
    bool log_requests;         /* one line per request on stderr (no keys, no bodies) */
} swarm_serve_opts;

SWARM_API swarm_serve_opts swarm_serve_opts_default(void);

typedef struct swarm_server swarm_server;

/* Checks the options (listen address, keys file, routes file) and builds a
 * server for runtime rt on swarm s (both must outlive it). Nothing listens
 * yet. SWARM_EINVAL with d saying why for a bad option. rt may be NULL to
 * check the options before loading models: such a server cannot start. */
SWARM_API swarm_err swarm_server_create(swarm_runtime *rt, const swarm_swarm *s,
                                        const swarm_serve_opts *o, swarm_server **out,
                                        swarm_diag *d);
/* Binds and starts answering (its own threads). SWARM_ESYS when the address
 * cannot be bound. */
SWARM_API swarm_err swarm_server_start(swarm_server *srv, swarm_diag *d);
/* "http://HOST:PORT" with the real port once started; borrowed. */
SWARM_API const char *swarm_server_url(const swarm_server *srv);
/* Stops accepting connections, answers 503 to new requests on open ones,
 * waits up to timeout_ms (< 0: without limit) for running requests to
 * finish, then stops. Returns the requests still running at the limit
 * (canceled by the stop). Idempotent. */
SWARM_API size_t swarm_server_drain(swarm_server *srv, double timeout_ms);
/* Drains without waiting if still running, then frees. NULL is a no-op. */
SWARM_API void swarm_server_destroy(swarm_server *srv);

/* Route table introspection for the default-deny test: HTTP route i's
 * method, path and access rule: "key" (needs an API key when keys are set),
 * "open" (GET /healthz only) or "unset" (a route added without a decision:
 * never served, answered 500). Returns false out of range. */
SWARM_API bool swarm_server_route_info(size_t i, const char **method, const char **path,
                                       const char **access);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_SERVE_H */
