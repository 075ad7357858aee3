/*
 * bpe.c: GPT-2 style byte-level BPE (GGUF tokenizer.ggml.model = "gpt2"):
 * merges from tokenizer.ggml.merges, and the pre-tokenizers named by
 * tokenizer.ggml.pre. Each pre-tokenizer regex of llama.cpp is a hand-written
 * matcher with the same leftmost-first, greedy-with-backtracking semantics;
 * unmatched stretches between matches stay words of their own, and regexes
 * apply one after another to every piece the previous one produced.
 */
#include <stdio.h>
#include <string.h>

#include "tokenizer_int.h"

// ----------------------------------------------------------------------------
// pre-tokenizer names

static const struct {
    const char *name;
    enum sw_bpe_pre pre;
} k_pre_names[] = {
    {"default", SW_PRE_DEFAULT},         {"gpt-2", SW_PRE_GPT2},
    {"phi-2", SW_PRE_GPT2},              {"mpt", SW_PRE_GPT2},
    {"olmo", SW_PRE_GPT2},               {"jais", SW_PRE_GPT2},
    {"starcoder", SW_PRE_STARCODER},     {"smollm", SW_PRE_STARCODER},
    {"refact", SW_PRE_STARCODER},        {"command-r", SW_PRE_STARCODER},
    {"codeshell", SW_PRE_STARCODER},     {"exaone", SW_PRE_STARCODER},
    {"minerva-7b", SW_PRE_STARCODER},    {"falcon", SW_PRE_FALCON},
    {"deepseek-coder", SW_PRE_DEEPSEEK_CODER}, {"deepseek-llm", SW_PRE_DEEPSEEK_LLM},
    {"llama3", SW_PRE_LLAMA3},           {"llama-v3", SW_PRE_LLAMA3},
    {"llama-bpe", SW_PRE_LLAMA3},        {"falcon3", SW_PRE_LLAMA3},
    {"pixtral", SW_PRE_LLAMA3},          {"dbrx", SW_PRE_LLAMA3},
    {"smaug-bpe", SW_PRE_LLAMA3},        {"qwen2", SW_PRE_QWEN2},
    {"deepseek-r1-qwen", SW_PRE_QWEN2},  {"stablelm2", SW_PRE_QWEN2},
    {"megrez", SW_PRE_QWEN2},
};

bool sw_bpe_pre_from_name(const char *name, enum sw_bpe_pre *pre, bool *ignore_merges)
{
    for (size_t i = 0; i < sizeof(k_pre_names) / sizeof(k_pre_names[0]); i++) {
        if (strcmp(name, k_pre_names[i].name) == 0) {
            *pre = k_pre_names[i].pre;
            /* llama.cpp: the llama3 family looks whole words up before merging */
            *ignore_merges = *pre == SW_PRE_LLAMA3 && strcmp(name, "dbrx") != 0 &&
                             strcmp(name, "smaug-bpe") != 0;
            return true;
        }
    }
    return false;
}

// ----------------------------------------------------------------------------
// merges

