/*
 * wire.c: encoders and hostile-input decoders of the wire format (wire.h).
 * Fields are written byte by byte, little-endian, so the format does not
 * depend on the host's byte order, struct layout or padding.
 */
#include <string.h>

#include "wire.h"

// --- encoding ---------------------------------------------------------------

static void put_u8(sw_buf *b, uint8_t v) { sw_buf_put(b, &v, 1); }

static void put_u16(sw_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    sw_buf_put(b, x, 2);
}

static void put_u32(sw_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    sw_buf_put(b, x, 4);
}

static void put_u64(sw_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    sw_buf_put(b, x, 8);
}

static void put_f64(sw_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(b, u);
}

static void put_str(sw_buf *b, const char *s)
{
    size_t l = s ? strlen(s) : 0;
    if (l > SW_WIRE_FRAME_MAX) { /* cannot fit any frame: refuse, never truncate */
        b->oom = true;
        return;
    }
    put_u32(b, (uint32_t)l);
    sw_buf_put(b, s ? s : "", l);
}

/* Starts a frame; returns where its length goes (patched by frame_end). */
static size_t frame_begin(sw_buf *b, sw_wire_type type)
{
    put_u16(b, SW_WIRE_VERSION);
    put_u16(b, (uint16_t)type);
    size_t at = b->len;
    put_u32(b, 0);
    return at;
}

static void frame_end(sw_buf *b, size_t at)
{
    if (b->oom) return;
    size_t len = b->len - at - 4;
    if (len > SW_WIRE_FRAME_MAX) {
        b->oom = true; /* the receiver would refuse it */
        return;
    }
    uint8_t *p = (uint8_t *)b->p + at;
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(len >> (8 * i));
}

void sw_wire_put_dispatch(sw_buf *b, const sw_dispatch *m, uint64_t t0_ns)
{
    size_t at = frame_begin(b, SW_WIRE_DISPATCH);
    put_u32(b, (uint32_t)m->node);
    put_u32(b, (uint32_t)m->sub);
    put_u32(b, m->epoch);
    put_u32(b, m->run);
    put_u8(b, m->probe ? 1 : 0);
    put_u8(b, m->stream ? 1 : 0);
    put_u32(b, (uint32_t)m->kind);
    put_u32(b, (uint32_t)m->max_tokens);
    put_u64(b, m->seed);
    put_u32(b, m->sampling.set);
    put_f64(b, m->sampling.temperature);
    put_u32(b, (uint32_t)m->sampling.top_k);
    put_f64(b, m->sampling.top_p);
    put_f64(b, m->sampling.min_p);
    put_u64(b, t0_ns);
    put_str(b, m->prompt);
    if (m->n_labels > SW_RT_MAX_LABELS) b->oom = true;
    put_u32(b, (uint32_t)m->n_labels);
    for (size_t j = 0; j < m->n_labels && !b->oom; j++) put_str(b, m->labels[j]);
    frame_end(b, at);
}

void sw_wire_put_cancel(sw_buf *b, int32_t node, int32_t sub, uint32_t epoch)
{
    size_t at = frame_begin(b, SW_WIRE_CANCEL);
    put_u32(b, (uint32_t)node);
    put_u32(b, (uint32_t)sub);
    put_u32(b, epoch);
    frame_end(b, at);
}

void sw_wire_put_event(sw_buf *b, const sw_event *ev)
{
    size_t at = frame_begin(b, SW_WIRE_EVENT);
    put_u32(b, (uint32_t)ev->type);
    put_u32(b, (uint32_t)ev->node);
    put_u32(b, (uint32_t)ev->sub);
    put_u32(b, ev->epoch);
    put_u32(b, ev->run);
    put_u8(b, ev->probe ? 1 : 0);
    put_u8(b, ev->canceled ? 1 : 0);
    put_u32(b, (uint32_t)ev->rc);
    put_f64(b, ev->value);
    put_f64(b, ev->confidence);
    put_u64(b, (uint64_t)ev->tokens);
    put_f64(b, ev->busy_ms);
    put_u64(b, ev->hlc);
    put_u32(b, ev->crc);
    put_u8(b, ev->text ? 1 : 0);
    put_str(b, ev->text);
    frame_end(b, at);
}

void sw_wire_put_t0(sw_buf *b, uint64_t t0_ns)
{
    size_t at = frame_begin(b, SW_WIRE_T0);
    put_u64(b, t0_ns);
    frame_end(b, at);
}

// --- framing ----------------------------------------------------------------

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

