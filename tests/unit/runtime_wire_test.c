/* runtime_wire_test.c: the wire format (src/runtime/wire.c): round trips of
 * every frame type, the exact little-endian bytes of a header, and hostile
 * frames (truncated, oversized, wrong version, unknown type, lengths past
 * the end, out-of-range fields, leftovers, NULs in strings) refused with a
 * message, never trusted. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "runtime/wire.h"

/* Parses exactly one whole frame out of b. */
static sw_wire_frame one_frame(const sw_buf *b)
{
    sw_wire_frame f = {0};
    size_t used = 0;
    swarm_diag d = {{0}};
    CHECK_OK(sw_wire_next(b->p, b->len, &f, &used, &d));
    assert_int_equal(used, b->len);
    return f;
}

static sw_dispatch *make_dispatch(void)
{
    static const char *const labels[] = {"positive", "negative", ""};
    sw_dispatch *m = sw_calloc(1, sizeof(*m));
    assert_non_null(m);
    m->node = 3;
    m->sub = SW_SUB_PROBE;
    m->epoch = 0xfffffff0u;
    m->run = 7;
    m->probe = true;
    m->stream = true;
    m->seed = 0x0102030405060708ull;
    m->sampling.set = SWARM_SAMPLING_TEMPERATURE | SWARM_SAMPLING_TOP_P;
    m->sampling.temperature = 0.7;
    m->sampling.top_p = 0.9;
    m->kind = SWARM_SUBTASK_CLASSIFY;
    m->prompt = sw_strdup("Is this \xe2\x80\x9cgood\xe2\x80\x9d?\nyes");
    m->labels = labels;
    m->n_labels = 3;
    m->max_tokens = -1;
    return m;
}

static void test_runtime_wire_round_trips(void **state)
{
    (void)state;
    swarm_diag d = {{0}};
    /* dispatch */
    sw_dispatch *m = make_dispatch();
    sw_buf b = {0};
    sw_wire_put_dispatch(&b, m, 0x0102030405060708ull);
    assert_false(b.oom);
    sw_wire_frame f = one_frame(&b);
    assert_int_equal(f.type, SW_WIRE_DISPATCH);
    sw_dispatch *r = NULL;
    uint64_t t0 = 0;
    CHECK_OK(sw_wire_get_dispatch(&f, &r, &t0, &d));
    assert_int_equal(r->node, 3);
    assert_int_equal(r->sub, SW_SUB_PROBE);
    assert_int_equal(r->epoch, 0xfffffff0u);
    assert_int_equal(r->run, 7);
    assert_true(r->probe);
    assert_true(r->stream);
    assert_true(r->seed == 0x0102030405060708ull);
    assert_int_equal(r->sampling.set, SWARM_SAMPLING_TEMPERATURE | SWARM_SAMPLING_TOP_P);
    assert_true(r->sampling.temperature == 0.7 && r->sampling.top_p == 0.9);
    assert_int_equal(r->kind, SWARM_SUBTASK_CLASSIFY);
    assert_int_equal(r->max_tokens, -1);
    assert_string_equal(r->prompt, m->prompt);
    assert_int_equal(r->n_labels, 3);
    for (size_t j = 0; j < 3; j++) assert_string_equal(r->labels[j], m->labels[j]);
    assert_true(t0 == 0x0102030405060708ull);
    sw_dispatch_free(r);
    /* event, with and without text */
    sw_event ev = {.type = SW_EV_RESULT, .node = 2, .sub = 41, .epoch = 5, .run = 9,
                   .canceled = true, .rc = SWARM_ETIMEDOUT, .text = (char *)"the answer",
                   .value = -0.0, .confidence = 0.75, .tokens = -12345678901ll,
                   .busy_ms = 1e-300, .hlc = UINT64_MAX, .crc = 0xdeadbeef};
    b.len = 0;
    sw_wire_put_event(&b, &ev);
    sw_event got;
    f = one_frame(&b);
    CHECK_OK(sw_wire_get_event(&f, &got, &d));
    assert_int_equal(got.type, SW_EV_RESULT);
    assert_int_equal(got.node, 2);
    assert_int_equal(got.sub, 41);
    assert_int_equal(got.epoch, 5);
    assert_int_equal(got.run, 9);
    assert_false(got.probe);
    assert_true(got.canceled);
    assert_int_equal(got.rc, SWARM_ETIMEDOUT);
    assert_string_equal(got.text, "the answer");
    assert_true(got.value == 0 && signbit(got.value)); /* the bits, not just the value */
    assert_true(got.confidence == 0.75 && got.busy_ms == 1e-300);
    assert_true(got.tokens == -12345678901ll && got.hlc == UINT64_MAX);
    assert_int_equal(got.crc, 0xdeadbeef);
    sw_free(got.text);
    ev.text = NULL;
    ev.type = SW_EV_HEARTBEAT;
    b.len = 0;
    sw_wire_put_event(&b, &ev);
    f = one_frame(&b);
    CHECK_OK(sw_wire_get_event(&f, &got, &d));
    assert_null(got.text);
    assert_int_equal(got.type, SW_EV_HEARTBEAT);
    /* cancel and t0 */
    b.len = 0;
    sw_wire_put_cancel(&b, 1, SW_SUB_EXEC, 77);
    f = one_frame(&b);
    int32_t node, sub;
    uint32_t epoch;
    CHECK_OK(sw_wire_get_cancel(&f, &node, &sub, &epoch, &d));
    assert_true(node == 1 && sub == SW_SUB_EXEC && epoch == 77);
    b.len = 0;
    sw_wire_put_t0(&b, 42);
    f = one_frame(&b);
    CHECK_OK(sw_wire_get_t0(&f, &t0, &d));
    assert_true(t0 == 42);
    /* several frames in one stream come out one by one */
    b.len = 0;
    sw_wire_put_t0(&b, 1);
    sw_wire_put_cancel(&b, 0, 0, 1);
    sw_wire_put_dispatch(&b, m, 2);
    size_t off = 0, frames = 0, used = 0;
    while (off < b.len) {
        CHECK_OK(sw_wire_next((const uint8_t *)b.p + off, b.len - off, &f, &used, &d));
        assert_true(used > 0);
        off += used;
        frames++;
    }
    assert_int_equal(frames, 3);
    sw_free(b.p);
    sw_dispatch_free(m);
}

