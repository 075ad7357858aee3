/*
 * gguf.c: the GGUF v2/v3 reader. The file is hostile input: every count,
 * length, offset and size product is checked against the bytes that remain
 * before anything is allocated or read. Keys, strings and tensor data are
 * views into the caller's buffer (or the read-only mapping); names are
 * indexed in hash tables so lookups stay O(1) for files with 10^5 keys.
 */
#include <string.h>

#include "engine_int.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ARRAY_DEPTH 8   /* arrays of arrays: deeper is hostile */
#define GGUF_MAX_KEY_LEN 65535   /* the spec's bound on key length */
#define GGUF_MIN_KV_BYTES 14     /* key len 8 + key >= 1 + type 4 + value >= 1 */
#define GGUF_MIN_TENSOR_BYTES 33 /* name len 8 + name >= 1 + n_dims 4 + ne 8 + type 4 + offset 8   \
                                  */
#define GGUF_MSG_NAME_MAX 80     /* names are cut in messages */

/* Fixed byte size of each scalar value type (0: string / array). */
static const uint8_t vtype_size[SW_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* ---- little-endian decoding (the host order does not matter) ---- */

static uint16_t le16(const uint8_t *b)
{
    return (uint16_t)(b[0] | (b[1] << 8));
}
static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static uint64_t le64(const uint8_t *b)
{
    return (uint64_t)le32(b) | ((uint64_t)le32(b + 4) << 32);
}

/* A cursor over the buffer. Every read checks what remains. */
typedef struct reader {
    const uint8_t *p;
    size_t size, pos;
} reader;

static size_t left(const reader *r)
{
    return r->size - r->pos;
}

static bool take(reader *r, uint64_t n, const uint8_t **out)
{
    if (n > left(r)) return false;
    *out = r->p + r->pos;
    r->pos += (size_t)n;
    return true;
}

static bool rd_u32(reader *r, uint32_t *out)
{
    const uint8_t *b;
    if (!take(r, 4, &b)) return false;
    *out = le32(b);
    return true;
}

static bool rd_u64(reader *r, uint64_t *out)
{
    const uint8_t *b;
    if (!take(r, 8, &b)) return false;
    *out = le64(b);
    return true;
}

static bool rd_str(reader *r, sw_str *out)
{
    uint64_t n;
    const uint8_t *b;
    if (!rd_u64(r, &n) || !take(r, n, &b)) return false;
    out->ptr = (const char *)b;
    out->len = n;
    return true;
}

/* Length of a name for "%.*s" in messages. */
static int mlen(sw_str s)
{
    return s.len > GGUF_MSG_NAME_MAX ? GGUF_MSG_NAME_MAX : (int)s.len;
}

/* ---- name index: open addressing, FNV-1a, slots hold index + 1 ---- */

typedef struct name_index {
    uint32_t kv_mask, t_mask; /* capacity - 1 (capacity 0: no table) */
    uint32_t *kv_slots, *t_slots;
} name_index;

static uint64_t hash_bytes(const char *p, uint64_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool str_eq_n(sw_str a, const char *p, uint64_t n)
{
    return a.len == n && (n == 0 || memcmp(a.ptr, p, (size_t)n) == 0);
}

static size_t table_cap(uint64_t n)
{
    if (n == 0) return 0;
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

/* Slot for name: either holding it or the empty slot where it would go. */
static uint32_t *slot_find(uint32_t *slots, uint32_t mask, const sw_str *names, size_t stride,
                           const char *p, uint64_t n)
{
    uint64_t h = hash_bytes(p, n);
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint32_t s = slots[i];
        if (s == 0) return &slots[i];
        const sw_str *nm = (const sw_str *)((const char *)names + (size_t)(s - 1) * stride);
        if (str_eq_n(*nm, p, n)) return &slots[i];
    }
}

static uint32_t *kv_slot(name_index *ix, const sw_gguf_kv *kv, const char *p, uint64_t n)
{
    return slot_find(ix->kv_slots, ix->kv_mask, &kv[0].key, sizeof(sw_gguf_kv), p, n);
}

static uint32_t *t_slot(name_index *ix, const sw_gguf_tensor *t, const char *p, uint64_t n)
{
    return slot_find(ix->t_slots, ix->t_mask, &t[0].name, sizeof(sw_gguf_tensor), p, n);
}

/* ---- metadata values ---- */

/* Skips one value of type `type` (an array: element type, count, elements),
 * bounded by the bytes left and by the nesting depth. */
static swarm_err skip_value(reader *r, uint32_t type, int depth, sw_str key, swarm_diag *d)
{
    const uint8_t *b;
    sw_str s;
    if (type < SW_GGUF_VTYPE_COUNT && vtype_size[type] != 0) {
        if (!take(r, vtype_size[type], &b)) goto truncated;
        return SWARM_OK;
    }
    if (type == SW_GGUF_STRING) {
        if (!rd_str(r, &s)) goto truncated;
        return SWARM_OK;
    }
    if (type != SW_GGUF_ARRAY)
        return sw_diag_set(d, SWARM_EFORMAT, "key '%.*s' has unknown value type %u", mlen(key),
                           key.ptr, type);
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return sw_diag_set(d, SWARM_EFORMAT, "key '%.*s': arrays nested deeper than %d", mlen(key),
                           key.ptr, GGUF_MAX_ARRAY_DEPTH);
    uint32_t et;
    uint64_t n;
    if (!rd_u32(r, &et) || !rd_u64(r, &n)) goto truncated;
    if (et >= SW_GGUF_VTYPE_COUNT)
        return sw_diag_set(d, SWARM_EFORMAT, "key '%.*s' has unknown array element type %u",
                           mlen(key), key.ptr, et);
    /* The smallest encoding of one element bounds the count before any walk. */
    uint64_t min_el = vtype_size[et] ? vtype_size[et] : (et == SW_GGUF_STRING ? 8 : 12);
    if (n > left(r) / min_el)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "key '%.*s': array of %llu elements does not fit in the file", mlen(key),
                           key.ptr, (unsigned long long)n);
    if (vtype_size[et] != 0) {
        if (!take(r, n * vtype_size[et], &b)) goto truncated;
        return SWARM_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        swarm_err rc = skip_value(r, et, depth + 1, key, d);
        if (rc != SWARM_OK) return rc;
    }
    return SWARM_OK;
truncated:
    return sw_diag_set(d, SWARM_EFORMAT, "key '%.*s': value extends past end of file", mlen(key),
                       key.ptr);
}

/* Scalar at p of integer type t, widened; false for non-integers. Signed
 * values come back as sign and magnitude to keep range checks exact. */
static bool read_int(uint32_t t, const uint8_t *p, bool *neg, uint64_t *mag)
{
    int64_t s;
    *neg = false;
    switch (t) {
    case SW_GGUF_UINT8:
        *mag = p[0];
        return true;
    case SW_GGUF_UINT16:
        *mag = le16(p);
        return true;
    case SW_GGUF_UINT32:
        *mag = le32(p);
        return true;
    case SW_GGUF_UINT64:
        *mag = le64(p);
        return true;
    case SW_GGUF_INT8:
        s = p[0] < 0x80 ? p[0] : (int64_t)p[0] - 0x100; /* two's complement byte */
        break;
    case SW_GGUF_INT16:
        s = (int16_t)le16(p);
        break;
    case SW_GGUF_INT32:
        s = (int32_t)le32(p);
        break;
    case SW_GGUF_INT64:
        s = (int64_t)le64(p);
        break;
    default:
        return false;
    }
    *neg = s < 0;
    *mag = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
    return true;
}

static bool read_num(uint32_t t, const uint8_t *p, double *out)
{
    bool neg;
    uint64_t mag;
    if (read_int(t, p, &neg, &mag)) {
        *out = neg ? -(double)mag : (double)mag;
        return true;
    }
    if (t == SW_GGUF_FLOAT32) {
        uint32_t u = le32(p);
        float f;
        memcpy(&f, &u, sizeof(f));
        *out = f;
        return true;
    }
    if (t == SW_GGUF_FLOAT64) {
        uint64_t u = le64(p);
        double f;
        memcpy(&f, &u, sizeof(f));
        *out = f;
        return true;
    }
    if (t == SW_GGUF_BOOL) {
        *out = p[0] != 0;
        return true;
    }
    return false;
}

/* ---- the parser ---- */

static swarm_err parse_header(reader *r, sw_gguf *g, uint64_t *n_kv, uint64_t *n_t, swarm_diag *d)
{
    const uint8_t *b;
    if (!take(r, 4, &b))
        return sw_diag_set(d, SWARM_EFORMAT, "file too small for a GGUF header (%zu bytes)",
                           r->size);
    if (memcmp(b, "GGUF", 4) != 0)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "not a GGUF file (magic %02x %02x %02x %02x, want \"GGUF\")", b[0], b[1],
                           b[2], b[3]);
    uint32_t v;
    if (!rd_u32(r, &v)) return sw_diag_set(d, SWARM_EFORMAT, "file truncated in the GGUF header");
    if (v == 1)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "GGUF version 1 is not supported (only versions 2 and 3; re-convert "
                           "the model)");
    if (v == 0x02000000u || v == 0x03000000u)
        return sw_diag_set(d, SWARM_EFORMAT, "big-endian GGUF files are not supported");
    if (v != 2 && v != 3)
        return sw_diag_set(d, SWARM_EFORMAT, "unsupported GGUF version %u (want 2 or 3)", v);
    if (!rd_u64(r, n_t) || !rd_u64(r, n_kv))
        return sw_diag_set(d, SWARM_EFORMAT, "file truncated in the GGUF header");
    /* Absurd counts are rejected before any allocation (the llama.cpp #19003
     * class): each entry takes at least a few bytes of the file. */
    if (*n_kv > left(r) / GGUF_MIN_KV_BYTES)
        return sw_diag_set(d, SWARM_EFORMAT, "metadata count %llu does not fit in the file",
                           (unsigned long long)*n_kv);
    if (*n_t > left(r) / GGUF_MIN_TENSOR_BYTES ||
        *n_kv * GGUF_MIN_KV_BYTES > left(r) - *n_t * GGUF_MIN_TENSOR_BYTES)
        return sw_diag_set(d, SWARM_EFORMAT, "tensor count %llu does not fit in the file",
                           (unsigned long long)*n_t);
    if (*n_kv >= UINT32_MAX || *n_t >= UINT32_MAX) /* the name index holds 32-bit slots */
        return sw_diag_set(d, SWARM_EFORMAT, "too many keys or tensors");
    g->version = v;
    return SWARM_OK;
}

