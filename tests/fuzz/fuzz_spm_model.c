/*
 * fuzz_spm_model.c: libFuzzer target for the SentencePiece ModelProto
 * reader (TESTPLAN E5): any input is either rejected with a message or
 * gives pieces inside the input with valid types and special ids; a model
 * that parses must also load as a llama2.c-style tokenizer and encode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tokenizer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    sw_spm_model m;
    swarm_diag d = {{0}};
    swarm_err rc = sw_spm_model_parse(buf, size, &m, &d);
    if (rc != SWARM_OK) {
        SWARM_ASSERT(rc == SWARM_EFORMAT && d.msg[0] != '\0');
        free(buf);
        return 0;
    }
    SWARM_ASSERT(m.n_pieces > 0 && m.n_pieces <= size / 2);
    for (size_t i = 0; i < m.n_pieces; i++) {
        const sw_spm_piece *p = &m.pieces[i];
        const uint8_t *s = (const uint8_t *)p->text;
        SWARM_ASSERT(p->len > 0 && s >= buf && (size_t)(s - buf) + p->len <= size);
        SWARM_ASSERT(p->type >= SW_TOKT_NORMAL && p->type < SW_TOKT_COUNT);
    }
    const int32_t ids[3] = {m.unk_id, m.bos_id, m.eos_id};
    const uint8_t types[3] = {SW_TOKT_UNKNOWN, SW_TOKT_CONTROL, SW_TOKT_CONTROL};
    for (int k = 0; k < 3; k++) {
        SWARM_ASSERT(ids[k] >= -1 && ids[k] < (int32_t)m.n_pieces);
        if (ids[k] >= 0) SWARM_ASSERT(m.pieces[ids[k]].type == types[k]);
    }
    int32_t n = (int32_t)m.n_pieces;
    sw_spm_model_free(&m);

    sw_tokenizer *t = NULL;
    rc = sw_tokenizer_from_llama2c_buf(buf, size, n, &t, &d);
    if (rc == SWARM_OK) {
        static const char text[] = "Once upon a time, \xe2\x96\x81the caf\xc3\xa9 \xff<s>";
        int32_t *out = NULL;
        size_t no = 0;
        if (sw_tokenizer_encode(t, text, sizeof(text) - 1, true, false, false, &out, &no) ==
            SWARM_OK) {
            for (size_t i = 0; i < no; i++) {
                char piece[8];
                SWARM_ASSERT(out[i] >= 0 && out[i] < n);
                (void)sw_tokenizer_decode(t, i ? out[i - 1] : -1, out[i], piece, sizeof(piece));
            }
            sw_free(out);
        }
        sw_tokenizer_destroy(t);
    } else {
        /* a valid model that starts like one (its first field a piece) loads;
         * one that starts with another field is not recognised */
        SWARM_ASSERT(!sw_spm_model_sniff(buf, size));
        SWARM_ASSERT(rc == SWARM_EFORMAT && d.msg[0] != '\0');
    }
    free(buf);
    return 0;
}
