/*
 * bench_grammar.c: the cost of constrained decoding. A synthetic model in a
 * real shape (smollm2-135m: 49152 tokens) with a text-like byte-level
 * vocabulary is written to a temp file; then rounds alternate an
 * unconstrained and a JSON-Schema-constrained generation with the same
 * settings, so that both meet the same machine load, and the milliseconds
 * per generated token of each are compared. A constrained generation that
 * completes early (the JSON closes) is followed by another until the
 * round's token count is reached. Every constrained output is checked to
 * match its grammar: a fast wrong answer would not count.
 */
#include "bench_grammar.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_model.h"
#include "core/core_int.h"
#include "engine/kernels/kernels.h"
#include "swarm/engine.h"
#include "swarm/grammar.h"

/* Records as an extraction task would ask for them: strings, numbers,
 * enums, nested arrays, no bound on the list, so generations run long. */
static const char *const DEFAULT_SCHEMA =
    "{\"type\": \"object\", \"properties\": {"
    " \"items\": {\"type\": \"array\", \"items\": {"
    "   \"type\": \"object\", \"properties\": {"
    "     \"name\": {\"type\": \"string\"},"
    "     \"kind\": {\"enum\": [\"person\", \"place\", \"thing\"]},"
    "     \"score\": {\"type\": \"number\"},"
    "     \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}},"
    "   \"required\": [\"name\", \"kind\", \"score\"]}}},"
    " \"required\": [\"items\"]}";

sw_bench_grammar_opts sw_bench_grammar_opts_default(void)
{
    sw_bench_grammar_opts o = {0};
    o.shape = "smollm2-135m";
    o.type = SW_TYPE_Q8_0;
    o.threads = 2;
    o.tokens = 64;
    o.rounds = 6;
    o.seed = 7;
    return o;
}

typedef struct mode_stats {
    double ms;       /* generation time (prompt excluded) */
    double grammar_ms; /* of ms, spent on the grammar */
    long tokens;     /* generated tokens */
    long runs, complete;
} mode_stats;

/* Generates until `tokens` tokens were produced in this mode. */
static swarm_err run_mode(swarm_session *s, const swarm_grammar *g, int32_t tokens, uint64_t seed,
                          mode_stats *st, swarm_diag *d)
{
    long done = 0;
    for (int k = 0; done < tokens; k++) {
        swarm_gen_params gp = {.prompt = "Extract the records as JSON:", .grammar = g};
        gp.max_tokens = (int32_t)(tokens - done);
        gp.sampling = swarm_sampling_default();
        gp.sampling.temperature = 1.0f;
        /* plain multinomial: top-p would sort the candidates, a cost that
         * shrinks with the mask and would flatter the constrained side */
        gp.sampling.top_p = 1.0f;
        gp.sampling.seed = seed * 1000 + (uint64_t)k;
        swarm_gen_result *r = NULL;
        swarm_err rc = swarm_generate(s, &gp, &r);
        if (rc != SWARM_OK) return sw_diag_set(d, rc, "generation failed: %s", swarm_strerror(rc));
        long n = (long)(r->n_tokens - r->n_prompt);
        if (g != NULL && strcmp(r->stop, "eos") == 0) {
            bool ok = false;
            rc = swarm_grammar_match(g, r->text, r->text_len, &ok);
            if (rc != SWARM_OK || !ok) {
                swarm_gen_result_destroy(r);
                return sw_diag_set(d, SWARM_EINVAL, "a constrained output does not match");
            }
            st->complete++;
        }
        st->ms += r->gen_ms;
        st->grammar_ms += r->grammar_ms;
        st->tokens += n;
        st->runs++;
        done += n > 0 ? n : 1;
        swarm_gen_result_destroy(r);
    }
    return SWARM_OK;
}

