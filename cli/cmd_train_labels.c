/*
 * cmd_train_labels.c: `swarm train --labels TRAIN.tsv --out DIR`: makes
 * classifier specialists out of small language models. Each specialist is
 * a llama model trained from scratch on "BOS prompt label" sequences, where
 * the prompt is the task's template around the text and the loss is on the
 * label tokens (optionally also on the text: --lm), so that the runtime's
 * classify subtask, which picks the label with the highest log-likelihood
 * as a continuation of the prompt, reads the model's decision exactly. The
 * specialists differ (seed, size, tokenizer vocabulary, bootstrap sample of
 * the data) so that their errors differ and aggregation has something to
 * feed on. Writes DIR/<skill>-<k>.gguf, DIR/swarm.json (one node per
 * specialist, accuracy P_i measured on the dev set) and DIR/task.json.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "swarm/runtime.h"
#include "train_cli.h"

static const char *const USAGE =
    "usage: swarm train --labels TRAIN.tsv --out DIR [--dev DEV.tsv] [--minutes M]\n"
    "                   [--specialists K] [--skill NAME] [--prompt TEMPLATE] [--lm]\n"
    "                   [--init GGUF] [--lr X] [--threads N] [--seed S]\n"
    "\n"
    "TRAIN.tsv holds label<TAB>text lines. Trains K (default 4) small language models\n"
    "that differ in seed, size, tokenizer and bootstrap sample, each taught to continue\n"
    "the prompt with the right label, and writes DIR/<skill>-<k>.gguf, DIR/swarm.json\n"
    "(one node per specialist; accuracy measured on DEV, or on 10%% of TRAIN held out)\n"
    "and DIR/task.json (a classify task for the skill). Then try:\n"
    "  swarm eval DIR/swarm.json DEV.tsv --task DIR/task.json\n"
    "  --minutes M      training time for all specialists together (default 4)\n"
    "  --skill NAME     default: the name of TRAIN.tsv's directory\n"
    "  --prompt T       template with {{input}} (default \"{{input}}\\nlabel:\")\n"
    "  --lm             also train on the text itself (language-model loss), not only\n"
    "                   the label\n"
    "  --init GGUF      start every specialist from this model (e.g. an LM trained on\n"
    "                   the texts with swarm train --text) and use its tokenizer\n";

#define MAX_LABELS 64

typedef struct spec_cfg {
    int32_t dim, layers, heads, vocab;
    bool bootstrap;
} spec_cfg;

/* Different shapes and tokenizers: diversity for the ensemble. */
static const spec_cfg k_cfg[] = {
    {64, 2, 4, 512, false}, {96, 2, 4, 1024, true}, {64, 3, 4, 768, true},
    {128, 2, 4, 512, true}, {96, 3, 4, 384, true},  {64, 2, 4, 1536, true},
    {128, 3, 4, 1024, true}, {64, 4, 4, 512, true},
};

typedef struct example {
    int32_t *tok; /* BOS prompt label; prompt tokens stored as ~id unless --lm */
    int32_t n;
} example;

typedef struct ex_set {
    example *ex;
    size_t n;
    const size_t *pick; /* bootstrap indices (n of them) or NULL */
    int32_t pad;        /* padding input id */
} ex_set;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fixed-length sequences: long examples keep their head and the end of the
 * prompt with the label; short ones are padded with masked tokens. */
static void fill_seq(const example *e, int32_t len, int32_t pad, int32_t *out)
{
    int32_t want = len + 1;
    if (e->n <= want) {
        memcpy(out, e->tok, sizeof(int32_t) * (size_t)e->n);
        for (int32_t i = e->n; i < want; i++) out[i] = ~pad;
        return;
    }
    int32_t tail = 12 < want / 2 ? 12 : want / 2; /* the prompt's end and the label */
    int32_t head = want - tail;
    memcpy(out, e->tok, sizeof(int32_t) * (size_t)head);
    memcpy(out + head, e->tok + e->n - tail, sizeof(int32_t) * (size_t)tail);
}

/* A batch is n_seq neighbours in the length-sorted sample (from a random
 * start), so they need little padding; len = the longest of them. */
