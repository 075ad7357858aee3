/*
 * engine_api_test.c: the public engine API (engine.h) under hostile
 * arguments: NULLs, contexts larger than the model's, steps and max_tokens
 * beyond the context, prompts longer than it, NaN and out-of-range sampling
 * settings, scoring edge cases, and model paths that are directories,
 * devices, FIFOs or truncated copies of a real file. Every case must be
 * SWARM_EINVAL (or the documented error) with the outputs untouched, or a
 * bounded success; never a crash, a hang or a huge allocation. Also: one
 * model shared by sessions on several threads gives what each gives alone.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/core_int.h"
#include "engine/engine_int.h"
#include "swarm/engine.h"

#define OUT_PTR ((void *)(uintptr_t)0x5eed)

static swarm_model *load(const char *path, const char *tok)
{
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    mp.tokenizer_path = tok;
    swarm_model *m = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&mp, &m, &d);
    if (rc != SWARM_OK) print_error("%s: %s\n", swarm_err_name(rc), d.msg);
    assert_int_equal(rc, SWARM_OK);
    return m;
}

/* The group's model (stories260K.gguf), loaded once; tests skip without it. */
static int load_group_model(void **state)
{
    char g[512];
    *state = shared_path(g, sizeof(g), "models/stories260K.gguf") ? load(g, NULL) : NULL;
    return 0;
}

static int free_group_model(void **state)
{
    swarm_model_destroy(*state);
    return 0;
}

static swarm_model *group_model(void **state)
{
    if (*state == NULL) {
        if (check_under_ci()) fail_msg("../shared/models/stories260K.gguf missing under CI");
        CHECK_SKIP("../shared/models/stories260K.gguf missing");
    }
    return *state;
}

static swarm_session *session(swarm_model *m, int32_t n_ctx)
{
    swarm_session_params sp = {.n_ctx = n_ctx, .n_threads = 1};
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s));
    return s;
}

/* swarm_generate must refuse p with want and leave *out alone. */
static void expect_gen_err(swarm_session *s, const swarm_gen_params *p, swarm_err want,
                           const char *what)
{
    swarm_gen_result *r = OUT_PTR;
    swarm_err rc = swarm_generate(s, p, &r);
    if (rc != want)
        print_error("%s: %s, want %s\n", what, swarm_err_name(rc), swarm_err_name(want));
    assert_int_equal(rc, want);
    assert_ptr_equal(r, OUT_PTR);
}

static void expect_gen_einval(swarm_session *s, const swarm_gen_params *p, const char *what)
{
    expect_gen_err(s, p, SWARM_EINVAL, what);
}

static swarm_gen_result *gen_ok(swarm_session *s, const swarm_gen_params *p)
{
    swarm_gen_result *r = NULL;
    CHECK_OK(swarm_generate(s, p, &r));
    assert_non_null(r);
    assert_true(r->n_tokens >= r->n_prompt && r->n_prompt >= 1);
    assert_int_equal(strlen(r->text), r->text_len);
    return r;
}

static swarm_gen_params greedy(const char *prompt)
{
    swarm_gen_params gp = {.prompt = prompt};
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = 0.0f;
    return gp;
}

/* ------------------------------------------------------------------------ */

