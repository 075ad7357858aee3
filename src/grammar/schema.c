/*
 * schema.c: a JSON Schema subset -> grammar text (docs/grammar.md).
 *
 * Each schema becomes a rule; properties come out in the order the schema
 * lists them, required ones always, optional ones may be left out. Numbers
 * and whitespace are bounded (at most 16 integer digits, 20 indentation
 * characters) so that a sampled text cannot be led on forever by them;
 * strings are bounded only by maxLength. Every keyword outside the subset is
 * refused by name rather than ignored, so that no schema is silently
 * weakened; annotations (title, description, ...) are accepted.
 *
 * The JSON calls (jansson) stay in this file, so that moving to a shared
 * strict loader later touches only it.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar_int.h"

#define SCHEMA_MAX_JSON_DEPTH 128

typedef struct refmemo {
    char *ref;
    char name[72];
} refmemo;

typedef struct sc {
    sw_buf out; /* the grammar text */
    json_t *root;
    swarm_diag *d;
    swarm_err err;
    unsigned counter;
    int depth;
    refmemo *refs;
    size_t n_refs;
    bool need_string, need_number, need_integer, need_value;
} sc;

static void puts_(sw_buf *b, const char *s)
{
    sw_buf_put(b, s, strlen(s));
}

static swarm_err sfail(sc *c, swarm_err rc, const char *path, const char *fmt, const char *a)
{
    if (c->err != SWARM_OK) return c->err;
    char msg[300];
    snprintf(msg, sizeof(msg), fmt, a ? a : "");
    sw_diag_set(c->d, rc, "json schema: %s: %s", path[0] ? path : "#", msg);
    c->err = rc;
    return rc;
}

/* s as a grammar literal "..." (bytes of valid UTF-8, escaped). */
static void put_literal(sw_buf *b, const char *s, size_t n)
{
    sw_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            sw_buf_put(b, esc, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02X", ch);
            sw_buf_put(b, esc, 4);
        } else {
            sw_buf_put(b, (const char *)&ch, 1);
        }
    }
    sw_buf_put(b, "\"", 1);
}

/* The compact JSON spelling of v, as a grammar literal. */
static bool put_json_literal(sc *c, sw_buf *b, const json_t *v, const char *path)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL) {
        sfail(c, SWARM_ENOMEM, path, "out of memory", NULL);
        return false;
    }
    put_literal(b, s, strlen(s));
    free(s); /* jansson's allocator */
    return true;
}

/* A fresh rule name from a hint (property name), in the grammar's name
 * characters. */
static void new_name(sc *c, const char *hint, char out[72])
{
    char h[40];
    size_t k = 0;
    for (const char *p = hint; *p && k < 32; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        h[k++] = ok ? ch : '-';
    }
    h[k] = '\0';
    snprintf(out, 72, "%s-%u", k ? h : "v", ++c->counter);
}

static void put_rule(sc *c, const char *name, const sw_buf *body)
{
    puts_(&c->out, name);
    puts_(&c->out, " ::= ");
    sw_buf_put(&c->out, body->p ? body->p : "", body->len);
    puts_(&c->out, "\n");
}

static bool gen(sc *c, json_t *s, const char *path, const char *hint, char name[72]);

static bool is_annotation(const char *k)
{
    static const char *const ann[] = {"title", "description", "$schema", "$id", "$comment",
                                      "default", "examples", "definitions", "$defs",
                                      "readOnly", "writeOnly", "deprecated"};
    for (size_t i = 0; i < sizeof(ann) / sizeof(ann[0]); i++)
        if (strcmp(k, ann[i]) == 0) return true;
    return false;
}

static bool known_keyword(const char *k)
{
    static const char *const kw[] = {"type", "properties", "required", "enum", "const",
                                     "items", "minItems", "maxItems", "minLength", "maxLength",
                                     "$ref", "anyOf", "additionalProperties"};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
        if (strcmp(k, kw[i]) == 0) return true;
    return is_annotation(k);
}

