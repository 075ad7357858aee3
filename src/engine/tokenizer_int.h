/*
 * tokenizer_int.h: internals shared by the tokenizer files (tokenizer.c for
 * the common part and SentencePiece, bpe.c for byte-level BPE and its
 * pre-tokenizers, unicode.c for UTF-8 and character classes). Not part of
 * the engine contract (that is engine_int.h); nothing outside these files
 * includes it, except the tokenizer's unit tests.
 */
#ifndef SW_TOKENIZER_INT_H
#define SW_TOKENIZER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_int.h"

/* ---- unicode.c ----------------------------------------------------------- */

/* Unicode general-category class (low 3 bits of sw_unicode_flags). */
enum sw_ucat {
    SW_UCAT_NONE = 0, /* unassigned (Cn) */
    SW_UCAT_L = 1,
    SW_UCAT_N = 2,
    SW_UCAT_P = 3,
    SW_UCAT_S = 4,
    SW_UCAT_M = 5,
    SW_UCAT_Z = 6,
    SW_UCAT_C = 7,
    SW_UCAT_COUNT
};
#define SW_UCAT_MASK 7u
#define SW_UFLAG_WS 8u /* White_Space property */

/* A byte that does not start a valid UTF-8 sequence decodes to this value
 * (outside the Unicode range); it classes like U+FFFD (a symbol), which is
 * what llama.cpp substitutes, while the caller keeps the original byte. */
#define SW_UCP_INVALID 0x110000u

/* Class and White_Space bit of a codepoint (SW_UCP_INVALID -> symbol). */
unsigned sw_unicode_flags(uint32_t cp);
/* Decodes one codepoint from s[0..n) (n >= 1). Accepts what llama.cpp's
 * decoder accepts (bit patterns only); anything else gives SW_UCP_INVALID
 * with *len = 1. */
uint32_t sw_utf8_decode(const uint8_t *s, size_t n, size_t *len);
/* Encodes cp (<= 0x10FFFF) into out (4 bytes room); returns the length. */
size_t sw_utf8_encode(uint32_t cp, char *out);
/* Length of a UTF-8 sequence from its first byte, by the high nibble only
 * (1 for continuation bytes), as SentencePiece/llama.cpp split symbols. */
size_t sw_utf8_lead_len(uint8_t b);
/* GPT-2 byte-level mapping: byte -> printable codepoint, and back (-1 when
 * cp is not the image of a byte). */
uint32_t sw_bpe_byte_to_cp(uint8_t b);
int sw_bpe_cp_to_byte(uint32_t cp);

/* ---- tokenizer.c: shared vocabulary --------------------------------------- */

/* llama.cpp token types (tokenizer.ggml.token_type). */
enum sw_tok_type {
    SW_TOKT_UNDEFINED = 0,
    SW_TOKT_NORMAL = 1,
    SW_TOKT_UNKNOWN = 2,
    SW_TOKT_CONTROL = 3,
    SW_TOKT_USER = 4,
    SW_TOKT_UNUSED = 5,
    SW_TOKT_BYTE = 6,
    SW_TOKT_COUNT
};

/* Pre-tokenizers (bpe.c). */
enum sw_bpe_pre {
    SW_PRE_DEFAULT,
    SW_PRE_GPT2,
    SW_PRE_STARCODER, /* also smollm, refact, command-r, ... */
    SW_PRE_FALCON,
    SW_PRE_DEEPSEEK_CODER,
    SW_PRE_DEEPSEEK_LLM,
    SW_PRE_LLAMA3,
    SW_PRE_QWEN2,
    SW_PRE_COUNT
};

/* Open-addressing hash entry of a merge: (left, right) -> rank, result. */
typedef struct sw_merge {
    int32_t left, right, result;
    int32_t rank; /* -1 = empty slot */
} sw_merge;

struct sw_tokenizer {
    enum sw_tok_kind kind;
    bool llama2c; /* llama2.c run.c conventions (tokenizer.bin) */
    int32_t n_vocab;
    char *blob;        /* all token texts, each NUL-terminated */
    uint32_t *tok_off; /* (n_vocab) offset into blob */
    uint32_t *tok_len; /* (n_vocab) */
    float *scores;     /* (n_vocab) */
    uint8_t *type;     /* (n_vocab) enum sw_tok_type */
    uint8_t *strip;    /* (n_vocab) bit0 lstrip, bit1 rstrip */
    uint32_t max_token_len;
    /* text -> id, open addressing; slot = id + 1, 0 = empty */
    uint32_t *ht;
    size_t ht_mask;
    int32_t bos, eos, unk, eot, eom;
    int32_t *eog; /* extra end-of-generation ids */
    size_t n_eog;
    bool add_bos, add_eos, add_space_prefix;
    int32_t byte_tok[256]; /* token of each raw byte (SPM <0xXX> / BPE mapped char); -1 none */
    /* special tokens for text partitioning: ids sorted by text length desc */
    int32_t *special;
    size_t n_special;
    uint32_t *special_rank;   /* (n_vocab) index in special[], UINT32_MAX if not special */
    uint32_t *special_lens;   /* distinct text lengths of the special tokens */
    size_t n_special_lens;
    bool special_first[256];  /* some special token starts with this byte */
    /* llama2.c */
    int32_t space_id;
    /* BPE */
    enum sw_bpe_pre pre;
    char pre_name[32];
    bool ignore_merges;
    sw_merge *merges;
    size_t merge_mask;
    size_t n_merges;
};

