/*
 * train_int.h: the trainer's internals shared by its files and its unit
 * tests: the parameter layout (one flat array, tensors at fixed offsets),
 * the activation buffers, and the matrix kernel. Never installed.
 */
#ifndef SW_TRAIN_INT_H
#define SW_TRAIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core_int.h"
#include "../engine/kernels/kernels.h"
#include "swarm/train.h"

/* Offsets (in floats) of one layer's tensors inside the flat arrays. */
typedef struct sw_tlayer {
    size_t attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
} sw_tlayer;

/* One named tensor of the layout (for saving, loading and tests). */
typedef struct sw_tparam {
    char name[48];   /* GGUF name, e.g. "blk.0.attn_q.weight" */
    size_t off;      /* offset in floats */
    int64_t rows, cols; /* rows = 1 for vectors */
    bool decay;      /* weight decay applies (matrices) */
} sw_tparam;

/* Activations of one forward pass kept for the backward pass. */
typedef struct sw_tlayer_act {
    float *x_in;   /* (N, dim) residual stream entering the layer */
    float *rms1;   /* (N) 1/rms of x_in */
    float *xn1;    /* (N, dim) normed */
    float *q, *k, *v; /* (N, qd), (N, kvd), (N, kvd); q and k after rope */
    float *att;    /* (n_seq, n_heads, T, T) softmax probabilities */
    float *ao;     /* (N, qd) attention output */
    float *x_mid;  /* (N, dim) residual after attention */
    float *rms2;   /* (N) */
    float *xn2;    /* (N, dim) */
    float *g, *u, *h; /* (N, ffn) gate, up, silu(gate) * up */
} sw_tlayer_act;

struct swarm_trainer {
    swarm_train_hparams hp;
    int32_t head_dim, qd, kvd;
    size_t n_params;
    float *params, *grads, *adam_m, *adam_v;
    size_t tok_embd, out_norm, output; /* offsets; output == tok_embd when tied */
    sw_tlayer *layers;
    sw_tparam *tensors;
    size_t n_tensors;
    int64_t step;
    uint64_t seed;
    sw_pool *pool;
    int n_threads;
    bool fma; /* the CPU has AVX2 + FMA */
    float *rope_cos, *rope_sin; /* (n_ctx, head_dim/2) */
    /* activations, sized for cap_rows = n_seq * len rows */
    size_t cap_rows;
    int32_t cap_len;
    void *act_arena;
    sw_tlayer_act *act;
    float *x_fin, *rmsf, *xnf, *logits; /* final norm and head; logits become dlogits */
    /* backward scratch */
    float *dx, *dxn, *dq, *dk, *dv, *dao, *dg, *du, *dh, *datt;
    float *tr_a, *tr_b; /* transposes for the weight gradients */
    float *tmp;         /* (N, dim) */
    double *row_loss;   /* (N) per-row loss, summed in order */
};

/* A trainer for hp with its layout and pool; weights zero. */
swarm_err sw_train_alloc(const swarm_train_hparams *hp, int n_threads, swarm_trainer **out,
                         swarm_diag *d);
/* Builds the layout for hp (t->hp set); allocates params/grads/adam. */
swarm_err sw_train_layout(swarm_trainer *t);
/* Activation buffers for n_seq x len (grown when needed). */
swarm_err sw_train_reserve(swarm_trainer *t, int32_t n_seq, int32_t len);
/* Forward over n_seq sequences of len tokens (inputs at stride len+1 when
 * stride == len + 1, or len). Fills logits. Returns the mean loss over
 * targets >= 0 (targets NULL: no loss, logits only); with grad, logits are
 * replaced by d(loss)/d(logits). *n_targets = counted targets. */
double sw_train_forward(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len,
                        int32_t stride, bool with_targets, bool grad, int64_t *n_targets);
/* Backward after sw_train_forward(grad = true): accumulates into t->grads. */
void sw_train_backward(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len,
                       int32_t stride);

/* C[m, r] (+)= sum_k A[m, k] * B[r, k]  (A: M x K, B: R x K, C: M x R, all
 * row-major, contiguous). Each C element is one thread's sum in k order, so
 * the result does not depend on the thread count. */
void sw_gemm_nt(sw_pool *pool, float *C, const float *A, const float *B, int64_t M, int64_t R,
                int64_t K, bool accumulate);
/* C[m, n] (+)= sum_k A[m, k] * B[k, n]  (A: M x K, B: K x N). */
void sw_gemm_nn(sw_pool *pool, float *C, const float *A, const float *B, int64_t M, int64_t N,
                int64_t K, bool accumulate);
/* C[m, n] (+)= sum_k A[k, m] * B[k, n]  (A: K x M, B: K x N): weight gradients. */
void sw_gemm_tn(sw_pool *pool, float *C, const float *A, const float *B, int64_t M, int64_t N,
                int64_t K, bool accumulate);
/* out (cols x rows) = in (rows x cols) transposed. */
void sw_transpose(sw_pool *pool, float *out, const float *in, int64_t rows, int64_t cols);

/* Deterministic normal numbers: splitmix64 + Box-Muller. */
uint64_t sw_train_rng_next(uint64_t *s);
double sw_train_rng_normal(uint64_t *s);

#endif /* SW_TRAIN_INT_H */