static void test_api_null_arguments(void **st)
{
    swarm_model *out = OUT_PTR;
    swarm_diag d = {{0}};
    CHECK_ERR(swarm_model_load(NULL, &out, &d), SWARM_EINVAL);
    assert_true(d.msg[0] != '\0');
    swarm_model_params mp = swarm_model_params_default();
    CHECK_ERR(swarm_model_load(&mp, &out, NULL), SWARM_EINVAL); /* no path */
    assert_ptr_equal(out, OUT_PTR);
    swarm_model_destroy(NULL);
    assert_null(swarm_model_get_info(NULL));
    assert_int_equal(swarm_model_token_text(NULL, -1, 5, NULL, 0), 0);
    int32_t *ids = OUT_PTR;
    size_t n = 3;
    CHECK_ERR(swarm_model_tokenize(NULL, "x", &ids, &n), SWARM_EINVAL);
    swarm_session *s = OUT_PTR;
    CHECK_ERR(swarm_session_create(NULL, NULL, &s), SWARM_EINVAL);
    assert_ptr_equal(s, OUT_PTR);
    swarm_session_destroy(NULL);
    assert_null(swarm_session_logits(NULL, NULL));
    swarm_gen_params gp = greedy("x");
    swarm_gen_result *r = OUT_PTR;
    CHECK_ERR(swarm_generate(NULL, &gp, &r), SWARM_EINVAL);
    assert_ptr_equal(r, OUT_PTR);
    swarm_gen_result_destroy(NULL);
    double lp = 7.0;
    CHECK_ERR(swarm_score(NULL, "a", "b", &lp, NULL), SWARM_EINVAL);
    assert_true(lp == 7.0);

    swarm_model *m = group_model(st);
    CHECK_ERR(swarm_model_tokenize(m, NULL, &ids, &n), SWARM_EINVAL);
    CHECK_ERR(swarm_model_tokenize(m, "x", NULL, &n), SWARM_EINVAL);
    assert_ptr_equal(ids, OUT_PTR);
    CHECK_ERR(swarm_session_create(m, NULL, NULL), SWARM_EINVAL);
    s = session(m, 32);
    CHECK_ERR(swarm_generate(s, NULL, &r), SWARM_EINVAL);
    CHECK_ERR(swarm_generate(s, &gp, NULL), SWARM_EINVAL);
    assert_ptr_equal(r, OUT_PTR);
    CHECK_ERR(swarm_score(s, NULL, "b", &lp, NULL), SWARM_EINVAL);
    CHECK_ERR(swarm_score(s, "a", NULL, &lp, NULL), SWARM_EINVAL);
    CHECK_ERR(swarm_score(s, "a", "b", NULL, NULL), SWARM_EINVAL);
    assert_true(lp == 7.0);
    /* out-of-range ids print nothing */
    char buf[16];
    const swarm_model_info *in = swarm_model_get_info(m);
    int32_t bad[] = {-1, -1000, in->n_vocab, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(swarm_model_token_text(m, -1, bad[i], buf, sizeof(buf)), 0);
        (void)swarm_model_token_text(m, bad[i], 100, buf, sizeof(buf)); /* any prev is fine */
    }
    assert_true(swarm_model_token_text(m, -1, 100, NULL, 0) > 0); /* length only */
    swarm_session_destroy(s);
}

static int piece_is_string(void *ud, int32_t id, const char *piece, size_t len)
{
    (void)id;
    int *bad = ud;
    if (piece == NULL || piece[len] != '\0' || strlen(piece) > len) (*bad)++;
    return 0;
}

static void test_api_callback_pieces_are_strings(void **st)
{
    swarm_model *m = group_model(st);
    swarm_session *s = session(m, 64);
    int bad = 0;
    swarm_gen_params gp = greedy("Once upon a time");
    gp.steps = 60;
    gp.on_token = piece_is_string;
    gp.ud = &bad;
    swarm_gen_result *r = gen_ok(s, &gp);
    assert_true(r->n_tokens > r->n_prompt);
    assert_int_equal(bad, 0);
    swarm_gen_result_destroy(r);
    swarm_session_destroy(s);
}

static void test_api_session_limits(void **st)
{
    swarm_model *m = group_model(st);
    const swarm_model_info *in = swarm_model_get_info(m);
    assert_true(in->n_ctx_train >= 16 && in->n_ctx_train < (1 << 20));
    int32_t bad_ctx[] = {-1, INT32_MIN, in->n_ctx_train + 1, 1 << 20, (1 << 20) + 1, INT32_MAX};
    for (size_t i = 0; i < sizeof(bad_ctx) / sizeof(bad_ctx[0]); i++) {
        swarm_session_params sp = {.n_ctx = bad_ctx[i], .n_threads = 1};
        swarm_session *s = OUT_PTR;
        CHECK_ERR(swarm_session_create(m, &sp, &s), SWARM_EINVAL);
        assert_ptr_equal(s, OUT_PTR);
    }
    int32_t bad_threads[] = {-1, INT32_MIN, 1025, INT32_MAX};
    for (size_t i = 0; i < sizeof(bad_threads) / sizeof(bad_threads[0]); i++) {
        swarm_session_params sp = {.n_ctx = 16, .n_threads = bad_threads[i]};
        swarm_session *s = OUT_PTR;
        CHECK_ERR(swarm_session_create(m, &sp, &s), SWARM_EINVAL);
        assert_ptr_equal(s, OUT_PTR);
    }
    /* the model's own context and the smallest one work */
    swarm_session *s = session(m, in->n_ctx_train);
    swarm_session_destroy(s);
    s = session(m, 1);
    swarm_gen_params gp = greedy(NULL);
    /* BOS alone fills it; as in run.c the token sampled from its logits is
     * still produced (steps counts evaluated positions) */
    swarm_gen_result *r = gen_ok(s, &gp);
    assert_true(r->n_tokens <= 2);
    swarm_gen_result_destroy(r);
    swarm_session_destroy(s);
}

