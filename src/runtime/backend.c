/*
 * backend.c: what actually runs a subtask on a node: the local engine
 * (generate; classify by label log-likelihood; score), the instant echo
 * stub, and the openai placeholder (parsed, refused at create). Distinct
 * model files are loaded once and shared by every node that names them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime_int.h"

/* Classify score in [-1, 1]: labels are evenly spaced from -1 (first) to +1
 * (last), so ["negative", "positive"] gives p(pos) - p(neg). */
static double label_score(const double *p, size_t n)
{
    if (n < 2) return p && n ? p[0] : 0;
    double s = 0;
    for (size_t j = 0; j < n; j++) s += p[j] * (-1.0 + 2.0 * (double)j / (double)(n - 1));
    return s;
}

/* Expected numeric value of labels that parse as numbers (score kind). */
static bool labels_numeric(const char *const *labels, size_t n, const double *p, double *out)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) {
        char *end;
        double v = strtod(labels[j], &end);
        if (end == labels[j] || *end || !isfinite(v)) return false;
        s += p[j] * v;
    }
    *out = s;
    return true;
}

/* ------------------------------------------------------------------------ */
/* echo: deterministic in the prompt, so a reassigned subtask gives the same
 * answer on any node. */

typedef struct echo_backend {
    sw_backend base;
    double latency_ms;
} echo_backend;

void sw_echo_compute(const sw_work *w, sw_work_out *out)
{
    uint64_t h = sw_fnv1a(w->prompt);
    size_t plen = strlen(w->prompt);
    memset(out, 0, sizeof(*out));
    out->tokens = (int64_t)(plen / 4 + 1) + (w->max_tokens > 0 ? w->max_tokens : 1);
    out->confidence = 1;
    if (w->probe) {
        out->text = sw_strdup("ok");
        out->tokens = 1;
        return;
    }
    switch (w->kind) {
    case SWARM_SUBTASK_CLASSIFY:
    case SWARM_SUBTASK_SCORE:
        if (w->n_labels > 0) {
            size_t pick = (size_t)(h % w->n_labels);
            double p[64] = {0};
            size_t n = w->n_labels < 64 ? w->n_labels : 64;
            double rest = n > 1 ? 0.1 / (double)(n - 1) : 0;
            for (size_t j = 0; j < n; j++) p[j] = j == pick ? (n > 1 ? 0.9 : 1.0) : rest;
            out->text = sw_strdup(w->labels[pick]);
            out->confidence = p[pick];
            if (w->kind == SWARM_SUBTASK_SCORE && labels_numeric(w->labels, n, p, &out->value)) break;
            out->value = label_score(p, n);
        } else {
            out->value = (double)(h % 1000) / 1000.0;
            char buf[32];
            snprintf(buf, sizeof(buf), "%.3f", out->value);
            out->text = sw_strdup(buf);
        }
        break;
    default: {
        size_t n = plen < 48 ? plen : 48;
        out->text = sw_strndup(w->prompt, n);
        break;
    }
    }
}

/* The length of the next streamed piece of text at off: up to and
 * including the next space, so the pieces in order make the text. */
static size_t echo_piece(const char *text, size_t off)
{
    size_t n = 0;
    while (text[off + n] != '\0' && text[off + n] != ' ') n++;
    return text[off + n] == ' ' ? n + 1 : n;
}