static swarm_err parse_kvs(reader *r, sw_gguf *g, name_index *ix, swarm_diag *d)
{
    for (uint64_t i = 0; i < g->n_kv; i++) {
        sw_gguf_kv *kv = &g->kv[i];
        if (!rd_str(r, &kv->key))
            return sw_diag_set(d, SWARM_EFORMAT, "metadata key #%llu extends past end of file",
                               (unsigned long long)i);
        if (kv->key.len == 0)
            return sw_diag_set(d, SWARM_EFORMAT, "metadata key #%llu is empty",
                               (unsigned long long)i);
        if (kv->key.len > GGUF_MAX_KEY_LEN || memchr(kv->key.ptr, 0, (size_t)kv->key.len))
            return sw_diag_set(d, SWARM_EFORMAT, "metadata key #%llu is not a valid key",
                               (unsigned long long)i);
        uint32_t *slot = kv_slot(ix, g->kv, kv->key.ptr, kv->key.len);
        if (*slot != 0)
            return sw_diag_set(d, SWARM_EFORMAT, "duplicate metadata key '%.*s'", mlen(kv->key),
                               kv->key.ptr);
        *slot = (uint32_t)i + 1;
        if (!rd_u32(r, &kv->type))
            return sw_diag_set(d, SWARM_EFORMAT, "key '%.*s': value extends past end of file",
                               mlen(kv->key), kv->key.ptr);
        if (kv->type >= SW_GGUF_VTYPE_COUNT)
            return sw_diag_set(d, SWARM_EFORMAT, "key '%.*s' has unknown value type %u",
                               mlen(kv->key), kv->key.ptr, kv->type);
        size_t start = r->pos;
        swarm_err rc = skip_value(r, kv->type, 0, kv->key, d);
        if (rc != SWARM_OK) return rc;
        if (kv->type == SW_GGUF_ARRAY) {
            kv->arr_type = le32(r->p + start);
            kv->arr_n = le64(r->p + start + 4);
            kv->data = r->p + start + 12;
        } else {
            kv->data = r->p + start;
        }
    }
    return SWARM_OK;
}

