/*
 * server.c: the HTTP server on libmicrohttpd, one thread per connection
 * (a handler may block waiting for its task; MHD caps the connections).
 * Each completion request is decoded (decode.c), mapped to a task by its
 * model's route (routes.c), submitted to the runtime's coordinator with a
 * ticket and answered either at once (non-streaming: the handler waits in
 * short slices, watching the socket so a client that leaves cancels its
 * task) or as Server-Sent Events fed by the task's TOKEN events: the event
 * callback runs on the coordinator thread, so it only appends to a buffer
 * and signals; the connection thread turns the buffer into SSE chunks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/core_int.h"
#include "swarm/plan.h"
#include "swarm/serve.h"
#include "serve/serve_int.h"

#define MAX_KEYS 1024
#define MAX_KEY_LEN 512

struct swarm_server {
    swarm_runtime *rt;
    const swarm_swarm *swarm;
    swarm_serve_opts o;
    swarm_routes *routes;
    char **keys;
    size_t *key_len;
    size_t n_keys;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char url[160];
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t active;   /* requests between their first call and their completion */
    bool draining;   /* new requests get 503 */
    bool stopped;
    time_t started;
};

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */

/* The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 sequence (token pieces may split a character). */
static size_t utf8_complete(const char *s, size_t n)
{
    size_t i = n;
    size_t back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0) return n;
    unsigned char c = (unsigned char)s[i - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (c < 0x80) return n;
    return back + 1 >= need ? n : i - 1;
}

static size_t word_count(const char *s)
{
    size_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

/* The first stop sequence in t[0..n), as an offset, or n. */
static size_t find_stop(const char *t, size_t n, char *const *stop, size_t n_stop)
{
    size_t best = n;
    for (size_t k = 0; k < n_stop; k++) {
        size_t sl = strlen(stop[k]);
        for (size_t i = 0; i + sl <= n && i < best; i++)
            if (memcmp(t + i, stop[k], sl) == 0) {
                best = i;
                break;
            }
    }
    return best;
}

/* Whether the client closed its end: a peer that shut down its side reads
 * as POLLRDHUP (pipelined requests only make the socket readable). */
static bool client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL) return true;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) < 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static void logf_(const swarm_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const swarm_server *srv, const char *fmt, ...)
{
    if (!srv->o.log_requests) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "swarm serve: %s\n", line);
}

/* ------------------------------------------------------------------------ */
/* responses                                                                 */

typedef struct req req;
struct req {
    swarm_server *srv;
    int route;         /* index in k_routes or -1 */
    int early;         /* an error decided on the first call, answered at the end */
    char *body;
    size_t n, cap;
    bool too_big;
    double t0;
    int status;        /* for the log */
    uint64_t ticket;
};

static swarm_server *req_srv(req *q) { return q->srv; }
/* Read under the lock: SIGTERM's drain sets it from another thread. */
static bool draining(swarm_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    bool d = srv->draining;
    pthread_mutex_unlock(&srv->mu);
    return d;
}
static void req_status(req *q, int status) { q->status = status; }

