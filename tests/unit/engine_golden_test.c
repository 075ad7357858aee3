/*
 * engine_golden_test.c: the engine against llama2.c's run.c on the two real
 * checkpoints (stories260K, aidreams260K): every case of
 * ../shared/models/golden/cases.psv reproduced byte for byte through the
 * public API, the per-position argmax / max logit / full logits of the
 * *.tokens.json files within 1e-4, and stories260K.gguf giving the same text
 * as the llama2.c checkpoint.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/forward.h"

#define LOGIT_TOL 1e-4

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    CHECK_OK(sw_read_file(path, &buf, &n, NULL));
    if (len) *len = n;
    return buf;
}

/* The number after "key": at or after p, before end (NULL end = no bound). */
static bool num_after(const char *p, const char *end, const char *key, double *out)
{
    char pat[48];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *q = strstr(p, pat);
    if (q == NULL || (end != NULL && q >= end)) return false;
    q += strlen(pat);
    while (*q == ' ' || *q == '[') q++;
    char *e;
    *out = strtod(q, &e);
    return e != q;
}

/* Prints what run.c would print for this generation: the prompt's pieces
 * (BOS prints nothing), the generated text, and the final newline. */
static char *run_c_stdout(const swarm_model *m, const swarm_gen_result *r, size_t *out_len)
{
    size_t cap = 64 + r->text_len, len = 0;
    for (size_t i = 0; i < r->n_prompt; i++)
        cap += swarm_model_token_text(m, i ? r->tokens[i - 1] : -1, r->tokens[i], NULL, 0);
    char *s = malloc(cap);
    assert_non_null(s);
    for (size_t i = 0; i < r->n_prompt; i++)
        len += swarm_model_token_text(m, i ? r->tokens[i - 1] : -1, r->tokens[i], s + len,
                                      cap - len);
    memcpy(s + len, r->text, r->text_len);
    len += r->text_len;
    s[len++] = '\n';
    s[len] = '\0';
    *out_len = len;
    return s;
}

static swarm_model *load_model(const char *model, const char *tok)
{
    swarm_model_params mp = swarm_model_params_default();
    mp.path = model;
    mp.tokenizer_path = tok;
    swarm_model *m = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&mp, &m, &d);
    if (rc != SWARM_OK) print_error("%s\n", d.msg);
    CHECK_OK(rc);
    return m;
}

static swarm_gen_result *greedy(swarm_model *m, const char *prompt, int steps, int threads)
{
    swarm_session_params sp = swarm_session_params_default();
    sp.n_threads = threads;
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s));
    swarm_gen_params gp = {0};
    gp.prompt = prompt;
    gp.steps = steps;
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = 0.0f;
    swarm_gen_result *r = NULL;
    CHECK_OK(swarm_generate(s, &gp, &r));
    swarm_session_destroy(s);
    return r;
}

/* ------------------------------------------------------------------------ */
/* every case of cases.psv, byte-exact                                      */

typedef struct golden_case {
    char model[256], tok[256], prompt[256], expected[256];
    int steps;
} golden_case;

/* Reads cases.psv; returns the number of cases (at most cap). */
static int read_cases(golden_case *cases, int cap)
{
    char path[512];
    if (shared_path(path, sizeof(path), "models/golden/cases.psv") == NULL) return -1;
    char *text = slurp(path, NULL);
    int n = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0') continue;
        char *f[5];
        int k = 0;
        for (char *p = line; k < 5; k++) {
            f[k] = p;
            char *bar = strchr(p, '|');
            if (bar == NULL) {
                k++;
                break;
            }
            *bar = '\0';
            p = bar + 1;
        }
        assert_int_equal(k, 5);
        assert_true(n < cap);
        golden_case *c = &cases[n++];
        snprintf(c->model, sizeof(c->model), "models/%s", f[0]);
        snprintf(c->tok, sizeof(c->tok), "models/%s", f[1]);
        snprintf(c->prompt, sizeof(c->prompt), "%s", f[2]);
        c->steps = atoi(f[3]);
        snprintf(c->expected, sizeof(c->expected), "models/%s", f[4]);
    }
    sw_free(text);
    return n;
}

