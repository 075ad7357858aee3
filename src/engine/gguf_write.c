/*
 * gguf_write.c: a GGUF v3 writer (metadata + tensors quantized at write
 * time). Layout as the spec and llama.cpp's reader expect: header, key/value
 * pairs, tensor infos, zero padding to the alignment, then each tensor's data
 * at an aligned offset, itself padded with zeros to the alignment.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"

#define WRITER_DEFAULT_ALIGNMENT 32

typedef struct wkv {
    char *key;
    uint32_t type; /* enum sw_gguf_vtype */
    uint8_t *val;  /* the encoded value (arrays: element type, count, elements) */
    size_t val_len;
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[4];
    uint32_t type;
    const float *data;
    size_t nbytes;
    uint64_t offset;
} wtensor;

struct sw_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
};

/* ---- encoding values into a sw_buf ---- */

static void bb_u32(sw_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    sw_buf_put(b, x, 4);
}

static void bb_u64(sw_buf *b, uint64_t v)
{
    bb_u32(b, (uint32_t)v);
    bb_u32(b, (uint32_t)(v >> 32));
}

static void bb_str(sw_buf *b, const char *s, size_t n)
{
    bb_u64(b, n);
    sw_buf_put(b, s, n);
}

/* ---- the writer ---- */

swarm_err sw_gguf_writer_create(sw_gguf_writer **out)
{
    sw_gguf_writer *w = sw_calloc(1, sizeof(*w));
    if (w == NULL) return SWARM_ENOMEM;
    *out = w;
    return SWARM_OK;
}

void sw_gguf_writer_destroy(sw_gguf_writer *w)
{
    if (w == NULL) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        sw_free(w->kv[i].key);
        sw_free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++)
        sw_free(w->t[i].name);
    sw_free(w->kv);
    sw_free(w->t);
    sw_free(w);
}

/* Stores key = value (taking b's bytes); a key set twice keeps the last value. */
static swarm_err put_kv(sw_gguf_writer *w, const char *key, uint32_t type, sw_buf *b)
{
    if (b->oom) {
        sw_free(b->p);
        return SWARM_ENOMEM;
    }
    if (key == NULL || key[0] == '\0') {
        sw_free(b->p);
        return SWARM_EINVAL;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            sw_free(w->kv[i].val);
            w->kv[i].type = type;
            w->kv[i].val = b->p;
            w->kv[i].val_len = b->len;
            return SWARM_OK;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        wkv *nk = sw_realloc(w->kv, cap * sizeof(*nk));
        if (nk == NULL) {
            sw_free(b->p);
            return SWARM_ENOMEM;
        }
        w->kv = nk;
        w->cap_kv = cap;
    }
    char *k = sw_strdup(key);
    if (k == NULL) {
        sw_free(b->p);
        return SWARM_ENOMEM;
    }
    w->kv[w->n_kv++] = (wkv){.key = k, .type = type, .val = b->p, .val_len = b->len};
    return SWARM_OK;
}

swarm_err sw_gguf_writer_set_u32(sw_gguf_writer *w, const char *key, uint32_t v)
{
    sw_buf b = {0};
    bb_u32(&b, v);
    return put_kv(w, key, SW_GGUF_UINT32, &b);
}

swarm_err sw_gguf_writer_set_i32(sw_gguf_writer *w, const char *key, int32_t v)
{
    sw_buf b = {0};
    bb_u32(&b, (uint32_t)v);
    return put_kv(w, key, SW_GGUF_INT32, &b);
}

swarm_err sw_gguf_writer_set_f32(sw_gguf_writer *w, const char *key, float v)
{
    sw_buf b = {0};
    uint32_t u;
    memcpy(&u, &v, sizeof(u));
    bb_u32(&b, u);
    return put_kv(w, key, SW_GGUF_FLOAT32, &b);
}

swarm_err sw_gguf_writer_set_bool(sw_gguf_writer *w, const char *key, bool v)
{
    sw_buf b = {0};
    uint8_t x = v ? 1 : 0;
    sw_buf_put(&b, &x, 1);
    return put_kv(w, key, SW_GGUF_BOOL, &b);
}

swarm_err sw_gguf_writer_set_str(sw_gguf_writer *w, const char *key, const char *v)
{
    if (v == NULL) return SWARM_EINVAL;
    sw_buf b = {0};
    bb_str(&b, v, strlen(v));
    return put_kv(w, key, SW_GGUF_STRING, &b);
}

swarm_err sw_gguf_writer_set_arr_str(sw_gguf_writer *w, const char *key, const char *const *v,
                                     const size_t *lens, size_t n)
{
    sw_buf b = {0};
    bb_u32(&b, SW_GGUF_STRING);
    bb_u64(&b, n);
    for (size_t i = 0; i < n; i++)
        bb_str(&b, v[i], lens ? lens[i] : strlen(v[i]));
    return put_kv(w, key, SW_GGUF_ARRAY, &b);
}