/* The header's bytes are the same on any host: version 2 and type 2 as
 * little-endian u16, the length as a little-endian u32. */
static void test_runtime_wire_little_endian(void **state)
{
    (void)state;
    sw_buf b = {0};
    sw_wire_put_cancel(&b, 0x01020304, -2, 0xa0b0c0d0u);
    static const uint8_t want[] = {2, 0, 2, 0, 12, 0, 0, 0,          /* header */
                                   4, 3, 2, 1,                       /* node */
                                   0xfe, 0xff, 0xff, 0xff,           /* sub -2 */
                                   0xd0, 0xc0, 0xb0, 0xa0};          /* epoch */
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    sw_free(b.p);
}

/* Expects the frame in bytes to be refused: by the framing or the decoder. */
static void refused(const uint8_t *p, size_t n, const char *want)
{
    swarm_diag d = {{0}};
    sw_wire_frame f;
    size_t used = 0;
    swarm_err rc = sw_wire_next(p, n, &f, &used, &d);
    if (rc == SWARM_OK && used > 0) {
        sw_dispatch *m = NULL;
        sw_event ev = {0};
        int32_t a, b;
        uint32_t e;
        uint64_t t;
        switch (f.type) {
        case SW_WIRE_DISPATCH: rc = sw_wire_get_dispatch(&f, &m, &t, &d); break;
        case SW_WIRE_EVENT: rc = sw_wire_get_event(&f, &ev, &d); break;
        case SW_WIRE_CANCEL: rc = sw_wire_get_cancel(&f, &a, &b, &e, &d); break;
        default: rc = sw_wire_get_t0(&f, &t, &d); break;
        }
        sw_dispatch_free(m);
        sw_free(ev.text);
    }
    if (rc != SWARM_EFORMAT || strstr(d.msg, want) == NULL)
        print_error("got %s '%s', want EFORMAT with '%s'\n", swarm_err_name(rc), d.msg, want);
    assert_int_equal(rc, SWARM_EFORMAT);
    assert_non_null(strstr(d.msg, want));
}

