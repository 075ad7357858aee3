/*
 * json.c: the strict JSON loader shared by every parser (json_int.h).
 * jansson does the parsing; this file adds the limits jansson lacks (size,
 * nesting depth) and turns on the checks it has (duplicate keys).
 */
#include <string.h>

#include "json_int.h"

/* jansson recurses per nesting level; refuse deep input before it sees it.
 * Brackets inside strings do not count; line and column name the bracket
 * that went too deep. */
static bool depth_ok(const char *s, size_t len, size_t *out_line, size_t *out_col)
{
    int depth = 0;
    bool in_str = false;
    size_t line = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        col++;
        if (c == '\n') {
            line++;
            col = 0;
        }
        if (in_str) {
            if (c == '\\') {
                i++;
                col++;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > SW_JSON_MAX_DEPTH) {
                *out_line = line;
                *out_col = col;
                return false;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

json_t *sw_json_load_limited(const char *text, size_t len, size_t max_bytes, swarm_diag *d)
{
    if (text == NULL) {
        sw_diag_set(d, SWARM_EINVAL, "no JSON text");
        return NULL;
    }
    if (max_bytes > SW_JSON_MAX_BYTES) max_bytes = SW_JSON_MAX_BYTES;
    if (len > max_bytes) {
        sw_diag_set(d, SWARM_EFORMAT, "JSON text of %zu bytes is larger than the limit of %zu bytes",
                    len, max_bytes);
        return NULL;
    }
    size_t line, col;
    if (!depth_ok(text, len, &line, &col)) {
        sw_diag_set(d, SWARM_EFORMAT, "line %zu column %zu: JSON nested deeper than %d levels",
                    line, col, SW_JSON_MAX_DEPTH);
        return NULL;
    }
    /* jansson itself refuses NaN, Infinity, reals that overflow a double,
     * integers beyond json_int_t, \u0000 and raw NUL bytes (no
     * JSON_ALLOW_NUL), trailing text (no JSON_DISABLE_EOF_CHECK) and a
     * scalar at the top level (no JSON_DECODE_ANY); objects keep their
     * key order (jansson >= 2.8), which the calibration write-back relies on. */
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        sw_diag_set(d, SWARM_EFORMAT, "line %d column %d: %s", err.line, err.column, err.text);
        return NULL;
    }
    return root;
}

json_t *sw_json_load_strict(const char *text, size_t len, swarm_diag *d)
{
    return sw_json_load_limited(text, len, SW_JSON_MAX_BYTES, d);
}

json_t *sw_json_load_file(const char *path, swarm_diag *d)
{
    char *text = NULL;
    size_t len = 0;
    if (sw_read_file_max(path, SW_JSON_MAX_BYTES, &text, &len, d) != SWARM_OK) return NULL;
    json_t *root = sw_json_load_strict(text, len, d);
    sw_free(text);
    if (root == NULL) sw_diag_prefix(d, path);
    return root;
}

const char *sw_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

// --- public wrappers (swarm.h) -------------------------------------------------

json_t *swarm_json_load(const char *text, size_t len, swarm_diag *d)
{
    return sw_json_load_strict(text, len, d);
}

json_t *swarm_json_load_file(const char *path, swarm_diag *d)
{
    if (path == NULL) {
        sw_diag_set(d, SWARM_EINVAL, "no path");
        return NULL;
    }
    return sw_json_load_file(path, d);
}

swarm_err swarm_file_read(const char *path, size_t max, char **out, size_t *out_len,
                          swarm_diag *d)
{
    if (path == NULL || out == NULL || out_len == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "no path or output");
    return sw_read_file_max(strcmp(path, "-") == 0 ? "/dev/stdin" : path, max, out, out_len, d);
}