swarm_err sw_gguf_writer_set_arr_f32(sw_gguf_writer *w, const char *key, const float *v, size_t n)
{
    sw_buf b = {0};
    bb_u32(&b, SW_GGUF_FLOAT32);
    bb_u64(&b, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof(u));
        bb_u32(&b, u);
    }
    return put_kv(w, key, SW_GGUF_ARRAY, &b);
}

swarm_err sw_gguf_writer_set_arr_i32(sw_gguf_writer *w, const char *key, const int32_t *v, size_t n)
{
    sw_buf b = {0};
    bb_u32(&b, SW_GGUF_INT32);
    bb_u64(&b, n);
    for (size_t i = 0; i < n; i++)
        bb_u32(&b, (uint32_t)v[i]);
    return put_kv(w, key, SW_GGUF_ARRAY, &b);
}

/* Encoded size of one value of type t at p (already validated by the parser). */
static size_t value_bytes(uint32_t t, const uint8_t *p)
{
    static const uint8_t sz[SW_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == SW_GGUF_STRING) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = (n << 8) | p[i];
        return 8 + (size_t)n;
    }
    if (t != SW_GGUF_ARRAY) return sz[t];
    uint32_t et =
        (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    uint64_t n = 0;
    for (int i = 11; i >= 4; i--)
        n = (n << 8) | p[i];
    size_t off = 12;
    if (sz[et] != 0) return off + (size_t)n * sz[et];
    for (uint64_t i = 0; i < n; i++)
        off += value_bytes(et, p + off);
    return off;
}

swarm_err sw_gguf_writer_set_kv(sw_gguf_writer *w, const sw_gguf_kv *kv)
{
    if (kv->type >= SW_GGUF_VTYPE_COUNT) return SWARM_EINVAL;
    char *key = sw_strndup(kv->key.ptr, (size_t)kv->key.len);
    if (key == NULL) return SWARM_ENOMEM;
    /* kv->data of an array points past its element type and count */
    const uint8_t *start = kv->type == SW_GGUF_ARRAY ? kv->data - 12 : kv->data;
    sw_buf b = {0};
    sw_buf_put(&b, start, value_bytes(kv->type, start));
    swarm_err rc = put_kv(w, key, kv->type, &b);
    sw_free(key);
    return rc;
}

swarm_err sw_gguf_writer_add_tensor(sw_gguf_writer *w, const char *name, uint32_t n_dims,
                                    const int64_t *ne, uint32_t type, const float *data)
{
    if (w == NULL || name == NULL || name[0] == '\0' || n_dims < 1 || n_dims > 4 || ne == NULL)
        return SWARM_EINVAL;
    const sw_type_traits *tt = sw_type_get(type);
    if (tt == NULL || !tt->supported) return SWARM_EINVAL;
    int64_t full[4] = {1, 1, 1, 1};
    for (uint32_t k = 0; k < n_dims; k++) {
        if (ne[k] < 0) return SWARM_EINVAL;
        full[k] = ne[k];
    }
    size_t nbytes;
    if (!sw_type_row_bytes(type, full[0], &nbytes)) return SWARM_EINVAL;
    for (int k = 1; k < 4; k++)
        if (!sw_mul_ok(nbytes, (size_t)full[k], &nbytes)) return SWARM_EINVAL;
    if (data == NULL && nbytes > 0) return SWARM_EINVAL; /* would be read at write time */
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) return SWARM_EINVAL;
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 16;
        wtensor *nt = sw_realloc(w->t, cap * sizeof(*nt));
        if (nt == NULL) return SWARM_ENOMEM;
        w->t = nt;
        w->cap_t = cap;
    }
    char *nm = sw_strdup(name);
    if (nm == NULL) return SWARM_ENOMEM;
    wtensor *t = &w->t[w->n_t++];
    *t = (wtensor){.name = nm, .n_dims = n_dims, .type = type, .data = data, .nbytes = nbytes};
    memcpy(t->ne, full, sizeof(full));
    return SWARM_OK;
}

static size_t pad_to(size_t n, size_t align)
{
    return (align - n % align) % align;
}

/* The alignment the file will declare: general.alignment when it is an
 * unsigned or signed integer power of two (any width, as the reader accepts),
 * else the default. */
static size_t alignment_of(const sw_gguf_writer *w)
{
    for (size_t i = 0; i < w->n_kv; i++) {
        const wkv *kv = &w->kv[i];
        if (strcmp(kv->key, "general.alignment") != 0) continue;
        size_t n;
        switch (kv->type) {
        case SW_GGUF_UINT8:
        case SW_GGUF_INT8:
            n = 1;
            break;
        case SW_GGUF_UINT16:
        case SW_GGUF_INT16:
            n = 2;
            break;
        case SW_GGUF_UINT32:
        case SW_GGUF_INT32:
            n = 4;
            break;
        case SW_GGUF_UINT64:
        case SW_GGUF_INT64:
            n = 8;
            break;
        default:
            return WRITER_DEFAULT_ALIGNMENT;
        }
        uint64_t v = 0;
        for (size_t b = n; b-- > 0;)
            v = (v << 8) | kv->val[b];
        bool neg = (kv->type == SW_GGUF_INT8 || kv->type == SW_GGUF_INT16 ||
                    kv->type == SW_GGUF_INT32 || kv->type == SW_GGUF_INT64) &&
                   (kv->val[n - 1] & 0x80);
        if (!neg && v != 0 && (v & (v - 1)) == 0 && v <= ((size_t)1 << 30)) return (size_t)v;
        return WRITER_DEFAULT_ALIGNMENT;
    }
    return WRITER_DEFAULT_ALIGNMENT;
}