static swarm_err read_alignment(const sw_gguf *g, size_t *out, swarm_diag *d)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, "general.alignment");
    *out = GGUF_DEFAULT_ALIGNMENT;
    if (kv == NULL) return SWARM_OK;
    bool neg;
    uint64_t v;
    if (!read_int(kv->type, kv->data, &neg, &v))
        return sw_diag_set(d, SWARM_EFORMAT, "general.alignment is not an integer (type %u)",
                           kv->type);
    if (neg || v == 0 || (v & (v - 1)) != 0 || v > ((size_t)1 << 30))
        return sw_diag_set(d, SWARM_EFORMAT,
                           "general.alignment = %s%llu is not a power of two in 1..2^30",
                           neg ? "-" : "", (unsigned long long)v);
    *out = (size_t)v;
    return SWARM_OK;
}

static swarm_err parse_tensor_infos(reader *r, sw_gguf *g, name_index *ix, swarm_diag *d)
{
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        sw_gguf_tensor *t = &g->tensors[i];
        if (!rd_str(r, &t->name))
            return sw_diag_set(d, SWARM_EFORMAT, "tensor info #%llu extends past end of file",
                               (unsigned long long)i);
        if (t->name.len == 0)
            return sw_diag_set(d, SWARM_EFORMAT, "tensor info #%llu has an empty name",
                               (unsigned long long)i);
        if (memchr(t->name.ptr, 0, (size_t)t->name.len)) /* could never be looked up */
            return sw_diag_set(d, SWARM_EFORMAT, "tensor info #%llu has a name with a NUL byte",
                               (unsigned long long)i);
        uint32_t *slot = t_slot(ix, g->tensors, t->name.ptr, t->name.len);
        if (*slot != 0)
            return sw_diag_set(d, SWARM_EFORMAT, "duplicate tensor name '%.*s'", mlen(t->name),
                               t->name.ptr);
        *slot = (uint32_t)i + 1;
        if (!rd_u32(r, &t->n_dims)) goto truncated;
        if (t->n_dims < 1 || t->n_dims > 4)
            return sw_diag_set(d, SWARM_EFORMAT, "tensor '%.*s' has %u dimensions (want 1..4)",
                               mlen(t->name), t->name.ptr, t->n_dims);
        for (uint32_t k = 0; k < 4; k++) {
            uint64_t v = 1;
            if (k < t->n_dims && !rd_u64(r, &v)) goto truncated;
            if (v > (uint64_t)INT64_MAX)
                return sw_diag_set(d, SWARM_EFORMAT, "tensor '%.*s' has a negative dimension",
                                   mlen(t->name), t->name.ptr);
            t->ne[k] = (int64_t)v;
        }
        if (!rd_u32(r, &t->type) || !rd_u64(r, &t->offset)) goto truncated;
        continue;
    truncated:
        return sw_diag_set(d, SWARM_EFORMAT, "tensor '%.*s': info extends past end of file",
                           mlen(t->name), t->name.ptr);
    }
    return SWARM_OK;
}

