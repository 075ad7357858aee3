/*
 * train.h: the trainer: llama-architecture language models (RMSNorm, RoPE,
 * grouped-query attention, SwiGLU, tied or separate output head) trained on
 * the CPU with AdamW, warmup + cosine schedule and global-norm clipping,
 * checkpointed as GGUF files our engine (and llama.cpp) loads. Also the
 * byte-level BPE tokenizer trainer and the corpus / labelled-data helpers
 * `swarm train` is built from. A swarm_trainer is used by one thread at a
 * time; it runs its own thread pool inside.
 */
#ifndef SWARM_TRAIN_H
#define SWARM_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct swarm_train_hparams {
    int32_t dim, ffn_dim, n_layers, n_heads, n_kv_heads, n_vocab;
    int32_t n_ctx;   /* longest sequence trained (and the file's context_length) */
    float rope_base; /* 10000 */
    float norm_eps;  /* 1e-5 */
    bool tied;       /* output head shares the token embedding */
} swarm_train_hparams;

typedef struct swarm_train_opt {
    float lr, min_lr;     /* peak and final learning rate of the cosine */
    int32_t warmup;       /* linear warmup steps */
    int32_t total_steps;  /* length of the cosine (lr = min_lr after it) */
    float beta1, beta2, eps, weight_decay; /* AdamW (decay on matrices only) */
    float clip;           /* global gradient norm limit (0 = none) */
} swarm_train_opt;

SWARM_API swarm_train_opt swarm_train_opt_default(void);

typedef struct swarm_trainer swarm_trainer;

/* A fresh model with weights drawn from seed (equal seeds: equal bits).
 * n_threads <= 0: the number of online CPUs. */
SWARM_API swarm_err swarm_trainer_create(const swarm_train_hparams *hp, uint64_t seed,
                                         int n_threads, swarm_trainer **out, swarm_diag *d);
/* Loads a GGUF checkpoint (llama arch, any weight type our engine reads;
 * quantized weights are dequantized) and, when the file holds it, the
 * optimizer state and step of a training checkpoint. n_ctx 0 = the file's
 * context_length. */
SWARM_API swarm_err swarm_trainer_load(const char *path, int32_t n_ctx, int n_threads,
                                       swarm_trainer **out, swarm_diag *d);
SWARM_API void swarm_trainer_destroy(swarm_trainer *t);

SWARM_API const swarm_train_hparams *swarm_trainer_hparams(const swarm_trainer *t);
SWARM_API int64_t swarm_trainer_n_params(const swarm_trainer *t);
/* Optimizer steps taken so far (restored from a checkpoint). */
SWARM_API int64_t swarm_trainer_step_count(const swarm_trainer *t);
/* Forward + backward FLOPs of one step of n_seq sequences of len tokens
 * (matmuls and attention, 6N per token rule made exact). */
SWARM_API double swarm_trainer_step_flops(const swarm_trainer *t, int32_t n_seq, int32_t len);

/*
 * One optimizer step on n_seq sequences of len + 1 tokens each
 * (tokens[s*(len+1) .. ]): inputs are the first len, targets the last len.
 * A token stored as ~id (negative) is id as an input but no target (no
 * loss there: prompts of labelled examples). Returns the mean loss (nats
 * per target token) before the update in *loss. len <= n_ctx.
 */
SWARM_API swarm_err swarm_trainer_step(swarm_trainer *t, const int32_t *tokens, int32_t n_seq,
                                       int32_t len, const swarm_train_opt *o, double *loss);
/* Mean loss without updating (validation). */
SWARM_API swarm_err swarm_trainer_eval(swarm_trainer *t, const int32_t *tokens, int32_t n_seq,
                                       int32_t len, double *loss);
/* Logits (len x n_vocab, row-major) of one sequence of len tokens into out. */
SWARM_API swarm_err swarm_trainer_logits(swarm_trainer *t, const int32_t *tokens, int32_t len,
                                         float *out);
/* Learning rate of step (0-based) under o. */
SWARM_API float swarm_train_lr(const swarm_train_opt *o, int64_t step);

/* The resume keys of a training checkpoint (swarm.train.*). */
typedef struct swarm_train_state {
    uint64_t data_seed;   /* seed of the batch sampler */
    int64_t tokens_seen;
    int32_t total_steps;  /* the schedule's length, fixed at the first start */
    double *curve;        /* loss per step so far (may be NULL) */
    size_t n_curve;
} swarm_train_state;

/* What a checkpoint holds besides the weights. */
typedef struct swarm_train_save {
    const char *tokenizer_gguf; /* tokenizer.* metadata copied from this GGUF (required) */
    const char *name;           /* general.name (may be NULL) */
    uint32_t type;              /* weight type of the matrices: 0 = F32, 8 = Q8_0 */
    bool with_state;            /* also the optimizer state, step and st (for resume) */
    swarm_train_state st;
} swarm_train_save;

/* Writes a GGUF checkpoint atomically (temporary file + fsync + rename). */
SWARM_API swarm_err swarm_trainer_save(swarm_trainer *t, const char *path,
                                       const swarm_train_save *s, swarm_diag *d);
/* Reads the resume keys of a checkpoint written with_state; st->curve is
 * allocated (swarm_free). */
SWARM_API swarm_err swarm_train_read_state(const char *path, swarm_train_state *st,
                                           swarm_diag *d);

/* ---- tokenizer ---- */
/*
 * Trains a byte-level BPE tokenizer (GPT-2 pre-tokenizer, 256 byte tokens,
 * merges, one <|endoftext|> token used as BOS and EOS) of n_vocab tokens on
 * text[0..len) and writes it as a tokenizer-only GGUF file (no tensors).
 */
SWARM_API swarm_err swarm_bpe_train(const char *text, size_t len, int32_t n_vocab,
                                    const char *out_path, swarm_diag *d);

/* A tokenizer read from a GGUF file, for encoding training data. */
typedef struct swarm_train_tok swarm_train_tok;
SWARM_API swarm_err swarm_train_tok_open(const char *gguf_path, swarm_train_tok **out,
                                         swarm_diag *d);
SWARM_API void swarm_train_tok_destroy(swarm_train_tok *t);
SWARM_API int32_t swarm_train_tok_n_vocab(const swarm_train_tok *t);
SWARM_API int32_t swarm_train_tok_bos(const swarm_train_tok *t); /* -1: none */
SWARM_API int32_t swarm_train_tok_eos(const swarm_train_tok *t); /* -1: none */
/* Tokens of text (no BOS/EOS; SentencePiece's dummy prefix when add_prefix).
 * *out is allocated; free with swarm_free. */
SWARM_API swarm_err swarm_train_tok_encode(const swarm_train_tok *t, const char *text,
                                           size_t len, int32_t **out, size_t *out_n);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_TRAIN_H */