/* A non-negative integer keyword (absent: def). */
static bool get_count(sc *c, json_t *s, const char *key, const char *path, long long def,
                      long long *out)
{
    json_t *v = json_object_get(s, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        sfail(c, SWARM_EFORMAT, path, "'%s' must be a non-negative integer", key);
        return false;
    }
    long long x = json_integer_value(v);
    if (x > SWARM_GRAMMAR_MAX_REPEAT) {
        char msg[120];
        snprintf(msg, sizeof(msg), "'%s' above the limit of %d", key, SWARM_GRAMMAR_MAX_REPEAT);
        sfail(c, SWARM_EFORMAT, path, "%s", msg);
        return false;
    }
    *out = x;
    return true;
}

static void put_repeat(sw_buf *b, long long lo, long long hi)
{
    char r[64];
    if (hi < 0)
        snprintf(r, sizeof(r), "{%lld,}", lo);
    else
        snprintf(r, sizeof(r), "{%lld,%lld}", lo, hi);
    puts_(b, r);
}

static bool gen_string(sc *c, json_t *s, const char *path, sw_buf *body)
{
    long long lo, hi;
    if (!get_count(c, s, "minLength", path, 0, &lo) || !get_count(c, s, "maxLength", path, -1, &hi))
        return false;
    if (json_object_get(s, "maxLength") == NULL) hi = -1;
    if (hi >= 0 && hi < lo) {
        sfail(c, SWARM_EFORMAT, path, "maxLength is below minLength", NULL);
        return false;
    }
    if (lo == 0 && hi < 0) {
        c->need_string = true;
        puts_(body, "string");
        return true;
    }
    c->need_string = true; /* for 'char' */
    puts_(body, "\"\\\"\" char");
    put_repeat(body, lo, hi);
    puts_(body, " \"\\\"\"");
    return true;
}

static bool gen_array(sc *c, json_t *s, const char *path, const char *hint, sw_buf *body)
{
    long long lo, hi;
    if (!get_count(c, s, "minItems", path, 0, &lo) || !get_count(c, s, "maxItems", path, -1, &hi))
        return false;
    if (json_object_get(s, "maxItems") == NULL) hi = -1;
    if (hi >= 0 && hi < lo) {
        sfail(c, SWARM_EFORMAT, path, "maxItems is below minItems", NULL);
        return false;
    }
    json_t *items = json_object_get(s, "items");
    char item[72] = "value";
    if (items != NULL) {
        if (json_is_array(items)) {
            sfail(c, SWARM_EUNSUPPORTED, path, "unsupported keyword 'items' as an array (tuple "
                                               "validation); give one schema", NULL);
            return false;
        }
        char p[512];
        snprintf(p, sizeof(p), "%s/items", path);
        if (!gen(c, items, p, hint, item)) return false;
    } else {
        c->need_value = true;
    }
    if (hi == 0) {
        puts_(body, "\"[\" ws \"]\"");
        return true;
    }
    /* "[" ws item ws ("," ws item ws){lo-1,hi-1} "]", optional when lo == 0 */
    puts_(body, "\"[\" ws ");
    if (lo == 0) puts_(body, "( ");
    puts_(body, item);
    puts_(body, " ws ( \",\" ws ");
    puts_(body, item);
    puts_(body, " ws )");
    put_repeat(body, lo > 0 ? lo - 1 : 0, hi < 0 ? -1 : hi - 1);
    if (lo == 0) puts_(body, " )?");
    puts_(body, " \"]\"");
    return true;
}