/* Type, shape and placement of every tensor against the data section. */
static swarm_err check_tensors(sw_gguf *g, swarm_diag *d)
{
    size_t avail = g->size - g->data_offset;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        sw_gguf_tensor *t = &g->tensors[i];
        int nl = mlen(t->name);
        const sw_type_traits *tt = sw_type_get(t->type);
        if (tt == NULL)
            return sw_diag_set(d, SWARM_EFORMAT, "tensor '%.*s' has unknown type %u", nl,
                               t->name.ptr, t->type);
        int64_t nel = 1;
        for (int k = 0; k < 4; k++) {
            if (t->ne[k] != 0 && nel > INT64_MAX / t->ne[k])
                return sw_diag_set(d, SWARM_EFORMAT,
                                   "tensor '%.*s': element count overflows (shape %lld x %lld x "
                                   "%lld x %lld)",
                                   nl, t->name.ptr, (long long)t->ne[0], (long long)t->ne[1],
                                   (long long)t->ne[2], (long long)t->ne[3]);
            nel *= t->ne[k];
        }
        if (tt->block_size <= 0 || t->ne[0] % tt->block_size != 0)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "tensor '%.*s': row length %lld is not a multiple of the %s block "
                               "size %lld",
                               nl, t->name.ptr, (long long)t->ne[0], tt->name,
                               (long long)tt->block_size);
        /* bytes = blocks per row * block bytes * rows, all overflow-checked */
        size_t nbytes = 0;
        uint64_t blocks = (uint64_t)(t->ne[0] / tt->block_size);
        bool ok = blocks <= SIZE_MAX && sw_mul_ok((size_t)blocks, tt->type_size, &nbytes);
        for (int k = 1; k < 4 && ok; k++)
            ok = (uint64_t)t->ne[k] <= SIZE_MAX && sw_mul_ok(nbytes, (size_t)t->ne[k], &nbytes);
        if (!ok)
            return sw_diag_set(d, SWARM_EFORMAT, "tensor '%.*s': byte size overflows", nl,
                               t->name.ptr);
        if (t->offset % g->alignment != 0)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "tensor '%.*s': offset %llu is not a multiple of the alignment %zu",
                               nl, t->name.ptr, (unsigned long long)t->offset, g->alignment);
        if (t->offset > avail || nbytes > avail - (size_t)t->offset)
            return sw_diag_set(d, SWARM_EFORMAT, "tensor '%.*s' extends past end of file", nl,
                               t->name.ptr);
        t->nbytes = nbytes;
        t->data = g->base + g->data_offset + t->offset;
    }
    return SWARM_OK;
}

