/*
 * cmd_generate.c: `swarm generate`: prints a prompt and its continuation
 * the way llama2.c's run.c does (same -n meaning, BOS first, stop at BOS/EOS,
 * trailing newline; timing on stderr), or one JSON object with --json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "swarm/engine.h"
#include "swarm/grammar.h"

static const char *const USAGE =
    "usage: swarm generate -m MODEL [-z TOKENIZER] [-p PROMPT] [-n N] [--temp T]\n"
    "                      [--top-p P] [--top-k K] [--min-p M] [--seed S] [--threads K] [--json]\n"
    "                      [--grammar FILE | --json-schema FILE [--print-grammar]]\n"
    "\n"
    "Prints PROMPT followed by its continuation, like llama2.c's run.c.\n"
    "\n"
    "  -m MODEL       a .gguf file (tokenizer inside) or a llama2.c checkpoint (.bin)\n"
    "  -z TOKENIZER   llama2.c tokenizer.bin; default: tokenizer.bin, else tok512.bin,\n"
    "                 in the model's directory (ignored for GGUF)\n"
    "  -p PROMPT      prompt text (default: empty: start from BOS alone)\n"
    "  -n N           positions to run, prompt and BOS included (default 256; 0 = the\n"
    "                 model's context); clamped to the model's context length\n"
    "  --temp T       temperature, 0 = greedy, ties to the lowest id (default 1.0)\n"
    "  --top-p P      nucleus sampling, 0 < P <= 1, 1 = off (default 0.9)\n"
    "  --top-k K      keep the K most likely tokens, 0 = off (default 0)\n"
    "  --min-p M      drop tokens below M x the top probability, 0 = off (default 0)\n"
    "  --seed S       sampling seed (default 0; equal seeds give equal output)\n"
    "  --threads K    worker threads, 1..256 (default: online CPUs)\n"
    "  --json         print one JSON object: tokens, prompt, text, timings\n"
    "  --grammar FILE the continuation must follow this grammar (docs/grammar.md)\n"
    "  --json-schema FILE\n"
    "                 the continuation must be JSON valid under this schema (the subset\n"
    "                 of docs/grammar.md; unsupported keywords are refused by name)\n"
    "  --print-grammar  with --json-schema: print the grammar it compiles to and exit\n"
    "\n"
    "Generation stops early at BOS or EOS, and under a grammar once nothing more may\n"
    "follow; a grammar still incomplete at the length limit exits 1. Timing goes to stderr.\n";

/* More workers than this only wait for each other (the swarm file's limit). */
#define MAX_THREADS 256
/* The longest session the engine creates (its MAX_N_CTX). */
#define MAX_CTX (1 << 20)

/* ------------------------------------------------------------------------ */
/* output                                                                   */

/* Writes s as a JSON string; bytes that are not valid UTF-8 become U+FFFD so
 * the document always parses. */