static swarm_err echo_run(sw_backend *b, void *slot, const sw_work *w, sw_work_out *out)
{
    (void)slot;
    echo_backend *e = (echo_backend *)b;
    /* The answer is known at once; a generation streams it word by word
     * over the latency, like a model would (labels and scores do not). */
    sw_echo_compute(w, out);
    if (out->text == NULL) return SWARM_ENOMEM;
    const char *text = w->kind == SWARM_SUBTASK_GENERATE && !w->probe ? out->text : "";
    size_t off = 0, len = strlen(text);
    int64_t t = 0;
    int stop = 0;
    if (e->latency_ms > 0) {
        /* Sleep in small steps that count as progress, so cancellation and
         * the watchdog see an echo node like a generating one. */
        double end = sw_now_ms() + e->latency_ms;
        for (double now = sw_now_ms(); now < end && !stop; now = sw_now_ms()) {
            double left = end - now;
            sw_sleep_ms(left < 2 ? left : 2);
            size_t n = echo_piece(text, off);
            if (w->tick) stop = w->tick(w->ud, ++t, n ? text + off : NULL, n);
            off += n;
        }
    }
    if (!stop && w->tick && (off < len || t == 0))
        stop = w->tick(w->ud, ++t, off < len ? text + off : NULL, len - off);
    if (stop) {
        sw_free(out->text);
        out->text = NULL;
        return SWARM_ECANCELED;
    }
    return SWARM_OK;
}

static void echo_destroy(sw_backend *b) { sw_free(b); }

static swarm_err no_slot(sw_backend *b, void **slot)
{
    (void)b;
    *slot = NULL;
    return SWARM_OK;
}
static void no_slot_close(sw_backend *b, void *slot) { (void)b, (void)slot; }

static const sw_backend_ops echo_ops = {no_slot, no_slot_close, echo_run, echo_destroy};