static void test_golden_cases_byte_exact(void **st)
{
    (void)st;
    golden_case cases[32];
    int n = read_cases(cases, 32);
    if (n < 0) {
        if (check_under_ci()) fail_msg("../shared/models/golden/cases.psv missing under CI");
        CHECK_SKIP("../shared/models/golden/cases.psv not found");
    }
    assert_true(n >= 12);
    int pass = 0;
    for (int i = 0; i < n; i++) {
        const golden_case *c = &cases[i];
        char mpath[512], tpath[512], epath[512];
        REQUIRE_SHARED(mpath, c->model);
        REQUIRE_SHARED(tpath, c->tok);
        REQUIRE_SHARED(epath, c->expected);
        size_t elen = 0, glen = 0;
        char *want = slurp(epath, &elen);
        swarm_model *m = load_model(mpath, tpath);
        swarm_gen_result *r = greedy(m, c->prompt, c->steps, 2);
        char *got = run_c_stdout(m, r, &glen);
        bool ok = glen == elen && memcmp(got, want, elen) == 0;
        fprintf(stderr, "golden %-32s -n %3d %-18s: %s (%zu tokens, stop %s)\n", c->model + 7,
                c->steps, c->prompt[0] ? c->prompt : "(empty)", ok ? "exact" : "DIFFERENT",
                r->n_tokens, r->stop);
        if (!ok) fprintf(stderr, "--- want\n%s--- got\n%s---\n", want, got);
        pass += ok;
        free(got);
        sw_free(want);
        swarm_gen_result_destroy(r);
        swarm_model_destroy(m);
    }
    fprintf(stderr, "golden cases: %d/%d byte-exact\n", pass, n);
    assert_int_equal(pass, n);
}

/* The same run on one thread prints the same bytes (kernels split rows, not sums). */
static void test_golden_one_thread_same(void **st)
{
    (void)st;
    char mpath[512], tpath[512], epath[512];
    REQUIRE_SHARED(mpath, "models/stories260K.bin");
    REQUIRE_SHARED(tpath, "models/tok512.bin");
    REQUIRE_SHARED(epath, "models/golden/the_little_dog_n256.txt");
    size_t elen = 0, glen = 0;
    char *want = slurp(epath, &elen);
    swarm_model *m = load_model(mpath, tpath);
    swarm_gen_result *r = greedy(m, "The little dog", 256, 1);
    char *got = run_c_stdout(m, r, &glen);
    assert_int_equal(glen, elen);
    assert_memory_equal(got, want, elen);
    assert_string_equal(r->stop, "eos"); /* this case ends with BOS after 222 positions */
    assert_int_equal(r->n_tokens, 222);
    free(got);
    sw_free(want);
    swarm_gen_result_destroy(r);
    swarm_model_destroy(m);
}

/* ------------------------------------------------------------------------ */
/* per-position logits of the *.tokens.json files                           */