swarm_err sw_wire_next(const uint8_t *p, size_t n, sw_wire_frame *f, size_t *used,
                       swarm_diag *d)
{
    *used = 0;
    if (n < SW_WIRE_HEADER) return SWARM_OK;
    unsigned version = (unsigned)p[0] | (unsigned)p[1] << 8;
    unsigned type = (unsigned)p[2] | (unsigned)p[3] << 8;
    uint32_t len = le32(p + 4);
    if (version != SW_WIRE_VERSION)
        return sw_diag_set(d, SWARM_EFORMAT, "wire: frame of version %u (this side speaks %d)",
                           version, SW_WIRE_VERSION);
    if (type < SW_WIRE_DISPATCH || type >= SW_WIRE_TYPE_END)
        return sw_diag_set(d, SWARM_EFORMAT, "wire: unknown frame type %u", type);
    if (len > SW_WIRE_FRAME_MAX)
        return sw_diag_set(d, SWARM_EFORMAT, "wire: frame of %u bytes (limit %u)", len,
                           SW_WIRE_FRAME_MAX);
    if (n - SW_WIRE_HEADER < len) return SWARM_OK; /* not all there yet */
    f->type = (sw_wire_type)type;
    f->payload = p + SW_WIRE_HEADER;
    f->len = len;
    *used = SW_WIRE_HEADER + (size_t)len;
    return SWARM_OK;
}

// --- decoding ---------------------------------------------------------------

/* A cursor over one payload; any read past its end sets bad. */
typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} rd;

static const uint8_t *take(rd *r, size_t k)
{
    if (r->bad || r->n - r->off < k) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += k;
    return q;
}

static uint8_t get_u8(rd *r)
{
    const uint8_t *q = take(r, 1);
    return q ? q[0] : 0;
}

static bool get_bool(rd *r)
{
    uint8_t v = get_u8(r);
    if (v > 1) r->bad = true;
    return v == 1;
}

static uint32_t get_u32(rd *r)
{
    const uint8_t *q = take(r, 4);
    return q ? le32(q) : 0;
}

static uint64_t get_u64(rd *r)
{
    const uint8_t *q = take(r, 8);
    if (q == NULL) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | q[i];
    return v;
}

