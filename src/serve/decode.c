/*
 * decode.c: the strict decoder of OpenAI-style request bodies
 * (chat/completions and completions) and the error body. Everything a
 * client sends passes through here before any task is built, so every
 * field is checked for type and range and a refusal names the parameter.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/core_int.h"
#include "swarm/serve.h"
#include "serve/serve_int.h"

#define MAX_MODEL_LEN 256
#define MAX_STOP_LEN 256
#define MAX_MESSAGES 4096

swarm_err swarm_api_error_set(swarm_api_error *e, int http, const char *type, const char *param,
                              const char *code, const char *fmt, ...)
{
    if (e == NULL) return SWARM_EINVAL;
    e->http = http;
    snprintf(e->type, sizeof(e->type), "%s", type ? type : "invalid_request_error");
    snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
    snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return SWARM_EINVAL;
}

/* A copy of s[0..n) with every invalid UTF-8 byte replaced by U+FFFD, so
 * that a model's stray bytes can always be put in a JSON string. */
char *sw_utf8_clean(const char *s, size_t n)
{
    char *out = malloc(n * 3 + 1);
    if (out == NULL) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        bool ok = len > 0 && i + len <= n && c != 0;
        for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
        if (ok && len == 3) {
            unsigned char c1 = (unsigned char)s[i + 1];
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
        }
        if (ok && len == 4) {
            unsigned char c1 = (unsigned char)s[i + 1];
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (ok) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

char *swarm_api_error_json(const swarm_api_error *e)
{
    /* a message cut to its buffer, or quoting the client's bytes, may not
     * be valid UTF-8: jansson would refuse it */
    char *msg = sw_utf8_clean(e->message, strnlen(e->message, sizeof(e->message)));
    json_t *in = json_object();
    json_object_set_new(in, "message", json_string(msg ? msg : "error"));
    free(msg);
    json_object_set_new(in, "type", json_string(e->type));
    json_object_set_new(in, "param", e->param[0] ? json_string(e->param) : json_null());
    json_object_set_new(in, "code", e->code[0] ? json_string(e->code) : json_null());
    json_t *o = json_object();
    json_object_set_new(o, "error", in);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

void swarm_api_request_clear(swarm_api_request *r)
{
    if (r == NULL) return;
    free(r->model);
    free(r->prompt);
    for (size_t i = 0; i < r->n_stop; i++) free(r->stop[i]);
    memset(r, 0, sizeof(*r));
}

static swarm_err bad(swarm_api_error *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static swarm_err bad(swarm_api_error *e, const char *param, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    swarm_api_error_set(e, 400, "invalid_request_error", param, "invalid_value", "%s", msg);
    return SWARM_EINVAL;
}

/* A growable text; ok stays false after a failed allocation. */
typedef struct text {
    char *p;
    size_t n, cap;
    bool oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom) return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

/* A message's content: a string, or an array of {"type": "text", "text"}
 * parts joined; null only for assistant messages. */
static swarm_err content_text(const json_t *c, const char *role, size_t idx, text *t,
                              swarm_api_error *e)
{
    char param[64];
    snprintf(param, sizeof(param), "messages[%zu].content", idx);
    if (json_is_string(c)) {
        put(t, json_string_value(c), json_string_length(c));
        return SWARM_OK;
    }
    if (json_is_null(c) && strcmp(role, "assistant") == 0) return SWARM_OK;
    if (!json_is_array(c) || json_array_size(c) == 0)
        return bad(e, param, "%s must be a string or a non-empty array of text parts", param);
    size_t i;
    const json_t *part;
    json_array_foreach(c, i, part) {
        const json_t *type = json_object_get(part, "type");
        const json_t *tx = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(type) ||
            strcmp(json_string_value(type), "text") != 0 || !json_is_string(tx) ||
            json_object_size(part) != 2)
            return bad(e, param,
                       "%s[%zu]: only {\"type\": \"text\", \"text\": STRING} parts are supported",
                       param, i);
        put(t, json_string_value(tx), json_string_length(tx));
    }
    return SWARM_OK;
}

/* The transcript documented in docs/api.md: one "Role: content" paragraph
 * per message, then "Assistant:" for the model to continue. */
static swarm_err render_chat(const json_t *msgs, text *t, swarm_api_error *e)
{
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return bad(e, "messages", "messages must be a non-empty array");
    if (json_array_size(msgs) > MAX_MESSAGES)
        return bad(e, "messages", "messages: at most %d messages", MAX_MESSAGES);
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m) {
        char param[48];
        snprintf(param, sizeof(param), "messages[%zu]", i);
        if (!json_is_object(m)) return bad(e, param, "%s must be an object", param);
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)m, key, v) {
            if (strcmp(key, "role") != 0 && strcmp(key, "content") != 0 &&
                strcmp(key, "name") != 0)
                return bad(e, param, "%s: unsupported key '%s' (role, content, name)", param,
                           key);
        }
        const json_t *role = json_object_get(m, "role");
        const json_t *name = json_object_get(m, "name");
        if (!json_is_string(role))
            return bad(e, param, "%s.role must be one of system, developer, user, assistant",
                       param);
        if (name && (!json_is_string(name) || json_string_length(name) > 64))
            return bad(e, param, "%s.name must be a string of at most 64 bytes", param);
        const char *r = json_string_value(role), *label;
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0)
            label = "System";
        else if (strcmp(r, "user") == 0)
            label = "User";
        else if (strcmp(r, "assistant") == 0)
            label = "Assistant";
        else
            return bad(e, param, "%s.role '%.32s' is not supported (system, developer, user, "
                                 "assistant)", param, r);
        const json_t *c = json_object_get(m, "content");
        if (c == NULL) return bad(e, param, "%s.content is required", param);
        puts_(t, label);
        puts_(t, ": ");
        swarm_err rc = content_text(c, r, i, t, e);
        if (rc) return rc;
        puts_(t, "\n\n");
    }
    puts_(t, "Assistant:");
    return SWARM_OK;
}