/* Token id of the exact text s[0..n), or -1. */
int32_t sw_tok_lookup(const sw_tokenizer *t, const char *s, size_t n);
static inline const char *sw_tok_text(const sw_tokenizer *t, int32_t id)
{
    return t->blob + t->tok_off[id];
}

/* Growable id vector used by the encoders. */
typedef struct sw_idvec {
    int32_t *v;
    size_t n, cap;
} sw_idvec;
swarm_err sw_idvec_push(sw_idvec *iv, int32_t id);

/* Binary min-heap of merge candidates ordered by (key, pos), both ascending. */
typedef struct sw_mheap_ent {
    double key;    /* BPE: rank; SPM: -score */
    int32_t pos;   /* index of the left symbol */
    int32_t right; /* index of the right symbol */
    int32_t a, b;  /* ids (or lengths) of both symbols when pushed: staleness check */
    int32_t result;
} sw_mheap_ent;
typedef struct sw_mheap {
    sw_mheap_ent *v;
    size_t n, cap;
} sw_mheap;
swarm_err sw_mheap_push(sw_mheap *h, sw_mheap_ent e);
bool sw_mheap_pop(sw_mheap *h, sw_mheap_ent *out);

/* ---- spm_model.c: SentencePiece ModelProto reader --------------------------- */

/* One piece, its text a view into the caller's buffer (not NUL-terminated). */
typedef struct sw_spm_piece {
    const char *text;
    uint32_t len;
    float score;
    uint8_t type; /* enum sw_tok_type: SentencePiece's Type enum has the same numbers */
} sw_spm_piece;

typedef struct sw_spm_model {
    sw_spm_piece *pieces; /* (n_pieces), sw_malloc'd */
    size_t n_pieces;
    /* TrainerSpec unk/bos/eos piece names (defaults "<unk>", "<s>", "</s>"),
     * views into the buffer or static strings */
    sw_str unk_piece, bos_piece, eos_piece;
    /* resolved as SentencePiece does: the piece of that name when it has the
     * right type (unknown / control / control), else -1 */
    int32_t unk_id, bos_id, eos_id;
} sw_spm_model;

/* True when buf starts like a ModelProto (its first piece: tag 0x0A and a
 * non-zero length), which a llama2.c table (int32 max_token_length) does
 * not unless that length is 10 mod 256 and at least 266. */
bool sw_spm_model_sniff(const void *buf, size_t size);
/* Parses a serialized ModelProto held in memory (must outlive m: pieces
 * point into it). Every varint, tag and length is checked against its
 * enclosing message; malformed wire data, a piece without text, an unknown
 * piece type or a piece defined twice is SWARM_EFORMAT with a message. On
 * failure m is zeroed. */
swarm_err sw_spm_model_parse(const void *buf, size_t size, sw_spm_model *m, swarm_diag *d);
void sw_spm_model_free(sw_spm_model *m);

/* ---- bpe.c ---------------------------------------------------------------- */

/* Loads merges and selects the pre-tokenizer from GGUF metadata (t already
 * holds the vocabulary). */
swarm_err sw_bpe_init(sw_tokenizer *t, const sw_gguf *g, swarm_diag *d);
/* Selects the pre-tokenizer by its tokenizer.ggml.pre name. */
bool sw_bpe_pre_from_name(const char *name, enum sw_bpe_pre *pre, bool *ignore_merges);
/* Encodes one raw-text fragment (no special tokens inside). */
swarm_err sw_bpe_encode_fragment(const sw_tokenizer *t, const char *text, size_t len,
                                 sw_idvec *out);
/* Pre-tokenizer alone: splits text into words; calls cb(ud, start, len) for
 * each word in order (byte offsets into text). For tests and the encoder. */
typedef swarm_err (*sw_pretok_cb)(void *ud, size_t start, size_t len);
swarm_err sw_bpe_pretokenize(enum sw_bpe_pre pre, const char *text, size_t len, sw_pretok_cb cb,
                             void *ud);

#endif /* SW_TOKENIZER_INT_H */
