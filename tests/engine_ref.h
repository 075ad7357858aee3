/*
 * engine_ref.h: the model loader shared by the reference tests
 * (engine_reference_test, engine_reference2_test): a GGUF file bound to the
 * engine's hyper-parameters and weights with its rope frequencies, without
 * a session, so a test drives the forward pass directly.
 */
#ifndef SWARM_TESTS_ENGINE_REF_H
#define SWARM_TESTS_ENGINE_REF_H

#include <string.h>

#include "check.h"
#include "engine/forward.h"

typedef struct loaded {
    sw_gguf g;
    sw_hparams hp;
    sw_weights w;
    float freq[256];
} loaded;

static inline void load(const char *path, loaded *L)
{
    swarm_diag d = {{0}};
    memset(L, 0, sizeof(*L));
    swarm_err rc = sw_gguf_open(path, &L->g, &d);
    if (rc != SWARM_OK) print_error("%s: %s\n", path, d.msg);
    CHECK_OK(rc);
    rc = sw_model_bind_gguf(&L->g, &L->hp, &L->w, &d);
    if (rc != SWARM_OK) print_error("%s: %s\n", path, d.msg);
    CHECK_OK(rc);
    const float *factors = NULL;
    CHECK_OK(sw_model_rope_factors(&L->g, &L->hp, &factors, &d));
    sw_rope_freqs(&L->hp, factors, L->freq);
}

static inline void unload(loaded *L)
{
    sw_free(L->w.layers);
    sw_gguf_close(&L->g);
}

#endif