static void json_string(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
            i++;
        } else if (c == '\n') {
            fputs("\\n", f);
            i++;
        } else if (c == '\t') {
            fputs("\\t", f);
            i++;
        } else if (c == '\r') {
            fputs("\\r", f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else {
            size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            bool ok = len > 0 && i + len <= n;
            for (size_t k = 1; ok && k < len; k++) ok = (p[i + k] & 0xc0) == 0x80;
            if (ok && len == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
                ok = false; /* overlong or surrogate */
            if (ok && len == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
                ok = false;
            if (ok) {
                fwrite(p + i, 1, len, f);
                i += len;
            } else {
                fputs("\\ufffd", f);
                i++;
            }
        }
    }
    fputc('"', f);
}

/* llama2.c prints the prompt as the pieces of its tokens; so do we, to be
 * byte-identical (BOS prints nothing; the piece after it loses its leading
 * space). Prompts without BOS (qwen2) print from their first token. */
static size_t echo_prompt(const swarm_model *m, const int32_t *ids, size_t n, char *out,
                          size_t cap, FILE *stream)
{
    char buf[1024];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = swarm_model_token_text(m, i ? ids[i - 1] : -1, ids[i], buf, sizeof(buf));
        if (k > sizeof(buf)) k = sizeof(buf);
        if (stream != NULL) fwrite(buf, 1, k, stream);
        if (out != NULL && len + k <= cap) memcpy(out + len, buf, k);
        len += k;
    }
    return len;
}

static int print_piece(void *ud, int32_t id, const char *piece, size_t len)
{
    (void)ud;
    (void)id;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the command                                                              */

static int load_exit_code(swarm_err rc)
{
    return rc == SWARM_ENOMEM || rc == SWARM_ESYS ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
}

static int cmd_generate_with(const char *cmd, const char *model_path, const char *tok_path,
                             const char *prompt, long steps, double temp, double top_p,
                             long top_k, double min_p, uint64_t seed, long threads, bool json,
                             const swarm_grammar *grammar);

int cmd_generate(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *model_path = NULL, *tok_path = NULL, *prompt = "";
    long steps = 256, top_k = 0, threads = 0;
    double temp = 1.0, top_p = 0.9, min_p = 0.0;
    uint64_t seed = 0;
    bool json = false, print_grammar = false;
    const char *grammar_path = NULL, *schema_path = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(a, "--print-grammar") == 0) {
            print_grammar = true;
            continue;
        }
        static const char *const with_value[] = {"-m",      "-z",      "-p",     "-n",
                                                 "--temp",  "--top-p", "--top-k", "--min-p",
                                                 "--seed",  "--threads", "--grammar",
                                                 "--json-schema"};
        bool known = false;
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
            known = known || strcmp(a, with_value[k]) == 0;
        if (!known) return cli_usage_error(cmd, "unknown option '%s'", a);
        if (i + 1 >= argc) return cli_usage_error(cmd, "option '%s' needs a value", a);
        const char *v = argv[++i];
        bool ok = true;
        const char *want = "a value"; /* the accepted values, for the message */
        if (strcmp(a, "-m") == 0) model_path = v;
        else if (strcmp(a, "-z") == 0) tok_path = v;
        else if (strcmp(a, "-p") == 0) prompt = v;
        else if (strcmp(a, "--grammar") == 0) grammar_path = v;
        else if (strcmp(a, "--json-schema") == 0) schema_path = v;
        else if (strcmp(a, "-n") == 0) {
            ok = cli_parse_int(v, 0, 1L << 20, &steps);
            want = "an integer in 0..1048576";
        } else if (strcmp(a, "--temp") == 0) {
            ok = cli_parse_double(v, 0.0, 100.0, &temp);
            want = "a number in 0..100";
        } else if (strcmp(a, "--top-p") == 0) {
            ok = cli_parse_double(v, 0.0, 1.0, &top_p) && top_p > 0.0;
            want = "a number in (0, 1]";
        } else if (strcmp(a, "--top-k") == 0) {
            ok = cli_parse_int(v, 0, 1L << 24, &top_k);
            want = "an integer >= 0";
        } else if (strcmp(a, "--min-p") == 0) {
            ok = cli_parse_double(v, 0.0, 1.0, &min_p);
            want = "a number in 0..1";
        } else if (strcmp(a, "--seed") == 0) {
            ok = cli_parse_u64(v, &seed);
            want = "an unsigned 64-bit integer";
        } else if (strcmp(a, "--threads") == 0) {
            ok = cli_parse_int(v, 1, MAX_THREADS, &threads);
            want = "an integer in 1..256";
        }
        if (!ok) return cli_usage_error(cmd, "bad value '%s' for %s (want %s)", v, a, want);
    }
    if (grammar_path != NULL && schema_path != NULL)
        return cli_usage_error(cmd, "--grammar and --json-schema exclude each other");
    if (print_grammar && schema_path == NULL)
        return cli_usage_error(cmd, "--print-grammar needs --json-schema FILE");
    /* the constraint first: a bad grammar is reported before a model loads */
    swarm_grammar *grammar = NULL;
    if (grammar_path != NULL || schema_path != NULL) {
        const char *path = grammar_path ? grammar_path : schema_path;
        char *text = NULL;
        size_t len = 0;
        swarm_diag d = {{0}};
        swarm_err rc = swarm_file_read(path, SWARM_GRAMMAR_MAX_TEXT, &text, &len, &d);
        if (rc != SWARM_OK)
            return cli_fail(cli_exit_for_input_error(rc), "%s: %s", cmd,
                            d.msg[0] ? d.msg : swarm_strerror(rc));
        if (print_grammar) {
            char *g = NULL;
            rc = swarm_grammar_schema_to_text(text, len, &g, &d);
            swarm_free(text);
            if (rc != SWARM_OK)
                return cli_fail(cli_exit_for_input_error(rc), "%s: %s: %s", cmd, path, d.msg);
            fputs(g, stdout);
            swarm_free(g);
            return CLI_EXIT_OK;
        }
        rc = grammar_path ? swarm_grammar_parse(text, len, &grammar, &d)
                          : swarm_grammar_from_schema(text, len, &grammar, &d);
        swarm_free(text);
        if (rc != SWARM_OK)
            return cli_fail(cli_exit_for_input_error(rc), "%s: %s: %s", cmd, path, d.msg);
    }
    int code = cmd_generate_with(cmd, model_path, tok_path, prompt, steps, temp, top_p, top_k,
                                 min_p, seed, threads, json, grammar);
    swarm_grammar_destroy(grammar);
    return code;
}