static enum MHD_Result send_body(req *q, struct MHD_Connection *c, int status, char *body,
                                 const char *ctype, double retry_after, bool close)
{
    if (body == NULL) {
        static const char oom[] =
            "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
            "\"code\":null}}";
        status = 500;
        body = strdup(oom);
        if (body == NULL) return MHD_NO;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after > 0) {
        char ra[32];
        snprintf(ra, sizeof(ra), "%.0f", retry_after < 1 ? 1 : retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    if (close) MHD_add_response_header(r, "Connection", "close");
    req_status(q, status);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(req *q, struct MHD_Connection *c, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return send_body(q, c, status, s, "application/json", 0, draining(req_srv(q)));
}

static enum MHD_Result send_error(req *q, struct MHD_Connection *c, const swarm_api_error *e)
{
    swarm_server *srv = req_srv(q);
    double ra = (e->http == 429 || e->http == 503) ? srv->o.retry_after_s : 0;
    return send_body(q, c, e->http, swarm_api_error_json(e), "application/json", ra,
                     draining(srv) || e->http == 413);
}

static enum MHD_Result fail(req *q, struct MHD_Connection *c, int http, const char *type,
                            const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static enum MHD_Result fail(req *q, struct MHD_Connection *c, int http,
                            const char *type, const char *param, const char *code,
                            const char *fmt, ...)
{
    swarm_api_error e;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    swarm_api_error_set(&e, http, type, param, code, "%s", msg);
    return send_error(q, c, &e);
}

/* ------------------------------------------------------------------------ */
/* per-request state                                                         */


/* One streamed or waited-for completion. */
typedef struct job {
    swarm_server *srv;
    struct MHD_Connection *conn;
    swarm_api_request rq;
    char *route_name;
    swarm_task *task;
    uint64_t ticket;
    bool submitted, collected;
    time_t created;
    char id[48];
    bool follow;       /* stream the tokens of the task's one subtask */
    /* shared with the coordinator thread (mu) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool locked;       /* the attempt whose tokens are followed is known */
    int32_t sub;
    uint32_t epoch;
    char *raw;         /* that attempt's text so far */
    size_t raw_n, raw_cap;
    bool raw_oom;
    bool done;
    /* connection thread only */
    size_t taken;      /* raw bytes moved to acc */
    char *acc;         /* followed text not yet cut by a stop sequence */
    size_t acc_n, acc_cap;
    size_t emitted;    /* bytes of acc sent as deltas */
    bool stopped;      /* a stop sequence ended the text */
    bool finished;     /* the last chunk and [DONE] are queued */
    char *out;         /* SSE bytes for MHD */
    size_t out_n, out_cap, out_off;
    swarm_run_result *res;
} job;

static void job_free(job *j)
{
    if (j == NULL) return;
    if (j->submitted && !j->collected) {
        /* the client left or the server stops: the task is canceled and
         * collected here so its ticket and node slots are freed */
        double t0 = sw_now_ms();
        swarm_runtime_cancel(j->srv->rt, j->ticket);
        swarm_run_result *r = NULL;
        if (swarm_runtime_wait(j->srv->rt, j->ticket, -1, &r, NULL) == SWARM_OK)
            swarm_run_result_destroy(r);
        logf_(j->srv, "task %llu canceled (client gone), collected %.1f ms after the cancel",
              (unsigned long long)j->ticket, sw_now_ms() - t0);
    }
    swarm_run_result_destroy(j->res);
    swarm_task_destroy(j->task);
    swarm_api_request_clear(&j->rq);
    free(j->route_name);
    free(j->raw);
    free(j->acc);
    free(j->out);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* Coordinator thread: must not block; only appends and signals. */
static void on_event(void *ud, const swarm_task_event *ev)
{
    job *j = ud;
    pthread_mutex_lock(&j->mu);
    if (ev->type == SWARM_TASK_EVENT_TOKEN && j->follow && ev->len > 0 && !j->raw_oom) {
        if (!j->locked) {
            j->locked = true;
            j->sub = ev->subtask;
            j->epoch = ev->epoch;
        }
        if (ev->subtask == j->sub && ev->epoch == j->epoch) {
            if (j->raw_n + ev->len + 1 > j->raw_cap) {
                size_t cap = j->raw_cap ? j->raw_cap : 1024;
                while (cap < j->raw_n + ev->len + 1) cap *= 2;
                char *p = realloc(j->raw, cap);
                if (p == NULL) {
                    j->raw_oom = true;
                } else {
                    j->raw = p;
                    j->raw_cap = cap;
                }
            }
            if (!j->raw_oom) {
                memcpy(j->raw + j->raw_n, ev->text, ev->len);
                j->raw_n += ev->len;
            }
        }
    } else if (ev->type == SWARM_TASK_EVENT_DONE) {
        j->done = true;
    }
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static bool grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    char *q = realloc(*p, c);
    if (q == NULL) return false;
    *p = q;
    *cap = c;
    return true;
}

static void out_put(job *j, const char *s, size_t n)
{
    if (!grow(&j->out, &j->out_cap, j->out_n + n + 1)) return; /* dropped: OOM */
    memcpy(j->out + j->out_n, s, n);
    j->out_n += n;
}

static void out_event(job *j, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s == NULL) return;
    out_put(j, "data: ", 6);
    out_put(j, s, strlen(s));
    out_put(j, "\n\n", 2);
    free(s);
}

/* One chunk: a text delta (text may be NULL), a finish reason (or NULL). */
static json_t *chunk(const job *j, const char *text, size_t n, const char *finish, bool role)
{
    json_t *choice = json_object();
    json_object_set_new(choice, "index", json_integer(0));
    char *t = text ? sw_utf8_clean(text, n) : NULL;
    if (j->rq.kind == SWARM_API_CHAT) {
        json_t *delta = json_object();
        if (role) json_object_set_new(delta, "role", json_string("assistant"));
        if (t || role) json_object_set_new(delta, "content", json_string(t ? t : ""));
        json_object_set_new(choice, "delta", delta);
    } else {
        json_object_set_new(choice, "text", json_string(t ? t : ""));
        json_object_set_new(choice, "logprobs", json_null());
    }
    free(t);
    json_object_set_new(choice, "finish_reason", finish ? json_string(finish) : json_null());
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", j->id, "object",
                          j->rq.kind == SWARM_API_CHAT ? "chat.completion.chunk"
                                                       : "text_completion",
                          "created", (json_int_t)j->created, "model", j->rq.model, "choices",
                          choice);
    return o;
}

static json_t *usage(const job *j)
{
    json_int_t p = (json_int_t)word_count(j->rq.prompt);
    json_int_t c = j->res ? (json_int_t)j->res->tokens : 0;
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", p, "completion_tokens", c,
                     "total_tokens", p + c);
}

static json_t *swarm_info(const job *j)
{
    const swarm_run_result *r = j->res;
    return json_pack("{s:I, s:s, s:s?, s:s?, s:I, s:f, s:f}", "task", (json_int_t)j->ticket,
                     "route", j->route_name, "winner", r ? r->winner : NULL, "decision",
                     r ? r->decision : NULL, "subtasks", (json_int_t)(r ? r->n_subtasks : 0),
                     "wall_ms", r ? r->wall_ms : 0.0, "energy_j", r ? r->energy_j : 0.0);
}

/* The answer's text (a classify task answers with its winning label). */
static const char *result_text(const swarm_run_result *r)
{
    return r && r->text ? r->text : "";
}

static const char *finish_reason(const job *j, bool stopped)
{
    if (stopped) return "stop";
    /* only a lone subtask's length is known to be the answer's */
    if (j->res && j->res->n_subtasks == 1 && j->rq.max_tokens > 0 &&
        j->res->tokens >= j->rq.max_tokens)
        return "length";
    return "stop";
}

/* Moves new followed text into acc and emits what is safe: complete UTF-8,
 * and (unless final) short of a possible stop-sequence prefix. */
static void stream_text(job *j, const char *add, size_t n, bool final)
{
    if (j->stopped) return;
    if (n && !grow(&j->acc, &j->acc_cap, j->acc_n + n + 1)) return;
    if (n) memcpy(j->acc + j->acc_n, add, n);
    j->acc_n += n;
    size_t cut = find_stop(j->acc, j->acc_n, j->rq.stop, j->rq.n_stop);
    size_t safe = cut;
    if (cut == j->acc_n) {
        if (!final) {
            size_t hold = 0;
            for (size_t k = 0; k < j->rq.n_stop; k++) {
                size_t sl = strlen(j->rq.stop[k]);
                if (sl - 1 > hold) hold = sl - 1;
            }
            safe = j->acc_n > hold ? j->acc_n - hold : 0;
            safe = utf8_complete(j->acc, safe);
        }
    } else {
        j->stopped = true;
    }
    if (safe > j->emitted) {
        out_event(j, chunk(j, j->acc + j->emitted, safe - j->emitted, NULL, false));
        j->emitted = safe;
    }
}

/* The task is done (or stopped): collect it, send what is left, the finish
 * chunk, usage if asked, and [DONE]. */
static void stream_finish(job *j)
{
    if (j->stopped) swarm_runtime_cancel(j->srv->rt, j->ticket);
    swarm_diag d = {{0}};
    swarm_err rc = swarm_runtime_wait(j->srv->rt, j->ticket, -1, &j->res, &d);
    j->collected = true;
    if (rc == SWARM_OK && (j->res->status == SWARM_OK || j->stopped)) {
        if (!j->stopped) {
            const char *t = result_text(j->res);
            size_t tl = strlen(t);
            if (j->follow) {
                /* the streamed attempt normally is the answer; a retry or
                 * a winning hedge may have produced another text, of which
                 * only an extension of what was sent can still be sent */
                if (tl >= j->acc_n && memcmp(t, j->acc, j->acc_n) == 0)
                    stream_text(j, t + j->acc_n, tl - j->acc_n, true);
                else
                    stream_text(j, "", 0, true);
            } else {
                stream_text(j, t, tl, true);
            }
        }
        json_t *last = chunk(j, NULL, 0, finish_reason(j, j->stopped), false);
        json_object_set_new(last, "swarm", swarm_info(j));
        out_event(j, last);
        if (j->rq.include_usage) {
            json_t *u = chunk(j, NULL, 0, NULL, false);
            json_object_set_new(u, "choices", json_array());
            json_object_set_new(u, "usage", usage(j));
            out_event(j, u);
        }
        logf_(j->srv, "task %llu done (stream)", (unsigned long long)j->ticket);
    } else {
        swarm_api_error e;
        swarm_api_error_set(&e, 500, "server_error", NULL, "task_failed", "task %llu failed: %s",
                            (unsigned long long)j->ticket,
                            rc ? d.msg : j->res->error[0] ? j->res->error
                                                          : swarm_strerror(j->res->status));
        char *s = swarm_api_error_json(&e);
        if (s) {
            out_put(j, "data: ", 6);
            out_put(j, s, strlen(s));
            out_put(j, "\n\n", 2);
            free(s);
        }
        logf_(j->srv, "task %llu failed (stream): %s", (unsigned long long)j->ticket, e.message);
    }
    out_put(j, "data: [DONE]\n\n", 14);
    j->finished = true;
}

/* MHD's content reader, on the connection's thread (may block). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    job *j = cls;
    for (;;) {
        if (j->out_off < j->out_n) {
            size_t n = j->out_n - j->out_off;
            if (n > max) n = max;
            memcpy(buf, j->out + j->out_off, n);
            j->out_off += n;
            if (j->out_off == j->out_n) j->out_off = j->out_n = 0;
            return (ssize_t)n;
        }
        if (j->finished) return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&j->mu);
        while (!j->done && j->raw_n == j->taken) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&j->cv, &j->mu, &ts);
            if (!j->done && j->raw_n == j->taken && client_gone(j->conn)) {
                pthread_mutex_unlock(&j->mu);
                return MHD_CONTENT_READER_END_WITH_ERROR; /* job_free cancels */
            }
        }
        size_t n = j->raw_n - j->taken;
        char *piece = n ? malloc(n) : NULL;
        if (piece) memcpy(piece, j->raw + j->taken, n);
        j->taken = j->raw_n;
        bool done = j->done;
        pthread_mutex_unlock(&j->mu);
        if (piece) stream_text(j, piece, n, false);
        free(piece);
        if (done || j->stopped) stream_finish(j);
    }
}

