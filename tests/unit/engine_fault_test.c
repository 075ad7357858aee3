/*
 * engine_fault_test.c: TESTPLAN H5 and H6 for the engine. Every constructor
 * and every allocating call (model load in both formats, sessions,
 * generation with a raw prompt and with chat messages, scoring, tokenizing,
 * the GGUF tokenizers of every shared vocabulary, chat rendering, the GGUF
 * writer) is run with its n-th allocation failing, n = 0, 1, 2, ... until it
 * succeeds; model loading and the writer also with their n-th I/O call
 * failing (EIO, ENOSPC). Each failure must be SWARM_ENOMEM (allocations) or
 * SWARM_ESYS (I/O) with a message naming the file, the outputs untouched,
 * and no allocation, file descriptor, mapping or temporary file left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/core_int.h"
#include "engine/engine_int.h"
#include "swarm/engine.h"

/* Sentinels the outputs must still hold after a failure. */
#define OUT_PTR ((void *)(uintptr_t)0x5eed)
#define OUT_NUM (-12345.0)

/* ------------------------------------------------------------------------ */
/* the sweep                                                                */

/* One attempt of the operation under test. On success it releases what it
 * made; after a failure it says whether its outputs kept their sentinels. */
typedef swarm_err (*attempt_fn)(void *ctx, bool *untouched);

/* What is made to fail, and the code every such failure must give. */
typedef struct fault {
    const char *what;
    void (*arm)(long n); /* fail the n-th next call; n < 0 disarms */
    swarm_err want;
} fault;

static void arm_alloc(long n) { sw_alloc_fail_after(n); }
static void arm_eio(long n) { sw_io_fail_after(n, EIO); }
static void arm_enospc(long n) { sw_io_fail_after(n, ENOSPC); }

static const fault ALLOC = {"allocation", arm_alloc, SWARM_ENOMEM};
static const fault EIO_FAULT = {"I/O call (EIO)", arm_eio, SWARM_ESYS};
static const fault ENOSPC_FAULT = {"I/O call (ENOSPC)", arm_enospc, SWARM_ESYS};

/* The fault the current sweep injects (attempts check their message by it). */
static const fault *current = &ALLOC;

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    while (readdir(d) != NULL) n++;
    closedir(d);
    return n;
}

/* Mappings of model files (thread stacks and malloc arenas come and go, so
 * only file mappings are counted). */
static int count_model_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) return -1;
    int n = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, ".gguf") != NULL || strstr(line, ".bin\n") != NULL;
    fclose(f);
    return n;
}

/* Runs attempt with the n-th call of the current fault's kind failing. */
static swarm_err attempt_at(attempt_fn fn, void *ctx, long n, bool *untouched)
{
    *untouched = true;
    current->arm(n);
    swarm_err rc = fn(ctx, untouched);
    current->arm(-1);
    return rc;
}

/* Number of checked calls one successful attempt makes: the smallest n
 * whose failure point is never reached (only the n-th call fails, so
 * success is monotonic in n). */