static bool gen_object(sc *c, json_t *s, const char *path, sw_buf *body)
{
    json_t *props = json_object_get(s, "properties");
    json_t *req = json_object_get(s, "required");
    json_t *addl = json_object_get(s, "additionalProperties");
    if (props != NULL && !json_is_object(props)) {
        sfail(c, SWARM_EFORMAT, path, "'properties' must be an object", NULL);
        return false;
    }
    if (req != NULL && !json_is_array(req)) {
        sfail(c, SWARM_EFORMAT, path, "'required' must be an array of property names", NULL);
        return false;
    }
    if (addl != NULL && !json_is_boolean(addl)) {
        sfail(c, SWARM_EUNSUPPORTED, path,
              "unsupported keyword 'additionalProperties' with a schema (true or false only)",
              NULL);
        return false;
    }
    size_t n_req = req ? json_array_size(req) : 0;
    for (size_t i = 0; i < n_req; i++) {
        json_t *r = json_array_get(req, i);
        if (!json_is_string(r)) {
            sfail(c, SWARM_EFORMAT, path, "'required' must be an array of property names", NULL);
            return false;
        }
        if (props == NULL || json_object_get(props, json_string_value(r)) == NULL) {
            sfail(c, SWARM_EUNSUPPORTED, path,
                  "required property '%s' is not in 'properties' (give its schema)",
                  json_string_value(r));
            return false;
        }
    }
    size_t n = props ? json_object_size(props) : 0;
    if (n == 0) {
        /* no properties: any object, unless additionalProperties is false */
        if (addl != NULL && json_is_false(addl)) {
            puts_(body, "\"{\" ws \"}\"");
        } else {
            c->need_value = true;
            puts_(body, "object-any");
        }
        return true;
    }
    /* kv_i, then first_i (nothing written yet) and tail_i (after a pair) */
    char (*kv)[96] = sw_calloc(n, 96);
    bool *required = sw_calloc(n, sizeof(bool));
    char base[72];
    new_name(c, "obj", base);
    if (kv == NULL || required == NULL) {
        sw_free(kv);
        sw_free(required);
        sfail(c, SWARM_ENOMEM, path, "out of memory", NULL);
        return false;
    }
    const char *key;
    json_t *sub;
    size_t i = 0;
    bool ok = true;
    json_object_foreach(props, key, sub) {
        for (size_t k = 0; k < n_req; k++)
            if (strcmp(json_string_value(json_array_get(req, k)), key) == 0) required[i] = true;
        char p[512], vname[72];
        snprintf(p, sizeof(p), "%s/properties/%s", path, key);
        if (!gen(c, sub, p, key, vname)) {
            ok = false;
            break;
        }
        sw_buf kb = {0};
        json_t *ks = json_string(key);
        if (ks == NULL || !put_json_literal(c, &kb, ks, path)) {
            json_decref(ks);
            sw_free(kb.p);
            ok = false;
            break;
        }
        json_decref(ks);
        puts_(&kb, " ws \":\" ws ");
        puts_(&kb, vname);
        puts_(&kb, " ws");
        snprintf(kv[i], 96, "%s-kv%zu", base, i);
        put_rule(c, kv[i], &kb);
        sw_free(kb.p);
        i++;
    }
    if (ok) {
        for (size_t k = n; k-- > 0;) {
            char line[400];
            sw_buf fb = {0}, tb = {0};
            if (required[k]) {
                snprintf(line, sizeof(line), "%s %s-t%zu", kv[k], base, k + 1);
                puts_(&fb, line);
                snprintf(line, sizeof(line), "\",\" ws %s %s-t%zu", kv[k], base, k + 1);
                puts_(&tb, line);
            } else {
                snprintf(line, sizeof(line), "%s %s-t%zu | %s-f%zu", kv[k], base, k + 1, base,
                         k + 1);
                puts_(&fb, line);
                snprintf(line, sizeof(line), "( \",\" ws %s )? %s-t%zu", kv[k], base, k + 1);
                puts_(&tb, line);
            }
            snprintf(line, sizeof(line), "%s-f%zu", base, k);
            put_rule(c, line, &fb);
            snprintf(line, sizeof(line), "%s-t%zu", base, k);
            put_rule(c, line, &tb);
            sw_free(fb.p);
            sw_free(tb.p);
        }
        char line[200];
        sw_buf eb = {0};
        snprintf(line, sizeof(line), "%s-f%zu", base, n);
        put_rule(c, line, &eb);
        snprintf(line, sizeof(line), "%s-t%zu", base, n);
        put_rule(c, line, &eb);
        snprintf(line, sizeof(line), "\"{\" ws %s-f0 \"}\"", base);
        puts_(body, line);
    }
    sw_free(kv);
    sw_free(required);
    return ok;
}

