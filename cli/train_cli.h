/*
 * train_cli.h: pieces shared by `swarm train` (cmd_train.c: plain text;
 * cmd_train_labels.c: labelled TSV -> specialists) and `swarm eval`.
 */
#ifndef SWARM_TRAIN_CLI_H
#define SWARM_TRAIN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/train.h"

/* The training loop's data source: fills n_seq x (len + 1) tokens for a
 * step (a pure function of step, so a resumed run sees the same batches),
 * and the validation windows. */
typedef struct train_data {
    void *ud;
    /* fills n_seq sequences of len + 1 tokens (len <= max_len, chosen by the
     * source: e.g. the longest example of the batch) and returns len */
    int32_t (*batch)(void *ud, uint64_t seed, int64_t step, int32_t n_seq, int32_t max_len,
                     int32_t *out);
    /* validation: n_val sequences of len + 1 (may be 0) */
    const int32_t *val;
    int32_t n_val;
    int64_t n_train_tokens; /* for the summary */
} train_data;

typedef struct train_loop {
    swarm_trainer *t;
    swarm_train_opt opt;
    int32_t len, batch; /* len: the longest sequence; validation uses it */
    int64_t max_steps;   /* 0: from minutes */
    double minutes;      /* 0: no time limit */
    int eval_every, ckpt_every, log_every;
    const char *ckpt_path;      /* NULL: no checkpoints */
    const char *tokenizer_gguf; /* for the checkpoints */
    const char *name;
    uint64_t data_seed;
    bool quiet;          /* no progress at all (specialists print their own) */
    swarm_train_state st; /* restored (resume) or fresh; curve owned here */
    double last_val;     /* last validation loss (NAN: none) */
    double tok_per_s;
} train_loop;

/* Runs the loop; returns a CLI exit code (messages printed). */
int train_loop_run(train_loop *L, const train_data *data);

/* Reads a whole file into a NUL-terminated malloc'd buffer (exit code on error). */
int train_read_text(const char *path, char **out, size_t *len);
/* "<base>.<suffix>" with a trailing ".gguf" of base removed; malloc'd. */
char *train_sibling(const char *path, const char *suffix);

/* label<TAB>text lines */
typedef struct tsv_set {
    char **label, **text;
    size_t n;
} tsv_set;
/* Reads at most limit lines (0 = all); exit code on error (message printed). */
int tsv_read(const char *path, size_t limit, tsv_set *s);
void tsv_free(tsv_set *s);

/* What eval_swarm measured: per node accuracy (malloc'd) and the aggregated
 * accuracies. */
typedef struct eval_out {
    double *node_acc;
    size_t n_nodes;
    double agg_acc[4]; /* weighted vote, vote, max-weight, weighted probability */
} eval_out;
/* `swarm eval` as a function; quiet prints nothing; res may be NULL. */
int eval_swarm(const char *swarm_path, const char *tsv_path, const char *task_path, size_t limit,
               bool json, bool quiet, eval_out *res);

int cmd_train_labels(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