static uint64_t pair_hash(int32_t a, int32_t b)
{
    uint64_t h = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static const sw_merge *merge_find(const sw_tokenizer *t, int32_t a, int32_t b)
{
    if (t->merges == NULL) return NULL;
    size_t i = (size_t)pair_hash(a, b) & t->merge_mask;
    for (;;) {
        const sw_merge *m = &t->merges[i];
        if (m->rank < 0) return NULL;
        if (m->left == a && m->right == b) return m;
        i = (i + 1) & t->merge_mask;
    }
}

swarm_err sw_bpe_init(sw_tokenizer *t, const sw_gguf *g, swarm_diag *d)
{
    sw_str pre;
    const char *pname = "default";
    char buf[32];
    if (sw_gguf_get_str(g, "tokenizer.ggml.pre", &pre)) {
        if (pre.len >= sizeof(buf))
            return sw_diag_set(d, SWARM_EFORMAT, "unknown tokenizer.ggml.pre '%.40s...'",
                               pre.ptr);
        memcpy(buf, pre.ptr, (size_t)pre.len);
        buf[pre.len] = '\0';
        pname = buf;
    } else {
        sw_log_warn("tokenizer: no tokenizer.ggml.pre, using the 'default' pre-tokenizer");
    }
    if (!sw_bpe_pre_from_name(pname, &t->pre, &t->ignore_merges))
        return sw_diag_set(d, SWARM_EFORMAT,
                           "unsupported tokenizer.ggml.pre '%s' (supported: default, gpt-2, "
                           "starcoder, smollm, falcon, deepseek-coder, deepseek-llm, llama3, "
                           "llama-bpe, qwen2 and aliases)",
                           pname);
    snprintf(t->pre_name, sizeof(t->pre_name), "%s", pname);

    for (int b = 0; b < 256; b++) {
        char enc[4];
        size_t l = sw_utf8_encode(sw_bpe_byte_to_cp((uint8_t)b), enc);
        t->byte_tok[b] = sw_tok_lookup(t, enc, l);
    }

    const sw_gguf_kv *mk = sw_gguf_find(g, "tokenizer.ggml.merges");
    if (mk == NULL) return sw_diag_set(d, SWARM_EFORMAT, "no tokenizer.ggml.merges (needed by gpt2)");
    if (mk->type != SW_GGUF_ARRAY || mk->arr_type != SW_GGUF_STRING)
        return sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.merges is not an array of strings");
    if (mk->arr_n > (1u << 24))
        return sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.merges has %llu entries",
                           (unsigned long long)mk->arr_n);
    size_t n = (size_t)mk->arr_n;
    sw_str *ms = sw_calloc(n ? n : 1, sizeof(sw_str));
    if (ms == NULL) return SWARM_ENOMEM;
    swarm_err rc = sw_gguf_arr_strings(mk, ms);
    if (rc != SWARM_OK) {
        sw_free(ms);
        return sw_diag_set(d, rc, "tokenizer.ggml.merges: unreadable strings");
    }
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    t->merges = sw_malloc(cap * sizeof(sw_merge));
    if (t->merges == NULL) {
        sw_free(ms);
        return SWARM_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) t->merges[i].rank = -1;
    t->merge_mask = cap - 1;
    char *cat = NULL;
    size_t catcap = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = ms[i].ptr;
        size_t len = (size_t)ms[i].len;
        size_t sp = 1;
        while (sp < len && s[sp] != ' ') sp++;
        if (len < 3 || sp >= len) {
            rc = sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.merges[%zu] '%.*s' is not 'a b'",
                             i, (int)(len > 40 ? 40 : len), s);
            break;
        }
        int32_t a = sw_tok_lookup(t, s, sp);
        int32_t b = sw_tok_lookup(t, s + sp + 1, len - sp - 1);
        if (a < 0 || b < 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "tokenizer.ggml.merges[%zu] '%.*s' references a token that is not "
                             "in the vocabulary",
                             i, (int)(len > 40 ? 40 : len), s);
            break;
        }
        if (len - 1 > catcap) {
            catcap = len * 2;
            char *nc = sw_realloc(cat, catcap);
            if (nc == NULL) {
                rc = SWARM_ENOMEM;
                break;
            }
            cat = nc;
        }
        memcpy(cat, s, sp);
        memcpy(cat + sp, s + sp + 1, len - sp - 1);
        int32_t r = sw_tok_lookup(t, cat, len - 1);
        if (r < 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "tokenizer.ggml.merges[%zu] '%.*s' makes a token that is not in the "
                             "vocabulary",
                             i, (int)(len > 40 ? 40 : len), s);
            break;
        }
        size_t h = (size_t)pair_hash(a, b) & t->merge_mask;
        for (;;) {
            sw_merge *m = &t->merges[h];
            if (m->rank < 0) {
                m->left = a;
                m->right = b;
                m->result = r;
                m->rank = (int32_t)i;
                t->n_merges++;
                break;
            }
            if (m->left == a && m->right == b) break; /* first rank wins */
            h = (h + 1) & t->merge_mask;
        }
    }
    sw_free(cat);
    sw_free(ms);
    return rc;
}

// ----------------------------------------------------------------------------
// pre-tokenizer matchers

typedef struct ptext {
    const uint8_t *s;
    size_t nc;      /* characters */
    uint32_t *cp;   /* (nc) codepoint or SW_UCP_INVALID */
    uint8_t *fl;    /* (nc) sw_unicode_flags */
    size_t *off;    /* (nc + 1) byte offset of each character */
} ptext;

