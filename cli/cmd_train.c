/*
 * cmd_train.c: `swarm train`: trains a llama-architecture language model
 * on a plain-text corpus (a byte-level BPE tokenizer trained on it, or the
 * tokenizer of an existing GGUF), from scratch or from a GGUF checkpoint,
 * with a progress bar on a terminal and plain lines otherwise, periodic
 * validation loss, atomic resumable checkpoints and Q8_0 export. With
 * --labels it makes classifier specialists instead (cmd_train_labels.c).
 * The training loop here is shared by both.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "train_cli.h"

static const char *const USAGE =
    "usage: swarm train --text CORPUS.txt --out MODEL.gguf [options]\n"
    "       swarm train --labels TRAIN.tsv --out DIR [--dev DEV.tsv] [--minutes M] (see --labels --help)\n"
    "\n"
    "Trains a llama-architecture model on the CPU and writes MODEL.gguf (F32, tokenizer\n"
    "inside; swarm generate, swarm nodes and llama.cpp load it).\n"
    "\n"
    "data and tokenizer:\n"
    "  --text FILE        plain UTF-8 text; the last --val-frac of it is held out\n"
    "  --vocab N          train a byte-level BPE tokenizer of N tokens on FILE (default 1024)\n"
    "  --tokenizer GGUF   reuse the tokenizer of this GGUF file instead\n"
    "  --init GGUF        start from this checkpoint (its shape and tokenizer)\n"
    "model (from scratch):\n"
    "  --dim D (128)  --layers L (4)  --heads H (4)  --kv-heads K (= H)  --ffn F (auto)\n"
    "  --ctx T (128)  --untied (separate output head; default tied)\n"
    "schedule:\n"
    "  --steps N (500) or --minutes M   --batch B (16)   --lr X (2e-3)  --min-lr X (lr/10)\n"
    "  --warmup N (5% of steps)  --wd X (0.1)  --clip X (1.0)  --seed S (1)  --threads K\n"
    "output:\n"
    "  --out MODEL.gguf   final model (F32); checkpoints go to MODEL.ckpt.gguf\n"
    "  --q8 PATH          also export a Q8_0 copy\n"
    "  --ckpt-every N (100)  --eval-every N (100)  --log-every N (10)\n"
    "  --resume           continue from MODEL.ckpt.gguf if it exists (after a crash or kill)\n";

#define MAX_CORPUS (1ull << 31)

int train_read_text(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return cli_fail(CLI_EXIT_USAGE, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return cli_fail(CLI_EXIT_USAGE, "%s: not a regular file", path);
    }
    if ((unsigned long long)sb.st_size > MAX_CORPUS) {
        fclose(f);
        return cli_fail(CLI_EXIT_USAGE, "%s: larger than 2 GiB", path);
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    size_t n = fread(buf, 1, (size_t)sb.st_size, f);
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return cli_fail(CLI_EXIT_USAGE, "%s: cannot read", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return CLI_EXIT_OK;
}

char *train_sibling(const char *path, const char *suffix)
{
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) n -= 5;
    char *s = malloc(n + strlen(suffix) + 2);
    if (s == NULL) return NULL;
    memcpy(s, path, n);
    s[n] = '.';
    strcpy(s + n + 1, suffix);
    return s;
}

/* ------------------------------------------------------------------------ */
/* the loop                                                                 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fmt_dur(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e7) snprintf(buf, cap, "?");
    else if (s < 60) snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static int save_ckpt(train_loop *L)
{
    swarm_train_save sv = {.tokenizer_gguf = L->tokenizer_gguf, .name = L->name, .type = 0,
                           .with_state = true, .st = L->st};
    sv.st.data_seed = L->data_seed;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_trainer_save(L->t, L->ckpt_path, &sv, &d);
    if (rc) return cli_fail(CLI_EXIT_FAIL, "checkpoint: %s", d.msg);
    return CLI_EXIT_OK;
}

static int validate(train_loop *L, const train_data *data, double *out)
{
    *out = NAN;
    if (data->n_val <= 0) return CLI_EXIT_OK;
    double sum = 0;
    int32_t done = 0;
    while (done < data->n_val) {
        int32_t k = data->n_val - done < L->batch ? data->n_val - done : L->batch;
        double l;
        swarm_err rc = swarm_trainer_eval(L->t, data->val + (size_t)done * (L->len + 1), k,
                                          L->len, &l);
        if (rc) return cli_fail(CLI_EXIT_FAIL, "validation: %s", swarm_strerror(rc));
        sum += l * k;
        done += k;
    }
    *out = sum / data->n_val;
    return CLI_EXIT_OK;
}

int train_loop_run(train_loop *L, const train_data *data)
{
    bool tty = !L->quiet && isatty(2);
    int32_t *buf = malloc(sizeof(int32_t) * (size_t)L->batch * (L->len + 1));
    if (buf == NULL) return cli_fail(CLI_EXIT_FAIL, "out of memory");
    int code = CLI_EXIT_OK;
    int64_t step = swarm_trainer_step_count(L->t);
    /* a checkpoint of a --minutes run holds the "until the time is up"
     * length; resumed without --minutes it takes --steps instead */
    if (L->st.total_steps <= 0 || (L->st.total_steps >= 100000000 && L->minutes <= 0))
        L->st.total_steps = L->max_steps > 0 ? (int32_t)L->max_steps : 1000000;
    L->opt.total_steps = L->st.total_steps;
    double tokens_run = 0;
    int64_t shown_total = L->st.total_steps;
    double t0 = now_s(), budget = L->minutes * 60.0;
    int64_t step0 = step;
    /* --minutes alone: the steps are as many as fit (the total shown is
     * re-estimated from the speed so far) */
    if (budget > 0 && L->max_steps <= 0) L->st.total_steps = 100000000;
    L->last_val = NAN;
    double loss = NAN;
    /* the curve grows by one per step */
    size_t cap = L->st.n_curve + 1024;
    double *curve = realloc(L->st.curve, cap * sizeof(double));
    if (curve == NULL) {
        free(buf);
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    L->st.curve = curve;
    while (step < L->st.total_steps) {
        if (budget > 0 && now_s() - t0 > budget && step > step0) break;
        int32_t len = data->batch(data->ud, L->data_seed, step, L->batch, L->len, buf);
        swarm_train_opt o = L->opt;
        if (budget > 0 && L->max_steps <= 0 && step >= L->opt.warmup) {
            /* a time budget: the cosine runs over the elapsed fraction of
             * the time, so a slower or busier machine takes fewer steps but
             * still ends at min_lr (a constant rate for this step) */
            double frac = (now_s() - t0) / budget;
            if (frac > 1) frac = 1;
            o.min_lr = o.min_lr + (float)(0.5 * (1.0 + cos(M_PI * frac))) * (o.lr - o.min_lr);
            o.warmup = 0;
            o.total_steps = 0;
        }
        swarm_err rc = swarm_trainer_step(L->t, buf, L->batch, len, &o, &loss);
        if (rc) {
            code = cli_fail(CLI_EXIT_FAIL, "step %lld: %s (the loss diverged: try a lower --lr)",
                            (long long)step, swarm_strerror(rc));
            goto out;
        }
        step++;
        L->st.tokens_seen += (int64_t)L->batch * len;
        tokens_run += (double)L->batch * len;
        if (L->st.n_curve == cap) {
            cap *= 2;
            curve = realloc(L->st.curve, cap * sizeof(double));
            if (curve == NULL) {
                code = cli_fail(CLI_EXIT_FAIL, "out of memory");
                goto out;
            }
            L->st.curve = curve;
        }
        L->st.curve[L->st.n_curve++] = loss;
        double el = now_s() - t0;
        L->tok_per_s = tokens_run / (el > 0 ? el : 1e-9);
        if (budget > 0 && L->max_steps <= 0) {
            int64_t est = step + (int64_t)((budget - el) / (el / (double)(step - step0)));
            shown_total = est > step ? est : step;
            if (el >= budget) L->st.total_steps = (int32_t)step; /* done */
        } else {
            shown_total = L->st.total_steps;
        }
        bool last = step >= L->st.total_steps;
        if ((L->eval_every > 0 && step % L->eval_every == 0) || last) {
            if ((code = validate(L, data, &L->last_val))) goto out;
        }
        if (!L->quiet) {
            double eta = (double)(shown_total - step) * el / (double)(step - step0);
            if (budget > 0 && budget - el < eta) eta = budget - el;
            char e[32];
            fmt_dur(e, sizeof(e), eta);
            if (tty) {
                int w = 24, fill = (int)((double)step / (double)shown_total * w);
                char bar[32];
                for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
                bar[w] = 0;
                fprintf(stderr, "\r  step %lld/%lld [%s] loss %.3f", (long long)step,
                        (long long)shown_total, bar, loss);
                if (!isnan(L->last_val)) fprintf(stderr, " val %.3f", L->last_val);
                fprintf(stderr, " | %.0f tok/s | ETA %s   ", L->tok_per_s, e);
                if (last) fputc('\n', stderr);
            } else if ((L->log_every > 0 && step % L->log_every == 0) || last) {
                fprintf(stderr, "step %lld/%lld loss %.4f tok/s %.0f elapsed %.1fs", (long long)step,
                        (long long)shown_total, loss, L->tok_per_s, el);
                if (!isnan(L->last_val) && (step % L->eval_every == 0 || last))
                    fprintf(stderr, " val %.4f", L->last_val);
                fputc('\n', stderr);
            }
        }
        if (L->ckpt_path && L->ckpt_every > 0 && step % L->ckpt_every == 0 && !last)
            if ((code = save_ckpt(L))) goto out;
    }
    if (tty && step < L->st.total_steps) fputc('\n', stderr);
    if (isnan(L->last_val) && (code = validate(L, data, &L->last_val))) goto out;
    if (L->ckpt_path && (code = save_ckpt(L))) goto out;
out:
    free(buf);
    return code;
}