/* One type name -> its rule text, appended to body. */
static bool gen_type(sc *c, json_t *s, const char *type, const char *path, const char *hint,
                     sw_buf *body)
{
    if (strcmp(type, "string") == 0) return gen_string(c, s, path, body);
    if (strcmp(type, "integer") == 0) {
        c->need_integer = true;
        puts_(body, "integer");
    } else if (strcmp(type, "number") == 0) {
        c->need_number = true;
        puts_(body, "number");
    } else if (strcmp(type, "boolean") == 0) {
        puts_(body, "( \"true\" | \"false\" )");
    } else if (strcmp(type, "null") == 0) {
        puts_(body, "\"null\"");
    } else if (strcmp(type, "object") == 0) {
        return gen_object(c, s, path, body);
    } else if (strcmp(type, "array") == 0) {
        return gen_array(c, s, path, hint, body);
    } else {
        sfail(c, SWARM_EFORMAT, path, "unknown type '%s'", type);
        return false;
    }
    return true;
}

/* "#/definitions/X" or "#/$defs/X" (or "#") -> the schema. */
static json_t *resolve(sc *c, const char *ref, const char *path)
{
    if (strcmp(ref, "#") == 0) return c->root;
    const char *name = NULL, *sect = NULL;
    if (strncmp(ref, "#/definitions/", 14) == 0) {
        name = ref + 14;
        sect = "definitions";
    } else if (strncmp(ref, "#/$defs/", 8) == 0) {
        name = ref + 8;
        sect = "$defs";
    }
    if (name == NULL || strchr(name, '/') != NULL) {
        sfail(c, SWARM_EUNSUPPORTED, path,
              "unsupported $ref '%s' (only local '#/definitions/NAME' and '#/$defs/NAME')", ref);
        return NULL;
    }
    /* JSON pointer escapes: ~1 is '/', ~0 is '~' */
    char key[256];
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof(key); p++) {
        if (p[0] == '~' && p[1] == '1') {
            key[k++] = '/';
            p++;
        } else if (p[0] == '~' && p[1] == '0') {
            key[k++] = '~';
            p++;
        } else {
            key[k++] = *p;
        }
    }
    key[k] = '\0';
    json_t *t = json_object_get(json_object_get(c->root, sect), key);
    if (t == NULL) sfail(c, SWARM_EFORMAT, path, "$ref '%s' points to nothing", ref);
    return t;
}

static bool gen_ref(sc *c, json_t *refv, const char *path, char name[72])
{
    if (!json_is_string(refv)) {
        sfail(c, SWARM_EFORMAT, path, "'$ref' must be a string", NULL);
        return false;
    }
    const char *ref = json_string_value(refv);
    for (size_t i = 0; i < c->n_refs; i++)
        if (strcmp(c->refs[i].ref, ref) == 0) {
            memcpy(name, c->refs[i].name, 72);
            return true;
        }
    json_t *t = resolve(c, ref, path);
    if (t == NULL) return false;
    /* memo first, so that a recursive definition refers to its own rule */
    refmemo *r = sw_realloc(c->refs, (c->n_refs + 1) * sizeof(*r));
    if (r == NULL) {
        sfail(c, SWARM_ENOMEM, path, "out of memory", NULL);
        return false;
    }
    c->refs = r;
    refmemo *m = &c->refs[c->n_refs];
    m->ref = sw_strdup(ref);
    if (m->ref == NULL) {
        sfail(c, SWARM_ENOMEM, path, "out of memory", NULL);
        return false;
    }
    const char *slash = strrchr(ref, '/');
    new_name(c, slash ? slash + 1 : "root", m->name);
    c->n_refs++;
    char target[72], wanted[72];
    memcpy(wanted, m->name, 72);
    if (!gen(c, t, ref, slash ? slash + 1 : "root", target)) return false;
    sw_buf b = {0};
    puts_(&b, target);
    put_rule(c, wanted, &b);
    sw_free(b.p);
    memcpy(name, wanted, 72);
    return true;
}

