/*
 * fuzz_grammar.c: libFuzzer target for the grammar language and the JSON
 * Schema compiler. Input starting with '{' is a schema, anything else a
 * grammar. What compiles is then run: the input and a few probe texts are
 * matched whole and byte by byte (the two must agree), and the token masks
 * of a small vocabulary are checked against walking each token, so the
 * matcher's limits (ambiguity, caches) are exercised too. Refusals are
 * fine; crashes, leaks, hangs (1 s per input) and disagreements are not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_int.h"
#include "swarm/grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_probe[] = {"", "a", "{\"a\": 1}", "[1, 2]", "\"x\"", "true", "null",
                                      "-0.5e3", "{}", "hello world", "\xc3\xa9", "{\"name\": \"z\"}"};
#define N_PROBE (sizeof(k_probe) / sizeof(k_probe[0]))

static void check_text(const swarm_grammar *g, const char *t, size_t n)
{
    bool whole = false;
    swarm_err rc = swarm_grammar_match(g, t, n, &whole);
    if (rc != SWARM_OK) return; /* a limit: fine, as long as it says so */
    swarm_grammar_matcher *m = NULL;
    if (swarm_grammar_matcher_create(g, &m) != SWARM_OK) return;
    bool alive = true;
    for (size_t i = 0; i < n && alive; i++) {
        rc = swarm_grammar_matcher_accept(m, t + i, 1);
        if (rc == SWARM_EINVAL) alive = false;
        else if (rc != SWARM_OK) {
            swarm_grammar_matcher_destroy(m);
            return;
        }
    }
    bool bytewise = alive && swarm_grammar_matcher_complete(m);
    swarm_grammar_matcher_destroy(m);
    if (bytewise != whole) abort();
}

static void check_masks(const swarm_grammar *g)
{
    uint32_t off[N_PROBE + 2];
    uint8_t kind[N_PROBE + 1];
    char bytes[256];
    uint32_t pos = 0;
    for (size_t i = 0; i < N_PROBE; i++) {
        off[i] = pos;
        size_t l = strlen(k_probe[i]);
        memcpy(bytes + pos, k_probe[i], l);
        pos += (uint32_t)l;
        kind[i] = l ? SW_GTOK_TEXT : SW_GTOK_NEVER;
    }
    off[N_PROBE] = pos;
    kind[N_PROBE] = SW_GTOK_END;
    off[N_PROBE + 1] = pos;
    sw_gvocab *v = NULL;
    sw_gm *m = NULL;
    int32_t st;
    if (sw_gvocab_create((int32_t)N_PROBE + 1, bytes, off, kind, &v) != SWARM_OK) abort();
    if (sw_gm_create(g, &m) != SWARM_OK || sw_gm_start(m, &st) != SWARM_OK) goto done;
    /* the start state and the state after each probe token */
    for (size_t k = 0; k <= N_PROBE; k++) {
        int32_t s = st;
        if (k < N_PROBE && (sw_gm_walk(m, st, bytes + off[k], off[k + 1] - off[k], &s) != SWARM_OK ||
                            s == SW_GM_DEAD))
            continue;
        const uint32_t *bits;
        if (sw_gm_mask(m, v, s, &bits) != SWARM_OK) break;
        for (size_t i = 0; i <= N_PROBE; i++) {
            bool want;
            if (kind[i] == SW_GTOK_END) {
                want = sw_gm_accepting(m, s);
            } else if (kind[i] == SW_GTOK_NEVER) {
                want = false;
            } else {
                int32_t s2;
                if (sw_gm_walk(m, s, bytes + off[i], off[i + 1] - off[i], &s2) != SWARM_OK) goto done;
                want = s2 != SW_GM_DEAD;
            }
            if ((((bits[i >> 5] >> (i & 31)) & 1u) != 0) != want) abort();
        }
    }
done:
    sw_gm_destroy(m);
    sw_gvocab_destroy(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swarm_diag d = {{0}};
    swarm_grammar *g = NULL;
    const char *t = (const char *)data;
    swarm_err rc = size > 0 && data[0] == '{' ? swarm_grammar_from_schema(t, size, &g, &d)
                                              : swarm_grammar_parse(t, size, &g, &d);
    if (rc != SWARM_OK) {
        if (g != NULL || d.msg[0] == '\0') abort(); /* a refusal always says why */
        return 0;
    }
    check_text(g, t, size < 64 ? size : 64);
    for (size_t i = 0; i < N_PROBE; i++) check_text(g, k_probe[i], strlen(k_probe[i]));
    check_masks(g);
    swarm_grammar_destroy(g);
    return 0;
}