static inline unsigned ucls(const ptext *x, size_t i) { return x->fl[i] & SW_UCAT_MASK; }
static inline bool is_L(const ptext *x, size_t i) { return ucls(x, i) == SW_UCAT_L; }
static inline bool is_N(const ptext *x, size_t i) { return ucls(x, i) == SW_UCAT_N; }
static inline bool is_P(const ptext *x, size_t i) { return ucls(x, i) == SW_UCAT_P; }
static inline bool is_WS(const ptext *x, size_t i) { return (x->fl[i] & SW_UFLAG_WS) != 0; }
/* [^\s\p{L}\p{N}] */
static inline bool is_other(const ptext *x, size_t i)
{
    return !is_WS(x, i) && !is_L(x, i) && !is_N(x, i);
}
static inline bool is_crlf(const ptext *x, size_t i) { return x->cp[i] == '\r' || x->cp[i] == '\n'; }

typedef bool (*cls_fn)(const ptext *x, size_t i);

static size_t run(const ptext *x, size_t p, size_t e, cls_fn f)
{
    size_t q = p;
    while (q < e && f(x, q)) q++;
    return q - p;
}

static uint32_t lower_ascii(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* 's 't 're 've 'm 'll 'd (case-insensitive when ci) */
static size_t m_contraction(const ptext *x, size_t p, size_t e, bool ci)
{
    if (x->cp[p] != '\'' || p + 1 >= e) return 0;
    uint32_t c1 = x->cp[p + 1];
    if (ci) c1 = lower_ascii(c1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (p + 2 >= e) return 0;
    uint32_t c2 = x->cp[p + 2];
    if (ci) c2 = lower_ascii(c2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
        return 3;
    return 0;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
static size_t m_gpt2(const ptext *x, size_t p, size_t e)
{
    size_t m = m_contraction(x, p, e, false);
    if (m) return m;
    size_t s = (x->cp[p] == ' ' && p + 1 < e) ? 1 : 0;
    if (is_L(x, p + s)) return s + run(x, p + s, e, is_L);
    if (is_N(x, p + s)) return s + run(x, p + s, e, is_N);
    if (is_other(x, p + s)) return s + run(x, p + s, e, is_other);
    if (is_WS(x, p)) {
        size_t r = run(x, p, e, is_WS);
        if (p + r == e) return r;
        return r > 1 ? r - 1 : 0;
    }
    return 0;
}

/* llama3 / qwen2:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxd}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static size_t m_llama3(const ptext *x, size_t p, size_t e, size_t maxd)
{
    size_t m = m_contraction(x, p, e, true);
    if (m) return m;
    if (is_L(x, p)) return run(x, p, e, is_L);
    if (!is_crlf(x, p) && !is_N(x, p) && p + 1 < e && is_L(x, p + 1))
        return 1 + run(x, p + 1, e, is_L);
    if (is_N(x, p)) {
        size_t r = run(x, p, e, is_N);
        return r < maxd ? r : maxd;
    }
    size_t s = (x->cp[p] == ' ' && p + 1 < e) ? 1 : 0;
    if (is_other(x, p + s)) {
        size_t q = p + s + run(x, p + s, e, is_other);
        while (q < e && is_crlf(x, q)) q++;
        return q - p;
    }
    if (is_WS(x, p)) {
        size_t r = run(x, p, e, is_WS);
        size_t last_nl = 0;
        for (size_t i = p; i < p + r; i++)
            if (is_crlf(x, i)) last_nl = i + 1;
        if (last_nl) return last_nl - p;
        if (p + r < e && r > 1) return r - 1;
        return r;
    }
    return 1; /* unreachable: every character is L, N, other or whitespace */
}

/* [\p{P}\$\+<=>\^~\|]+ (default) and the same with ` (falcon) */
static bool is_punct_sym(const ptext *x, size_t i, bool backtick)
{
    uint32_t c = x->cp[i];
    if (is_P(x, i)) return true;
    return c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' ||
           c == '|' || (backtick && c == '`');
}
static bool is_punct_sym_d(const ptext *x, size_t i) { return is_punct_sym(x, i, false); }
static bool is_punct_sym_f(const ptext *x, size_t i) { return is_punct_sym(x, i, true); }
static bool is_digit(const ptext *x, size_t i) { return x->cp[i] >= '0' && x->cp[i] <= '9'; }

/* Regexes without \p{..} run in llama.cpp on the codepoints with every
 * non-ASCII whitespace replaced by U+000B, so such characters never match a
 * literal class range. */
static bool nonascii_ws(const ptext *x, size_t i) { return x->cp[i] > 0x7F && is_WS(x, i); }

typedef struct urange {
    uint32_t a, b;
} urange;

static bool in_ranges(uint32_t c, const urange *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].a && c <= r[i].b) return true;
    return false;
}

/* [一-龥ࠀ-一가-퟿] */
static const urange k_cjk[] = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};
static bool is_cjk(const ptext *x, size_t i)
{
    return !nonascii_ws(x, i) && in_ranges(x->cp[i], k_cjk, 3);
}