static void stream_free(void *cls) { job_free(cls); }

/* ------------------------------------------------------------------------ */
/* completions                                                               */

static enum MHD_Result completion(swarm_server *srv, req *q, struct MHD_Connection *c,
                                  swarm_api_kind kind)
{
    job *j = calloc(1, sizeof(*j));
    if (j == NULL) return fail(q, c, 500, "server_error", NULL, NULL, "out of memory");
    j->srv = srv;
    j->conn = c;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    swarm_api_error e;
    if (swarm_api_decode(kind, q->body, q->n, &j->rq, &e) != SWARM_OK) {
        job_free(j);
        return send_error(q, c, &e);
    }
    int32_t ri = swarm_routes_find(srv->routes, j->rq.model);
    if (ri < 0) {
        enum MHD_Result ret =
            fail(q, c, 404, "invalid_request_error", "model", "model_not_found",
                 "the model '%.256s' does not exist (GET /v1/models lists the routes)",
                 j->rq.model);
        job_free(j);
        return ret;
    }
    j->route_name = strdup(j->rq.model);
    char *js = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = j->route_name ? swarm_routes_task_json(srv->routes, (size_t)ri, &j->rq, &js, &d)
                                 : SWARM_ENOMEM;
    if (rc == SWARM_OK) rc = swarm_task_parse(js, strlen(js), &j->task, &d);
    free(js);
    if (rc) {
        /* the template was checked at start: what fails here is the input */
        enum MHD_Result ret =
            rc == SWARM_ENOMEM ? fail(q, c, 500, "server_error", NULL, NULL, "out of memory")
                               : fail(q, c, 400, "invalid_request_error",
                                      kind == SWARM_API_CHAT ? "messages" : "prompt",
                                      "invalid_value", "%s", d.msg);
        job_free(j);
        return ret;
    }
    j->follow = j->rq.stream && swarm_task_decomp(j->task) == SWARM_DECOMP_SINGLE &&
                swarm_task_redundancy(j->task) == 1 &&
                swarm_task_kind(j->task) == SWARM_SUBTASK_GENERATE;
    j->created = time(NULL);
    swarm_submit_opts so = swarm_submit_opts_default();
    so.deadline_ms = srv->o.deadline_ms;
    so.stream = j->follow;
    so.on_event = on_event;
    so.ud = j;
    rc = swarm_runtime_submit(srv->rt, j->task, &so, &j->ticket, &d);
    if (rc) {
        enum MHD_Result ret;
        if (rc == SWARM_EFULL)
            ret = fail(q, c, 429, "rate_limit_error", NULL, "queue_full",
                       "the swarm's queue is full: retry later");
        else if (rc == SWARM_ECLOSED)
            ret = fail(q, c, 503, "server_error", NULL, "shutting_down",
                       "the server is shutting down");
        else if (rc == SWARM_EINVAL || rc == SWARM_EFORMAT)
            ret = fail(q, c, 400, "invalid_request_error",
                       kind == SWARM_API_CHAT ? "messages" : "prompt", "invalid_value",
                       "route %s: %s", j->route_name, d.msg);
        else
            ret = fail(q, c, 500, "server_error", NULL, "route_unavailable",
                       "route %s cannot run on this swarm: %s", j->route_name, d.msg);
        job_free(j);
        return ret;
    }
    j->submitted = true;
    q->ticket = j->ticket;
    snprintf(j->id, sizeof(j->id), "%s-%llu", kind == SWARM_API_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)j->ticket);

    if (j->rq.stream) {
        if (kind == SWARM_API_CHAT) out_event(j, chunk(j, NULL, 0, NULL, true));
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, j, stream_free);
        if (r == NULL) {
            job_free(j);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        req_status(q, 200);
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r); /* the job is freed with the response */
        return ret;
    }

    /* non-streaming: wait in slices, watching the client */
    for (;;) {
        rc = swarm_runtime_wait(srv->rt, j->ticket, 100, &j->res, &d);
        if (rc != SWARM_ETIMEDOUT) break;
        if (client_gone(c)) {
            job_free(j); /* cancels and collects */
            q->status = 499;
            return MHD_NO;
        }
    }
    j->collected = true;
    if (rc || j->res->status != SWARM_OK) {
        enum MHD_Result ret =
            fail(q, c, 500, "server_error", NULL, "task_failed", "task %llu failed: %s",
                 (unsigned long long)j->ticket,
                 rc ? d.msg : j->res->error[0] ? j->res->error : swarm_strerror(j->res->status));
        job_free(j);
        return ret;
    }
    const char *t = result_text(j->res);
    size_t tl = strlen(t);
    size_t cut = find_stop(t, tl, j->rq.stop, j->rq.n_stop);
    char *clean = sw_utf8_clean(t, cut);
    json_t *choice;
    const char *fin = finish_reason(j, cut < tl);
    if (kind == SWARM_API_CHAT)
        choice = json_pack("{s:i, s:{s:s, s:s?}, s:s}", "index", 0, "message", "role",
                           "assistant", "content", clean, "finish_reason", fin);
    else
        choice = json_pack("{s:i, s:s?, s:n, s:s}", "index", 0, "text", clean, "logprobs",
                           "finish_reason", fin);
    free(clean);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:[o], s:o, s:o}", "id", j->id, "object",
                          kind == SWARM_API_CHAT ? "chat.completion" : "text_completion",
                          "created", (json_int_t)j->created, "model", j->rq.model, "choices",
                          choice, "usage", usage(j), "swarm", swarm_info(j));
    job_free(j);
    return send_json(q, c, 200, o);
}