static void test_api_steps_and_max_tokens_clamped(void **st)
{
    swarm_model *m = group_model(st);
    swarm_session *s = session(m, 16);
    swarm_gen_params gp = greedy("Once upon a time");
    int32_t steps[] = {17, 1000, INT32_MAX};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        gp.steps = steps[i];
        swarm_gen_result *r = gen_ok(s, &gp);
        assert_true(r->n_tokens <= 16 + 1); /* 16 positions evaluated, the last one sampled */
        swarm_gen_result_destroy(r);
    }
    gp.steps = 0;
    int32_t maxes[] = {1, 100, INT32_MAX, 0};
    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        gp.max_tokens = maxes[i];
        swarm_gen_result *r = gen_ok(s, &gp);
        assert_true(r->n_tokens <= 16 + 1);
        if (maxes[i] == 1) assert_true(r->n_tokens - r->n_prompt <= 1);
        swarm_gen_result_destroy(r);
    }
    /* steps shorter than the prompt: the prompt is evaluated, nothing generated */
    gp.steps = 2;
    swarm_gen_result *r = gen_ok(s, &gp);
    assert_int_equal(r->n_tokens, r->n_prompt);
    assert_int_equal(r->text_len, 0);
    swarm_gen_result_destroy(r);
    gp.steps = -1;
    expect_gen_einval(s, &gp, "steps -1");
    gp.steps = INT32_MIN;
    expect_gen_einval(s, &gp, "steps INT32_MIN");
    gp.steps = 0;
    gp.max_tokens = -1;
    expect_gen_einval(s, &gp, "max_tokens -1");
    swarm_session_destroy(s);
}

static void test_api_prompts(void **st)
{
    swarm_model *m = group_model(st);
    swarm_session *s = session(m, 16);
    /* NULL and "" are the same: BOS alone */
    swarm_gen_params gp = greedy(NULL);
    gp.steps = 10;
    swarm_gen_result *a = gen_ok(s, &gp);
    gp.prompt = "";
    swarm_gen_result *b = gen_ok(s, &gp);
    assert_int_equal(a->n_prompt, 1);
    assert_int_equal(a->n_tokens, b->n_tokens);
    assert_memory_equal(a->tokens, b->tokens, a->n_tokens * sizeof(int32_t));
    assert_string_equal(a->text, b->text);
    swarm_gen_result_destroy(a);
    swarm_gen_result_destroy(b);
    /* a prompt longer than the context */
    char long_prompt[2000];
    memset(long_prompt, 0, sizeof(long_prompt));
    for (size_t i = 0; i + 12 < sizeof(long_prompt); i += 11) memcpy(long_prompt + i, "Lily and a ", 11);
    gp.prompt = long_prompt;
    expect_gen_err(s, &gp, SWARM_ETOOLONG, "prompt longer than the context");
    /* control bytes, invalid UTF-8 and a lone NUL-free odd byte run */
    gp.prompt = "\x01\x02\xff\xfe\xc3(\xe2\x82 \x7f\t\n";
    swarm_gen_result *r = gen_ok(s, &gp);
    swarm_gen_result_destroy(r);
    /* chat messages with a missing field */
    swarm_chat_msg bad[] = {{"user", NULL}};
    gp = greedy(NULL);
    gp.chat = bad;
    gp.n_chat = 1;
    expect_gen_einval(s, &gp, "chat message without content");
    bad[0] = (swarm_chat_msg){NULL, "hi"};
    expect_gen_einval(s, &gp, "chat message without role");
    swarm_session_destroy(s);
}

