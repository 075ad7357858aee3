/*
 * cmd_bench_model.c: `swarm bench-model`: flag parsing for the synthetic
 * model benchmark (the work is in bench/bench_model.c). Bad flags exit 2.
 */
#include <stdio.h>
#include <string.h>

#include "../bench/bench_model.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm bench-model --shape %s --type F32|Q8_0|Q4_0|Q4_K\n"
            "                         [--threads K[,K...]] [--prompt-tokens P] [--gen-tokens G]\n"
            "                         [--reps R] [--bw-mb MB] [--seed S] [--keep FILE] [--json]\n"
            "                         [--profile] [--batch K]\n"
            "\n"
            "Writes a GGUF model with random weights in a real small-LM shape (temp file,\n"
            "removed unless --keep FILE), loads it, and times a prompt of P tokens in one\n"
            "batch (default 128) and G greedy generated tokens (default 64) at each thread\n"
            "count (default 1,2), R times after a warm-up (default 3; mean and sd shown).\n"
            "Beside them: the memory read bandwidth measured in the same run with the same\n"
            "threads over an MB-megabyte buffer (default 1024), and the limit it sets:\n"
            "bandwidth / weight bytes read per generated token.\n"
            "  --profile  after the timed runs, one more generation of G tokens with a\n"
            "           clock read around every step of the forward pass: time per token\n"
            "           by kind of step (matmuls include waiting for the other threads)\n"
            "  --batch K  also K sequences decoding G tokens together, one forward pass\n"
            "           per step for all K (batched decoding): aggregate tok/s and its ratio\n"
            "           to one sequence\n"
            "  --json   one JSON object: prompt_tok_s, gen_tok_s, weight_bytes, bandwidth_gb_s,\n"
            "           limit_tok_s, fraction_of_limit (last thread count), and runs[] per count\n"
            "Q4_K: rows that are not a multiple of 256 (dim 288/576/896) are stored as Q5_0,\n"
            "as llama.cpp's quantizer does (so real Q4_K_M files of these models are mostly Q5_0).\n",
            sw_bench_shape_names());
}

/* "1,2" -> {1, 2}. */
static bool parse_threads(const char *s, sw_bench_model_opts *o)
{
    char buf[128];
    if (strlen(s) >= sizeof(buf)) return false;
    snprintf(buf, sizeof(buf), "%s", s);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (n == SW_BENCH_MAX_THREAD_COUNTS || !cli_parse_int(tok, 1, 64, &v)) return false;
        o->threads[n++] = (int)v;
    }
    if (n == 0) return false;
    o->n_thread_counts = n;
    return true;
}

int cmd_bench_model(int argc, char **argv)
{
    const char *cmd = argv[0];
    sw_bench_model_opts o = sw_bench_model_opts_default();
    bool have_shape = false, have_type = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            o.json = true;
            continue;
        }
        if (strcmp(a, "--profile") == 0) {
            o.profile = true;
            continue;
        }
        if (a[0] != '-' || a[1] != '-')
            return cli_usage_error(cmd, "unexpected argument '%s'", a);
        if (i + 1 >= argc) return cli_usage_error(cmd, "%s needs a value", a);
        const char *v = argv[++i];
        long n;
        if (strcmp(a, "--shape") == 0) {
            if (!sw_bench_shape_known(v))
                return cli_usage_error(cmd, "unknown shape '%s' (one of %s)", v,
                                       sw_bench_shape_names());
            o.shape = v;
            have_shape = true;
        } else if (strcmp(a, "--type") == 0) {
            uint32_t t;
            if (!sw_bench_model_type(v, &t))
                return cli_usage_error(cmd, "unknown type '%s' (one of F32, Q8_0, Q4_0, Q4_K)", v);
            o.type = t;
            have_type = true;
        } else if (strcmp(a, "--threads") == 0) {
            if (!parse_threads(v, &o))
                return cli_usage_error(cmd, "--threads wants K or K,K,... with 1 <= K <= 64 "
                                            "(at most %d counts), not '%s'",
                                       SW_BENCH_MAX_THREAD_COUNTS, v);
        } else if (strcmp(a, "--prompt-tokens") == 0) {
            /* The forward state keeps logits for a whole batch (P x vocab
             * floats: 600 MB at P = 1024 for the 152k-token vocabulary). */
            if (!cli_parse_int(v, 1, 1024, &n))
                return cli_usage_error(cmd, "--prompt-tokens wants 1..1024, not '%s'", v);
            o.prompt_tokens = (int32_t)n;
        } else if (strcmp(a, "--gen-tokens") == 0) {
            if (!cli_parse_int(v, 1, 1024, &n))
                return cli_usage_error(cmd, "--gen-tokens wants 1..1024, not '%s'", v);
            o.gen_tokens = (int32_t)n;
        } else if (strcmp(a, "--batch") == 0) {
            if (!cli_parse_int(v, 2, 64, &n))
                return cli_usage_error(cmd, "--batch wants 2..64, not '%s'", v);
            o.batch = (int)n;
        } else if (strcmp(a, "--reps") == 0) {
            if (!cli_parse_int(v, 1, 50, &n))
                return cli_usage_error(cmd, "--reps wants 1..50, not '%s'", v);
            o.reps = (int)n;
        } else if (strcmp(a, "--bw-mb") == 0) {
            if (!cli_parse_int(v, 16, 16384, &n))
                return cli_usage_error(cmd, "--bw-mb wants 16..16384, not '%s'", v);
            o.bw_bytes = (size_t)n << 20;
        } else if (strcmp(a, "--seed") == 0) {
            if (!cli_parse_u64(v, &o.seed))
                return cli_usage_error(cmd, "--seed wants an unsigned integer, not '%s'", v);
        } else if (strcmp(a, "--keep") == 0) {
            if (*v == '\0') return cli_usage_error(cmd, "--keep wants a file name");
            o.keep = v;
        } else {
            return cli_usage_error(cmd, "unknown flag '%s'", a);
        }
    }
    if (!have_shape) return cli_usage_error(cmd, "--shape is required (%s)", sw_bench_shape_names());
    if (!have_type) return cli_usage_error(cmd, "--type is required (F32, Q8_0, Q4_0, Q4_K)");

    swarm_diag d = {{0}};
    swarm_err rc = sw_bench_model_run(&o, stdout, &d);
    if (rc != SWARM_OK)
        return cli_fail(rc == SWARM_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL, "bench-model: %s",
                        d.msg[0] ? d.msg : swarm_strerror(rc));
    return CLI_EXIT_OK;
}
