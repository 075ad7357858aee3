/*
 * engine.h: the CPU inference engine: model files (GGUF v2/v3, llama2.c
 * checkpoints), sessions with a KV cache, generation, and log-probability
 * scoring. A swarm_model is immutable after load and may be shared by many
 * sessions on many threads (several swarm nodes on one mmapped file); a
 * swarm_session is used by one thread at a time.
 */
#ifndef SWARM_ENGINE_H
#define SWARM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swarm/grammar.h"
#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct swarm_model swarm_model;
typedef struct swarm_session swarm_session;

typedef struct swarm_model_params {
    const char *path;           /* .gguf or llama2.c .bin; copied */
    const char *tokenizer_path; /* llama2.c tokenizer.bin; NULL for GGUF (built in) */
} swarm_model_params;

SWARM_API swarm_model_params swarm_model_params_default(void);

/* Loads a model. On failure d (may be NULL) holds a message that starts with
 * the file name, e.g. "m.gguf: tensor 'blk.3.attn_q.weight' extends past end
 * of file"; *out is untouched. The model must be released with
 * swarm_model_destroy after every session on it is destroyed. */
SWARM_API swarm_err swarm_model_load(const swarm_model_params *p, swarm_model **out,
                                     swarm_diag *d);
SWARM_API void swarm_model_destroy(swarm_model *m);

typedef struct swarm_model_info {
    const char *arch;        /* "llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3" */
    const char *format;      /* "gguf" or "llama2c" */
    const char *quant;       /* most common matrix type, e.g. "Q4_K" */
    const char *tokenizer;   /* "spm" or "bpe:<pre>" */
    const char *chat_template; /* "chatml", "llama3", "llama2" or "none" */
    int64_t n_params;
    int64_t weight_bytes;    /* bytes of weights read per token */
    int32_t dim, ffn_dim, n_layers, n_heads, n_kv_heads, n_vocab, n_ctx_train;
    float rope_base, norm_eps;
} swarm_model_info;

/* Borrowed; valid until the model is destroyed. */
SWARM_API const swarm_model_info *swarm_model_get_info(const swarm_model *m);

/* The text of token id following token prev (-1: none), as generation
 * prints it (llama2.c run.c rules: BOS prints nothing, no leading space
 * right after BOS, <0xXX> pieces as raw bytes, a lone control byte dropped).
 * Writes at most cap bytes (no NUL) and returns the piece's full length.
 * Echoing every prompt token this way reproduces run.c's output. */
SWARM_API size_t swarm_model_token_text(const swarm_model *m, int32_t prev, int32_t id,
                                        char *buf, size_t cap);
/* Token ids of text as swarm_generate encodes a raw prompt (BOS first when
 * the model wants one). *out is allocated; free it with swarm_free. */
SWARM_API swarm_err swarm_model_tokenize(const swarm_model *m, const char *text, int32_t **out,
                                         size_t *out_n);

typedef struct swarm_session_params {
    int32_t n_ctx;     /* KV cache length in tokens; 0 = min(model's, 2048);
                        * more than the model's context is SWARM_EINVAL */
    int32_t n_threads; /* 0 = number of online CPUs */
} swarm_session_params;

SWARM_API swarm_session_params swarm_session_params_default(void);
/* Creates a session (its own KV cache, activations and thread pool). */
SWARM_API swarm_err swarm_session_create(swarm_model *m, const swarm_session_params *p,
                                         swarm_session **out);
SWARM_API void swarm_session_destroy(swarm_session *s);

typedef struct swarm_sampling {
    float temperature; /* 0 = greedy (ties -> lowest id) */
    int32_t top_k;     /* 0 = off */
    float top_p;       /* in (0, 1]; 1 = off */
    float min_p;       /* 0 = off */
    uint64_t seed;
} swarm_sampling;

SWARM_API swarm_sampling swarm_sampling_default(void); /* temp 1, top_p 0.9, seed 0 */

typedef struct swarm_chat_msg {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} swarm_chat_msg;

/* Called for every generated piece (len bytes, also NUL-terminated; valid
 * during the call); return non-zero to stop (cancellation). */
typedef int (*swarm_token_cb)(void *ud, int32_t id, const char *piece, size_t len);

typedef struct swarm_gen_params {
    const char *prompt;           /* raw prompt (may be "") */
    const swarm_chat_msg *chat;   /* or chat messages, formatted with the model's template */
    size_t n_chat;
    int32_t steps;      /* llama2.c semantics: positions incl. BOS+prompt; 0 = use max_tokens */
    int32_t max_tokens; /* new tokens when steps == 0 (0 = fill the context) */
    swarm_sampling sampling;
    swarm_token_cb on_token; /* may be NULL */
    void *ud;
    /* NULL, or a grammar the generated text must follow (grammar.h): tokens
     * that cannot continue it are masked before sampling, end-of-turn tokens
     * are allowed only where the text is complete, and generation stops
     * ("eos") once nothing more may follow. Borrowed for the call. Errors:
     * SWARM_EINFEASIBLE when no token of the vocabulary can continue the
     * text, SWARM_EUNSUPPORTED when the grammar is too ambiguous there. A
     * "length" stop leaves the text incomplete. */
    const swarm_grammar *grammar;
} swarm_gen_params;