static void test_api_bad_sampling(void **st)
{
    swarm_model *m = group_model(st);
    swarm_session *s = session(m, 16);
    swarm_gen_params gp = greedy("Once");
    gp.steps = 8;
    const float bad_temp[] = {NAN, -NAN, -1.0f, -0.0001f, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof(bad_temp) / sizeof(bad_temp[0]); i++) {
        gp.sampling = swarm_sampling_default();
        gp.sampling.temperature = bad_temp[i];
        expect_gen_einval(s, &gp, "temperature");
    }
    const float bad_p[] = {NAN, 0.0f, -0.0f, -0.5f, 1.0001f, 2.0f, INFINITY};
    for (size_t i = 0; i < sizeof(bad_p) / sizeof(bad_p[0]); i++) {
        gp.sampling = swarm_sampling_default();
        gp.sampling.top_p = bad_p[i];
        expect_gen_einval(s, &gp, "top_p");
        gp.sampling = swarm_sampling_default();
        gp.sampling.min_p = i == 1 || i == 2 ? NAN : bad_p[i]; /* 0 is min_p's "off" */
        expect_gen_einval(s, &gp, "min_p");
    }
    gp.sampling = swarm_sampling_default();
    gp.sampling.top_k = -1;
    expect_gen_einval(s, &gp, "top_k -1");
    /* extreme but valid settings give a bounded, ordinary result */
    swarm_sampling ok[] = {
        {.temperature = 1e-30f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 1},
        {.temperature = 1e30f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 2},
        {.temperature = 100.0f, .top_k = INT32_MAX, .top_p = 1e-9f, .min_p = 1.0f, .seed = 3},
        {.temperature = 1.0f, .top_k = 1, .top_p = 1.0f, .min_p = 0.0f, .seed = UINT64_MAX},
        {.temperature = 1e-20f, .top_k = 3, .top_p = 0.5f, .min_p = 0.5f, .seed = 0},
        /* 1/T overflows float: must still be the greedy choice, not garbage */
        {.temperature = 1e-45f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 4},
        {.temperature = 1e-45f, .top_k = 0, .top_p = 0.9f, .min_p = 0.0f, .seed = 5},
    };
    const swarm_model_info *in = swarm_model_get_info(m);
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = 0.0f;
    swarm_gen_result *g = gen_ok(s, &gp);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        gp.sampling = ok[i];
        swarm_gen_result *r = gen_ok(s, &gp);
        for (size_t t = 0; t < r->n_tokens; t++)
            assert_true(r->tokens[t] >= 0 && r->tokens[t] < in->n_vocab);
        if (ok[i].temperature < 1e-40f) { /* the same tokens as greedy */
            assert_int_equal(r->n_tokens, g->n_tokens);
            assert_memory_equal(r->tokens, g->tokens, g->n_tokens * sizeof(int32_t));
        }
        swarm_gen_result_destroy(r);
    }
    swarm_gen_result_destroy(g);
    swarm_session_destroy(s);
}

static void test_api_score_edges(void **st)
{
    swarm_model *m = group_model(st);
    swarm_session *s = session(m, 16);
    double lp = -1.0;
    int32_t n = -1;
    CHECK_OK(swarm_score(s, "Once upon a time", "", &lp, &n));
    assert_true(lp == 0.0);
    assert_int_equal(n, 0);
    CHECK_OK(swarm_score(s, "", "Once", &lp, &n)); /* from BOS alone */
    assert_true(lp < 0.0 && isfinite(lp));
    assert_true(n >= 1);
    CHECK_OK(swarm_score(s, "", "", &lp, NULL));
    assert_true(lp == 0.0);
    /* more tokens than the context: refused, outputs untouched */
    char big[400];
    memset(big, 0, sizeof(big));
    for (size_t i = 0; i + 6 < sizeof(big); i += 5) memcpy(big + i, " dog.", 5);
    lp = 5.0;
    n = 99;
    CHECK_ERR(swarm_score(s, "Once", big, &lp, &n), SWARM_ETOOLONG);
    CHECK_ERR(swarm_score(s, big, "x", &lp, &n), SWARM_ETOOLONG);
    assert_true(lp == 5.0);
    assert_int_equal(n, 99);
    /* the session still works after refusals */
    CHECK_OK(swarm_score(s, "Once", " upon", &lp, &n));
    assert_true(lp < 0.0 && n >= 1);
    swarm_session_destroy(s);
}

/* ------------------------------------------------------------------------ */
/* model paths that are not model files                                     */

static void expect_load_error(const char *path, const char *tok, swarm_err want,
                              const char *needle)
{
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    mp.tokenizer_path = tok;
    swarm_model *m = OUT_PTR;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&mp, &m, &d);
    if (rc != want || (needle != NULL && strstr(d.msg, needle) == NULL))
        print_error("%s: %s '%s', want %s '%s'\n", path, swarm_err_name(rc), d.msg,
                    swarm_err_name(want), needle ? needle : "");
    assert_int_equal(rc, want);
    assert_ptr_equal(m, OUT_PTR);
    if (needle != NULL) assert_non_null(strstr(d.msg, needle));
}

