/*
 * forward.h: private contract between engine.c, forward.c, sampler.c and
 * model.c: the transformer's per-session state (one arena, KV cache, thread
 * pool) and the sampler. Never installed; not part of engine_int.h because
 * only these files use it.
 */
#ifndef SW_FORWARD_H
#define SW_FORWARD_H

#include "engine_int.h"

/* ------------------------------------------------------------------------ */
/* forward pass (forward.c)                                                 */

enum sw_logits_mode {
    SW_LOGITS_NONE, /* fill the KV cache only */
    SW_LOGITS_LAST, /* logits of the last token of the batch (row 0) */
    SW_LOGITS_ALL,  /* logits of every token of the batch (row t) */
    SW_LOGITS_MODE_COUNT
};

typedef struct sw_fwd sw_fwd;

/*
 * Creates the forward state of a session: one arena holding activations for
 * up to n_batch tokens per call, the F32 KV cache for n_ctx positions, the
 * rope tables and the thread pool (with its matmul scratch reserved), so that
 * sw_fwd_eval never allocates. rope_freq (rope_dim/2 floats) holds the angle
 * per position of each rotated pair (scaling already applied); it is copied.
 */
swarm_err sw_fwd_create(const sw_hparams *hp, const sw_weights *w, const float *rope_freq,
                        int32_t n_ctx, int32_t n_batch, int n_threads, sw_fwd **out);
void sw_fwd_destroy(sw_fwd *f);
int32_t sw_fwd_n_ctx(const sw_fwd *f);
int32_t sw_fwd_n_batch(const sw_fwd *f);
/* Most tokens one SW_LOGITS_ALL call may take (<= n_batch, >= min(16, n_batch)). */
int32_t sw_fwd_n_logit_rows(const sw_fwd *f);

/*
 * Runs tokens[0..n) at positions pos..pos+n-1 (1 <= n <= n_batch, and
 * n <= sw_fwd_n_logit_rows for SW_LOGITS_ALL,
 * pos + n <= n_ctx, every id < n_vocab: caller bugs otherwise), reading the
 * KV cache of positions < pos and writing that of the new positions.
 * Returns the logits (row-major, n_vocab per row; see mode) or NULL for
 * SW_LOGITS_NONE; valid until the next call.
 */
const float *sw_fwd_eval(sw_fwd *f, const int32_t *tokens, int32_t n, int32_t pos,
                         enum sw_logits_mode mode);
/*
 * Batched decoding: token t of seqs[t] at position positions[t] (that
 * sequence's next position: its cache holds positions < positions[t]), all
 * n in one forward pass, so every weight is read once for the n sequences.
 * f supplies the activations and the thread pool (it may be one of seqs);
 * every seqs[t] must be a state of the same weights with the same n_ctx,
 * and n <= min(n_batch, n_logit_rows) of f. Writes each sequence's K/V row;
 * returns n rows of logits (row t for seqs[t]), valid until f's next call.
 * Each row equals what sw_fwd_eval of that token alone on seqs[t] gives, up
 * to float summation order.
 */
const float *sw_fwd_eval_multi(sw_fwd *f, sw_fwd *const *seqs, const int32_t *tokens,
                               const int32_t *positions, int32_t n);
/* Makes row (n_vocab floats, copied) f's last logits. */
void sw_fwd_set_last_logits(sw_fwd *f, const float *row);
/* Like sw_fwd_eval for any n: splits into batches of n_batch. With
 * SW_LOGITS_LAST the returned row is that of tokens[n-1]. */
const float *sw_fwd_eval_all(sw_fwd *f, const int32_t *tokens, int32_t n, int32_t pos);
/* The logits of the most recent eval's last row (NULL before any). */
const float *sw_fwd_last_logits(const sw_fwd *f);

/* Per-operation timing of sw_fwd_eval (bench-model --profile): wall time
 * summed per kind of step, as the calling thread sees it (a matmul's time
 * includes waiting for the pool). Off unless a profile is attached. */
enum sw_fwd_op {
    SW_OP_EMBED,    /* token embedding rows */
    SW_OP_NORM,     /* attention / FFN RMSNorms (and gemma's post norms) */
    SW_OP_QKV,      /* q, k, v matmuls and biases */
    SW_OP_ROPE,     /* q/k head norms and rope */
    SW_OP_ATTN,     /* attention over the cache */
    SW_OP_WO,       /* attention output matmul */
    SW_OP_RESID,    /* residual adds */
    SW_OP_GATE_UP,  /* FFN gate and up matmuls */
    SW_OP_ACT,      /* SiLU / GELU times up */
    SW_OP_DOWN,     /* FFN down matmul */
    SW_OP_HEAD,     /* final norm, output matmul, soft-cap */
    SW_OP_COUNT
};
typedef struct sw_fwd_profile {
    double ms[SW_OP_COUNT];
    int64_t evals;
} sw_fwd_profile;
const char *sw_fwd_op_name(enum sw_fwd_op op);
/* Attaches p (NULL detaches); eval adds to it. */
void sw_fwd_set_profile(sw_fwd *f, sw_fwd_profile *p);

/* Angles per rotated pair for hparams (base^(-2i/rope_dim), llama3 scaling
 * from hp, optional rope_freqs factors dividing them). out has rope_dim/2. */
void sw_rope_freqs(const sw_hparams *hp, const float *factors, float *out);

/* ------------------------------------------------------------------------ */
/* model binder extras (model.c)                                            */

/* Reads the optional llama3 rope_freqs.weight tensor: *out (rope_dim/2
 * floats inside the mapping) or NULL when absent. Errors when mis-shaped. */
swarm_err sw_model_rope_factors(const sw_gguf *g, const sw_hparams *hp, const float **out,
                                swarm_diag *d);

/* ------------------------------------------------------------------------ */
/* sampler (sampler.c)                                                      */

typedef struct sw_prob {
    float p;
    int32_t id;
} sw_prob;

typedef struct sw_sampler {
    swarm_sampling cfg;
    int32_t n_vocab;
    uint64_t rng;  /* xorshift64* state, never 0 */
    sw_prob *cand; /* (n_vocab) scratch, owned by the session arena */
} sw_sampler;

/* Index of the largest value; ties go to the lowest index. NaNs never win. */
int32_t sw_argmax(const float *x, int32_t n);
/* Prepares a sampler; cand must hold n_vocab entries. The RNG is seeded
 * from cfg->seed, so equal seeds give equal sequences. */
void sw_sampler_init(sw_sampler *s, const swarm_sampling *cfg, int32_t n_vocab, sw_prob *cand);
/* Picks the next token; logits are n_vocab floats (read only). */
int32_t sw_sampler_sample(sw_sampler *s, const float *logits);
/* Uniform float in [0, 1) from the sampler's RNG. */
float sw_sampler_rand(sw_sampler *s);

#endif /* SW_FORWARD_H */
