/*
 * alloc.c: the one allocation wrapper (STYLE 9) and the growable buffer
 * built on it. Tests make the n-th allocation fail with
 * sw_alloc_fail_after(); live bytes are tracked with a size header so
 * /metrics can report them.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

/* Process-wide by nature: failure injection must reach every allocation.
 * Tests only; production code never sets it. */
static _Atomic long fail_countdown = -1;
static _Atomic long live_bytes = 0;

/* 16 bytes keep SIMD-friendly alignment of the returned pointer. */
#define HDR 16

static bool should_fail(void)
{
    if (atomic_load_explicit(&fail_countdown, memory_order_relaxed) < 0) return false;
    return atomic_fetch_sub(&fail_countdown, 1) == 0;
}

void sw_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }
long sw_alloc_live_bytes(void) { return atomic_load(&live_bytes); }

void *sw_malloc(size_t n)
{
    if (should_fail() || n > SIZE_MAX - HDR) return NULL;
    unsigned char *p = malloc(n + HDR);
    if (p == NULL) return NULL;
    memcpy(p, &n, sizeof(n));
    atomic_fetch_add_explicit(&live_bytes, (long)n, memory_order_relaxed);
    return p + HDR;
}

void *sw_calloc(size_t count, size_t size)
{
    size_t n;
    if (!sw_mul_ok(count, size, &n)) return NULL;
    void *p = sw_malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void *sw_realloc(void *ptr, size_t n)
{
    if (ptr == NULL) return sw_malloc(n);
    if (should_fail() || n > SIZE_MAX - HDR) return NULL;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof(old));
    unsigned char *p = realloc(base, n + HDR);
    if (p == NULL) return NULL;
    memcpy(p, &n, sizeof(n));
    atomic_fetch_add_explicit(&live_bytes, (long)n - (long)old, memory_order_relaxed);
    return p + HDR;
}

void sw_free(void *ptr)
{
    if (ptr == NULL) return;
    unsigned char *base = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, base, sizeof(old));
    atomic_fetch_sub_explicit(&live_bytes, (long)old, memory_order_relaxed);
    free(base);
}

void swarm_free(void *p) { sw_free(p); }

char *sw_strndup(const char *s, size_t n)
{
    char *p = sw_malloc(n + 1);
    if (p == NULL) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sw_strdup(const char *s) { return sw_strndup(s, strlen(s)); }

void sw_buf_put(sw_buf *b, const void *src, size_t n)
{
    if (b->oom) return;
    size_t need; /* the bytes, and one for the NUL */
    if (!sw_add_ok(b->len, n, &need) || !sw_add_ok(need, 1, &need)) {
        b->oom = true;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        void *np = sw_realloc(b->p, cap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    char *dst = b->p;
    if (n) memcpy(dst + b->len, src, n);
    b->len += n;
    dst[b->len] = '\0';
}