static enum MHD_Result h_chat(swarm_server *srv, req *q, struct MHD_Connection *c)
{
    return completion(srv, q, c, SWARM_API_CHAT);
}

static enum MHD_Result h_completions(swarm_server *srv, req *q, struct MHD_Connection *c)
{
    return completion(srv, q, c, SWARM_API_COMPLETION);
}

static enum MHD_Result h_models(swarm_server *srv, req *q, struct MHD_Connection *c)
{
    (void)q;
    json_t *data = json_array();
    for (size_t i = 0; i < swarm_routes_count(srv->routes); i++)
        json_array_append_new(data, json_pack("{s:s, s:s, s:I, s:s}", "id",
                                              swarm_routes_name(srv->routes, i), "object",
                                              "model", "created", (json_int_t)srv->started, "owned_by", "swarm"));
    return send_json(q, c, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

static enum MHD_Result h_healthz(swarm_server *srv, req *q, struct MHD_Connection *c)
{
    (void)q;
    return send_json(q, c, 200,
                     json_pack("{s:s, s:I}", "status", "ok", "active",
                               (json_int_t)swarm_runtime_active(srv->rt)));
}

/* ------------------------------------------------------------------------ */
/* the route table: every route states whether it needs a key (default deny:
 * the dispatcher refuses a route without a decision, and a test checks the
 * table)                                                                    */

typedef enum { AUTH_UNSET = 0, AUTH_KEY, AUTH_OPEN } auth_rule;
typedef enum MHD_Result (*handler_fn)(swarm_server *, req *, struct MHD_Connection *);

static const struct http_route {
    const char *method, *path;
    auth_rule auth;
    bool body;
    handler_fn fn;
} k_routes[] = {
    {"GET", "/healthz", AUTH_OPEN, false, h_healthz},
    {"GET", "/v1/models", AUTH_KEY, false, h_models},
    {"POST", "/v1/chat/completions", AUTH_KEY, true, h_chat},
    {"POST", "/v1/completions", AUTH_KEY, true, h_completions},
};
#define N_ROUTES (sizeof(k_routes) / sizeof(k_routes[0]))

bool swarm_server_route_info(size_t i, const char **method, const char **path,
                             const char **access)
{
    if (i >= N_ROUTES) return false;
    if (method) *method = k_routes[i].method;
    if (path) *path = k_routes[i].path;
    if (access)
        *access = k_routes[i].auth == AUTH_KEY ? "key" : k_routes[i].auth == AUTH_OPEN ? "open"
                                                                                       : "unset";
    return true;
}

/* Constant time in the keys' contents: every key is compared in full. */
static bool key_ok(const swarm_server *srv, const char *tok, size_t n)
{
    volatile unsigned ok = 0;
    for (size_t k = 0; k < srv->n_keys; k++) {
        const char *key = srv->keys[k];
        size_t kl = srv->key_len[k];
        volatile unsigned diff = (unsigned)(n != kl);
        for (size_t i = 0; i < n; i++) diff |= (unsigned char)tok[i] ^ (unsigned char)key[i % kl];
        ok |= (unsigned)(diff == 0);
    }
    return ok != 0;
}

/* 0 when allowed, else the 401 message index. */
static const char *auth_check(const swarm_server *srv, struct MHD_Connection *c)
{
    if (srv->n_keys == 0) return NULL;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h == NULL) return "missing API key: send 'Authorization: Bearer KEY'";
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return "the Authorization header must be 'Bearer KEY'";
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    size_t n = strlen(tok);
    while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) n--;
    if (n == 0 || n > MAX_KEY_LEN || !key_ok(srv, tok, n)) return "incorrect API key";
    return NULL;
}

