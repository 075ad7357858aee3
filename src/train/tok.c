/*
 * tok.c: a tokenizer read from a GGUF file (a trained BPE or an existing
 * model's), for encoding training data with exactly the engine's encoder.
 */
#include "../engine/engine_int.h"
#include "train_int.h"

struct swarm_train_tok {
    sw_gguf g;
    sw_tokenizer *t;
};

swarm_err swarm_train_tok_open(const char *gguf_path, swarm_train_tok **out, swarm_diag *d)
{
    swarm_train_tok *t = sw_calloc(1, sizeof(*t));
    if (t == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    swarm_err rc = sw_gguf_open(gguf_path, &t->g, d);
    if (rc == SWARM_OK && (rc = sw_tokenizer_from_gguf(&t->g, &t->t, d)) != SWARM_OK)
        sw_diag_prefix(d, gguf_path);
    if (rc) {
        swarm_train_tok_destroy(t);
        return rc;
    }
    *out = t;
    return SWARM_OK;
}

void swarm_train_tok_destroy(swarm_train_tok *t)
{
    if (t == NULL) return;
    sw_tokenizer_destroy(t->t);
    sw_gguf_close(&t->g);
    sw_free(t);
}

int32_t swarm_train_tok_n_vocab(const swarm_train_tok *t) { return sw_tokenizer_n_vocab(t->t); }
int32_t swarm_train_tok_bos(const swarm_train_tok *t) { return sw_tokenizer_bos(t->t); }
int32_t swarm_train_tok_eos(const swarm_train_tok *t) { return sw_tokenizer_eos(t->t); }

swarm_err swarm_train_tok_encode(const swarm_train_tok *t, const char *text, size_t len,
                                 int32_t **out, size_t *out_n)
{
    return sw_tokenizer_encode(t->t, text, len, false, false, false, out, out_n);
}