static void check_tokens_json(const char *model_rel, const char *json_rel)
{
    char mpath[512], jpath[512];
    REQUIRE_SHARED(mpath, model_rel);
    REQUIRE_SHARED(jpath, json_rel);
    char *json = slurp(jpath, NULL);
    sw_hparams hp;
    sw_weights w;
    void *map = NULL;
    size_t map_len = 0;
    swarm_diag d = {{0}};
    CHECK_OK(sw_llama2c_open(mpath, &hp, &w, &map, &map_len, &d));
    float freq[64];
    sw_rope_freqs(&hp, NULL, freq);
    sw_fwd *f = NULL;
    CHECK_OK(sw_fwd_create(&hp, &w, freq, hp.n_ctx_train, 32, 2, &f));

    /* prompt_tokens, then one entry per position */
    int32_t prompt[64];
    int n_prompt = 0;
    const char *p = strstr(json, "\"prompt_tokens\":");
    assert_non_null(p);
    p = strchr(p, '[') + 1;
    while (*p != ']') {
        char *e;
        prompt[n_prompt++] = (int32_t)strtol(p, &e, 10);
        p = e;
        while (*p == ',' || *p == ' ') p++;
    }
    assert_true(n_prompt >= 1 && n_prompt <= 32);

    /* positions of the prompt in one batch: each row is checked below */
    static float prompt_logits[32 * 512];
    const float *lg = sw_fwd_eval(f, prompt, n_prompt, 0, SW_LOGITS_ALL);
    memcpy(prompt_logits, lg, (size_t)n_prompt * hp.n_vocab * sizeof(float));

    double max_err = 0.0, full_err = 0.0;
    int n_steps = 0, argmax_ok = 0;
    int32_t token = prompt[0];
    const float *row = NULL;
    for (const char *s = strstr(json, "{\"pos\":"); s != NULL; s = strstr(s + 1, "{\"pos\":")) {
        const char *end = strstr(s + 1, "{\"pos\":");
        double pos = 0, tok = 0, next = 0, amax = 0, mlogit = 0;
        assert_true(num_after(s, end, "pos", &pos) && num_after(s, end, "token", &tok) &&
                    num_after(s, end, "next", &next) && num_after(s, end, "argmax", &amax) &&
                    num_after(s, end, "max_logit", &mlogit));
        assert_int_equal((int)pos, n_steps);
        assert_int_equal((int32_t)tok, token);
        if (n_steps < n_prompt) {
            row = prompt_logits + (size_t)n_steps * hp.n_vocab;
        } else {
            row = sw_fwd_eval(f, &token, 1, n_steps, SW_LOGITS_LAST);
        }
        int32_t a = sw_argmax(row, hp.n_vocab);
        argmax_ok += a == (int32_t)amax;
        assert_int_equal(a, (int32_t)amax);
        double e = fabs((double)row[a] - mlogit);
        if (e > max_err) max_err = e;
        /* full vectors for the first steps of the _n64 files */
        const char *lp = strstr(s, "\"logits\":");
        if (lp != NULL && (end == NULL || lp < end)) {
            lp = strchr(lp, '[') + 1;
            for (int v = 0; v < hp.n_vocab; v++) {
                char *ep;
                double want = strtod(lp, &ep);
                assert_true(ep != lp);
                double ev = fabs((double)row[v] - want);
                if (ev > full_err) full_err = ev;
                lp = ep;
                while (*lp == ',' || *lp == ' ') lp++;
            }
        }
        token = (int32_t)next;
        n_steps++;
    }
    fprintf(stderr, "tokens %-44s: %3d positions, argmax %d/%d, max |max_logit err| %.2e, "
            "max |full logit err| %.2e\n",
            json_rel + 7, n_steps, argmax_ok, n_steps, max_err, full_err);
    assert_true(n_steps > 0);
    assert_true(max_err <= LOGIT_TOL);
    assert_true(full_err <= LOGIT_TOL);
    sw_fwd_destroy(f);
    sw_free(w.layers);
    sw_unmap_file(map, map_len);
    sw_free(json);
}

static void test_golden_tokens_logits(void **st)
{
    (void)st;
    static const char *const stories[] = {"empty_n64",         "empty_n256",
                                          "once_upon_a_time_n64", "once_upon_a_time_n256",
                                          "the_little_dog_n64", "the_little_dog_n256",
                                          "lily_and_tom_n64",   "lily_and_tom_n256"};
    static const char *const dreams[] = {"empty_n64", "empty_n128", "i_dream_n64", "i_dream_n128"};
    char rel[256];
    for (size_t i = 0; i < sizeof(stories) / sizeof(stories[0]); i++) {
        snprintf(rel, sizeof(rel), "models/golden/%s.tokens.json", stories[i]);
        check_tokens_json("models/stories260K.bin", rel);
    }
    for (size_t i = 0; i < sizeof(dreams) / sizeof(dreams[0]); i++) {
        snprintf(rel, sizeof(rel), "models/aidreams260K/golden/%s.tokens.json", dreams[i]);
        check_tokens_json("models/aidreams260K/aidreams260K.bin", rel);
    }
}

/* ------------------------------------------------------------------------ */
/* stories260K.gguf (its own tokenizer) == stories260K.bin + tok512.bin      */

