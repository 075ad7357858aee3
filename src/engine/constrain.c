/*
 * constrain.c: grammar-constrained generation. Before each sampling step
 * the tokens that cannot continue the grammar get -inf logits, so the
 * sampler's distribution is the model's restricted to valid tokens (not a
 * resample after a rejected pick). Token texts depend on the previous token
 * only right after BOS (SentencePiece drops the leading space there); that
 * step is masked token by token, every other one through the cached,
 * trie-walked masks of the grammar module.
 */
#include <math.h>
#include <string.h>

#include "constrain.h"

swarm_err sw_constrain_vocab(const swarm_model *m, const sw_tokenizer *tok, size_t max_piece,
                             sw_gvocab **out)
{
    int32_t n = sw_tokenizer_n_vocab(tok);
    int32_t bos = sw_tokenizer_bos(tok);
    /* any id but BOS as the previous token: texts as printed mid-generation */
    int32_t prev = bos == 0 ? (n > 1 ? 1 : 0) : 0;
    uint32_t *off = sw_calloc((size_t)n + 1, sizeof(uint32_t));
    uint8_t *kind = sw_calloc((size_t)n, 1);
    char *piece = sw_malloc(max_piece + 1);
    sw_buf bytes = {0};
    swarm_err rc = SWARM_OK;
    if (off == NULL || kind == NULL || piece == NULL) {
        rc = SWARM_ENOMEM;
        goto done;
    }
    for (int32_t i = 0; i < n; i++) {
        off[i] = (uint32_t)bytes.len;
        if (i == bos || i == sw_tokenizer_eos(tok) || sw_tokenizer_is_eog(tok, i)) {
            kind[i] = SW_GTOK_END;
            continue;
        }
        size_t k = swarm_model_token_text(m, prev, i, piece, max_piece);
        if (k > max_piece) k = max_piece;
        kind[i] = k == 0 ? SW_GTOK_NEVER : SW_GTOK_TEXT;
        sw_buf_put(&bytes, piece, k);
        if (bytes.len > UINT32_MAX / 2) {
            rc = SWARM_ENOMEM;
            goto done;
        }
    }
    off[n] = (uint32_t)bytes.len;
    if (bytes.oom) {
        rc = SWARM_ENOMEM;
        goto done;
    }
    rc = sw_gvocab_create(n, bytes.p ? bytes.p : "", off, kind, out);
done:
    sw_free(off);
    sw_free(kind);
    sw_free(piece);
    sw_free(bytes.p);
    return rc;
}

swarm_err sw_constrain_begin(sw_constrain *c, const swarm_model *m, const sw_tokenizer *tok,
                             sw_gm *gm, const sw_gvocab *v, float *masked)
{
    *c = (sw_constrain){.m = m, .tok = tok, .v = v, .gm = gm, .masked = masked};
    c->slow = sw_calloc(((size_t)sw_gvocab_size(v) + 31) / 32, sizeof(uint32_t));
    if (c->slow == NULL) return SWARM_ENOMEM;
    swarm_err rc = sw_gm_start(c->gm, &c->st);
    if (rc != SWARM_OK) sw_constrain_end(c);
    return rc;
}

void sw_constrain_end(sw_constrain *c)
{
    sw_free(c->slow);
    c->gm = NULL;
    c->slow = NULL;
}

/* The mask right after BOS: each token's own text there. */
static swarm_err mask_slow(sw_constrain *c, int32_t prev)
{
    int32_t n = sw_gvocab_size(c->v);
    char buf[512];
    memset(c->slow, 0, ((size_t)n + 31) / 32 * sizeof(uint32_t));
    int32_t bos = sw_tokenizer_bos(c->tok);
    for (int32_t i = 0; i < n; i++) {
        bool ok;
        if (i == bos || i == sw_tokenizer_eos(c->tok) || sw_tokenizer_is_eog(c->tok, i)) {
            ok = sw_gm_accepting(c->gm, c->st);
        } else {
            size_t k = swarm_model_token_text(c->m, prev, i, buf, sizeof(buf));
            if (k > sizeof(buf)) continue; /* longer than any grammar step we check here */
            int32_t s2 = SW_GM_DEAD;
            swarm_err rc = k ? sw_gm_walk(c->gm, c->st, buf, k, &s2) : SWARM_OK;
            if (rc != SWARM_OK) return rc;
            ok = s2 != SW_GM_DEAD;
        }
        if (ok) c->slow[i >> 5] |= 1u << (i & 31);
    }
    c->allowed = c->slow;
    return SWARM_OK;
}

swarm_err sw_constrain_logits(sw_constrain *c, int32_t prev, const float *logits, int32_t n_vocab,
                              const float **out, bool *complete)
{
    int32_t bos = sw_tokenizer_bos(c->tok);
    swarm_err rc;
    if (prev < 0 || prev == bos)
        rc = mask_slow(c, prev);
    else
        rc = sw_gm_mask(c->gm, c->v, c->st, &c->allowed);
    if (rc != SWARM_OK) return rc;
    int32_t n = sw_gvocab_size(c->v);
    if (n > n_vocab) n = n_vocab;
    bool any = false;
    for (int32_t i = 0; i < n_vocab; i++) {
        bool ok = i < n && ((c->allowed[i >> 5] >> (i & 31)) & 1u);
        c->masked[i] = ok ? logits[i] : -INFINITY;
        /* a NaN logit must not be the only "allowed" choice either */
        any = any || (ok && !isnan(logits[i]));
    }
    *complete = sw_gm_accepting(c->gm, c->st);
    *out = any ? c->masked : NULL;
    return SWARM_OK;
}

bool sw_constrain_allowed(const sw_constrain *c, int32_t id)
{
    return id >= 0 && id < sw_gvocab_size(c->v) && ((c->allowed[id >> 5] >> (id & 31)) & 1u);
}

swarm_err sw_constrain_accept(sw_constrain *c, const char *piece, size_t n)
{
    int32_t st;
    swarm_err rc = sw_gm_walk(c->gm, c->st, piece, n, &st);
    if (rc != SWARM_OK) return rc;
    if (st == SW_GM_DEAD) return SWARM_EINVAL; /* a bug: the mask allowed it */
    c->st = st;
    return SWARM_OK;
}

bool sw_constrain_finished(const sw_constrain *c)
{
    return sw_gm_accepting(c->gm, c->st) && !sw_gm_has_next(c->gm, c->st);
}