static void free_tables(sw_gguf *g)
{
    sw_free(g->kv);
    sw_free(g->tensors);
    sw_free(g->index);
    g->kv = NULL;
    g->tensors = NULL;
    g->index = NULL;
}

swarm_err sw_gguf_parse(const void *buf, size_t size, sw_gguf *g, swarm_diag *d)
{
    SWARM_ASSERT(g != NULL && (buf != NULL || size == 0));
    memset(g, 0, sizeof(*g));
    reader r = {.p = buf, .size = size, .pos = 0};
    uint64_t n_kv, n_t;
    swarm_err rc = parse_header(&r, g, &n_kv, &n_t, d);
    if (rc != SWARM_OK) goto fail;
    g->base = buf;
    g->size = size;
    g->n_kv = n_kv;
    g->n_tensors = n_t;

    /* Counts are bounded by the file size above, so these allocations are
     * at most a small multiple of it. */
    size_t kv_cap = table_cap(n_kv), t_cap = table_cap(n_t);
    name_index *ix = sw_calloc(1, sizeof(*ix) + (kv_cap + t_cap) * sizeof(uint32_t));
    g->index = ix;
    g->kv = n_kv ? sw_calloc((size_t)n_kv, sizeof(sw_gguf_kv)) : NULL;
    g->tensors = n_t ? sw_calloc((size_t)n_t, sizeof(sw_gguf_tensor)) : NULL;
    if (ix == NULL || (n_kv && g->kv == NULL) || (n_t && g->tensors == NULL)) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory for %llu keys and %llu tensors",
                         (unsigned long long)n_kv, (unsigned long long)n_t);
        goto fail;
    }
    ix->kv_slots = (uint32_t *)(ix + 1);
    ix->t_slots = ix->kv_slots + kv_cap;
    ix->kv_mask = kv_cap ? (uint32_t)(kv_cap - 1) : 0;
    ix->t_mask = t_cap ? (uint32_t)(t_cap - 1) : 0;

    if ((rc = parse_kvs(&r, g, ix, d)) != SWARM_OK) goto fail;
    if ((rc = read_alignment(g, &g->alignment, d)) != SWARM_OK) goto fail;
    if ((rc = parse_tensor_infos(&r, g, ix, d)) != SWARM_OK) goto fail;

    /* The data section starts at the next multiple of the alignment. A file
     * without tensors (vocabulary-only) may end before that padding. */
    size_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
    if (pad > size - r.pos) {
        if (n_t > 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT, "tensor data section starts past end of file");
            goto fail;
        }
        pad = size - r.pos;
    }
    g->data_offset = r.pos + pad;
    if ((rc = check_tensors(g, d)) != SWARM_OK) goto fail;
    return SWARM_OK;
fail:
    free_tables(g);
    memset(g, 0, sizeof(*g));
    return rc;
}