/* Emits the rule of schema s; its name goes to name. */
static bool gen(sc *c, json_t *s, const char *path, const char *hint, char name[72])
{
    if (c->err) return false;
    if (c->depth >= SWARM_GRAMMAR_MAX_NESTING) {
        char msg[80];
        snprintf(msg, sizeof(msg), "schemas nested deeper than %d levels",
                 SWARM_GRAMMAR_MAX_NESTING);
        sfail(c, SWARM_EFORMAT, path, "%s", msg);
        return false;
    }
    if (json_is_true(s)) {
        c->need_value = true;
        snprintf(name, 72, "value");
        return true;
    }
    if (!json_is_object(s)) {
        sfail(c, json_is_false(s) ? SWARM_EUNSUPPORTED : SWARM_EFORMAT, path,
              json_is_false(s) ? "the schema false accepts no value" : "a schema must be an "
                                                                        "object or a boolean",
              NULL);
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(s, key, v) {
        if (!known_keyword(key)) {
            sfail(c, SWARM_EUNSUPPORTED, path, "unsupported keyword '%s'", key);
            return false;
        }
    }
    c->depth++;
    bool ok = true;
    sw_buf body = {0};
    json_t *ref = json_object_get(s, "$ref");
    json_t *en = json_object_get(s, "enum");
    json_t *cn = json_object_get(s, "const");
    json_t *any = json_object_get(s, "anyOf");
    json_t *type = json_object_get(s, "type");
    char sub[72];
    if (ref != NULL) {
        json_object_foreach(s, key, v) {
            if (strcmp(key, "$ref") != 0 && !is_annotation(key)) {
                sfail(c, SWARM_EUNSUPPORTED, path, "unsupported keyword '%s' beside '$ref'", key);
                ok = false;
                break;
            }
        }
        if (ok) ok = gen_ref(c, ref, path, sub);
        if (ok) puts_(&body, sub);
    } else if (cn != NULL) {
        ok = put_json_literal(c, &body, cn, path);
    } else if (en != NULL) {
        if (!json_is_array(en) || json_array_size(en) == 0) {
            sfail(c, SWARM_EFORMAT, path, "'enum' must be a non-empty array", NULL);
            ok = false;
        }
        for (size_t i = 0; ok && i < json_array_size(en); i++) {
            if (i) puts_(&body, " | ");
            ok = put_json_literal(c, &body, json_array_get(en, i), path);
        }
    } else if (any != NULL) {
        if (!json_is_array(any) || json_array_size(any) == 0) {
            sfail(c, SWARM_EFORMAT, path, "'anyOf' must be a non-empty array of schemas", NULL);
            ok = false;
        }
        for (size_t i = 0; ok && i < json_array_size(any); i++) {
            char p[512];
            snprintf(p, sizeof(p), "%s/anyOf/%zu", path, i);
            ok = gen(c, json_array_get(any, i), p, hint, sub);
            if (ok) {
                if (i) puts_(&body, " | ");
                puts_(&body, sub);
            }
        }
    } else if (type != NULL) {
        if (json_is_string(type)) {
            ok = gen_type(c, s, json_string_value(type), path, hint, &body);
        } else if (json_is_array(type) && json_array_size(type) > 0) {
            for (size_t i = 0; ok && i < json_array_size(type); i++) {
                json_t *t = json_array_get(type, i);
                if (!json_is_string(t)) {
                    sfail(c, SWARM_EFORMAT, path, "'type' must be a string or strings", NULL);
                    ok = false;
                    break;
                }
                if (i) puts_(&body, " | ");
                puts_(&body, "( ");
                ok = gen_type(c, s, json_string_value(t), path, hint, &body);
                puts_(&body, " )");
            }
        } else {
            sfail(c, SWARM_EFORMAT, path, "'type' must be a string or strings", NULL);
            ok = false;
        }
    } else if (json_object_get(s, "properties") != NULL) {
        ok = gen_object(c, s, path, &body);
    } else if (json_object_get(s, "items") != NULL) {
        ok = gen_array(c, s, path, hint, &body);
    } else {
        c->need_value = true;
        puts_(&body, "value");
    }
    c->depth--;
    if (ok && c->err == SWARM_OK) {
        new_name(c, hint, name);
        put_rule(c, name, &body);
    }
    sw_free(body.p);
    return ok && c->err == SWARM_OK;
}

/* Refuses JSON nested deeper than SCHEMA_MAX_JSON_DEPTH before jansson's
 * recursive parser sees it. */
static bool depth_ok(const char *t, size_t n)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > SCHEMA_MAX_JSON_DEPTH) return false;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return true;
}

