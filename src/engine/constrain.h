/*
 * constrain.h: grammar-constrained generation (constrain.c): the glue
 * between swarm_generate and the grammar module's matcher and token masks.
 * Private to the engine; not part of engine_int.h because only engine.c
 * and constrain.c use it.
 */
#ifndef SW_CONSTRAIN_H
#define SW_CONSTRAIN_H

#include "engine_int.h"
#include "grammar/grammar_int.h"

/* The vocabulary as the grammar sees it: each token's text as generation
 * prints it after an ordinary (non-BOS) token, tokens that end a turn as
 * SW_GTOK_END, tokens that print nothing as SW_GTOK_NEVER. */
swarm_err sw_constrain_vocab(const swarm_model *m, const sw_tokenizer *tok, size_t max_piece,
                             sw_gvocab **out);

typedef struct sw_constrain {
    const swarm_model *m;
    const sw_tokenizer *tok;
    const sw_gvocab *v;
    sw_gm *gm;
    int32_t st;     /* the grammar's state after the text generated so far */
    float *masked;  /* (n_vocab) scratch: logits with refused tokens at -inf */
    const uint32_t *allowed; /* bitmap of the last mask */
    uint32_t *slow; /* (n_vocab bits) the mask computed token by token */
} sw_constrain;

/* Starts a text on machine gm (borrowed: the session keeps it, with its
 * caches, across generations of the same grammar). masked holds the
 * model's n_vocab floats; it is borrowed. */
swarm_err sw_constrain_begin(sw_constrain *c, const swarm_model *m, const sw_tokenizer *tok,
                             sw_gm *gm, const sw_gvocab *v, float *masked);
void sw_constrain_end(sw_constrain *c);
/* The logits to sample from after token prev: *out is the masked copy, or
 * NULL when no token may follow (then *complete tells whether the text is
 * a complete sentence: stop; else the vocabulary cannot continue it). */
swarm_err sw_constrain_logits(sw_constrain *c, int32_t prev, const float *logits, int32_t n_vocab,
                              const float **out, bool *complete);
/* Whether id is allowed by the last mask. */
bool sw_constrain_allowed(const sw_constrain *c, int32_t id);
/* Advances over the printed piece of the chosen token. */
swarm_err sw_constrain_accept(sw_constrain *c, const char *piece, size_t n);
/* True when the text is complete and nothing may follow. */
bool sw_constrain_finished(const sw_constrain *c);

#endif /* SW_CONSTRAIN_H */