enum { EARLY_NONE, EARLY_401, EARLY_404, EARLY_405, EARLY_503 };

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    swarm_server *srv = cls;
    req *q = *con_cls;
    if (q == NULL) {
        q = calloc(1, sizeof(*q));
        if (q == NULL) return MHD_NO;
        q->srv = srv;
        q->route = -1;
        q->t0 = sw_now_ms();
        *con_cls = q;
        pthread_mutex_lock(&srv->mu);
        srv->active++;
        bool draining = srv->draining;
        pthread_mutex_unlock(&srv->mu);
        bool path_known = false;
        for (size_t i = 0; i < N_ROUTES; i++) {
            if (strcmp(url, k_routes[i].path) != 0) continue;
            path_known = true;
            if (strcmp(method, k_routes[i].method) == 0) q->route = (int)i;
        }
        if (draining)
            q->early = EARLY_503;
        else if (q->route < 0)
            q->early = path_known ? EARLY_405 : EARLY_404;
        else if (k_routes[q->route].auth != AUTH_OPEN && auth_check(srv, c) != NULL)
            q->early = EARLY_401;
        /* A declared body over the limit is refused before it is read. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (q->early == EARLY_NONE && cl != NULL) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno == 0 && end != cl && (unsigned long long)srv->o.max_body < v) {
                q->status = 413;
                q->too_big = true;
                return fail(q, c, 413, "invalid_request_error", NULL, "body_too_large",
                            "the request body is over the limit of %zu bytes",
                            srv->o.max_body);
            }
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        /* A body trickled in (slow-loris) resets MHD's idle timeout with
         * every byte: the whole body gets conn_timeout_s at most. */
        if (sw_now_ms() - q->t0 > srv->o.conn_timeout_s * 1000.0) {
            q->status = 408;
            return MHD_NO;
        }
        /* bodies are only kept for routes that read them, up to the limit */
        if (q->early == EARLY_NONE && q->route >= 0 && k_routes[q->route].body && !q->too_big &&
            q->status != 413) {
            /* over the limit, or no memory for it: refused as too big */
            if (q->n + *upload_size > srv->o.max_body ||
                !grow(&q->body, &q->cap, q->n + *upload_size + 1)) {
                q->too_big = true;
            } else {
                memcpy(q->body + q->n, upload, *upload_size);
                q->n += *upload_size;
                q->body[q->n] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->status == 413) return MHD_YES; /* already answered */
    switch (q->early) {
    case EARLY_503:
        q->status = 503;
        return fail(q, c, 503, "server_error", NULL, "shutting_down",
                    "the server is shutting down");
    case EARLY_404:
        q->status = 404;
        return fail(q, c, 404, "invalid_request_error", NULL, "not_found",
                    "no such endpoint: %.200s", url);
    case EARLY_405:
        q->status = 405;
        return fail(q, c, 405, "invalid_request_error", NULL, "method_not_allowed",
                    "method %.16s is not allowed on %.200s", method, url);
    case EARLY_401:
        q->status = 401;
        return fail(q, c, 401, "invalid_request_error", NULL, "invalid_api_key", "%s",
                    auth_check(srv, c));
    default:
        break;
    }
    if (q->too_big) {
        q->status = 413;
        return fail(q, c, 413, "invalid_request_error", NULL, "body_too_large",
                    "the request body is over the limit of %zu bytes", srv->o.max_body);
    }
    if (k_routes[q->route].auth == AUTH_UNSET) {
        q->status = 500; /* a route without an auth decision is never served */
        return fail(q, c, 500, "server_error", NULL, NULL, "route without access rule");
    }
    enum MHD_Result ret = k_routes[q->route].fn(srv, q, c);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    swarm_server *srv = cls;
    req *q = *con_cls;
    if (q == NULL) return;
    if (srv->o.log_requests) {
        const char *how = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended)";
        fprintf(stderr, "swarm serve: %s %d %.1f ms task %llu%s\n",
                q->route >= 0 ? k_routes[q->route].path : "-", q->status,
                sw_now_ms() - q->t0, (unsigned long long)q->ticket, how);
    }
    free(q->body);
    free(q);
    *con_cls = NULL;
    pthread_mutex_lock(&srv->mu);
    srv->active--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* ------------------------------------------------------------------------ */
/* lifecycle                                                                 */

swarm_serve_opts swarm_serve_opts_default(void)
{
    swarm_serve_opts o;
    memset(&o, 0, sizeof(o));
    o.listen = "127.0.0.1:8080";
    o.max_body = 1u << 20;
    o.conn_limit = 256;
    o.conn_timeout_s = 30;
    o.deadline_ms = 300000;
    o.retry_after_s = 1;
    return o;
}

static swarm_err parse_listen(swarm_server *srv, const char *s, bool *loopback, swarm_diag *d)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(host))
        return sw_diag_set(d, SWARM_EINVAL, "--listen '%s': want HOST:PORT (e.g. 127.0.0.1:8080)",
                           s);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return sw_diag_set(d, SWARM_EINVAL, "--listen '%s': the port must be 0-65535", s);
    memset(&srv->addr, 0, sizeof(srv->addr));
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    if (strcmp(h, "localhost") == 0) h = "127.0.0.1";
    struct sockaddr_in *a4 = (struct sockaddr_in *)&srv->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&srv->addr;
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        srv->addr_len = sizeof(*a4);
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        srv->addr_len = sizeof(*a6);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    } else {
        return sw_diag_set(d, SWARM_EINVAL,
                           "--listen '%s': the host must be an IP address or localhost", s);
    }
    return SWARM_OK;
}