typedef struct swarm_gen_result {
    char *text;          /* generated text only (not the prompt), NUL-terminated */
    size_t text_len;
    int32_t *tokens;     /* prompt tokens (incl. BOS) followed by generated ones */
    size_t n_prompt, n_tokens;
    double prompt_ms, gen_ms;
    double grammar_ms;   /* of gen_ms, the time spent on the grammar (masks, matching) */
    const char *stop;    /* "eos", "length", "canceled" */
} swarm_gen_result;

/* Generates from a fresh KV cache. *out must be released with
 * swarm_gen_result_destroy. SWARM_ETOOLONG for a prompt longer than the
 * session's context, SWARM_EINVAL for an empty one. */
SWARM_API swarm_err swarm_generate(swarm_session *s, const swarm_gen_params *p,
                                   swarm_gen_result **out);
SWARM_API void swarm_gen_result_destroy(swarm_gen_result *r);

/* Log-probability (natural log) of continuation given context, summed over
 * the continuation's tokens (context is encoded with BOS; continuation
 * tokens follow without a dummy prefix). n_tokens may be NULL.
 * SWARM_ETOOLONG when context and continuation exceed the context. */
SWARM_API swarm_err swarm_score(swarm_session *s, const char *context, const char *continuation,
                                double *out_logprob, int32_t *out_n_tokens);

/* Runs the token ids[0..n) at positions pos..pos+n-1 of the session's KV
 * cache, in batches, reading the cache rows of positions < pos: the token-id
 * entry point for callers that tokenize, sample or batch themselves.
 * pos == 0 starts a new sequence; pos == swarm_session_n_filled continues
 * one; a smaller pos rewinds (the positions from pos on are recomputed).
 * Afterwards swarm_session_logits holds the logits after ids[n-1].
 * SWARM_EINVAL: n <= 0, pos < 0 or past swarm_session_n_filled, pos + n
 * beyond the session's n_ctx, or an id outside [0, n_vocab). swarm_generate
 * and swarm_score use the same cache: after them, start again at pos 0. */
SWARM_API swarm_err swarm_session_eval(swarm_session *s, const int32_t *ids, int32_t n,
                                       int32_t pos);
/* Batched decoding: the next token of each of n sessions (ids[i] for ss[i],
 * at position swarm_session_n_filled(ss[i])) in one forward pass, so the
 * weights are read once for all n (a node serving several requests).
 * Afterwards swarm_session_logits(ss[i]) holds session i's logits and its
 * n_filled has grown by one; each row equals what swarm_session_eval of
 * that token alone gives. ss[0]'s threads do the work. SWARM_EINVAL: n < 1
 * or above min(64, ss[0]'s batch and logits rows: at least 16 for n_ctx >= 16),
 * sessions of different models or n_ctx, a session twice, a full session,
 * or an id outside [0, n_vocab). */
SWARM_API swarm_err swarm_sessions_eval_next(swarm_session *const *ss, const int32_t *ids,
                                             int32_t n);
/* Positions filled by swarm_session_eval (0 after create, generate or score). */
SWARM_API int32_t swarm_session_n_filled(const swarm_session *s);

/* Logits of the last forward pass (n_vocab floats); borrowed until the next call. */
SWARM_API const float *swarm_session_logits(const swarm_session *s, int32_t *n_vocab);

/* ---- model files as files (`swarm models`) ---- */

/* Writes a report of a GGUF file or a llama2.c checkpoint to out:
 * architecture, parameter count, quantization, context length, tokenizer,
 * metadata and the tensor table. A missing, unreadable, truncated or
 * malformed file is an error with d->msg naming the path. Thread-safe
 * (writes to out only). */
SWARM_API swarm_err swarm_model_file_inspect(const char *path, FILE *out, swarm_diag *d);

typedef struct swarm_model_convert_params {
    const char *in;        /* a GGUF file or a llama2.c checkpoint */
    const char *out;       /* the GGUF v3 file to write (temp file + rename) */
    const char *tokenizer; /* the llama2.c tokenizer.bin: needed for a llama2.c input,
                              ignored (with a note) for a GGUF input */
    const char *type;      /* matrix type: F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K (any
                              case); NULL: F32 for llama2.c, the source type for GGUF */
} swarm_model_convert_params;

typedef struct swarm_model_convert_report {
    size_t n_tensors;
    char types[256];      /* tensors written per type: "F32 x 11, F16 x 5, Q8_0 x 31" */
    char notes[1024];     /* zero or more lines, each ending in '\n': a matrix type that
                             fell back (rows not a multiple of the block), an ignored
                             tokenizer */
    bool needs_tokenizer; /* on failure: the input is llama2.c and no tokenizer was given */
    bool writing;         /* on failure: writing the output failed (else: the input or
                             the parameters were refused) */
} swarm_model_convert_report;

/* Converts a llama2.c checkpoint (with its tokenizer) or a GGUF file to a
 * GGUF v3 file for arch llama that llama.cpp loads. 1-D tensors stay F32; a
 * matrix whose row length is not a multiple of the type's block size is
 * stored as Q8_0, else F16. An output that is a directory or a FIFO is
 * refused (SWARM_EINVAL) and never replaced. rep may be NULL. Thread-safe. */
SWARM_API swarm_err swarm_model_convert(const swarm_model_convert_params *p,
                                        swarm_model_convert_report *rep, swarm_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_ENGINE_H */
