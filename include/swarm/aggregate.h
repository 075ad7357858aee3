/*
 * aggregate.h: result aggregation: the paper's normalised weighted average,
 * max-weight selection, majority / weighted voting, hybrid (top-k average),
 * hierarchical (a tree of aggregators) and text consensus. Pure functions on
 * in-memory items; no JSON here except swarm_agg_input_parse for the CLI.
 * docs/aggregation.md explains every method, tie-break and weighting.
 */
#ifndef SWARM_AGGREGATE_H
#define SWARM_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SWARM_AGG_WEIGHTED_AVERAGE, /* "weighted-average": R = sum w_i r_i */
    SWARM_AGG_MAX_WEIGHT,       /* "max-weight": R = r_argmax(w_i) */
    SWARM_AGG_VOTE,             /* "vote": plurality, one vote per item */
    SWARM_AGG_WEIGHTED_VOTE,    /* "weighted-vote": each item votes with w_i */
    SWARM_AGG_HYBRID,           /* "hybrid": rank by w_i, weighted average of the top k */
    SWARM_AGG_CONSENSUS,        /* "consensus": text most similar to the others */
    SWARM_AGG_HIERARCHICAL,     /* "hierarchical": per-group, then across groups */
    SWARM_AGG_JUDGE,            /* "judge": best length-normalised log-likelihood (item.score) */
    SWARM_AGG_METHOD_COUNT
} swarm_agg_method;

/* f(P, R) that turns accuracy and relevance into an unnormalised weight. */
typedef enum {
    SWARM_AGG_F_PRODUCT, /* "product": P * R (default) */
    SWARM_AGG_F_P,       /* "p": P */
    SWARM_AGG_F_R,       /* "r": R */
    SWARM_AGG_F_POWER,   /* {"p": a, "r": b}: P^a * R^b */
    SWARM_AGG_F_COUNT
} swarm_agg_weighting;

typedef enum {
    SWARM_AGG_DECIDE_NONE,
    SWARM_AGG_DECIDE_SIGN,      /* R > 0 "positive", R < 0 "negative", R == 0 "neutral" */
    SWARM_AGG_DECIDE_THRESHOLD, /* R >= threshold "alert", else "normal" */
    SWARM_AGG_DECIDE_COUNT
} swarm_agg_decide;

typedef struct swarm_agg_item {
    const char *node;   /* node name (borrowed); NULL is treated as "" */
    bool is_text;       /* text result (votes/selection/consensus) vs number */
    double value;       /* numeric result r_i */
    const char *text;   /* text result (borrowed) */
    bool has_weight;
    double weight;      /* explicit weight (normalised like f values), else from p, r */
    double p, r;        /* accuracy P_i, relevance R_i, both >= 0 */
    uint64_t hlc;       /* hybrid logical clock: aggregation orders by it (ties: node name) */
    int32_t group;      /* for hierarchical: the sub-aggregator this item belongs to */
    bool has_score;
    double score;       /* judge: length-normalised log-likelihood (higher is better) */
} swarm_agg_item;

typedef struct swarm_agg_spec {
    swarm_agg_method method;
    swarm_agg_weighting weighting;
    double pow_a, pow_b;       /* f = P^a R^b for POWER */
    swarm_agg_decide decide;
    double threshold;
    int32_t top_k;             /* hybrid: average of the top k by weight (0 = half, rounded up) */
    /* hierarchical: how each group combines its members and how group results
     * combine (numbers: weighted average; texts: max-weight). The group's
     * weight is the sum of its members' unnormalised weights. */
    swarm_agg_method inner, outer;
} swarm_agg_spec;

/* Defaults: weighted-average, product, no decision, top_k 0, hierarchical
 * inner/outer = weighted-average. */
SWARM_API swarm_agg_spec swarm_agg_spec_default(void);

typedef struct swarm_agg_result {
    bool is_text;
    double value;              /* numeric R rounded to 12 significant digits (see
                                * docs/aggregation.md); for votes: the winning value */
    char *text;                /* text result, or NULL */
    const char *decision;      /* "positive"/"negative"/"neutral", "alert"/"normal", or NULL;
                                * a static string: valid after the result is destroyed */
    char *winner;              /* selected node (selection, votes, consensus, judge), or NULL */
    int64_t winner_index;      /* input index of the winner, or -1 */
    double support;            /* votes: winning share of the (weighted) votes in [0,1]; else 1 */
    size_t n;
    double *weights;           /* [n] normalised weights in input order (sum 1) */
} swarm_agg_result;

/*
 * Aggregates n items. Items are first ordered by (hlc, node name, input
 * index), so the result does not depend on arrival order. On SWARM_OK *out
 * holds a result to release with swarm_agg_result_destroy. SWARM_EINVAL (with
 * d->msg) for n == 0, all weights zero, a negative or non-finite weight or
 * value, text items for a numeric method, mixed text and numbers, etc.
 * Thread-safe: no shared state.
 */
SWARM_API swarm_err swarm_aggregate(const swarm_agg_spec *spec, const swarm_agg_item *items,
                                    size_t n, swarm_agg_result **out, swarm_diag *d);
SWARM_API void swarm_agg_result_destroy(swarm_agg_result *r);

/* "weighted-average" -> SWARM_AGG_WEIGHTED_AVERAGE; SWARM_EINVAL for unknown names. */
SWARM_API swarm_err swarm_agg_method_from_name(const char *s, swarm_agg_method *out);
/* Never NULL ("?" for out-of-range). */
SWARM_API const char *swarm_agg_method_name(swarm_agg_method m);

/* Formats a number the way the CLI prints it: rounded to 12 significant
 * digits (so 0.5*1 + 0.3*-1 + 0.2*1 prints 0.4), then the shortest "%.17g"
 * prefix that round-trips. buf needs 32 bytes. Returns buf. */
SWARM_API const char *swarm_agg_format_number(double v, char *buf, size_t cap);
/* v rounded to 12 significant digits (the value the CLI reports). */
SWARM_API double swarm_agg_round(double v);

/*
 * The JSON input of `swarm aggregate` (docs/aggregation.md): a spec plus
 * items, parsed strictly (duplicate keys, unknown keys, wrong types,
 * non-finite numbers, nesting deeper than 64 -> SWARM_EFORMAT with d->msg).
 * The input owns all strings the items point to.
 */
typedef struct swarm_agg_input swarm_agg_input;
SWARM_API swarm_err swarm_agg_input_parse(const char *json, size_t len, swarm_agg_input **out,
                                          swarm_diag *d);
SWARM_API const swarm_agg_spec *swarm_agg_input_spec(const swarm_agg_input *in);
SWARM_API const swarm_agg_item *swarm_agg_input_items(const swarm_agg_input *in, size_t *out_n);
SWARM_API void swarm_agg_input_destroy(swarm_agg_input *in);

/* Renders a result as one JSON object {"value", "decision", "winner",
 * "weights": {node: w}, ...}; *out sw_malloc'd, free with swarm_free. */
SWARM_API swarm_err swarm_agg_result_json(const swarm_agg_result *r, const swarm_agg_item *items,
                                          char **out);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_AGGREGATE_H */