static long count_points(attempt_fn fn, void *ctx)
{
    bool u;
    long hi = 1;
    while (attempt_at(fn, ctx, hi, &u) != SWARM_OK) {
        hi *= 2;
        assert_true(hi < (1L << 24));
    }
    long lo = 0; /* attempts at lo fail or lo == 0 */
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (attempt_at(fn, ctx, mid, &u) == SWARM_OK)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Fails every point of fault f in turn (for calls making thousands, every
 * one of the first 400 and the last 100, and 1,500 spread in between: each
 * attempt costs a full run). Returns the number of points. */
static long sweep_fault(const fault *f, const char *name, attempt_fn fn, void *ctx)
{
    current = f;
    long total = count_points(fn, ctx);
    long live = sw_alloc_live_bytes();
    int fds = count_entries("/proc/self/fd"), maps = count_model_maps();
    long tried = 0;
    for (long n = 0; n < total;) {
        bool untouched;
        swarm_err rc = attempt_at(fn, ctx, n, &untouched);
        if (rc != f->want)
            print_error("%s: %s %ld of %ld failing gave %s\n", name, f->what, n, total,
                        swarm_err_name(rc));
        assert_int_equal(rc, f->want);
        if (!untouched) print_error("%s: %s %ld: outputs written\n", name, f->what, n);
        assert_true(untouched);
        if (sw_alloc_live_bytes() != live)
            print_error("%s: %s %ld: %ld bytes leaked\n", name, f->what, n,
                        sw_alloc_live_bytes() - live);
        assert_int_equal(sw_alloc_live_bytes(), live);
        assert_int_equal(count_entries("/proc/self/fd"), fds);
        assert_int_equal(count_model_maps(), maps);
        tried++;
        long step = 1;
        if (total > 2000 && n >= 400 && n < total - 100) step = (total - 500) / 1500 + 1;
        n = n + step < total - 100 || step == 1 ? n + step : total - 100;
    }
    bool u;
    CHECK_OK(attempt_at(fn, ctx, total, &u)); /* and the call still works afterwards */
    assert_int_equal(sw_alloc_live_bytes(), live);
    fprintf(stderr, "sweep %-44s %6ld %s points, %5ld failed in turn\n", name, total, f->what,
            tried);
    current = &ALLOC;
    return total;
}

static long sweep(const char *name, attempt_fn fn, void *ctx)
{
    return sweep_fault(&ALLOC, name, fn, ctx);
}

/* ------------------------------------------------------------------------ */
/* model loading                                                            */

static int errno_of(const fault *f) { return f == &ENOSPC_FAULT ? ENOSPC : EIO; }

typedef struct load_ctx {
    swarm_model_params mp;
} load_ctx;

static swarm_err try_load(void *ctx, bool *untouched)
{
    load_ctx *c = ctx;
    swarm_model *m = OUT_PTR;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&c->mp, &m, &d);
    if (rc == SWARM_OK) {
        swarm_model_destroy(m);
        return rc;
    }
    *untouched = m == OUT_PTR;
    if (rc == current->want) { /* the message names the file and the cause */
        const char *cause = rc == SWARM_ENOMEM ? "out of memory" : strerror(errno_of(current));
        if (strstr(d.msg, cause) == NULL) print_error("no '%s' in '%s'\n", cause, d.msg);
        assert_non_null(strstr(d.msg, cause));
        /* the model's or the tokenizer's (next to it when not given) */
        const char *slash = strrchr(c->mp.path, '/');
        size_t dir = slash ? (size_t)(slash - c->mp.path) : 0;
        bool named = strncmp(d.msg, c->mp.path, strlen(c->mp.path)) == 0 ||
                     (c->mp.tokenizer_path &&
                      strncmp(d.msg, c->mp.tokenizer_path, strlen(c->mp.tokenizer_path)) == 0) ||
                     (!c->mp.tokenizer_path && strncmp(d.msg, c->mp.path, dir) == 0);
        if (!named) print_error("message names no file: '%s'\n", d.msg);
        assert_true(named);
    }
    return rc;
}