swarm_err sw_backend_echo_create(double latency_ms, sw_backend **out)
{
    echo_backend *e = sw_calloc(1, sizeof(*e));
    if (e == NULL) return SWARM_ENOMEM;
    e->base.ops = &echo_ops;
    /* An instant stub needs no thread per slot: one worker drains the queue. */
    e->base.max_slot_threads = latency_ms > 0 ? 0 : 1;
    e->latency_ms = latency_ms;
    *out = &e->base;
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* model cache */

typedef struct cache_entry {
    char *model, *tokenizer;
    swarm_model *m;
} cache_entry;

struct sw_model_cache {
    cache_entry *e;
    size_t n;
};

swarm_err sw_model_cache_create(sw_model_cache **out)
{
    sw_model_cache *c = sw_calloc(1, sizeof(*c));
    if (c == NULL) return SWARM_ENOMEM;
    *out = c;
    return SWARM_OK;
}

void sw_model_cache_destroy(sw_model_cache *c)
{
    if (c == NULL) return;
    for (size_t i = 0; i < c->n; i++) {
        swarm_model_destroy(c->e[i].m);
        sw_free(c->e[i].model);
        sw_free(c->e[i].tokenizer);
    }
    sw_free(c->e);
    sw_free(c);
}

size_t sw_model_cache_count(const sw_model_cache *c) { return c ? c->n : 0; }

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static swarm_err cache_get(sw_model_cache *c, const char *model, const char *tok,
                           swarm_model **out, swarm_diag *d)
{
    for (size_t i = 0; i < c->n; i++)
        if (same(c->e[i].model, model) && same(c->e[i].tokenizer, tok)) {
            *out = c->e[i].m;
            return SWARM_OK;
        }
    cache_entry *ne = sw_realloc(c->e, (c->n + 1) * sizeof(*ne));
    if (ne == NULL) return SWARM_ENOMEM;
    c->e = ne;
    swarm_model_params mp = swarm_model_params_default();
    mp.path = model;
    mp.tokenizer_path = tok;
    swarm_model *m = NULL;
    swarm_err rc = swarm_model_load(&mp, &m, d);
    if (rc) return rc;
    cache_entry *e = &c->e[c->n];
    e->model = sw_strdup(model);
    e->tokenizer = tok ? sw_strdup(tok) : NULL;
    e->m = m;
    if (e->model == NULL || (tok && e->tokenizer == NULL)) {
        sw_free(e->model);
        sw_free(e->tokenizer);
        swarm_model_destroy(m);
        return SWARM_ENOMEM;
    }
    c->n++;
    *out = m;
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* local engine */

typedef struct local_backend {
    sw_backend base;
    swarm_model *model; /* borrowed from the cache */
    swarm_session_params sp;
    swarm_sampling sampling;
} local_backend;

static swarm_err local_slot_open(sw_backend *b, void **slot)
{
    local_backend *l = (local_backend *)b;
    swarm_session *s = NULL;
    swarm_err rc = swarm_session_create(l->model, &l->sp, &s);
    if (rc) return rc;
    *slot = s;
    return SWARM_OK;
}

static void local_slot_close(sw_backend *b, void *slot)
{
    (void)b;
    swarm_session_destroy(slot);
}

typedef struct tick_ctx {
    const sw_work *w;
    int64_t n;
} tick_ctx;

static int on_token(void *ud, int32_t id, const char *piece, size_t len)
{
    (void)id;
    tick_ctx *t = ud;
    t->n++;
    return t->w->tick ? t->w->tick(t->w->ud, t->n, piece, len) : 0;
}

static swarm_err local_generate(local_backend *l, swarm_session *s, const sw_work *w,
                                int32_t max_tokens, sw_work_out *out)
{
    tick_ctx tc = {w, 0};
    swarm_gen_params gp = {0};
    gp.prompt = w->prompt;
    gp.max_tokens = max_tokens > 0 ? max_tokens : 1;
    gp.sampling = l->sampling;
    gp.sampling.seed ^= w->seed; /* each subtask its own draw (the node's seed still counts) */
    const swarm_task_sampling *ts = w->sampling;
    if (ts && (ts->set & SWARM_SAMPLING_TEMPERATURE)) gp.sampling.temperature = (float)ts->temperature;
    if (ts && (ts->set & SWARM_SAMPLING_TOP_K)) gp.sampling.top_k = ts->top_k;
    if (ts && (ts->set & SWARM_SAMPLING_TOP_P)) gp.sampling.top_p = (float)ts->top_p;
    if (ts && (ts->set & SWARM_SAMPLING_MIN_P)) gp.sampling.min_p = (float)ts->min_p;
    gp.on_token = on_token;
    gp.ud = &tc;
    swarm_gen_result *r = NULL;
    swarm_err rc = swarm_generate(s, &gp, &r);
    if (rc) return rc;
    if (r->stop && strcmp(r->stop, "canceled") == 0) {
        swarm_gen_result_destroy(r);
        return SWARM_ECANCELED;
    }
    out->text = sw_strndup(r->text ? r->text : "", r->text ? r->text_len : 0);
    out->tokens = (int64_t)r->n_tokens;
    out->confidence = 1;
    swarm_gen_result_destroy(r);
    return out->text ? SWARM_OK : SWARM_ENOMEM;
}

static swarm_err local_run(sw_backend *b, void *slot, const sw_work *w, sw_work_out *out)
{
    local_backend *l = (local_backend *)b;
    swarm_session *s = slot;
    memset(out, 0, sizeof(*out));
    if (w->probe) return local_generate(l, s, w, 1, out);
    if (w->kind == SWARM_SUBTASK_GENERATE || (w->kind == SWARM_SUBTASK_SCORE && w->n_labels == 0)) {
        swarm_err rc = local_generate(l, s, w, w->max_tokens, out);
        if (rc || w->kind == SWARM_SUBTASK_GENERATE) return rc;
        /* score without labels: the first number in the generated text */
        const char *p = out->text;
        while (*p && !(*p >= '0' && *p <= '9') && !((*p == '-' || *p == '.') && p[1] >= '0' && p[1] <= '9')) p++;
        char *end;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v)) return SWARM_EFORMAT;
        out->value = v;
        return SWARM_OK;
    }
    if (w->n_labels == 0 || w->n_labels > SW_RT_MAX_LABELS) return SWARM_EINVAL;
    double lp[SW_RT_MAX_LABELS], p[SW_RT_MAX_LABELS];
    int64_t toks = 0;
    double mx = -INFINITY;
    for (size_t j = 0; j < w->n_labels; j++) {
        int32_t nt = 0;
        swarm_err rc = swarm_score(s, w->prompt, w->labels[j], &lp[j], &nt);
        if (rc) return rc;
        toks += nt;
        if (lp[j] > mx) mx = lp[j];
        if (w->tick && w->tick(w->ud, toks, NULL, 0)) return SWARM_ECANCELED;
    }
    double z = 0;
    for (size_t j = 0; j < w->n_labels; j++) z += (p[j] = exp(lp[j] - mx));
    size_t best = 0;
    for (size_t j = 0; j < w->n_labels; j++) {
        p[j] /= z;
        if (p[j] > p[best]) best = j;
    }
    out->text = sw_strdup(w->labels[best]);
    if (out->text == NULL) return SWARM_ENOMEM;
    out->confidence = p[best];
    out->tokens = toks + (int64_t)strlen(w->prompt) / 4 + 1;
    if (!(w->kind == SWARM_SUBTASK_SCORE && labels_numeric(w->labels, w->n_labels, p, &out->value)))
        out->value = label_score(p, w->n_labels);
    return SWARM_OK;
}