static void test_golden_gguf_same_text(void **st)
{
    (void)st;
    char gpath[512], bpath[512], tpath[512];
    REQUIRE_SHARED(gpath, "models/stories260K.gguf");
    REQUIRE_SHARED(bpath, "models/stories260K.bin");
    REQUIRE_SHARED(tpath, "models/tok512.bin");
    swarm_model *g = load_model(gpath, NULL);
    swarm_model *b = load_model(bpath, tpath);
    const swarm_model_info *gi = swarm_model_get_info(g);
    assert_string_equal(gi->format, "gguf");
    assert_string_equal(gi->arch, "llama");
    assert_string_equal(gi->tokenizer, "spm");
    assert_string_equal(swarm_model_get_info(b)->format, "llama2c");
    static const char *const prompts[] = {"", "Once upon a time", "The little dog", "Lily and Tom"};
    for (size_t i = 0; i < 4; i++) {
        /* 222 positions: the_little_dog_n256 ends with BOS there; stay below
         * the 512 the model was trained for */
        swarm_gen_result *rg = greedy(g, prompts[i], 256, 2);
        swarm_gen_result *rb = greedy(b, prompts[i], 256, 2);
        size_t lg = 0, lb = 0;
        char *sg = run_c_stdout(g, rg, &lg), *sb = run_c_stdout(b, rb, &lb);
        fprintf(stderr, "gguf vs bin %-18s: %s\n", prompts[i][0] ? prompts[i] : "(empty)",
                lg == lb && memcmp(sg, sb, lb) == 0 ? "same text" : "DIFFERENT");
        assert_int_equal(rg->n_tokens, rb->n_tokens);
        assert_memory_equal(rg->tokens, rb->tokens, rb->n_tokens * sizeof(int32_t));
        assert_int_equal(lg, lb);
        assert_memory_equal(sg, sb, lb);
        free(sg);
        free(sb);
        swarm_gen_result_destroy(rg);
        swarm_gen_result_destroy(rb);
    }
    swarm_model_destroy(g);
    swarm_model_destroy(b);
}

/* ------------------------------------------------------------------------ */
/* log-probability scoring                                                   */

static void test_golden_score(void **st)
{
    (void)st;
    char b[512], t[512];
    REQUIRE_SHARED(b, "models/stories260K.bin");
    REQUIRE_SHARED(t, "models/tok512.bin");
    swarm_model *m = load_model(b, t);
    swarm_session_params sp = swarm_session_params_default();
    sp.n_threads = 2;
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s));

    /* the greedy continuation: each of its tokens is the argmax, so it
     * scores higher than any other text of the same tokens */
    swarm_gen_result *r = greedy(m, "Once upon a time", 14, 2); /* 10 new tokens */
    double lp_greedy = 0, lp_other = 0, lp_a = 0, lp_b = 0, lp_ab = 0;
    int32_t n = 0;
    CHECK_OK(swarm_score(s, "Once upon a time", r->text, &lp_greedy, &n));
    assert_int_equal(n, (int32_t)(r->n_tokens - r->n_prompt));
    assert_true(lp_greedy < 0.0 && lp_greedy > -20.0);
    CHECK_OK(swarm_score(s, "Once upon a time", " the dog ate a big blue car and", &lp_other, &n));
    assert_true(lp_other < lp_greedy);

    /* chain rule: log p(A B | C) = log p(A | C) + log p(B | C A) */
    CHECK_OK(swarm_score(s, "Lily and Tom", " went to the park", &lp_ab, &n));
    CHECK_OK(swarm_score(s, "Lily and Tom", " went", &lp_a, NULL));
    CHECK_OK(swarm_score(s, "Lily and Tom went", " to the park", &lp_b, NULL));
    fprintf(stderr, "score: greedy %.4f, other %.4f, chain %.6f vs %.6f\n", lp_greedy, lp_other,
            lp_ab, lp_a + lp_b);
    assert_true(fabs(lp_ab - (lp_a + lp_b)) < 1e-3);

    /* several continuations of one context reuse its KV rows; the results
     * are bit-identical to a fresh session's */
    swarm_session *s2 = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s2));
    const char *ctx = "Once upon a time, there was a little girl named Lily. She";
    const char *labels[] = {" was happy", " loved to play", " went outside", " was happy"};
    double warm[4], fresh;
    for (int i = 0; i < 4; i++) CHECK_OK(swarm_score(s, ctx, labels[i], &warm[i], NULL));
    for (int i = 0; i < 4; i++) {
        swarm_gen_result *g2 = greedy(m, "Tom", 20, 2); /* something else in between */
        swarm_gen_result_destroy(g2);
        CHECK_OK(swarm_score(s2, "Lily and Tom", labels[i], &fresh, NULL)); /* other context */
        CHECK_OK(swarm_score(s2, ctx, labels[i], &fresh, NULL));
        assert_true(fresh == warm[i]);
    }
    assert_true(warm[0] == warm[3]);
    swarm_session_destroy(s2);

    /* an empty continuation scores 0 over 0 tokens; scoring leaves the
     * session usable for generation */
    CHECK_OK(swarm_score(s, "Lily", "", &lp_a, &n));
    assert_int_equal(n, 0);
    assert_true(lp_a == 0.0);
    swarm_gen_result_destroy(r);
    swarm_session_destroy(s);
    swarm_model_destroy(m);
}