swarm_err sw_bench_grammar_run(const sw_bench_grammar_opts *o, FILE *out, swarm_diag *d)
{
    const char *text = o->grammar_text ? o->grammar_text : DEFAULT_SCHEMA;
    bool schema = o->grammar_text ? o->grammar_is_schema : true;
    swarm_grammar *g = NULL;
    swarm_err rc = schema ? swarm_grammar_from_schema(text, strlen(text), &g, d)
                          : swarm_grammar_parse(text, strlen(text), &g, d);
    if (rc != SWARM_OK) return rc;

    char path[4096];
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') dir = "/tmp";
    snprintf(path, sizeof(path), "%s/swarm-bench-grammar-XXXXXX.gguf", dir);
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        swarm_grammar_destroy(g);
        return sw_diag_set(d, SWARM_ESYS, "cannot create a temp file in %s", dir);
    }
    close(fd);
    swarm_model *m = NULL;
    swarm_session *s = NULL;
    fprintf(stderr, "bench-grammar: writing %s with a text-like vocabulary to %s ...\n", o->shape,
            path);
    rc = sw_bench_model_write(o->shape, o->type, true, 2048, path, o->seed, d);
    if (rc != SWARM_OK) goto done;
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    if ((rc = swarm_model_load(&mp, &m, d)) != SWARM_OK) goto done;
    swarm_session_params sp = {.n_ctx = 0, .n_threads = o->threads}; /* min(model, 2048) */
    if ((rc = swarm_session_create(m, &sp, &s)) != SWARM_OK) {
        sw_diag_set(d, rc, "cannot create a session");
        goto done;
    }
    const swarm_model_info *info = swarm_model_get_info(m);

    /* the session's first constrained call builds its vocabulary trie and
     * the grammar's matcher (inside prompt_ms): measured against an
     * unconstrained call of the same prompt right before it (after one
     * that pages the weights in) */
    double setup_ms = 0.0;
    for (int k = -1; k < 2; k++) {
        swarm_gen_params gp = {.prompt = "Extract the records as JSON:", .max_tokens = 1};
        gp.sampling = swarm_sampling_default();
        gp.grammar = k == 1 ? g : NULL;
        swarm_gen_result *r = NULL;
        if ((rc = swarm_generate(s, &gp, &r)) != SWARM_OK) {
            sw_diag_set(d, rc, "generation failed: %s", swarm_strerror(rc));
            goto done;
        }
        if (k >= 0) setup_ms += k == 1 ? r->prompt_ms : -r->prompt_ms;
        swarm_gen_result_destroy(r);
    }

    /* warm-up: page the weights in */
    mode_stats warm = {0};
    if ((rc = run_mode(s, NULL, 4, 999, &warm, d)) != SWARM_OK) goto done;
    if ((rc = run_mode(s, g, 4, 999, &warm, d)) != SWARM_OK) goto done;

    mode_stats free_st = {0}, con_st = {0};
    for (int i = 0; i < o->rounds; i++) {
        fprintf(stderr, "bench-grammar: round %d/%d ...\n", i + 1, o->rounds);
        if ((rc = run_mode(s, NULL, o->tokens, (uint64_t)i, &free_st, d)) != SWARM_OK) goto done;
        if ((rc = run_mode(s, g, o->tokens, (uint64_t)i, &con_st, d)) != SWARM_OK) goto done;
    }
    double ms_free = free_st.ms / (double)(free_st.tokens ? free_st.tokens : 1);
    double ms_con = con_st.ms / (double)(con_st.tokens ? con_st.tokens : 1);
    double overhead = ms_free > 0 ? (ms_con / ms_free - 1.0) * 100.0 : 0.0;
    /* The grammar's own share, measured inside the same generations: it
     * does not depend on how busy the machine was in the other mode. */
    double ms_gram = con_st.grammar_ms / (double)(con_st.tokens ? con_st.tokens : 1);
    double share = ms_con > ms_gram ? ms_gram / (ms_con - ms_gram) * 100.0 : 0.0;
    if (o->json) {
        fprintf(out,
                "{\"shape\": \"%s\", \"n_vocab\": %d, \"type\": \"%s\", \"threads\": %d, "
                "\"rounds\": %d, \"unconstrained_ms_per_token\": %.3f, "
                "\"constrained_ms_per_token\": %.3f, \"overhead_pct\": %.1f, "
                "\"grammar_ms_per_token\": %.3f, \"grammar_overhead_pct\": %.1f, "
                "\"constrained_tokens\": %ld, \"constrained_runs\": %ld, "
                "\"constrained_complete\": %ld, \"unconstrained_tokens\": %ld, "
                "\"first_call_setup_ms\": %.1f}\n",
                o->shape, (int)info->n_vocab, info->quant, o->threads, o->rounds, ms_free, ms_con,
                overhead, ms_gram, share, con_st.tokens, con_st.runs, con_st.complete, free_st.tokens, setup_ms);
    } else {
        fprintf(out, "bench-grammar: %s (%d tokens, %s), %d thread(s), %d alternating rounds\n",
                o->shape, (int)info->n_vocab, info->quant, o->threads, o->rounds);
        fprintf(out, "  unconstrained  %8.3f ms/token  (%ld tokens)\n", ms_free, free_st.tokens);
        fprintf(out, "  constrained    %8.3f ms/token  (%ld tokens in %ld runs, %ld complete)\n",
                ms_con, con_st.tokens, con_st.runs, con_st.complete);
        fprintf(out, "  overhead       %+7.1f %%  (wall clock, both modes; noisy on a busy machine)\n",
                overhead);
        fprintf(out, "  grammar        %8.3f ms/token = %+.1f %% of the rest of a constrained step\n",
                ms_gram, share);
        fprintf(out, "  first constrained call of a session: %+.1f ms (vocabulary trie, matcher)\n",
                setup_ms);
    }
done:
    swarm_session_destroy(s);
    swarm_model_destroy(m);
    swarm_grammar_destroy(g);
    remove(path);
    return rc;
}