/* ------------------------------------------------------------------------ */
/* plain text                                                               */

typedef struct stream {
    const int32_t *tok;
    size_t n; /* training part */
} stream;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int32_t stream_batch(void *ud, uint64_t seed, int64_t step, int32_t n_seq, int32_t len,
                            int32_t *out)
{
    const stream *s = ud;
    size_t span = s->n - (size_t)len; /* > 0: checked at start */
    for (int32_t i = 0; i < n_seq; i++) {
        uint64_t r = mix(seed * 0x9E3779B97F4A7C15ull + (uint64_t)step * 1000003u + (uint64_t)i);
        memcpy(out + (size_t)i * (len + 1), s->tok + r % span, sizeof(int32_t) * (size_t)(len + 1));
    }
    return len;
}

static bool opt_num(const char *s, double lo, double hi, double *out) { return cli_parse_double(s, lo, hi, out); }

int cmd_train(int argc, char **argv)
{
    const char *cmd = argv[0];
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--labels") == 0) return cmd_train_labels(argc, argv);
    const char *text_path = NULL, *out = NULL, *tok_from = NULL, *init = NULL, *q8 = NULL;
    long vocab = 1024, dim = 128, layers = 4, heads = 4, kv = 0, ffn = 0, ctx = 128, steps = 0,
         batch = 16, warmup = -1, threads = 0, ckpt_every = 100, eval_every = 100, log_every = 10;
    double lr = 2e-3, min_lr = -1, wd = 0.1, clip = 1.0, minutes = 0, val_frac = 0.05;
    uint64_t seed = 1;
    bool tied = true, resume = false;
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        bool ok = true;
        if (cli_is_help(s)) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
#define INT(flag, var, lo, hi)                                  \
    else if (strcmp(s, flag) == 0 && v) { ok = cli_parse_int(v, lo, hi, &var); a++; }
#define DBL(flag, var, lo, hi)                                  \
    else if (strcmp(s, flag) == 0 && v) { ok = opt_num(v, lo, hi, &var); a++; }
#define STR(flag, var)                                          \
    else if (strcmp(s, flag) == 0 && v) { var = v; a++; }
        STR("--text", text_path) STR("--out", out) STR("--tokenizer", tok_from)
        STR("--init", init) STR("--q8", q8)
        INT("--vocab", vocab, 258, 1 << 20) INT("--dim", dim, 2, 65536) INT("--layers", layers, 1, 1024)
        INT("--heads", heads, 1, 4096) INT("--kv-heads", kv, 1, 4096) INT("--ffn", ffn, 1, 1 << 20)
        INT("--ctx", ctx, 2, 65536) INT("--steps", steps, 1, 100000000) INT("--batch", batch, 1, 65536)
        INT("--warmup", warmup, 0, 100000000) INT("--threads", threads, 1, 256)
        INT("--ckpt-every", ckpt_every, 1, 100000000) INT("--eval-every", eval_every, 1, 100000000)
        INT("--log-every", log_every, 1, 100000000)
        DBL("--lr", lr, 1e-8, 1.0) DBL("--min-lr", min_lr, 0, 1.0) DBL("--wd", wd, 0, 10)
        DBL("--clip", clip, 0, 1e6) DBL("--minutes", minutes, 1e-3, 1e6) DBL("--val-frac", val_frac, 0, 0.5)
        else if (strcmp(s, "--seed") == 0 && v) { ok = cli_parse_u64(v, &seed); a++; }
        else if (strcmp(s, "--untied") == 0) tied = false;
        else if (strcmp(s, "--resume") == 0) resume = true;
        else return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
#undef INT
#undef DBL
#undef STR
        if (!ok) return cli_usage_error(cmd, "invalid value '%s' for %s", v, s);
    }
    if (text_path == NULL || out == NULL) return cli_usage_error(cmd, "want --text CORPUS and --out MODEL.gguf");
    if (tok_from && init) return cli_usage_error(cmd, "--init brings its own tokenizer; drop --tokenizer");
    if (steps == 0 && minutes == 0) steps = 500;
    if (min_lr < 0) min_lr = lr / 10;

    char *ckpt = train_sibling(out, "ckpt.gguf"), *tokp = train_sibling(out, "tok.gguf");
    char *text = NULL;
    size_t text_len = 0;
    int32_t *ids = NULL, *val = NULL, *enc = NULL;
    size_t n_ids = 0;
    swarm_train_tok *tk = NULL;
    swarm_trainer *t = NULL;
    train_loop L = {0};
    swarm_diag d = {{0}};
    swarm_err rc;
    int code = CLI_EXIT_OK;
    const char *tok_src = NULL;
    char model_name[256];
    if (ckpt == NULL || tokp == NULL) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    if ((code = train_read_text(text_path, &text, &text_len))) goto out;
    if (text_len == 0) {
        code = cli_fail(CLI_EXIT_USAGE, "%s: empty corpus", text_path);
        goto out;
    }
    bool resuming = resume && access(ckpt, F_OK) == 0;
    if (resuming) {
        tok_src = ckpt; /* the checkpoint carries the tokenizer */
    } else if (init) {
        tok_src = init;
    } else if (tok_from) {
        tok_src = tok_from;
    } else {
        double t0 = (double)clock();
        if ((rc = swarm_bpe_train(text, text_len, (int32_t)vocab, tokp, &d)) != SWARM_OK) {
            code = cli_fail(cli_exit_for_input_error(rc), "tokenizer: %s", d.msg);
            goto out;
        }
        fprintf(stderr, "trained a byte-level BPE tokenizer (%ld tokens requested) in %.1fs\n",
                vocab, ((double)clock() - t0) / CLOCKS_PER_SEC);
        tok_src = tokp;
    }
    if ((rc = swarm_train_tok_open(tok_src, &tk, &d)) != SWARM_OK) {
        code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
        goto out;
    }
    /* the corpus as one stream: BOS first, lines in order */
    if ((rc = swarm_train_tok_encode(tk, text, text_len, &enc, &n_ids)) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_FAIL, "encoding the corpus: %s", swarm_strerror(rc));
        goto out;
    }
    if (resuming) {
        if ((rc = swarm_trainer_load(ckpt, 0, (int)threads, &t, &d)) != SWARM_OK ||
            (rc = swarm_train_read_state(ckpt, &L.st, &d)) != SWARM_OK) {
            code = cli_fail(cli_exit_for_input_error(rc), "resume: %s", d.msg);
            goto out;
        }
        seed = L.st.data_seed;
        /* the curve into this file's allocator (the loop grows it) */
        double *c = malloc(sizeof(double) * (L.st.n_curve + 1));
        if (c == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        if (L.st.n_curve) memcpy(c, L.st.curve, sizeof(double) * L.st.n_curve);
        swarm_free(L.st.curve);
        L.st.curve = c;
        fprintf(stderr, "resuming from %s at step %lld of %d\n", ckpt,
                (long long)swarm_trainer_step_count(t), L.st.total_steps);
    } else if (init) {
        if ((rc = swarm_trainer_load(init, (int32_t)ctx, (int)threads, &t, &d)) != SWARM_OK) {
            code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
            goto out;
        }
    } else {
        if (ffn == 0) ffn = ((dim * 8 / 3) + 31) / 32 * 32;
        swarm_train_hparams hp = {.dim = (int32_t)dim, .ffn_dim = (int32_t)ffn,
                                  .n_layers = (int32_t)layers, .n_heads = (int32_t)heads,
                                  .n_kv_heads = (int32_t)(kv ? kv : heads),
                                  .n_vocab = swarm_train_tok_n_vocab(tk), .n_ctx = (int32_t)ctx,
                                  .rope_base = 10000.0f, .norm_eps = 1e-5f, .tied = tied};
        if ((rc = swarm_trainer_create(&hp, seed, (int)threads, &t, &d)) != SWARM_OK) {
            code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
            goto out;
        }
    }
    const swarm_train_hparams *hp = swarm_trainer_hparams(t);
    if (hp->n_vocab != swarm_train_tok_n_vocab(tk)) {
        code = cli_fail(CLI_EXIT_USAGE, "the model has %d tokens but the tokenizer %d",
                        hp->n_vocab, swarm_train_tok_n_vocab(tk));
        goto out;
    }
    int32_t len = hp->n_ctx < (int32_t)ctx ? hp->n_ctx : (int32_t)ctx;
    /* BOS in front (the engine adds it when it encodes a prompt); a copy in
     * this file's allocator */
    int32_t bos = swarm_train_tok_bos(tk);
    int32_t *all = malloc(sizeof(int32_t) * (n_ids + 1));
    if (all == NULL) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    size_t k0 = 0;
    if (bos >= 0) all[k0++] = bos;
    memcpy(all + k0, enc, sizeof(int32_t) * n_ids);
    swarm_free(enc);
    enc = NULL;
    ids = all;
    n_ids += k0;
    size_t n_val_tok = (size_t)((double)n_ids * val_frac);
    size_t n_train = n_ids - n_val_tok;
    if (n_train < (size_t)len + 2) {
        code = cli_fail(CLI_EXIT_USAGE,
                        "%s: %zu training tokens is too little for a context of %d (use a "
                        "smaller --ctx or more text)",
                        text_path, n_train, len);
        goto out;
    }
    /* validation: non-overlapping windows of the held-out tail, at most 32 */
    int32_t n_val = (int32_t)(n_val_tok > (size_t)len ? (n_val_tok - 1) / (size_t)len : 0);
    if (n_val > 32) n_val = 32;
    if (n_val > 0) {
        val = malloc(sizeof(int32_t) * (size_t)n_val * (len + 1));
        if (val == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        for (int32_t i = 0; i < n_val; i++)
            memcpy(val + (size_t)i * (len + 1), ids + n_train + (size_t)i * len,
                   sizeof(int32_t) * (size_t)(len + 1));
    }
    stream st = {ids, n_train};
    train_data data = {.ud = &st, .batch = stream_batch, .val = val, .n_val = n_val,
                       .n_train_tokens = (int64_t)n_train};
    L.t = t;
    L.opt = swarm_train_opt_default();
    L.opt.lr = (float)lr;
    L.opt.min_lr = (float)min_lr;
    L.opt.weight_decay = (float)wd;
    L.opt.clip = (float)clip;
    L.len = len;
    L.batch = (int32_t)batch;
    L.max_steps = steps;
    L.minutes = minutes;
    if (!resuming) L.st.total_steps = (int32_t)steps;
    L.opt.warmup = warmup >= 0 ? (int32_t)warmup : (steps > 0 ? (int32_t)(steps / 20) : 20);
    L.eval_every = (int)eval_every;
    L.ckpt_every = (int)ckpt_every;
    L.log_every = (int)log_every;
    L.ckpt_path = ckpt;
    L.tokenizer_gguf = tok_src;
    /* general.name: the file's base name without .gguf */
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    snprintf(model_name, sizeof(model_name), "%.*s",
             (int)(strlen(base) > 5 && strcmp(base + strlen(base) - 5, ".gguf") == 0
                       ? strlen(base) - 5
                       : strlen(base)),
             base);
    L.name = model_name;
    L.data_seed = seed;
    fprintf(stderr,
            "model: %lld parameters (dim %d, %d layers, %d heads, %d kv heads, ffn %d, vocab %d, "
            "ctx %d, %s); corpus %zu tokens (%zu train, %zu held out)\n",
            (long long)swarm_trainer_n_params(t), hp->dim, hp->n_layers, hp->n_heads,
            hp->n_kv_heads, hp->ffn_dim, hp->n_vocab, hp->n_ctx, hp->tied ? "tied" : "untied",
            n_ids, n_train, n_val_tok);
    double t0 = now_s();
    if ((code = train_loop_run(&L, &data))) goto out;
    double el = now_s() - t0;
    swarm_train_save sv = {.tokenizer_gguf = ckpt, .name = model_name, .type = 0};
    if ((rc = swarm_trainer_save(t, out, &sv, &d)) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_FAIL, "%s", d.msg);
        goto out;
    }
    if (q8) {
        sv.type = 8;
        if ((rc = swarm_trainer_save(t, q8, &sv, &d)) != SWARM_OK) {
            code = cli_fail(CLI_EXIT_FAIL, "%s", d.msg);
            goto out;
        }
    }
    printf("trained %lld steps (%lld tokens) in %.1fs, %.0f tokens/s; final loss %.4f, "
           "validation loss %.4f\nwrote %s%s%s (checkpoint %s)\n",
           (long long)swarm_trainer_step_count(t), (long long)L.st.tokens_seen, el, L.tok_per_s,
           L.st.n_curve ? L.st.curve[L.st.n_curve - 1] : NAN, L.last_val, out, q8 ? " and " : "",
           q8 ? q8 : "", ckpt);
    unlink(tokp); /* the checkpoint and the model carry it */
out:
    swarm_trainer_destroy(t);
    swarm_train_tok_destroy(tk);
    free(ids);
    swarm_free(enc);
    free(val);
    free(text);
    free(L.st.curve);
    free(ckpt);
    free(tokp);
    return code;
}
