/*
 * fuzz_model.c: libFuzzer target for model binding and the forward pass
 * (TESTPLAN E1 extended to what the engine does with a parsed file): any
 * GGUF image is parsed, bound as a model (every architecture: llama, qwen2,
 * qwen3, gemma2, gemma3, phi3; every tensor type) or rejected with a
 * message; a bound model small enough to run in a few milliseconds runs two
 * tokens through the forward pass on the scalar kernels and on the best
 * SIMD path. Crashes, sanitizer reports, leaks and hangs fail; NaN logits
 * from hostile weights are fine.
 */
#include <stdint.h>
#include <string.h>

#include "engine/forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const sw_hparams *hp, const sw_weights *w, const float *freq)
{
    sw_fwd *f = NULL;
    if (sw_fwd_create(hp, w, freq, 4, 2, 1, &f) != SWARM_OK) return;
    int32_t ids[2] = {0, hp->n_vocab - 1};
    const float *lg = sw_fwd_eval(f, ids, 2, 0, SW_LOGITS_ALL);
    volatile float sink = lg[0] + lg[2 * (size_t)hp->n_vocab - 1];
    (void)sink;
    lg = sw_fwd_eval(f, ids, 1, 2, SW_LOGITS_LAST);
    sink = lg[hp->n_vocab - 1];
    sw_fwd_destroy(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_gguf g;
    swarm_diag d = {{0}};
    if (sw_gguf_parse(data, size, &g, &d) != SWARM_OK) return 0;
    sw_hparams hp;
    sw_weights w;
    swarm_err rc = sw_model_bind_gguf(&g, &hp, &w, &d);
    if (rc != SWARM_OK) {
        SWARM_ASSERT(d.msg[0] != '\0');
        sw_gguf_close(&g);
        return 0;
    }
    const float *factors = NULL;
    /* small enough to run: a few hundred thousand multiply-adds per token */
    bool small = hp.dim <= 512 && hp.ffn_dim <= 1024 && hp.n_layers <= 4 && hp.n_vocab <= 1024 &&
                 hp.n_heads <= 16 && hp.head_dim <= 256 && hp.rope_dim <= 512;
    if (small && sw_model_rope_factors(&g, &hp, &factors, &d) == SWARM_OK) {
        float freq[256];
        sw_rope_freqs(&hp, factors, freq);
        sw_kernels_select("ref");
        run(&hp, &w, freq);
        sw_kernels_select("auto");
        run(&hp, &w, freq);
    }
    sw_free(w.layers);
    sw_gguf_close(&g);
    return 0;
}