static void local_destroy(sw_backend *b) { sw_free(b); }

static const sw_backend_ops local_ops = {local_slot_open, local_slot_close, local_run,
                                         local_destroy};

swarm_err sw_backend_create(const swarm_node_spec *n, bool force_echo, sw_model_cache *mc,
                            sw_backend **out, swarm_diag *d)
{
    if (force_echo || n->backend == SWARM_BACKEND_ECHO)
        return sw_backend_echo_create(force_echo ? 0 : n->echo_latency_ms, out);
    if (n->backend == SWARM_BACKEND_OPENAI)
        return sw_diag_set(d, SWARM_EUNSUPPORTED,
                           "node \"%s\": openai backend not available in this build", n->name);
    /* A file the swarm file names but that does not exist is the user's
     * input error (ENOTFOUND, exit 2), whichever loader would notice it. */
    const char *paths[2] = {n->model_path, n->tokenizer_path}, *what[2] = {"model", "tokenizer"};
    for (int q = 0; q < 2; q++)
        if (paths[q] && access(paths[q], F_OK) != 0 && errno == ENOENT)
            return sw_diag_set(d, SWARM_ENOTFOUND, "node \"%s\": %s %s: no such file", n->name,
                               what[q], paths[q]);
    swarm_model *m = NULL;
    swarm_err rc = cache_get(mc, n->model_path, n->tokenizer_path, &m, d);
    if (rc) {
        char pre[300];
        snprintf(pre, sizeof(pre), "node \"%s\"", n->name);
        sw_diag_prefix(d, pre);
        return rc;
    }
    /* The engine refuses a session longer than the model's context; refuse
     * it here, at load, with the node's name, instead of at every dispatch. */
    const swarm_model_info *mi = swarm_model_get_info(m);
    if (mi && mi->n_ctx_train > 0 && n->n_ctx > mi->n_ctx_train)
        return sw_diag_set(d, SWARM_EINVAL,
                           "node \"%s\": n_ctx %d exceeds the model's context of %d tokens",
                           n->name, (int)n->n_ctx, (int)mi->n_ctx_train);
    local_backend *l = sw_calloc(1, sizeof(*l));
    if (l == NULL) return SWARM_ENOMEM;
    l->base.ops = &local_ops;
    l->model = m;
    const swarm_model_info *info = swarm_model_get_info(m);
    l->base.n_params = info ? info->n_params : 0;
    l->sp = swarm_session_params_default();
    l->sp.n_threads = n->threads > 0 ? n->threads : 1;
    if (n->n_ctx > 0) l->sp.n_ctx = n->n_ctx;
    l->sampling = n->sampling;
    *out = &l->base;
    return SWARM_OK;
}