static double get_f64(rd *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* A string's bytes, borrowed from the payload; NULs inside are refused
 * (the receiver's C strings would silently end there). */
static const char *get_str(rd *r, uint32_t *len)
{
    *len = get_u32(r);
    const uint8_t *q = take(r, *len);
    if (q == NULL) return NULL;
    if (memchr(q, 0, *len) != NULL) {
        r->bad = true;
        return NULL;
    }
    return (const char *)q;
}

static swarm_err finish(rd *r, const char *what, swarm_diag *d)
{
    if (r->bad)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "wire: malformed %s frame (a field truncated or out of range near "
                           "byte %zu of %zu)",
                           what, r->off, r->n);
    if (r->off != r->n)
        return sw_diag_set(d, SWARM_EFORMAT, "wire: %s frame has %zu bytes left over", what,
                           r->n - r->off);
    return SWARM_OK;
}

static swarm_err want_type(const sw_wire_frame *f, sw_wire_type t, const char *what,
                           swarm_diag *d)
{
    if (f->type != t) return sw_diag_set(d, SWARM_EFORMAT, "wire: not a %s frame", what);
    return SWARM_OK;
}

void sw_dispatch_free(sw_dispatch *m)
{
    if (m == NULL) return;
    sw_free(m->prompt);
    sw_free(m);
}

swarm_err sw_wire_get_dispatch(const sw_wire_frame *f, sw_dispatch **out, uint64_t *t0_ns,
                               swarm_diag *d)
{
    swarm_err rc = want_type(f, SW_WIRE_DISPATCH, "dispatch", d);
    if (rc) return rc;
    rd r = {f->payload, f->len, 0, false};
    sw_dispatch h = {0};
    h.node = (int32_t)get_u32(&r);
    h.sub = (int32_t)get_u32(&r);
    h.epoch = get_u32(&r);
    h.run = get_u32(&r);
    h.probe = get_bool(&r);
    h.stream = get_bool(&r);
    uint32_t kind = get_u32(&r);
    h.max_tokens = (int32_t)get_u32(&r);
    h.seed = get_u64(&r);
    h.sampling.set = get_u32(&r);
    h.sampling.temperature = get_f64(&r);
    h.sampling.top_k = (int32_t)get_u32(&r);
    h.sampling.top_p = get_f64(&r);
    h.sampling.min_p = get_f64(&r);
    uint64_t t0 = get_u64(&r);
    /* the engine's own checks, here too: a frame never carries them past */
    const swarm_task_sampling *sm = &h.sampling;
    if (sm->set > 31 ||
        ((sm->set & SWARM_SAMPLING_TEMPERATURE) && !(sm->temperature >= 0 && sm->temperature <= 100)) ||
        ((sm->set & SWARM_SAMPLING_TOP_K) && sm->top_k < 0) ||
        ((sm->set & SWARM_SAMPLING_TOP_P) && !(sm->top_p > 0 && sm->top_p <= 1)) ||
        ((sm->set & SWARM_SAMPLING_MIN_P) && !(sm->min_p >= 0 && sm->min_p <= 1)))
        r.bad = true;
    uint32_t plen;
    const char *prompt = get_str(&r, &plen);
    uint32_t nl = get_u32(&r);
    if (kind >= SWARM_SUBTASK_KIND_COUNT || nl > SW_RT_MAX_LABELS) r.bad = true;
    /* first pass: check every label and size them */
    size_t lstart = r.off, lbytes = 0;
    for (uint32_t j = 0; j < nl && !r.bad; j++) {
        uint32_t l;
        if (get_str(&r, &l)) lbytes += (size_t)l + 1;
    }
    if ((rc = finish(&r, "dispatch", d)) != SWARM_OK) return rc;
    sw_dispatch *m = sw_calloc(1, sizeof(*m) + nl * sizeof(char *) + lbytes);
    char *pc = sw_malloc((size_t)plen + 1);
    if (m == NULL || pc == NULL) {
        sw_free(m);
        sw_free(pc);
        return sw_diag_set(d, SWARM_ENOMEM, "wire: out of memory");
    }
    *m = h;
    if (plen > 0) memcpy(pc, prompt, plen);
    pc[plen] = '\0';
    m->prompt = pc;
    m->kind = (swarm_subtask_kind)kind;
    char **lab = (char **)(m + 1);
    char *lp = (char *)(lab + nl);
    rd r2 = {f->payload, f->len, lstart, false};
    for (uint32_t j = 0; j < nl; j++) {
        uint32_t l;
        const char *s = get_str(&r2, &l); /* checked by the first pass */
        if (l > 0) memcpy(lp, s, l);
        lp[l] = '\0';
        lab[j] = lp;
        lp += (size_t)l + 1;
    }
    m->labels = (const char *const *)lab;
    m->n_labels = nl;
    *out = m;
    if (t0_ns) *t0_ns = t0;
    return SWARM_OK;
}

swarm_err sw_wire_get_cancel(const sw_wire_frame *f, int32_t *node, int32_t *sub,
                             uint32_t *epoch, swarm_diag *d)
{
    swarm_err rc = want_type(f, SW_WIRE_CANCEL, "cancel", d);
    if (rc) return rc;
    rd r = {f->payload, f->len, 0, false};
    int32_t n = (int32_t)get_u32(&r), s = (int32_t)get_u32(&r);
    uint32_t e = get_u32(&r);
    if ((rc = finish(&r, "cancel", d)) != SWARM_OK) return rc;
    *node = n;
    *sub = s;
    *epoch = e;
    return SWARM_OK;
}

swarm_err sw_wire_get_event(const sw_wire_frame *f, sw_event *ev, swarm_diag *d)
{
    swarm_err rc = want_type(f, SW_WIRE_EVENT, "event", d);
    if (rc) return rc;
    rd r = {f->payload, f->len, 0, false};
    sw_event e = {0};
    uint32_t type = get_u32(&r);
    e.node = (int32_t)get_u32(&r);
    e.sub = (int32_t)get_u32(&r);
    e.epoch = get_u32(&r);
    e.run = get_u32(&r);
    e.probe = get_bool(&r);
    e.canceled = get_bool(&r);
    uint32_t erc = get_u32(&r);
    e.value = get_f64(&r);
    e.confidence = get_f64(&r);
    e.tokens = (int64_t)get_u64(&r);
    e.busy_ms = get_f64(&r);
    e.hlc = get_u64(&r);
    e.crc = get_u32(&r);
    bool has_text = get_bool(&r);
    uint32_t tlen;
    const char *text = get_str(&r, &tlen);
    if (type >= SW_EV_TYPE_COUNT || erc >= SWARM_ERR_COUNT || (!has_text && tlen > 0)) r.bad = true;
    if ((rc = finish(&r, "event", d)) != SWARM_OK) return rc;
    e.type = (sw_ev_type)type;
    e.rc = (swarm_err)erc;
    if (has_text) {
        if ((e.text = sw_malloc((size_t)tlen + 1)) == NULL)
            return sw_diag_set(d, SWARM_ENOMEM, "wire: out of memory");
        if (tlen > 0) memcpy(e.text, text, tlen);
        e.text[tlen] = '\0';
    }
    *ev = e;
    return SWARM_OK;
}

swarm_err sw_wire_get_t0(const sw_wire_frame *f, uint64_t *t0_ns, swarm_diag *d)
{
    swarm_err rc = want_type(f, SW_WIRE_T0, "t0", d);
    if (rc) return rc;
    rd r = {f->payload, f->len, 0, false};
    uint64_t t = get_u64(&r);
    if ((rc = finish(&r, "t0", d)) != SWARM_OK) return rc;
    *t0_ns = t;
    return SWARM_OK;
}