static void set_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void test_runtime_wire_hostile_frames(void **state)
{
    (void)state;
    sw_dispatch *m = make_dispatch();
    sw_buf b = {0};
    sw_wire_put_dispatch(&b, m, 5);
    sw_dispatch_free(m);
    uint8_t *p = b.p;
    size_t n = b.len;
    uint8_t *x = sw_malloc(n + 16);
    assert_non_null(x);
    swarm_diag d = {{0}};
    sw_wire_frame f;
    size_t used = 1;
    /* truncated anywhere: the framing waits for the rest, never reads past */
    for (size_t k = 0; k < n; k++) {
        CHECK_OK(sw_wire_next(p, k, &f, &used, &d));
        assert_int_equal(used, 0);
    }
    /* the declared length cut short: the payload ends inside a field */
    for (size_t cut = 1; cut < n - SW_WIRE_HEADER; cut += 3) {
        memcpy(x, p, n);
        set_u32(x + 4, (uint32_t)(n - SW_WIRE_HEADER - cut));
        refused(x, n - cut, "malformed dispatch");
    }
    /* wrong version, unknown type, oversized */
    memcpy(x, p, n);
    x[0] = 1; /* version 1 had no stream flag: refused, never guessed */
    refused(x, n, "version 1");
    memcpy(x, p, n);
    x[0] = 3;
    refused(x, n, "version 3");
    memcpy(x, p, n);
    x[2] = 9;
    refused(x, n, "unknown frame type 9");
    memcpy(x, p, n);
    set_u32(x + 4, SW_WIRE_FRAME_MAX + 1);
    refused(x, n, "limit");
    /* the prompt's length points past the end of the frame */
    size_t prompt_len_at = SW_WIRE_HEADER + 4 * 4 + 1 + 1 + 4 + 4 + 8 + 4 + 8 + 4 + 8 + 8 + 8;
    memcpy(x, p, n);
    set_u32(x + prompt_len_at, 0x7fffffff);
    refused(x, n, "malformed dispatch");
    /* a boolean that is neither 0 nor 1; a kind out of range */
    memcpy(x, p, n);
    x[SW_WIRE_HEADER + 16] = 2;
    refused(x, n, "malformed dispatch");
    memcpy(x, p, n);
    x[SW_WIRE_HEADER + 17] = 2; /* stream */
    refused(x, n, "malformed dispatch");
    memcpy(x, p, n);
    set_u32(x + SW_WIRE_HEADER + 18, SWARM_SUBTASK_KIND_COUNT);
    refused(x, n, "malformed dispatch");
    /* sampling: unknown bits; a top_p out of (0, 1] (2.0 as IEEE bits) */
    memcpy(x, p, n);
    set_u32(x + SW_WIRE_HEADER + 34, 0xff);
    refused(x, n, "malformed dispatch");
    memcpy(x, p, n);
    set_u32(x + SW_WIRE_HEADER + 50, 0);
    set_u32(x + SW_WIRE_HEADER + 54, 0x40000000u);
    refused(x, n, "malformed dispatch");
    /* a NUL inside the prompt */
    memcpy(x, p, n);
    x[prompt_len_at + 4 + 2] = 0;
    refused(x, n, "malformed dispatch");
    /* too many labels */
    uint32_t plen = (uint32_t)x[prompt_len_at] | (uint32_t)x[prompt_len_at + 1] << 8;
    memcpy(x, p, n);
    set_u32(x + prompt_len_at + 4 + plen, SW_RT_MAX_LABELS + 1);
    refused(x, n, "malformed dispatch");
    /* bytes left over after the last field */
    memcpy(x, p, n);
    x[n] = 0;
    set_u32(x + 4, (uint32_t)(n - SW_WIRE_HEADER + 1));
    refused(x, n + 1, "left over");
    /* an event with an out-of-range error code, and text without has_text */
    sw_event ev = {.type = SW_EV_RESULT, .text = (char *)"t"};
    b.len = 0;
    sw_wire_put_event(&b, &ev);
    p = b.p;
    size_t rc_at = SW_WIRE_HEADER + 5 * 4 + 2;
    memcpy(x, p, b.len);
    set_u32(x + rc_at, SWARM_ERR_COUNT);
    refused(x, b.len, "malformed event");
    memcpy(x, p, b.len);
    x[b.len - 1 - 4 - 1] = 0; /* has_text = 0 with a 1-byte text */
    refused(x, b.len, "malformed event");
    /* a frame of one type decoded as another is refused too */
    sw_wire_frame wf = {.type = SW_WIRE_T0, .payload = p, .len = 8};
    sw_event e2;
    CHECK_ERR(sw_wire_get_event(&wf, &e2, &d), SWARM_EFORMAT);
    sw_free(x);
    sw_free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_wire_round_trips),
        cmocka_unit_test(test_runtime_wire_little_endian),
        cmocka_unit_test(test_runtime_wire_hostile_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