static swarm_err load_keys(swarm_server *srv, const char *path, swarm_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    swarm_err rc = swarm_file_read(path, 1u << 20, &text, &len, d);
    if (rc) return rc;
    srv->keys = calloc(MAX_KEYS, sizeof(char *));
    srv->key_len = calloc(MAX_KEYS, sizeof(size_t));
    if (srv->keys == NULL || srv->key_len == NULL) {
        swarm_free(text);
        return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    }
    size_t line = 0;
    for (char *p = text; rc == SWARM_OK && p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        char *e = nl ? nl : text + len;
        line++;
        char *b = p;
        while (b < e && (*b == ' ' || *b == '\t')) b++;
        char *t = e;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')) t--;
        size_t n = (size_t)(t - b);
        if (n > 0 && *b != '#') {
            bool printable = n <= MAX_KEY_LEN;
            for (size_t i = 0; printable && i < n; i++)
                printable = (unsigned char)b[i] > 0x20 && (unsigned char)b[i] < 0x7f;
            /* the key itself is never printed: only its line */
            if (!printable)
                rc = sw_diag_set(d, SWARM_EINVAL,
                                 "%s line %zu: a key must be 1-%d printable ASCII characters "
                                 "without spaces", path, line, MAX_KEY_LEN);
            else if (srv->n_keys == MAX_KEYS)
                rc = sw_diag_set(d, SWARM_EINVAL, "%s: at most %d keys", path, MAX_KEYS);
            else if ((srv->keys[srv->n_keys] = strndup(b, n)) == NULL)
                rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory");
            else
                srv->key_len[srv->n_keys++] = n;
        }
        p = e + 1;
    }
    /* wipe the file's copy: keys live only in srv->keys */
    memset(text, 0, len);
    swarm_free(text);
    if (rc == SWARM_OK && srv->n_keys == 0)
        rc = sw_diag_set(d, SWARM_EINVAL, "%s: no API key in the file (one per line)", path);
    return rc;
}

