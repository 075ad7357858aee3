/*
 * unicode.c: the little Unicode the tokenizers need: UTF-8 decoding with
 * llama.cpp's tolerance, general-category classes and White_Space from the
 * generated table (unicode_tables.h), and GPT-2's byte <-> codepoint map.
 * No normalization, no case mapping beyond ASCII (the pre-tokenizers only
 * need ASCII contractions).
 */
#include "tokenizer_int.h"
#include "unicode_tables.h"

unsigned sw_unicode_flags(uint32_t cp)
{
    if (cp >= 0x110000u) return SW_UCAT_S; /* invalid byte: like U+FFFD */
    size_t lo = 0, hi = sizeof(sw_unicode_ranges) / sizeof(sw_unicode_ranges[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < sw_unicode_ranges[mid].first) {
            hi = mid;
        } else if (cp > sw_unicode_ranges[mid].last) {
            lo = mid + 1;
        } else {
            return sw_unicode_ranges[mid].flags;
        }
    }
    return SW_UCAT_NONE;
}

size_t sw_utf8_lead_len(uint8_t b)
{
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[b >> 4];
}

uint32_t sw_utf8_decode(const uint8_t *s, size_t n, size_t *len)
{
    uint8_t c = s[0];
    *len = 1;
    if (c < 0x80) return c;
    if ((c & 0x40) == 0) return SW_UCP_INVALID; /* stray continuation byte */
    size_t need;
    uint32_t cp;
    if ((c & 0x20) == 0) {
        need = 2;
        cp = c & 0x1F;
    } else if ((c & 0x10) == 0) {
        need = 3;
        cp = c & 0x0F;
    } else if ((c & 0x08) == 0) {
        need = 4;
        cp = c & 0x07;
    } else {
        return SW_UCP_INVALID;
    }
    if (n < need) return SW_UCP_INVALID;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return SW_UCP_INVALID;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* F5..F7 leads can spell values past U+10FFFF: not a codepoint. */
    if (cp > 0x10FFFF) return SW_UCP_INVALID;
    *len = need;
    return cp;
}

size_t sw_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* GPT-2 keeps the printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
 * U+00AE..U+00FF) as themselves and maps the other 68 bytes, in order, to
 * U+0100 upwards, so that every byte becomes a visible character. */
static bool bpe_byte_is_self(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t sw_bpe_byte_to_cp(uint8_t b)
{
    if (bpe_byte_is_self(b)) return b;
    uint32_t n = 0;
    for (unsigned i = 0; i < b; i++) {
        if (!bpe_byte_is_self(i)) n++;
    }
    return 0x100 + n;
}

int sw_bpe_cp_to_byte(uint32_t cp)
{
    if (cp < 0x100) return bpe_byte_is_self(cp) ? (int)cp : -1;
    if (cp >= 0x100 + 68) return -1;
    uint32_t n = cp - 0x100;
    for (unsigned i = 0; i < 256; i++) {
        if (!bpe_byte_is_self(i)) {
            if (n == 0) return (int)i;
            n--;
        }
    }
    return -1;
}