/* Quantizes tensor t row by row into the file. */
static swarm_err write_tensor_data(FILE *f, const wtensor *t, size_t align, swarm_diag *d)
{
    size_t row_bytes;
    sw_type_row_bytes(t->type, t->ne[0], &row_bytes);
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    uint8_t *row = sw_malloc(row_bytes ? row_bytes : 1);
    if (row == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    for (int64_t r = 0; r < rows && t->ne[0] > 0; r++) {
        sw_quantize_row(t->type, t->data + r * t->ne[0], row, t->ne[0]);
        if (sw_io_fail() || fwrite(row, 1, row_bytes, f) != row_bytes) {
            sw_free(row);
            return sw_diag_set(d, SWARM_ESYS, "write error: %s", strerror(errno));
        }
    }
    sw_free(row);
    static const uint8_t zeros[64];
    size_t pad = pad_to(t->nbytes, align);
    while (pad > 0) {
        size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);
        if (sw_io_fail() || fwrite(zeros, 1, n, f) != n)
            return sw_diag_set(d, SWARM_ESYS, "write error: %s", strerror(errno));
        pad -= n;
    }
    return SWARM_OK;
}

swarm_err sw_gguf_writer_write(sw_gguf_writer *w, const char *path, swarm_diag *d)
{
    /* The file is renamed into place, which would also replace a device or
     * a pipe named by mistake (as root, /dev/full became a GGUF file) */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return sw_diag_set(d, SWARM_EINVAL, "%s: %s", path,
                           S_ISDIR(st.st_mode) ? "is a directory"
                                               : "exists and is not a regular file");
    size_t align = alignment_of(w);
    /* Offsets are relative to the data section: each tensor starts aligned. */
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        off += w->t[i].nbytes + pad_to(w->t[i].nbytes, align);
    }
    sw_buf h = {0};
    sw_buf_put(&h, "GGUF", 4);
    bb_u32(&h, 3);
    bb_u64(&h, w->n_t);
    bb_u64(&h, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        bb_str(&h, w->kv[i].key, strlen(w->kv[i].key));
        bb_u32(&h, w->kv[i].type);
        sw_buf_put(&h, w->kv[i].val, w->kv[i].val_len);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        bb_str(&h, t->name, strlen(t->name));
        bb_u32(&h, t->n_dims);
        for (uint32_t k = 0; k < t->n_dims; k++)
            bb_u64(&h, (uint64_t)t->ne[k]);
        bb_u32(&h, t->type);
        bb_u64(&h, t->offset);
    }
    static const uint8_t zeros[64] = {0};
    size_t pad = pad_to(h.len, align);
    while (pad > 0 && !h.oom) {
        size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);
        sw_buf_put(&h, zeros, n);
        pad -= n;
    }
    if (h.oom) {
        sw_free(h.p);
        return sw_diag_set(d, SWARM_ENOMEM, "%s: out of memory", path);
    }

    /* Written beside the target and renamed, so a failed write leaves no
     * half file under the real name. */
    size_t plen = strlen(path);
    char *tmp = sw_malloc(plen + 5);
    if (tmp == NULL) {
        sw_free(h.p);
        return sw_diag_set(d, SWARM_ENOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    swarm_err rc = SWARM_OK;
    FILE *f = sw_io_fail() ? NULL : fopen(tmp, "wb");
    if (f == NULL) {
        rc = sw_diag_set(d, SWARM_ESYS, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (sw_io_fail() || fwrite(h.p, 1, h.len, f) != h.len) {
        rc = sw_diag_set(d, SWARM_ESYS, "%s: write error: %s", tmp, strerror(errno));
    }
    for (size_t i = 0; i < w->n_t && rc == SWARM_OK; i++) {
        rc = write_tensor_data(f, &w->t[i], align, d);
        if (rc != SWARM_OK) sw_diag_prefix(d, tmp);
    }
    /* on disk before the rename, so a crash never leaves an empty file
     * under the real name */
    if (rc == SWARM_OK && (sw_io_fail() || fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = sw_diag_set(d, SWARM_ESYS, "%s: write error: %s", tmp, strerror(errno));
    int closed = fclose(f);
    if (rc == SWARM_OK && (closed != 0 || sw_io_fail()))
        rc = sw_diag_set(d, SWARM_ESYS, "%s: write error: %s", tmp, strerror(errno));
    if (rc == SWARM_OK && (sw_io_fail() || rename(tmp, path) != 0))
        rc = sw_diag_set(d, SWARM_ESYS, "%s: rename: %s", path, strerror(errno));
    if (rc != SWARM_OK) remove(tmp);
out:
    sw_free(tmp);
    sw_free(h.p);
    return rc;
}