swarm_err swarm_server_create(swarm_runtime *rt, const swarm_swarm *s, const swarm_serve_opts *o,
                              swarm_server **out, swarm_diag *d)
{
    *out = NULL;
    if (s == NULL) return sw_diag_set(d, SWARM_EINVAL, "no swarm");
    swarm_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    srv->rt = rt;
    srv->swarm = s;
    srv->o = o ? *o : swarm_serve_opts_default();
    srv->o.listen = srv->o.routes_path = srv->o.api_key_file = NULL; /* not kept */
    if (srv->o.max_body == 0) srv->o.max_body = 1u << 20;
    if (srv->o.conn_limit == 0) srv->o.conn_limit = 256;
    if (srv->o.conn_timeout_s == 0) srv->o.conn_timeout_s = 30;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    bool loopback = false;
    swarm_err rc = parse_listen(srv, o && o->listen ? o->listen : "127.0.0.1:8080", &loopback, d);
    if (rc == SWARM_OK && o && o->api_key_file) rc = load_keys(srv, o->api_key_file, d);
    if (rc == SWARM_OK && !loopback && srv->n_keys == 0 && !(o && o->insecure))
        rc = sw_diag_set(d, SWARM_EINVAL,
                         "refusing to listen on a non-loopback address without API keys "
                         "(give --api-key-file F, or --insecure to accept anyone)");
    if (rc == SWARM_OK) rc = swarm_routes_load(s, o ? o->routes_path : NULL, &srv->routes, d);
    if (rc) {
        swarm_server_destroy(srv);
        return rc;
    }
    *out = srv;
    return SWARM_OK;
}