static void test_api_model_paths(void **st)
{
    (void)st;
    char dir[64], fifo[96], empty[96], tok[512], bin[512];
    snprintf(dir, sizeof(dir), "/tmp/swarm_api_%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    expect_load_error(dir, NULL, SWARM_EINVAL, "is a directory");
    expect_load_error("/dev/null", NULL, SWARM_EINVAL, "not a regular file");
    expect_load_error("/dev/zero", NULL, SWARM_EINVAL, "not a regular file");
    snprintf(fifo, sizeof(fifo), "%s/m.gguf", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0); /* no writer: must not block */
    expect_load_error(fifo, NULL, SWARM_EINVAL, "not a regular file");
    snprintf(empty, sizeof(empty), "%s/empty.bin", dir);
    int fd = open(empty, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    expect_load_error(empty, "/dev/null", SWARM_EFORMAT, "empty.bin");
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/missing.gguf", dir);
    expect_load_error(missing, NULL, SWARM_ENOTFOUND, "missing.gguf");
    if (shared_path(bin, sizeof(bin), "models/stories260K.bin") != NULL &&
        shared_path(tok, sizeof(tok), "models/tok512.bin") != NULL) {
        /* tokenizers that are not files, or endless */
        expect_load_error(bin, dir, SWARM_EINVAL, "is a directory");
        expect_load_error(bin, "/dev/zero", SWARM_EINVAL, "not a regular file");
        expect_load_error(bin, "/dev/null", SWARM_EINVAL, "not a regular file");
        expect_load_error(bin, fifo, SWARM_EFORMAT, "m.gguf"); /* empty pipe: no header */
    }
    unlink(fifo);
    unlink(empty);
    rmdir(dir);
}

/* stories260K.gguf rewritten to claim a context of 2^32-1 positions: it
 * loads (the claim is clamped to INT32_MAX), the default session stays at
 * 2048 positions, and only sessions up to the engine's 2^20 are created. */
static void test_api_absurd_context_length(void **st)
{
    (void)st;
    char g[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    sw_gguf src;
    swarm_diag d = {{0}};
    CHECK_OK(sw_gguf_open(g, &src, &d));
    sw_gguf_writer *w = NULL;
    CHECK_OK(sw_gguf_writer_create(&w));
    for (uint64_t i = 0; i < src.n_kv; i++)
        CHECK_OK(sw_gguf_writer_set_kv(w, &src.kv[i]));
    CHECK_OK(sw_gguf_writer_set_u32(w, "llama.context_length", UINT32_MAX)); /* replaces it */
    for (uint64_t i = 0; i < src.n_tensors; i++) {
        const sw_gguf_tensor *t = &src.tensors[i];
        assert_int_equal(t->type, SW_TYPE_F32);
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)t->name.len, t->name.ptr);
        CHECK_OK(sw_gguf_writer_add_tensor(w, name, t->n_dims, t->ne, SW_TYPE_F32, t->data));
    }
    char path[96];
    snprintf(path, sizeof(path), "/tmp/swarm_api_ctx_%d.gguf", (int)getpid());
    CHECK_OK(sw_gguf_writer_write(w, path, &d));
    sw_gguf_writer_destroy(w);
    sw_gguf_close(&src);

    swarm_model *m = load(path, NULL);
    assert_int_equal(swarm_model_get_info(m)->n_ctx_train, INT32_MAX);
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, NULL, &s));
    swarm_gen_params gp = greedy("Once upon a time");
    gp.max_tokens = 8;
    swarm_gen_result *r = gen_ok(s, &gp);
    assert_true(r->n_tokens > r->n_prompt);
    swarm_gen_result_destroy(r);
    swarm_session_destroy(s);
    int32_t too_big[] = {(1 << 20) + 1, INT32_MAX};
    for (size_t i = 0; i < 2; i++) {
        swarm_session_params sp = {.n_ctx = too_big[i], .n_threads = 1};
        s = OUT_PTR;
        CHECK_ERR(swarm_session_create(m, &sp, &s), SWARM_EINVAL);
        assert_ptr_equal(s, OUT_PTR);
    }
    swarm_model_destroy(m);
    unlink(path);
}

/* Copies of stories260K.gguf cut at many lengths: every one is refused
 * with a message naming the file. */