static int cmd_generate_with(const char *cmd, const char *model_path, const char *tok_path,
                             const char *prompt, long steps, double temp, double top_p,
                             long top_k, double min_p, uint64_t seed, long threads, bool json,
                             const swarm_grammar *grammar)
{
    if (model_path == NULL) return cli_usage_error(cmd, "missing -m MODEL");
    /* a missing file is the user's input error (exit 2), whatever the reader says */
    if (access(model_path, R_OK) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s: %s: %s", cmd, model_path, strerror(errno));
    if (tok_path != NULL && access(tok_path, R_OK) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s: %s: %s", cmd, tok_path, strerror(errno));

    swarm_model_params mp = swarm_model_params_default();
    mp.path = model_path;
    mp.tokenizer_path = tok_path;
    swarm_model *m = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&mp, &m, &d);
    if (rc != SWARM_OK)
        return cli_fail(load_exit_code(rc), "%s", d.msg[0] ? d.msg : swarm_strerror(rc));
    const swarm_model_info *info = swarm_model_get_info(m);

    /* run.c: -n 0 or beyond the context means the whole context */
    int32_t n_ctx_model = info->n_ctx_train > 0 ? info->n_ctx_train : 2048;
    if (n_ctx_model > MAX_CTX) n_ctx_model = MAX_CTX; /* a file may claim 2^31 */
    if (steps == 0 || steps > n_ctx_model) steps = n_ctx_model;

    int32_t *ids = NULL;
    size_t n_ids = 0;
    if ((rc = swarm_model_tokenize(m, prompt, &ids, &n_ids)) != SWARM_OK) {
        swarm_model_destroy(m);
        return cli_fail(CLI_EXIT_USAGE, "%s: cannot tokenize the prompt: %s", cmd,
                        swarm_strerror(rc));
    }
    if (n_ids == 0 || n_ids > (size_t)n_ctx_model) {
        swarm_free(ids);
        swarm_model_destroy(m);
        return cli_fail(CLI_EXIT_USAGE, "%s: the prompt has %zu tokens; the model's context is %d",
                        cmd, n_ids, n_ctx_model);
    }

    swarm_session_params sp = swarm_session_params_default();
    sp.n_ctx = (int32_t)(steps > (long)n_ids ? steps : (long)n_ids);
    sp.n_threads = (int32_t)threads;
    swarm_session *s = NULL;
    if ((rc = swarm_session_create(m, &sp, &s)) != SWARM_OK) {
        swarm_free(ids);
        swarm_model_destroy(m);
        return cli_fail(rc == SWARM_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL,
                        "%s: cannot create a session of %d positions: %s", cmd, sp.n_ctx,
                        swarm_strerror(rc));
    }

    /* the forced prompt pieces run.c prints: the tokens at positions 1..steps
     * (position 0, BOS, prints nothing) */
    size_t n_echo = n_ids < (size_t)steps + 1 ? n_ids : (size_t)steps + 1;
    if (!json) {
        echo_prompt(m, ids, n_echo, NULL, 0, stdout);
        fflush(stdout);
    }

    swarm_gen_params gp = {0};
    gp.prompt = prompt;
    gp.steps = (int32_t)steps;
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = (float)temp;
    gp.sampling.top_p = (float)top_p;
    gp.sampling.top_k = (int32_t)top_k;
    gp.sampling.min_p = (float)min_p;
    gp.sampling.seed = seed;
    gp.on_token = json ? NULL : print_piece;
    gp.grammar = grammar;
    swarm_gen_result *r = NULL;
    rc = swarm_generate(s, &gp, &r);
    int code = CLI_EXIT_OK;
    if (rc != SWARM_OK) {
        if (!json) fputc('\n', stdout);
        if (grammar != NULL && rc == SWARM_EINFEASIBLE)
            code = cli_fail(CLI_EXIT_FAIL, "%s: no token of the model's vocabulary can continue "
                            "the text under the grammar", cmd);
        else if (grammar != NULL && rc == SWARM_EUNSUPPORTED)
            code = cli_fail(CLI_EXIT_FAIL, "%s: the grammar is too ambiguous here (more than %d "
                            "parses alive at once); make its alternatives distinct", cmd,
                            SWARM_GRAMMAR_MAX_STACKS);
        else
            code = cli_fail(rc == SWARM_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL, "%s: %s", cmd,
                            swarm_strerror(rc));
        goto done;
    }
    size_t n_gen = r->n_tokens - r->n_prompt;
    double gen_s = r->gen_ms / 1000.0;
    double tok_s = gen_s > 0 ? (double)n_gen / gen_s : 0.0;
    double prompt_tok_s = r->prompt_ms > 0 ? (double)r->n_prompt / (r->prompt_ms / 1000.0) : 0.0;
    if (json) {
        size_t plen = echo_prompt(m, ids, n_echo, NULL, 0, NULL);
        char *ptext = malloc(plen + 1);
        if (ptext == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "%s: out of memory", cmd);
            goto done;
        }
        echo_prompt(m, ids, n_echo, ptext, plen, NULL);
        printf("{\"model\": ");
        json_string(stdout, model_path, strlen(model_path));
        printf(", \"n_prompt\": %zu, \"tokens\": [", r->n_prompt);
        for (size_t i = 0; i < r->n_tokens; i++) printf(i ? ", %d" : "%d", (int)r->tokens[i]);
        printf("], \"prompt\": ");
        json_string(stdout, ptext, plen);
        printf(", \"text\": ");
        json_string(stdout, r->text, r->text_len);
        printf(", \"stop\": \"%s\", \"timings\": {\"prompt_ms\": %.3f, \"gen_ms\": %.3f, "
               "\"prompt_tok_s\": %.2f, \"gen_tok_s\": %.2f, \"tok_s\": %.2f}}\n",
               r->stop, r->prompt_ms, r->gen_ms, prompt_tok_s, tok_s, tok_s);
        free(ptext);
    } else {
        fputc('\n', stdout);
        fprintf(stderr, "achieved tok/s: %.2f (prompt %zu tokens in %.2f ms, %zu generated in %.2f ms)\n",
                tok_s, r->n_prompt, r->prompt_ms, n_gen, r->gen_ms);
    }
    fflush(stdout);
    if (grammar != NULL && strcmp(r->stop, "length") == 0)
        code = cli_fail(CLI_EXIT_FAIL, "%s: the length limit (-n %ld) came before the grammar was "
                        "complete; the output is incomplete", cmd, steps);
done:
    swarm_gen_result_destroy(r);
    swarm_free(ids);
    swarm_session_destroy(s);
    swarm_model_destroy(m);
    return code;
}