/* deepseek-llm's letter class (cased letters of several scripts) */
static const urange k_ds_letters[] = {
    {0x0041, 0x005A},   {0x0061, 0x007A},   {0x00B5, 0x00B5},   {0x00C0, 0x00D6},
    {0x00D8, 0x00F6},   {0x00F8, 0x01BA},   {0x01BC, 0x01BF},   {0x01C4, 0x0293},
    {0x0295, 0x02AF},   {0x0370, 0x0373},   {0x0376, 0x0377},   {0x037B, 0x037D},
    {0x037F, 0x037F},   {0x0386, 0x0386},   {0x0388, 0x038A},   {0x038C, 0x038C},
    {0x038E, 0x03A1},   {0x03A3, 0x03F5},   {0x03F7, 0x0481},   {0x048A, 0x052F},
    {0x0531, 0x0556},   {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
static bool is_ds_letter(const ptext *x, size_t i)
{
    return !nonascii_ws(x, i) &&
           in_ranges(x->cp[i], k_ds_letters, sizeof(k_ds_letters) / sizeof(k_ds_letters[0]));
}

/* [!-/:-~！-／：-～‘-‟　-。] */
static const urange k_ds_punct[] = {{0x21, 0x2F},     {0x3A, 0x7E},     {0xFF01, 0xFF0F},
                                    {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};
static bool is_ds_punct(const ptext *x, size_t i)
{
    return !nonascii_ws(x, i) && in_ranges(x->cp[i], k_ds_punct, 6);
}

/* \s?CLASS+ */
static size_t m_ws_opt_run(const ptext *x, size_t p, size_t e, cls_fn f)
{
    if (is_WS(x, p) && p + 1 < e && f(x, p + 1)) return 1 + run(x, p + 1, e, f);
    if (f(x, p)) return run(x, p, e, f);
    return 0;
}

enum rx {
    RX_GPT2,
    RX_LLAMA3,
    RX_QWEN2,
    RX_PUNCT_DEFAULT, /* [\p{P}\$\+<=>\^~\|]+ */
    RX_PUNCT_FALCON,  /* [\p{P}\$\+<=>\^~\|`]+ */
    RX_NUM1,          /* \p{N} */
    RX_NUMS,          /* \p{N}+ */
    RX_DIGIT3,        /* [0-9][0-9][0-9] */
    RX_CRLF1,         /* [\r\n] */
    RX_WS_L,          /* \s?\p{L}+ */
    RX_WS_P,          /* \s?\p{P}+ */
    RX_CJK,           /* [一-龥ࠀ-一가-퟿]+ */
    RX_DS_LETTERS,    /* \s?[A-Za-zµÀ-Ö...]+ */
    RX_DS_PUNCT,      /* \s?[!-/:-~！-／：-～‘-‟　-。]+ */
    RX_TRAIL_WS,      /* \s+$ */
    RX_END
};

static size_t rx_match(enum rx r, const ptext *x, size_t p, size_t e)
{
    switch (r) {
    case RX_GPT2: return m_gpt2(x, p, e);
    case RX_LLAMA3: return m_llama3(x, p, e, 3);
    case RX_QWEN2: return m_llama3(x, p, e, 1);
    case RX_PUNCT_DEFAULT: return run(x, p, e, is_punct_sym_d);
    case RX_PUNCT_FALCON: return run(x, p, e, is_punct_sym_f);
    case RX_NUM1: return is_N(x, p) ? 1 : 0;
    case RX_NUMS: return run(x, p, e, is_N);
    case RX_DIGIT3:
        return (p + 3 <= e && is_digit(x, p) && is_digit(x, p + 1) && is_digit(x, p + 2)) ? 3 : 0;
    case RX_CRLF1: return is_crlf(x, p) ? 1 : 0;
    case RX_WS_L: return m_ws_opt_run(x, p, e, is_L);
    case RX_WS_P: return m_ws_opt_run(x, p, e, is_P);
    case RX_CJK: return run(x, p, e, is_cjk);
    case RX_DS_LETTERS: return m_ws_opt_run(x, p, e, is_ds_letter);
    case RX_DS_PUNCT: return m_ws_opt_run(x, p, e, is_ds_punct);
    default: return 0;
    }
}

static const enum rx k_stages[SW_PRE_COUNT][7] = {
    [SW_PRE_DEFAULT] = {RX_PUNCT_DEFAULT, RX_GPT2, RX_NUMS, RX_DIGIT3, RX_END},
    [SW_PRE_GPT2] = {RX_GPT2, RX_END},
    [SW_PRE_STARCODER] = {RX_NUM1, RX_GPT2, RX_END},
    [SW_PRE_FALCON] = {RX_PUNCT_FALCON, RX_GPT2, RX_DIGIT3, RX_END},
    [SW_PRE_DEEPSEEK_CODER] = {RX_CRLF1, RX_WS_L, RX_WS_P, RX_CJK, RX_NUM1, RX_END},
    [SW_PRE_DEEPSEEK_LLM] = {RX_CRLF1, RX_DS_LETTERS, RX_DS_PUNCT, RX_TRAIL_WS, RX_CJK, RX_NUMS,
                             RX_END},
    [SW_PRE_LLAMA3] = {RX_LLAMA3, RX_END},
    [SW_PRE_QWEN2] = {RX_QWEN2, RX_END},
};

typedef struct span {
    size_t a, b; /* character range */
} span;

typedef struct spanvec {
    span *v;
    size_t n, cap;
} spanvec;

static swarm_err span_push(spanvec *sv, size_t a, size_t b)
{
    if (a >= b) return SWARM_OK;
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        span *v = sw_realloc(sv->v, cap * sizeof(*v));
        if (v == NULL) return SWARM_ENOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n].a = a;
    sv->v[sv->n].b = b;
    sv->n++;
    return SWARM_OK;
}

/* One regex over one piece: matches and the gaps between them. */
static swarm_err split_piece(enum rx r, const ptext *x, size_t a, size_t b, spanvec *out)
{
    swarm_err rc = SWARM_OK;
    if (r == RX_TRAIL_WS) {
        size_t q = b;
        while (q > a && is_WS(x, q - 1)) q--;
        if ((rc = span_push(out, a, q)) != SWARM_OK) return rc;
        return span_push(out, q, b);
    }
    size_t gap = a, p = a;
    while (p < b) {
        size_t m = rx_match(r, x, p, b);
        if (m == 0) {
            p++;
            continue;
        }
        if ((rc = span_push(out, gap, p)) != SWARM_OK) return rc;
        if ((rc = span_push(out, p, p + m)) != SWARM_OK) return rc;
        p += m;
        gap = p;
    }
    return span_push(out, gap, b);
}

swarm_err sw_bpe_pretokenize(enum sw_bpe_pre pre, const char *text, size_t len, sw_pretok_cb cb,
                             void *ud)
{
    if (len == 0) return SWARM_OK;
    if ((unsigned)pre >= SW_PRE_COUNT) return SWARM_EINVAL;
    swarm_err rc = SWARM_ENOMEM;
    ptext x = {(const uint8_t *)text, 0, NULL, NULL, NULL};
    spanvec cur = {0}, nxt = {0};
    /* +1 sentinel so matchers may look one character past a piece end */
    x.cp = sw_malloc((len + 1) * sizeof(uint32_t));
    x.fl = sw_malloc(len + 1);
    x.off = sw_malloc((len + 1) * sizeof(size_t));
    if (x.cp == NULL || x.fl == NULL || x.off == NULL) goto done;
    for (size_t i = 0; i < len;) {
        size_t l;
        uint32_t c = sw_utf8_decode(x.s + i, len - i, &l);
        x.cp[x.nc] = c;
        x.fl[x.nc] = (uint8_t)sw_unicode_flags(c);
        x.off[x.nc] = i;
        x.nc++;
        i += l;
    }
    x.off[x.nc] = len;
    x.cp[x.nc] = 0;
    x.fl[x.nc] = 0; /* sentinel: no class, not whitespace */
    if ((rc = span_push(&cur, 0, x.nc)) != SWARM_OK) goto done;
    for (const enum rx *r = k_stages[pre]; *r != RX_END; r++) {
        nxt.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            if ((rc = split_piece(*r, &x, cur.v[i].a, cur.v[i].b, &nxt)) != SWARM_OK) goto done;
        }
        spanvec tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    for (size_t i = 0; i < cur.n; i++) {
        size_t s = x.off[cur.v[i].a], e = x.off[cur.v[i].b];
        if ((rc = cb(ud, s, e - s)) != SWARM_OK) goto done;
    }
    rc = SWARM_OK;
done:
    sw_free(x.cp);
    sw_free(x.fl);
    sw_free(x.off);
    sw_free(cur.v);
    sw_free(nxt.v);
    return rc;
}

// ----------------------------------------------------------------------------
// merging one word

typedef struct bsym {
    int32_t id; /* -1: the byte's character is not a token */
    int32_t prev, next;
    uint8_t byte; /* the first raw byte (for fallback) */
} bsym;

typedef struct bpe_ctx {
    const sw_tokenizer *t;
    const char *text;
    sw_idvec *out;
    bsym *sy;
    size_t sy_cap;
    sw_mheap heap;
    char *enc;
    size_t enc_cap;
} bpe_ctx;

static swarm_err push_pair(bpe_ctx *c, int32_t i)
{
    if (i < 0) return SWARM_OK;
    int32_t j = c->sy[i].next;
    if (j < 0) return SWARM_OK;
    int32_t a = c->sy[i].id, b = c->sy[j].id;
    if (a < 0 || b < 0) return SWARM_OK;
    const sw_merge *m = merge_find(c->t, a, b);
    if (m == NULL) return SWARM_OK;
    sw_mheap_ent e = {.key = m->rank, .pos = i, .right = j, .a = a, .b = b, .result = m->result};
    return sw_mheap_push(&c->heap, e);
}

static swarm_err bpe_word(void *ud, size_t start, size_t len)
{
    bpe_ctx *c = ud;
    const sw_tokenizer *t = c->t;
    const uint8_t *w = (const uint8_t *)c->text + start;
    swarm_err rc;
    if (t->ignore_merges) {
        /* the whole word, byte-encoded, may be a token already */
        if (len * 2 > c->enc_cap) {
            size_t cap = len * 2 + 16;
            char *ne = sw_realloc(c->enc, cap);
            if (ne == NULL) return SWARM_ENOMEM;
            c->enc = ne;
            c->enc_cap = cap;
        }
        size_t k = 0;
        for (size_t i = 0; i < len; i++) k += sw_utf8_encode(sw_bpe_byte_to_cp(w[i]), c->enc + k);
        int32_t id = sw_tok_lookup(t, c->enc, k);
        if (id >= 0) return sw_idvec_push(c->out, id);
    }
    if (len > c->sy_cap) {
        size_t cap = len * 2;
        bsym *ns = sw_realloc(c->sy, cap * sizeof(*ns));
        if (ns == NULL) return SWARM_ENOMEM;
        c->sy = ns;
        c->sy_cap = cap;
    }
    bsym *sy = c->sy;
    for (size_t i = 0; i < len; i++) {
        sy[i].id = t->byte_tok[w[i]];
        sy[i].byte = w[i];
        sy[i].prev = (int32_t)i - 1;
        sy[i].next = i + 1 < len ? (int32_t)i + 1 : -1;
    }
    c->heap.n = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if ((rc = push_pair(c, (int32_t)i)) != SWARM_OK) return rc;
    sw_mheap_ent e;
    while (sw_mheap_pop(&c->heap, &e)) {
        bsym *l = &sy[e.pos], *r = &sy[e.right];
        if (l->id != e.a || l->next != e.right || r->id != e.b) continue;
        l->id = e.result;
        r->id = -2; /* gone */
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = e.pos;
        if ((rc = push_pair(c, l->prev)) != SWARM_OK) return rc;
        if ((rc = push_pair(c, e.pos)) != SWARM_OK) return rc;
    }
    for (int32_t i = len ? 0 : -1; i >= 0; i = sy[i].next) {
        if (sy[i].id >= 0) {
            if ((rc = sw_idvec_push(c->out, sy[i].id)) != SWARM_OK) return rc;
            continue;
        }
        /* llama.cpp looks up each byte of the unknown symbol's text alone */
        char enc[4];
        size_t l = sw_utf8_encode(sw_bpe_byte_to_cp(sy[i].byte), enc);
        for (size_t k = 0; k < l; k++) {
            int32_t id = sw_tok_lookup(t, enc + k, 1);
            if (id >= 0 && (rc = sw_idvec_push(c->out, id)) != SWARM_OK) return rc;
        }
    }
    return SWARM_OK;
}

swarm_err sw_bpe_encode_fragment(const sw_tokenizer *t, const char *text, size_t len,
                                 sw_idvec *out)
{
    bpe_ctx c = {.t = t, .text = text, .out = out};
    swarm_err rc = sw_bpe_pretokenize(t->pre, text, len, bpe_word, &c);
    sw_free(c.sy);
    sw_free(c.heap.v);
    sw_free(c.enc);
    return rc;
}