static void test_api_truncated_gguf(void **st)
{
    (void)st;
    char g[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(sw_read_file(g, &data, &len, NULL));
    char path[96];
    snprintf(path, sizeof(path), "/tmp/swarm_api_trunc_%d.gguf", (int)getpid());
    /* every length up to 64, then growing steps, then the last bytes */
    size_t cuts[400];
    int n_cuts = 0;
    for (size_t cut = 0; cut < len && n_cuts < 360; cut = cut < 64 ? cut + 1 : cut + cut / 7 + 1)
        cuts[n_cuts++] = cut;
    for (size_t k = 1; k <= 33 && k < len; k += 8) cuts[n_cuts++] = len - k;
    int tried = 0;
    for (int i = 0; i < n_cuts; i++) {
        size_t cut = cuts[i];
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, cut, f), cut);
        fclose(f);
        swarm_model_params mp = swarm_model_params_default();
        mp.path = path;
        swarm_model *m = OUT_PTR;
        swarm_diag d = {{0}};
        swarm_err rc = swarm_model_load(&mp, &m, &d);
        if (rc != SWARM_EFORMAT) print_error("cut at %zu: %s %s\n", cut, swarm_err_name(rc), d.msg);
        assert_int_equal(rc, SWARM_EFORMAT);
        assert_ptr_equal(m, OUT_PTR);
        assert_memory_equal(d.msg, path, strlen(path));
        tried++;
    }
    unlink(path);
    sw_free(data);
    assert_true(tried > 100);
}

/* ------------------------------------------------------------------------ */
/* one model, many threads (the contract in engine.h; run under TSan)       */

typedef struct worker {
    swarm_model *m;
    int seed;
    swarm_err rc;
    int32_t tokens[64];
    size_t n_tokens;
    double lp;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    swarm_session_params sp = {.n_ctx = 64, .n_threads = 2};
    swarm_session *s = NULL;
    if ((w->rc = swarm_session_create(w->m, &sp, &s)) != SWARM_OK) return NULL;
    swarm_gen_params gp = {.prompt = "Once upon a time", .steps = 40};
    gp.sampling = swarm_sampling_default();
    gp.sampling.seed = (uint64_t)w->seed;
    gp.sampling.top_k = 20;
    swarm_gen_result *r = NULL;
    if ((w->rc = swarm_generate(s, &gp, &r)) == SWARM_OK) {
        w->n_tokens = r->n_tokens < 64 ? r->n_tokens : 64;
        memcpy(w->tokens, r->tokens, w->n_tokens * sizeof(int32_t));
        swarm_gen_result_destroy(r);
        w->rc = swarm_score(s, "Lily had a red ball.", " She liked it.", &w->lp, NULL);
    }
    swarm_session_destroy(s);
    return NULL;
}

static void test_api_shared_model_threads(void **st)
{
    swarm_model *m = group_model(st);
    enum { N = 4 };
    worker alone[N], together[N];
    for (int i = 0; i < N; i++) {
        alone[i] = (worker){.m = m, .seed = 100 + i % 2};
        work(&alone[i]);
        CHECK_OK(alone[i].rc);
        together[i] = (worker){.m = m, .seed = 100 + i % 2};
    }
    pthread_t th[N];
    for (int i = 0; i < N; i++) assert_int_equal(pthread_create(&th[i], NULL, work, &together[i]), 0);
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) { /* the same as one at a time */
        CHECK_OK(together[i].rc);
        assert_int_equal(together[i].n_tokens, alone[i].n_tokens);
        assert_memory_equal(together[i].tokens, alone[i].tokens,
                            alone[i].n_tokens * sizeof(int32_t));
        assert_true(together[i].lp == alone[i].lp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_null_arguments),
        cmocka_unit_test(test_api_session_limits),
        cmocka_unit_test(test_api_callback_pieces_are_strings),
        cmocka_unit_test(test_api_steps_and_max_tokens_clamped),
        cmocka_unit_test(test_api_prompts),
        cmocka_unit_test(test_api_bad_sampling),
        cmocka_unit_test(test_api_score_edges),
        cmocka_unit_test(test_api_model_paths),
        cmocka_unit_test(test_api_truncated_gguf),
        cmocka_unit_test(test_api_absurd_context_length),
        cmocka_unit_test(test_api_shared_model_threads),
    };
    return CHECK_RUN(tests, load_group_model, free_group_model);
}