static const char *const PRIMITIVES_WS = "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n";
static const char *const PRIMITIVES_STRING =
    "string ::= \"\\\"\" char* \"\\\"\"\n"
    "char ::= [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} )\n";
static const char *const PRIMITIVES_INTEGER = "integer ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} )\n";
static const char *const PRIMITIVES_NUMBER =
    "number ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,16} )? "
    "( [eE] [-+]? [0-9]{1,2} )?\n";
static const char *const PRIMITIVES_VALUE =
    "value ::= object-any | array-any | string | number | \"true\" | \"false\" | \"null\"\n"
    "object-any ::= \"{\" ws ( string ws \":\" ws value ws ( \",\" ws string ws \":\" ws value "
    "ws )* )? \"}\"\n"
    "array-any ::= \"[\" ws ( value ws ( \",\" ws value ws )* )? \"]\"\n";

swarm_err swarm_grammar_schema_to_text(const char *json, size_t len, char **out, swarm_diag *d)
{
    if (json == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "json schema: no text");
    if (len > SWARM_GRAMMAR_MAX_TEXT)
        return sw_diag_set(d, SWARM_EFORMAT, "json schema: %zu bytes, above the limit of %d", len,
                           SWARM_GRAMMAR_MAX_TEXT);
    if (!depth_ok(json, len))
        return sw_diag_set(d, SWARM_EFORMAT, "json schema: JSON nested deeper than %d levels",
                           SCHEMA_MAX_JSON_DEPTH);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (root == NULL)
        return sw_diag_set(d, SWARM_EFORMAT, "json schema: line %d column %d: %s", je.line,
                           je.column, je.text);
    sc c = {.root = root, .d = d};
    char name[72];
    bool ok = gen(&c, root, "#", "root", name);
    if (ok) {
        /* every rule refers to ws; the others only when used */
        puts_(&c.out, "root ::= ");
        puts_(&c.out, name);
        puts_(&c.out, "\n");
        puts_(&c.out, PRIMITIVES_WS);
        if (c.need_value) c.need_string = c.need_number = true;
        if (c.need_string) puts_(&c.out, PRIMITIVES_STRING);
        if (c.need_integer) puts_(&c.out, PRIMITIVES_INTEGER);
        if (c.need_number) puts_(&c.out, PRIMITIVES_NUMBER);
        if (c.need_value) puts_(&c.out, PRIMITIVES_VALUE);
        sw_buf_put(&c.out, "", 1);
    }
    swarm_err rc = c.err;
    if (rc == SWARM_OK && c.out.oom) rc = sw_diag_set(d, SWARM_ENOMEM, "json schema: out of memory");
    for (size_t i = 0; i < c.n_refs; i++) sw_free(c.refs[i].ref);
    sw_free(c.refs);
    json_decref(root);
    if (rc != SWARM_OK) {
        sw_free(c.out.p);
        return rc;
    }
    *out = c.out.p;
    return SWARM_OK;
}

swarm_err swarm_grammar_from_schema(const char *json, size_t len, swarm_grammar **out,
                                    swarm_diag *d)
{
    if (out == NULL) return SWARM_EINVAL;
    char *text = NULL;
    swarm_err rc = swarm_grammar_schema_to_text(json, len, &text, d);
    if (rc != SWARM_OK) return rc;
    rc = swarm_grammar_parse(text, strlen(text), out, d);
    if (rc != SWARM_OK) sw_diag_prefix(d, "json schema compiled to an invalid grammar");
    sw_free(text);
    return rc;
}