static swarm_err get_stop(const json_t *v, swarm_api_request *out, swarm_api_error *e)
{
    if (json_is_null(v)) return SWARM_OK;
    const json_t *one = v;
    size_t n = 1;
    if (json_is_array(v)) {
        n = json_array_size(v);
        if (n > SWARM_API_MAX_STOP)
            return bad(e, "stop", "stop: at most %d sequences", SWARM_API_MAX_STOP);
    } else if (!json_is_string(v)) {
        return bad(e, "stop", "stop must be a string or an array of strings");
    }
    for (size_t i = 0; i < n; i++) {
        if (json_is_array(v)) one = json_array_get(v, i);
        if (!json_is_string(one) || json_string_length(one) == 0 ||
            json_string_length(one) > MAX_STOP_LEN)
            return bad(e, "stop", "stop sequences must be non-empty strings of at most %d bytes",
                       MAX_STOP_LEN);
        out->stop[out->n_stop] = strdup(json_string_value(one));
        if (out->stop[out->n_stop] == NULL) return SWARM_ENOMEM;
        out->n_stop++;
    }
    return SWARM_OK;
}

static bool number(const json_t *v, double *out)
{
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

static swarm_err decode_obj(swarm_api_kind kind, const json_t *o, swarm_api_request *out,
                            swarm_api_error *e)
{
    const char *key;
    const json_t *v;
    bool have_model = false, have_prompt = false;
    json_object_foreach((json_t *)o, key, v) {
        double x;
        if (strcmp(key, "model") == 0) {
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                json_string_length(v) > MAX_MODEL_LEN)
                return bad(e, "model", "model must be a non-empty string of at most %d bytes",
                           MAX_MODEL_LEN);
            if ((out->model = strdup(json_string_value(v))) == NULL) return SWARM_ENOMEM;
            have_model = true;
        } else if (kind == SWARM_API_CHAT && strcmp(key, "messages") == 0) {
            text t = {0};
            swarm_err rc = render_chat(v, &t, e);
            if (rc == SWARM_OK && t.oom) rc = SWARM_ENOMEM;
            if (rc) {
                free(t.p);
                return rc;
            }
            out->prompt = t.p;
            have_prompt = true;
        } else if (kind == SWARM_API_COMPLETION && strcmp(key, "prompt") == 0) {
            /* a string, or an array of exactly one string (what SDKs send
             * for a batch of one); token arrays are not supported */
            const json_t *p = v;
            if (json_is_array(v) && json_array_size(v) == 1) p = json_array_get(v, 0);
            if (!json_is_string(p))
                return bad(e, "prompt", "prompt must be a string (or an array of one string)");
            if ((out->prompt = strdup(json_string_value(p))) == NULL) return SWARM_ENOMEM;
            have_prompt = true;
        } else if (strcmp(key, "max_tokens") == 0 ||
                   (kind == SWARM_API_CHAT && strcmp(key, "max_completion_tokens") == 0)) {
            if (json_is_null(v)) continue;
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > 65536)
                return bad(e, key, "%s must be an integer in [1, 65536]", key);
            out->max_tokens = (int32_t)json_integer_value(v);
        } else if (strcmp(key, "temperature") == 0) {
            if (json_is_null(v)) continue;
            if (!number(v, &x) || x < 0 || x > 2)
                return bad(e, key, "temperature must be a number in [0, 2]");
            out->temperature = x;
            out->has_temperature = true;
        } else if (strcmp(key, "top_p") == 0) {
            if (json_is_null(v)) continue;
            if (!number(v, &x) || !(x > 0) || x > 1)
                return bad(e, key, "top_p must be a number in (0, 1]");
            out->top_p = x;
            out->has_top_p = true;
        } else if (strcmp(key, "seed") == 0) {
            if (json_is_null(v)) continue;
            if (!json_is_integer(v)) return bad(e, key, "seed must be an integer");
            out->seed = (int64_t)json_integer_value(v);
            out->has_seed = true;
        } else if (strcmp(key, "stop") == 0) {
            swarm_err rc = get_stop(v, out, e);
            if (rc) return rc;
        } else if (strcmp(key, "n") == 0) {
            if (json_is_null(v)) continue;
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 128)
                return bad(e, key, "n must be an integer in [1, 128]");
            out->n = (int32_t)json_integer_value(v);
        } else if (strcmp(key, "stream") == 0) {
            if (json_is_null(v)) continue;
            if (!json_is_boolean(v)) return bad(e, key, "stream must be a boolean");
            out->stream = json_is_true(v);
        } else if (strcmp(key, "stream_options") == 0) {
            if (json_is_null(v)) continue;
            const json_t *iu = json_object_get(v, "include_usage");
            if (!json_is_object(v) || json_object_size(v) > 1 ||
                (json_object_size(v) == 1 && !json_is_boolean(iu)))
                return bad(e, key, "stream_options must be {\"include_usage\": BOOLEAN}");
            out->include_usage = json_is_true(iu);
        } else if (strcmp(key, "user") == 0) {
            /* accepted for compatibility; not used */
            if (!json_is_string(v) || json_string_length(v) > 256)
                return bad(e, key, "user must be a string of at most 256 bytes");
        } else if (strcmp(key, "frequency_penalty") == 0 || strcmp(key, "presence_penalty") == 0) {
            /* accepted only at their no-op value: the engine has no penalties */
            if (json_is_null(v)) continue;
            if (!number(v, &x) || x != 0)
                return bad(e, key, "%s is not supported (only 0)", key);
        } else if (strcmp(key, "logprobs") == 0 || strcmp(key, "echo") == 0) {
            if (json_is_null(v) || json_is_false(v)) continue;
            return bad(e, key, "%s is not supported (only false)", key);
        } else if (strcmp(key, "response_format") == 0) {
            const json_t *t = json_object_get(v, "type");
            if (json_is_null(v)) continue;
            if (!json_is_object(v) || json_object_size(v) != 1 || !json_is_string(t) ||
                strcmp(json_string_value(t), "text") != 0)
                return bad(e, key, "response_format: only {\"type\": \"text\"} is supported");
        } else {
            swarm_api_error_set(e, 400, "invalid_request_error", key, "unknown_parameter",
                                "unrecognized request argument '%.64s'", key);
            return SWARM_EINVAL;
        }
    }
    if (!have_model) return bad(e, "model", "model is required (GET /v1/models lists them)");
    if (!have_prompt)
        return bad(e, kind == SWARM_API_CHAT ? "messages" : "prompt", "%s is required",
                   kind == SWARM_API_CHAT ? "messages" : "prompt");
    if (out->include_usage && !out->stream)
        return bad(e, "stream_options", "stream_options is only allowed with stream: true");
    if (out->n > 1)
        return bad(e, "n", "n > 1 is not supported yet: send one request per choice");
    return SWARM_OK;
}

swarm_err swarm_api_decode(swarm_api_kind kind, const char *body, size_t len,
                           swarm_api_request *out, swarm_api_error *e)
{
    swarm_api_error scratch;
    if (e == NULL) e = &scratch;
    memset(out, 0, sizeof(*out));
    memset(e, 0, sizeof(*e));
    out->kind = kind;
    out->n = 1;
    if (body == NULL || len == 0) {
        bad(e, NULL, "the request body must be a JSON object");
        return SWARM_EFORMAT;
    }
    swarm_diag d = {{0}};
    json_t *o = swarm_json_load(body, len, &d);
    if (o == NULL) {
        bad(e, NULL, "malformed JSON: %.300s", d.msg);
        return SWARM_EFORMAT;
    }
    swarm_err rc = SWARM_OK;
    if (!json_is_object(o))
        rc = bad(e, NULL, "the request body must be a JSON object");
    else
        rc = decode_obj(kind, o, out, e);
    json_decref(o);
    if (rc == SWARM_ENOMEM)
        swarm_api_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
    if (rc) swarm_api_request_clear(out);
    if (rc) out->kind = kind;
    return rc;
}