static void test_oom_model_load_both_formats(void **st)
{
    (void)st;
    char g[512], b[512], t[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    REQUIRE_SHARED(b, "models/stories260K.bin");
    REQUIRE_SHARED(t, "models/tok512.bin");
    load_ctx c = {.mp = swarm_model_params_default()};
    c.mp.path = g;
    assert_true(sweep("swarm_model_load gguf", try_load, &c) > 10);
    c.mp.path = b;
    c.mp.tokenizer_path = t;
    assert_true(sweep("swarm_model_load llama2c", try_load, &c) > 5);
    c.mp.tokenizer_path = NULL; /* the default tokenizer next to the model */
    sweep("swarm_model_load llama2c default tok", try_load, &c);
}

static void test_io_faults_model_load(void **st)
{
    (void)st;
    char g[512], b[512], t[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    REQUIRE_SHARED(b, "models/stories260K.bin");
    REQUIRE_SHARED(t, "models/tok512.bin");
    load_ctx c = {.mp = swarm_model_params_default()};
    c.mp.path = g;
    assert_true(sweep_fault(&EIO_FAULT, "swarm_model_load gguf", try_load, &c) >= 3);
    c.mp.path = b;
    c.mp.tokenizer_path = t;
    assert_true(sweep_fault(&EIO_FAULT, "swarm_model_load llama2c", try_load, &c) >= 5);
    sweep_fault(&ENOSPC_FAULT, "swarm_model_load llama2c", try_load, &c);
}

/* ------------------------------------------------------------------------ */
/* sessions, generation, scoring, tokenizing                                */

typedef struct sess_ctx {
    swarm_model *m;
    swarm_session *s;
    swarm_gen_params gp;
    const char *context, *continuation;
} sess_ctx;

static swarm_model *load(const char *path, const char *tok)
{
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    mp.tokenizer_path = tok;
    swarm_model *m = NULL;
    CHECK_OK(swarm_model_load(&mp, &m, NULL));
    return m;
}

static swarm_err try_session(void *ctx, bool *untouched)
{
    sess_ctx *c = ctx;
    swarm_session_params sp = {.n_ctx = 0, .n_threads = 2};
    swarm_session *s = OUT_PTR;
    swarm_err rc = swarm_session_create(c->m, &sp, &s);
    if (rc == SWARM_OK)
        swarm_session_destroy(s);
    else
        *untouched = s == OUT_PTR;
    return rc;
}

static swarm_err try_generate(void *ctx, bool *untouched)
{
    sess_ctx *c = ctx;
    swarm_gen_result *r = OUT_PTR;
    swarm_err rc = swarm_generate(c->s, &c->gp, &r);
    if (rc == SWARM_OK)
        swarm_gen_result_destroy(r);
    else
        *untouched = r == OUT_PTR;
    return rc;
}

static swarm_err try_score(void *ctx, bool *untouched)
{
    sess_ctx *c = ctx;
    double lp = OUT_NUM;
    int32_t n = -7;
    swarm_err rc = swarm_score(c->s, c->context, c->continuation, &lp, &n);
    if (rc != SWARM_OK) *untouched = lp == OUT_NUM && n == -7;
    return rc;
}

static swarm_err try_tokenize(void *ctx, bool *untouched)
{
    sess_ctx *c = ctx;
    int32_t *ids = OUT_PTR;
    size_t n = 99;
    swarm_err rc = swarm_model_tokenize(c->m, c->context, &ids, &n);
    if (rc == SWARM_OK)
        swarm_free(ids);
    else
        *untouched = ids == OUT_PTR && n == 99;
    return rc;
}

static void sweep_sessions(const char *tag, swarm_model *m)
{
    char name[96];
    sess_ctx c = {.m = m, .context = "Once upon a time, there was a little girl",
                  .continuation = " named Lily. She liked to play."};
    snprintf(name, sizeof(name), "swarm_session_create %s", tag);
    sweep(name, try_session, &c);

    swarm_session_params sp = {.n_ctx = 0, .n_threads = 2};
    CHECK_OK(swarm_session_create(m, &sp, &c.s));
    c.gp = (swarm_gen_params){.prompt = "Once upon a time", .steps = 24};
    c.gp.sampling = swarm_sampling_default();
    snprintf(name, sizeof(name), "swarm_generate %s", tag);
    sweep(name, try_generate, &c);
    /* chat messages go through the template renderer first */
    swarm_chat_msg msgs[] = {{"system", "You tell stories."}, {"user", "A story, please."}};
    c.gp = (swarm_gen_params){.chat = msgs, .n_chat = 2, .max_tokens = 8};
    c.gp.sampling = swarm_sampling_default();
    c.gp.sampling.top_k = 5;
    snprintf(name, sizeof(name), "swarm_generate chat %s", tag);
    sweep(name, try_generate, &c);
    snprintf(name, sizeof(name), "swarm_score %s", tag);
    sweep(name, try_score, &c);
    c.continuation = ""; /* the empty continuation path */
    snprintf(name, sizeof(name), "swarm_score empty %s", tag);
    sweep(name, try_score, &c);
    snprintf(name, sizeof(name), "swarm_model_tokenize %s", tag);
    sweep(name, try_tokenize, &c);
    swarm_session_destroy(c.s);
}

static void test_oom_sessions_generate_score(void **st)
{
    (void)st;
    char g[512], b[512], t[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    REQUIRE_SHARED(b, "models/stories260K.bin");
    REQUIRE_SHARED(t, "models/tok512.bin");
    swarm_model *m = load(g, NULL);
    sweep_sessions("gguf", m);
    swarm_model_destroy(m);
    m = load(b, t);
    sweep_sessions("llama2c", m);
    swarm_model_destroy(m);
}

/* ------------------------------------------------------------------------ */
/* tokenizers from GGUF (every shared vocabulary) and chat rendering        */

typedef struct tok_ctx {
    sw_gguf g;
    const char *text;
} tok_ctx;

static swarm_err try_tokenizer(void *ctx, bool *untouched)
{
    tok_ctx *c = ctx;
    sw_tokenizer *t = OUT_PTR;
    swarm_diag d = {{0}};
    swarm_err rc = sw_tokenizer_from_gguf(&c->g, &t, &d);
    if (rc != SWARM_OK) {
        *untouched = t == OUT_PTR;
        return rc;
    }
    /* encoding allocates too: swept in the same attempt */
    int32_t *ids = NULL;
    size_t n = 0;
    rc = sw_tokenizer_encode(t, c->text, strlen(c->text), true, false, true, &ids, &n);
    if (rc == SWARM_OK) sw_free(ids);
    sw_tokenizer_destroy(t);
    return rc;
}

static void test_oom_tokenizers_from_gguf(void **st)
{
    (void)st;
    static const char *files[] = {"models/stories260K.gguf",
                                  "models/vocab/ggml-vocab-llama-spm.gguf",
                                  "models/vocab/ggml-vocab-gpt-2.gguf",
                                  "models/vocab/ggml-vocab-starcoder.gguf",
                                  "models/vocab/ggml-vocab-falcon.gguf",
                                  "models/vocab/ggml-vocab-deepseek-coder.gguf",
                                  "models/vocab/ggml-vocab-deepseek-llm.gguf",
                                  "models/vocab/ggml-vocab-phi-3.gguf"};
    char probe[512];
    REQUIRE_SHARED(probe, "models/stories260K.gguf");
    int done = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[512];
        if (shared_path(path, sizeof(path), files[i]) == NULL || access(path, R_OK) != 0)
            continue; /* not every vocabulary is shared */
        tok_ctx c = {.text = "Hello world! 123 <|endoftext|> \xe2\x96\x81" "caf\xc3\xa9\n\tok"};
        swarm_diag d = {{0}};
        CHECK_OK(sw_gguf_open(path, &c.g, &d));
        char name[96];
        const char *base = strrchr(files[i], '/') + 1;
        snprintf(name, sizeof(name), "sw_tokenizer_from_gguf %.50s", base);
        sweep(name, try_tokenizer, &c);
        sw_gguf_close(&c.g);
        done++;
    }
    assert_true(done >= 3);
}

typedef struct chat_ctx {
    enum sw_chat_template t;
} chat_ctx;

static swarm_err try_chat(void *ctx, bool *untouched)
{
    chat_ctx *c = ctx;
    swarm_chat_msg msgs[] = {{"system", " Be brief. "},
                             {"user", "Hi"},
                             {"assistant", "Hello!"},
                             {"user", "Tell me more about the weather in some detail"}};
    char *out = OUT_PTR;
    swarm_err rc = sw_chat_render(c->t, msgs, 4, &out);
    if (rc == SWARM_OK)
        sw_free(out);
    else
        *untouched = out == OUT_PTR;
    return rc;
}

static void test_oom_chat_render(void **st)
{
    (void)st;
    for (int t = 0; t < SW_CHAT_TEMPLATE_COUNT; t++) {
        chat_ctx c = {(enum sw_chat_template)t};
        char name[64];
        snprintf(name, sizeof(name), "sw_chat_render template %d", t);
        sweep(name, try_chat, &c);
    }
}

/* ------------------------------------------------------------------------ */
/* the GGUF writer                                                          */

typedef struct writer_ctx {
    char path[128];
    const sw_gguf *copy_from; /* keys copied with sw_gguf_writer_set_kv */
} writer_ctx;

static swarm_err try_writer(void *ctx, bool *untouched)
{
    writer_ctx *c = ctx;
    sw_gguf_writer *w = OUT_PTR;
    swarm_err rc = sw_gguf_writer_create(&w);
    if (rc != SWARM_OK) {
        *untouched = w == OUT_PTR;
        return rc;
    }
    static const char *const strs[] = {"a", "bc", "", "def"};
    static const size_t lens[] = {1, 2, 0, 3};
    static const float fs[] = {1.0f, -2.5f, 3.25f};
    static const int32_t is[] = {7, -8, 9, 10};
    float data[4 * 256];
    for (int i = 0; i < 4 * 256; i++) data[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    int64_t ne2[2] = {256, 4}, ne1[1] = {256};
    static const uint32_t types[] = {SW_TYPE_F32, SW_TYPE_F16,  SW_TYPE_BF16, SW_TYPE_Q8_0,
                                     SW_TYPE_Q4_0, SW_TYPE_Q4_K, SW_TYPE_Q6_K};
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_str(w, "general.architecture", "llama");
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_u32(w, "general.alignment", 64);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_i32(w, "x.i32", -3);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_f32(w, "x.f32", 0.5f);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_bool(w, "x.bool", true);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_str(w, "x.str", "twice");
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_str(w, "x.str", "replaced");
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_arr_str(w, "x.astr", strs, lens, 4);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_arr_f32(w, "x.af32", fs, 3);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_arr_i32(w, "x.ai32", is, 4);
    for (uint32_t i = 0; c->copy_from != NULL && rc == SWARM_OK && i < c->copy_from->n_kv; i++)
        rc = sw_gguf_writer_set_kv(w, &c->copy_from->kv[i]);
    for (size_t i = 0; rc == SWARM_OK && i < sizeof(types) / sizeof(types[0]); i++) {
        char tname[32];
        snprintf(tname, sizeof(tname), "t.%zu", i);
        rc = sw_gguf_writer_add_tensor(w, tname, 2, ne2, types[i], data);
    }
    if (rc == SWARM_OK) rc = sw_gguf_writer_add_tensor(w, "norm", 1, ne1, SW_TYPE_F32, data);
    swarm_diag d = {{0}};
    if (rc == SWARM_OK) rc = sw_gguf_writer_write(w, c->path, &d);
    sw_gguf_writer_destroy(w);
    if (rc != SWARM_OK) {
        /* a failed write leaves neither the target nor its temporary, and
         * its message names the file */
        char tmp[160];
        snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
        *untouched = access(c->path, F_OK) != 0 && access(tmp, F_OK) != 0 &&
                     (rc != SWARM_ESYS || strstr(d.msg, c->path) != NULL);
        return rc;
    }
    sw_gguf g;
    rc = sw_gguf_open(c->path, &g, &d); /* what was written parses */
    if (rc == SWARM_OK) sw_gguf_close(&g);
    unlink(c->path);
    return rc;
}

static void test_oom_gguf_writer(void **st)
{
    (void)st;
    writer_ctx c = {.copy_from = NULL};
    snprintf(c.path, sizeof(c.path), "/tmp/swarm_oom_writer_%d.gguf", (int)getpid());
    unlink(c.path);
    sweep("sw_gguf_writer (every value and tensor type)", try_writer, &c);
    char g[512];
    if (shared_path(g, sizeof(g), "models/stories260K.gguf") != NULL) {
        sw_gguf src;
        swarm_diag d = {{0}};
        CHECK_OK(sw_gguf_open(g, &src, &d));
        c.copy_from = &src; /* every key of a real file, copied */
        sweep("sw_gguf_writer copying stories260K keys", try_writer, &c);
        sw_gguf_close(&src);
        c.copy_from = NULL;
    }
    /* every open, write, fsync, close and rename failing in turn */
    sweep_fault(&EIO_FAULT, "sw_gguf_writer_write", try_writer, &c);
    sweep_fault(&ENOSPC_FAULT, "sw_gguf_writer_write", try_writer, &c);
    unlink(c.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_model_load_both_formats),
        cmocka_unit_test(test_io_faults_model_load),
        cmocka_unit_test(test_oom_sessions_generate_score),
        cmocka_unit_test(test_oom_tokenizers_from_gguf),
        cmocka_unit_test(test_oom_chat_render),
        cmocka_unit_test(test_oom_gguf_writer),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