static swarm_err open_file(const char *path, bool copy, sw_gguf *g, swarm_diag *d)
{
    SWARM_ASSERT(path != NULL && g != NULL);
    memset(g, 0, sizeof(*g));
    void *map = NULL;
    size_t len = 0;
    /* their messages name the path */
    swarm_err rc = copy ? sw_load_file(path, &map, &len, d) : sw_map_file(path, &map, &len, d);
    if (rc != SWARM_OK) return rc;
    rc = sw_gguf_parse(map, len, g, d);
    if (rc != SWARM_OK) {
        sw_diag_prefix(d, path);
        sw_unmap_file(map, len);
        return rc;
    }
    g->map = map;
    g->map_len = len;
    return SWARM_OK;
}

swarm_err sw_gguf_open(const char *path, sw_gguf *g, swarm_diag *d)
{
    return open_file(path, false, g, d);
}

swarm_err sw_gguf_load(const char *path, sw_gguf *g, swarm_diag *d)
{
    return open_file(path, true, g, d);
}

void sw_gguf_close(sw_gguf *g)
{
    if (g == NULL) return;
    free_tables(g);
    if (g->map != NULL) sw_unmap_file(g->map, g->map_len);
    memset(g, 0, sizeof(*g));
}

/* ---- lookups ---- */

const sw_gguf_kv *sw_gguf_find(const sw_gguf *g, const char *key)
{
    size_t n = strlen(key);
    name_index *ix = g->index;
    if (ix != NULL && ix->kv_mask != 0) {
        uint32_t s = *kv_slot(ix, g->kv, key, n);
        return s ? &g->kv[s - 1] : NULL;
    }
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (str_eq_n(g->kv[i].key, key, n)) return &g->kv[i];
    return NULL;
}

const sw_gguf_tensor *sw_gguf_find_tensor(const sw_gguf *g, const char *name)
{
    size_t n = strlen(name);
    name_index *ix = g->index;
    if (ix != NULL && ix->t_mask != 0) {
        uint32_t s = *t_slot(ix, g->tensors, name, n);
        return s ? &g->tensors[s - 1] : NULL;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (str_eq_n(g->tensors[i].name, name, n)) return &g->tensors[i];
    return NULL;
}

bool sw_gguf_get_u32(const sw_gguf *g, const char *key, uint32_t *out)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, key);
    bool neg;
    uint64_t v;
    if (kv == NULL || !read_int(kv->type, kv->data, &neg, &v)) return false;
    if (neg || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

bool sw_gguf_get_f32(const sw_gguf *g, const char *key, float *out)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, key);
    double v;
    if (kv == NULL || (kv->type != SW_GGUF_FLOAT32 && kv->type != SW_GGUF_FLOAT64)) return false;
    read_num(kv->type, kv->data, &v);
    *out = (float)v;
    return true;
}

bool sw_gguf_get_bool(const sw_gguf *g, const char *key, bool *out)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, key);
    if (kv == NULL || kv->type != SW_GGUF_BOOL) return false;
    *out = kv->data[0] != 0;
    return true;
}

bool sw_gguf_get_str(const sw_gguf *g, const char *key, sw_str *out)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, key);
    if (kv == NULL || kv->type != SW_GGUF_STRING) return false;
    out->len = le64(kv->data);
    out->ptr = (const char *)kv->data + 8;
    return true;
}

/* The parser has checked every string of the array against the buffer. */
swarm_err sw_gguf_arr_strings(const sw_gguf_kv *kv, sw_str *out)
{
    if (kv->type != SW_GGUF_ARRAY || kv->arr_type != SW_GGUF_STRING) return SWARM_EINVAL;
    const uint8_t *p = kv->data;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        out[i].len = le64(p);
        out[i].ptr = (const char *)p + 8;
        p += 8 + out[i].len;
    }
    return SWARM_OK;
}

bool sw_gguf_arr_num(const sw_gguf_kv *kv, uint64_t i, double *out)
{
    if (kv->type != SW_GGUF_ARRAY || i >= kv->arr_n || kv->arr_type >= SW_GGUF_VTYPE_COUNT)
        return false;
    uint8_t sz = vtype_size[kv->arr_type];
    if (sz == 0) return false;
    return read_num(kv->arr_type, kv->data + i * sz, out);
}

bool sw_str_eq(sw_str s, const char *c)
{
    return str_eq_n(s, c, strlen(c));
}