static int32_t ex_batch(void *ud, uint64_t seed, int64_t step, int32_t n_seq, int32_t max_len,
                        int32_t *out)
{
    const ex_set *s = ud;
    uint64_t r = mix64(seed * 0x9E3779B97F4A7C15ull + (uint64_t)step * 7919u);
    size_t span = s->n > (size_t)n_seq ? s->n - (size_t)n_seq + 1 : 1;
    size_t start = (size_t)(r % span);
    int32_t len = 8;
    for (int32_t i = 0; i < n_seq; i++) {
        const example *e = &s->ex[s->pick[(start + (size_t)i) % s->n]];
        if (e->n - 1 > len) len = e->n - 1;
    }
    len = (len + 7) / 8 * 8;
    if (len > max_len) len = max_len;
    for (int32_t i = 0; i < n_seq; i++)
        fill_seq(&s->ex[s->pick[(start + (size_t)i) % s->n]], len, s->pad,
                 out + (size_t)i * (len + 1));
    return len;
}

/* Orders sample indices by example length, then by a hash of the index:
 * examples of one length in a random order, because data files are often
 * sorted by label (rt_polarity: all positive lines first) and a batch of
 * neighbours must not be one label. A total order: the same on every
 * machine. */
static int by_len(const void *a, const void *b, void *ctx)
{
    const example *ex = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (ex[i].n != ex[j].n) return ex[i].n < ex[j].n ? -1 : 1;
    uint64_t hi = mix64(i + 0x51ed), hj = mix64(j + 0x51ed);
    if (hi != hj) return hi < hj ? -1 : 1;
    return i < j ? -1 : i > j;
}
static char *render(const char *tmpl, const char *input)
{
    const char *p = strstr(tmpl, "{{input}}");
    size_t a = (size_t)(p - tmpl), li = strlen(input), rest = strlen(p + 9);
    char *s = malloc(a + li + rest + 1);
    if (s == NULL) return NULL;
    memcpy(s, tmpl, a);
    memcpy(s + a, input, li);
    memcpy(s + a + li, p + 9, rest + 1);
    return s;
}

