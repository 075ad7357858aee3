/*
 * grammar_int.h: the compiled grammar and its state machine, shared by the
 * grammar module's files and by the engine's generation loop (which masks
 * logits with sw_gm_mask). Never installed.
 */
#ifndef SW_GRAMMAR_INT_H
#define SW_GRAMMAR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/core_int.h"
#include "swarm/grammar.h"

/* A compiled element. A rule is its alternatives one after another, each
 * closed by GE_ALT except the last, closed by GE_END. */
enum sw_gelem_type {
    SW_GE_END,  /* end of the rule's last alternative */
    SW_GE_ALT,  /* end of an alternative, another follows */
    SW_GE_SET,  /* one byte out of sets[arg] */
    SW_GE_REF,  /* rule arg */
    SW_GE_TYPE_COUNT
};

typedef struct sw_gelem {
    uint32_t type; /* enum sw_gelem_type */
    uint32_t arg;
} sw_gelem;

struct swarm_grammar {
    sw_gelem *elems;
    uint32_t n_elems;
    uint32_t (*sets)[8]; /* 256-bit byte sets */
    uint32_t n_sets;
    uint32_t n_rules, root;
    uint32_t *alt_off; /* rule r's alternatives: alts[alt_off[r] .. alt_off[r+1]) */
    uint32_t *alts;    /* element index where an alternative starts */
};

static inline bool sw_gset_has(const uint32_t *set, uint8_t b)
{
    return (set[b >> 5] >> (b & 31)) & 1u;
}

/* A deep copy (parse.c), and whether two compiled grammars are the same:
 * a session keeps a copy with its matcher caches and reuses them when the
 * next generation brings an equal grammar. */
swarm_err sw_grammar_clone(const swarm_grammar *g, swarm_grammar **out);
bool sw_grammar_equal(const swarm_grammar *a, const swarm_grammar *b);

/* ---- the state machine (matcher.c) ----
 * A state is the set of parses alive after some text: each parse is a stack
 * of grammar positions, interned so that equal states get equal ids. Byte
 * transitions and per-state token masks are computed once and cached. */
typedef struct sw_gm sw_gm;

#define SW_GM_DEAD (-1)

swarm_err sw_gm_create(const swarm_grammar *g, sw_gm **out);
void sw_gm_destroy(sw_gm *m);
/* The state before any text. */
swarm_err sw_gm_start(sw_gm *m, int32_t *out);
/* The state after byte b, or SW_GM_DEAD. Errors: ENOMEM, EUNSUPPORTED
 * (more than SWARM_GRAMMAR_MAX_STACKS parses, or the machine's caches are
 * beyond their limits). */
swarm_err sw_gm_step(sw_gm *m, int32_t st, uint8_t b, int32_t *out);
bool sw_gm_accepting(const sw_gm *m, int32_t st);
/* True when the caches have grown so large that a new text should start
 * from a fresh machine rather than meet the limits halfway. */
bool sw_gm_should_reset(const sw_gm *m);
bool sw_gm_has_next(const sw_gm *m, int32_t st);

/* A vocabulary as the grammar sees it: each token's bytes (as generation
 * prints them after a non-BOS token) and its kind, arranged in a byte trie
 * so that a state walks shared prefixes once. */
enum sw_gtok_kind {
    SW_GTOK_TEXT, /* ordinary token: allowed when its bytes continue the grammar */
    SW_GTOK_END,  /* ends generation (EOS, EOT, ...): allowed when the grammar is complete */
    SW_GTOK_NEVER, /* prints nothing (control, unused): never allowed under a grammar */
    SW_GTOK_KIND_COUNT
};

typedef struct sw_gvocab sw_gvocab;

/* bytes[off[i] .. off[i+1]) is token i's text; kind[i] its kind. */
swarm_err sw_gvocab_create(int32_t n, const char *bytes, const uint32_t *off, const uint8_t *kind,
                           sw_gvocab **out);
void sw_gvocab_destroy(sw_gvocab *v);
int32_t sw_gvocab_size(const sw_gvocab *v);

/* The allowed tokens of state st: a bitmap of n_vocab bits (bit i of word
 * i/32), borrowed from the machine's cache until the machine is destroyed.
 * A machine serves one vocabulary (EINVAL for another). */
swarm_err sw_gm_mask(sw_gm *m, const sw_gvocab *v, int32_t st, const uint32_t **bits);

/* Walks bytes from st (SW_GM_DEAD when they do not continue it). */
swarm_err sw_gm_walk(sw_gm *m, int32_t st, const char *bytes, size_t n, int32_t *out);

#endif /* SW_GRAMMAR_INT_H */