/* ------------------------------------------------------------------------ */
/* chat prompts, token callback and cancellation                            */

typedef struct cb_state {
    int calls, stop_after;
    size_t bytes;
} cb_state;

static int count_cb(void *ud, int32_t id, const char *piece, size_t len)
{
    cb_state *c = ud;
    (void)id;
    (void)piece;
    c->calls++;
    c->bytes += len;
    return c->calls >= c->stop_after;
}

static void test_golden_chat_callback_cancel(void **st)
{
    (void)st;
    char g[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    swarm_model *m = load_model(g, NULL);
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, NULL, &s));
    swarm_chat_msg msgs[] = {{"user", "Tell me a story."}};
    cb_state cb = {.stop_after = 1000};
    swarm_gen_params gp = {.chat = msgs, .n_chat = 1, .max_tokens = 12, .on_token = count_cb, .ud = &cb};
    gp.sampling = swarm_sampling_default();
    gp.sampling.seed = 9;
    swarm_gen_result *r = NULL;
    CHECK_OK(swarm_generate(s, &gp, &r));
    size_t n_gen = r->n_tokens - r->n_prompt;
    assert_true(n_gen <= 12);
    assert_int_equal(cb.calls, (int)n_gen);
    assert_int_equal(cb.bytes, r->text_len);
    assert_int_equal(strlen(r->text), r->text_len);
    swarm_gen_result_destroy(r);

    /* the callback's non-zero return stops generation at once */
    cb = (cb_state){.stop_after = 3};
    gp.chat = NULL;
    gp.prompt = "Once upon a time";
    gp.max_tokens = 50;
    gp.sampling.temperature = 0.0f;
    CHECK_OK(swarm_generate(s, &gp, &r));
    assert_string_equal(r->stop, "canceled");
    assert_int_equal(r->n_tokens - r->n_prompt, 3);
    swarm_gen_result_destroy(r);

    /* bad sampling settings and a prompt longer than the context */
    gp.on_token = NULL;
    gp.sampling.temperature = -1.0f;
    CHECK_ERR(swarm_generate(s, &gp, &r), SWARM_EINVAL);
    swarm_session_destroy(s);
    swarm_session_params sp = {.n_ctx = 4, .n_threads = 1};
    CHECK_OK(swarm_session_create(m, &sp, &s));
    gp.sampling.temperature = 0.0f;
    CHECK_ERR(swarm_generate(s, &gp, &r), SWARM_ETOOLONG); /* n_ctx 4 */
    swarm_session_destroy(s);
    swarm_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_tokens_logits),
        cmocka_unit_test(test_golden_cases_byte_exact),
        cmocka_unit_test(test_golden_one_thread_same),
        cmocka_unit_test(test_golden_gguf_same_text),
        cmocka_unit_test(test_golden_score),
        cmocka_unit_test(test_golden_chat_callback_cancel),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