/* Encodes BOS + prompt + label; the prompt masked unless lm. */
static int encode_example(swarm_train_tok *tk, const char *prompt, const char *label, bool lm,
                          example *e)
{
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    if (swarm_train_tok_encode(tk, prompt, strlen(prompt), &a, &na) != SWARM_OK ||
        swarm_train_tok_encode(tk, label, strlen(label), &b, &nb) != SWARM_OK) {
        swarm_free(a);
        return cli_fail(CLI_EXIT_FAIL, "encoding failed");
    }
    int32_t bos = swarm_train_tok_bos(tk);
    e->n = (int32_t)(na + nb + 1);
    e->tok = malloc(sizeof(int32_t) * (size_t)e->n);
    if (e->tok == NULL) {
        swarm_free(a);
        swarm_free(b);
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    /* the first label token is predicted from the last prompt token, so
     * only label positions are targets (the position before them is the
     * input that predicts them) */
    e->tok[0] = ~(bos >= 0 ? bos : 0);
    for (size_t i = 0; i < na; i++) e->tok[1 + i] = lm ? a[i] : ~a[i];
    for (size_t i = 0; i < nb; i++) e->tok[1 + na + i] = b[i];
    swarm_free(a);
    swarm_free(b);
    return CLI_EXIT_OK;
}

static int write_json(const char *path, json_t *o)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(o, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || rename(tmp, path) != 0)
        return cli_fail(CLI_EXIT_FAIL, "%s: cannot write: %s", path, strerror(errno));
    return CLI_EXIT_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_train_labels(int argc, char **argv)
{
    const char *cmd = argv[0], *train_path = NULL, *dev_path = NULL, *out = NULL, *skill = NULL;
    const char *prompt = "{{input}}\nlabel:", *init = NULL;
    double minutes = 4;
    long k_spec = 4, threads = 0;
    uint64_t seed = 1;
    bool lm = false;
    double lr = 3e-3;
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        bool ok = true;
        if (cli_is_help(s)) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--labels") == 0 && v) train_path = argv[++a];
        else if (strcmp(s, "--dev") == 0 && v) dev_path = argv[++a];
        else if (strcmp(s, "--out") == 0 && v) out = argv[++a];
        else if (strcmp(s, "--skill") == 0 && v) skill = argv[++a];
        else if (strcmp(s, "--prompt") == 0 && v) prompt = argv[++a];
        else if (strcmp(s, "--minutes") == 0 && v) ok = cli_parse_double(argv[++a], 0.01, 1e5, &minutes);
        else if (strcmp(s, "--specialists") == 0 && v)
            ok = cli_parse_int(argv[++a], 1, (long)(sizeof(k_cfg) / sizeof(k_cfg[0])), &k_spec);
        else if (strcmp(s, "--threads") == 0 && v) ok = cli_parse_int(argv[++a], 1, 256, &threads);
        else if (strcmp(s, "--seed") == 0 && v) ok = cli_parse_u64(argv[++a], &seed);
        else if (strcmp(s, "--lm") == 0) lm = true;
        else if (strcmp(s, "--init") == 0 && v) init = argv[++a];
        else if (strcmp(s, "--lr") == 0 && v) ok = cli_parse_double(argv[++a], 1e-6, 1, &lr);
        else return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
        if (!ok) return cli_usage_error(cmd, "invalid value '%s' for %s", argv[a], s);
    }
    if (train_path == NULL || out == NULL) return cli_usage_error(cmd, "want --labels TRAIN.tsv and --out DIR");
    if (strstr(prompt, "{{input}}") == NULL) return cli_usage_error(cmd, "--prompt must use {{input}}");

    tsv_set tr = {0};
    int code = tsv_read(train_path, 0, &tr);
    if (code) return code;
    /* the skill: the data set's directory name */
    char skill_buf[128];
    if (skill == NULL) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s", train_path);
        char *sl = strrchr(tmp, '/');
        if (sl) *sl = 0;
        const char *base = sl ? (strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp) : "classify";
        snprintf(skill_buf, sizeof(skill_buf), "%.100s", base[0] ? base : "classify");
        for (char *c = skill_buf; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  *c == '_' || *c == '-'))
                *c = '_';
        skill = skill_buf;
    }
    /* labels, sorted, as continuations " label" */
    char *labels[MAX_LABELS];
    size_t L = 0;
    for (size_t i = 0; i < tr.n; i++) {
        bool seen = false;
        for (size_t j = 0; j < L; j++) seen |= strcmp(labels[j] + 1, tr.label[i]) == 0;
        if (seen) continue;
        if (L == MAX_LABELS) {
            tsv_free(&tr);
            for (size_t j = 0; j < L; j++) free(labels[j]);
            return cli_fail(CLI_EXIT_USAGE, "%s: more than %d labels", train_path, MAX_LABELS);
        }
        labels[L] = malloc(strlen(tr.label[i]) + 2);
        labels[L][0] = ' ';
        strcpy(labels[L] + 1, tr.label[i]);
        L++;
    }
    for (size_t a = 0; a < L; a++)
        for (size_t b = a + 1; b < L; b++)
            if (strcmp(labels[b], labels[a]) < 0) {
                char *t = labels[a];
                labels[a] = labels[b];
                labels[b] = t;
            }
    int32_t *label_of = NULL;
    char *corpus = NULL, *swarm_path = NULL, *task_path = NULL, *cal_path = NULL;
    size_t corpus_len = 0;
    size_t *pick = NULL;
    json_t *nodes = json_array();
    size_t n_train = tr.n, n_hold = 0;
    if (L < 2) {
        code = cli_fail(CLI_EXIT_USAGE, "%s: fewer than two labels", train_path);
        goto out;
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        code = cli_fail(CLI_EXIT_USAGE, "%s: cannot create: %s", out, strerror(errno));
        goto out;
    }
    swarm_path = malloc(strlen(out) + 32);
    task_path = malloc(strlen(out) + 32);
    cal_path = malloc(strlen(out) + 32);
    if (!swarm_path || !task_path || !cal_path) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    sprintf(swarm_path, "%s/swarm.json", out);
    sprintf(task_path, "%s/task.json", out);
    /* without a dev set, the last 10 % of TRAIN (every 10th line) measures P_i */
    if (dev_path == NULL) {
        n_hold = tr.n / 10;
        n_train = tr.n - n_hold;
        sprintf(cal_path, "%s/holdout.tsv", out);
        FILE *f = fopen(cal_path, "w");
        if (f == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "%s: %s", cal_path, strerror(errno));
            goto out;
        }
        for (size_t i = n_train; i < tr.n; i++) fprintf(f, "%s\t%s\n", tr.label[i], tr.text[i]);
        fclose(f);
    } else {
        snprintf(cal_path, strlen(out) + 32, "%s", dev_path);
    }
    /* the tokenizers' corpus: every training text and label */
    for (size_t i = 0; i < n_train; i++) corpus_len += strlen(tr.text[i]) + strlen(tr.label[i]) + 3;
    corpus = malloc(corpus_len + 1);
    if (corpus == NULL) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    corpus_len = 0;
    for (size_t i = 0; i < n_train; i++)
        corpus_len += (size_t)sprintf(corpus + corpus_len, "%s\n %s\n", tr.text[i], tr.label[i]);
    fprintf(stderr, "%s: %zu training examples, %zu labels, %ld specialists, %.1f minutes\n",
            skill, n_train, L, k_spec, minutes);
    double per = minutes * 60.0 / (double)k_spec;
    pick = malloc(sizeof(size_t) * n_train);
    if (pick == NULL) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    for (long k = 0; k < k_spec; k++) {
        const spec_cfg *c = &k_cfg[k];
        char path[4096], tokp[4096], name[160];
        snprintf(name, sizeof(name), "%s-%ld", skill, k + 1);
        snprintf(path, sizeof(path), "%s/%s.gguf", out, name);
        snprintf(tokp, sizeof(tokp), "%s/%s.tok.gguf", out, name);
        swarm_diag d = {{0}};
        swarm_train_tok *tk = NULL;
        swarm_trainer *t = NULL;
        example *ex = NULL;
        /* --init: the checkpoint's own tokenizer and weights (diversity then
         * comes from the seed and the bootstrap sample) */
        const char *tok_src = init ? init : tokp;
        swarm_err rc = init ? SWARM_OK : swarm_bpe_train(corpus, corpus_len, c->vocab, tokp, &d);
        if (rc == SWARM_OK) rc = swarm_train_tok_open(tok_src, &tk, &d);
        if (rc) {
            code = cli_fail(CLI_EXIT_FAIL, "tokenizer: %s", d.msg);
            goto spec_out;
        }
        ex = calloc(n_train, sizeof(example));
        if (ex == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto spec_out;
        }
        int32_t longest = 0;
        int64_t lens_hist[4097] = {0};
        for (size_t i = 0; i < n_train; i++) {
            char *pr = render(prompt, tr.text[i]);
            char lab[256];
            snprintf(lab, sizeof(lab), " %s", tr.label[i]);
            if (pr == NULL) {
                code = cli_fail(CLI_EXIT_FAIL, "out of memory");
                goto spec_out;
            }
            code = encode_example(tk, pr, lab, lm, &ex[i]);
            free(pr);
            if (code) goto spec_out;
            if (ex[i].n > longest) longest = ex[i].n;
            lens_hist[ex[i].n < 4096 ? ex[i].n : 4096]++;
        }
        /* training length: the 98th percentile (a multiple of 8, 16..256) */
        int64_t acc = 0;
        int32_t len = 16;
        for (int32_t l = 0; l <= 4096; l++) {
            acc += lens_hist[l];
            if ((double)acc >= 0.98 * (double)n_train) {
                len = l;
                break;
            }
        }
        len = ((len + 7) / 8) * 8;
        if (len < 16) len = 16;
        if (len > 256) len = 256;
        /* the file's context covers the longest prompt the node may see */
        int32_t n_ctx = 1024;
        swarm_train_hparams hp = {.dim = c->dim, .ffn_dim = ((c->dim * 8 / 3) + 31) / 32 * 32,
                                  .n_layers = c->layers, .n_heads = c->heads,
                                  .n_kv_heads = c->heads, .n_vocab = swarm_train_tok_n_vocab(tk),
                                  .n_ctx = n_ctx, .rope_base = 10000.0f, .norm_eps = 1e-5f,
                                  .tied = true};
        rc = init ? swarm_trainer_load(init, n_ctx, (int)threads, &t, &d)
                  : swarm_trainer_create(&hp, seed + (uint64_t)k, (int)threads, &t, &d);
        if (rc != SWARM_OK) {
            code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
            goto spec_out;
        }
        if (swarm_trainer_hparams(t)->n_vocab != swarm_train_tok_n_vocab(tk)) {
            code = cli_fail(CLI_EXIT_USAGE, "%s: model and tokenizer vocabularies differ", init);
            goto spec_out;
        }
        /* bootstrap: n draws with replacement */
        uint64_t bs = seed * 1000003u + (uint64_t)k;
        for (size_t i = 0; i < n_train; i++) pick[i] = c->bootstrap ? (size_t)(mix64(bs + i) % n_train) : i;
        qsort_r(pick, n_train, sizeof(size_t), by_len, ex);
        ex_set es = {ex, n_train, pick, swarm_train_tok_eos(tk) >= 0 ? swarm_train_tok_eos(tk) : 0};
        train_data data = {.ud = &es, .batch = ex_batch, .val = NULL, .n_val = 0};
        train_loop lp = {0};
        lp.t = t;
        lp.opt = swarm_train_opt_default();
        lp.opt.lr = (float)lr;
        lp.opt.min_lr = (float)lr / 10;
        lp.opt.warmup = 40;
        lp.opt.weight_decay = 0.1f;
        lp.len = len;
        lp.batch = 32;
        lp.minutes = per / 60.0;
        lp.eval_every = 0;
        lp.log_every = 50;
        lp.quiet = false;
        lp.data_seed = seed * 31 + (uint64_t)k;
        double t0 = now_s();
        fprintf(stderr, "%s: %lld params (dim %d, %d layers, vocab %d), sequences of %d tokens\n",
                name, (long long)swarm_trainer_n_params(t), swarm_trainer_hparams(t)->dim,
                swarm_trainer_hparams(t)->n_layers, swarm_trainer_hparams(t)->n_vocab, len);
        if ((code = train_loop_run(&lp, &data))) {
            free(lp.st.curve);
            goto spec_out;
        }
        double mean_last = 0;
        size_t nl = lp.st.n_curve < 20 ? lp.st.n_curve : 20;
        for (size_t i = lp.st.n_curve - nl; i < lp.st.n_curve; i++) mean_last += lp.st.curve[i] / (double)nl;
        fprintf(stderr, "%s: %lld steps in %.0fs (%.0f tokens/s), label loss %.4f (mean of the last %zu)\n",
                name, (long long)swarm_trainer_step_count(t), now_s() - t0, lp.tok_per_s, mean_last, nl);
        free(lp.st.curve);
        swarm_train_save sv = {.tokenizer_gguf = tok_src, .name = name, .type = 0};
        if ((rc = swarm_trainer_save(t, path, &sv, &d)) != SWARM_OK) {
            code = cli_fail(CLI_EXIT_FAIL, "%s", d.msg);
            goto spec_out;
        }
        char rel[256];
        snprintf(rel, sizeof(rel), "%s.gguf", name);
        json_t *node = json_pack("{s:s, s:{s:s, s:s, s:i, s:i}, s:i, s:s, s:[f,f], s:f, s:{s:f}, s:f, s:f}",
                                 "name", name, "backend", "type", "local", "model", rel, "threads", 1,
                                 "n_ctx", n_ctx, "capacity", 1, "zone", k % 2 ? "zone-b" : "zone-a",
                                 "coordinates", (double)k, (double)(k % 2), "power_watts", 5.0,
                                 "skills", skill, 1.0, "accuracy", 1.0, "relevance", 1.0);
        json_array_append_new(nodes, node);
    spec_out:
        unlink(tokp);
        for (size_t i = 0; ex && i < n_train; i++) free(ex[i].tok);
        free(ex);
        swarm_trainer_destroy(t);
        swarm_train_tok_destroy(tk);
        if (code) goto out;
    }
    {
        char desc[512];
        snprintf(desc, sizeof(desc), "%ld specialists for %s trained by swarm train --labels %s", k_spec,
                 skill, train_path);
        json_t *sw = json_pack("{s:s, s:s, s:O}", "name", skill, "description", desc, "nodes", nodes);
        code = write_json(swarm_path, sw);
        json_decref(sw);
        if (code) goto out;
        json_t *jl = json_array();
        for (size_t j = 0; j < L; j++) json_array_append_new(jl, json_string(labels[j]));
        json_t *task = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:{s:s, s:i}, s:{s:s}}", "name", skill,
                                 "input", tr.text[0], "skill", skill, "kind", "classify", "labels", jl,
                                 "prompt", prompt, "decomposition", "strategy", "ensemble", "k",
                                 (int)k_spec, "aggregation", "method", "weighted-vote");
        code = write_json(task_path, task);
        json_decref(task);
        if (code) goto out;
    }
    /* P_i: each node's accuracy on the dev (or held-out) set, written back */
    eval_out ev = {0};
    fprintf(stderr, "measuring the specialists on %s\n", cal_path);
    if ((code = eval_swarm(swarm_path, cal_path, task_path, 0, false, false, &ev))) goto out;
    swarm_diag d = {{0}};
    swarm_calibration cal = {ev.n_nodes, skill, ev.node_acc, ev.node_acc, NULL};
    if (swarm_swarm_write_calibration(swarm_path, &cal, &d) != SWARM_OK) {
        free(ev.node_acc);
        code = cli_fail(CLI_EXIT_FAIL, "%s", d.msg);
        goto out;
    }
    free(ev.node_acc);
    printf("wrote %s and %s (accuracy P_i from %s)\n", swarm_path, task_path, cal_path);
out:
    json_decref(nodes);
    for (size_t j = 0; j < L; j++) free(labels[j]);
    free(label_of);
    free(corpus);
    free(pick);
    free(swarm_path);
    free(task_path);
    free(cal_path);
    tsv_free(&tr);
    return code;
}