swarm_err swarm_server_start(swarm_server *srv, swarm_diag *d)
{
    if (srv->mhd || srv->stopped)
        return sw_diag_set(d, SWARM_EINVAL, "the server is already started");
    if (srv->rt == NULL) return sw_diag_set(d, SWARM_EINVAL, "a server made without a runtime only checks options");
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ITC | MHD_USE_POLL;
    if (srv->addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    srv->started = time(NULL); /* before any connection thread reads it */
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr,
        MHD_OPTION_CONNECTION_LIMIT, srv->o.conn_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        srv->o.conn_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        1u, MHD_OPTION_END);
    if (srv->mhd == NULL)
        return sw_diag_set(d, SWARM_ESYS, "cannot listen on the address (in use or not local?)");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (di && getsockname(di->listen_fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
            snprintf(srv->url, sizeof(srv->url), "http://%s:%u", host, port);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
            snprintf(srv->url, sizeof(srv->url), "http://[%s]:%u", host, port);
        }
    }
    return SWARM_OK;
}

const char *swarm_server_url(const swarm_server *srv) { return srv->url; }

size_t swarm_server_drain(swarm_server *srv, double timeout_ms)
{
    if (srv == NULL || srv->mhd == NULL || srv->stopped) return 0;
    pthread_mutex_lock(&srv->mu);
    srv->draining = true;
    pthread_mutex_unlock(&srv->mu);
    MHD_socket ls = MHD_quiesce_daemon(srv->mhd);
    if (ls != MHD_INVALID_SOCKET) close(ls);
    double end = sw_now_ms() + timeout_ms;
    pthread_mutex_lock(&srv->mu);
    while (srv->active > 0 && (timeout_ms < 0 || sw_now_ms() < end)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->cv, &srv->mu, &ts);
    }
    size_t left = srv->active;
    pthread_mutex_unlock(&srv->mu);
    /* idle keep-alive connections and whatever is left are closed here;
     * a stream still running is canceled through its response's free */
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    srv->stopped = true;
    return left;
}

void swarm_server_destroy(swarm_server *srv)
{
    if (srv == NULL) return;
    if (srv->mhd) swarm_server_drain(srv, 0);
    for (size_t i = 0; i < srv->n_keys; i++) {
        memset(srv->keys[i], 0, srv->key_len[i]);
        free(srv->keys[i]);
    }
    free(srv->keys);
    free(srv->key_len);
    swarm_routes_destroy(srv->routes);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}
