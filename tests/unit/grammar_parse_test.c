/*
 * grammar_parse_test.c: the grammar language: what each construct accepts
 * and refuses, byte-level UTF-8 classes, and hostile grammars refused with
 * a message that names the problem (never a hang).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "grammar/grammar_int.h"
#include "swarm/grammar.h"

static swarm_grammar *compile(const char *text)
{
    swarm_grammar *g = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_grammar_parse(text, strlen(text), &g, &d);
    if (rc != SWARM_OK) print_error("grammar refused: %s\n%s\n", d.msg, text);
    assert_int_equal(rc, SWARM_OK);
    return g;
}

static bool matches(const swarm_grammar *g, const char *s)
{
    bool ok = false;
    CHECK_OK(swarm_grammar_match(g, s, strlen(s), &ok));
    return ok;
}

/* Each of yes[] is a sentence of the grammar, each of no[] is not. */
static void expect(const char *grammar, const char *const *yes, const char *const *no)
{
    swarm_grammar *g = compile(grammar);
    for (size_t i = 0; yes[i] != NULL; i++) {
        if (!matches(g, yes[i])) print_error("should match: '%s'\n%s\n", yes[i], grammar);
        assert_true(matches(g, yes[i]));
    }
    for (size_t i = 0; no[i] != NULL; i++) {
        if (matches(g, no[i])) print_error("should not match: '%s'\n%s\n", no[i], grammar);
        assert_false(matches(g, no[i]));
    }
    swarm_grammar_destroy(g);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_literals_and_sequences(void **state)
{
    (void)state;
    expect("root ::= \"ab\" \"c\"", L("abc"), L("", "ab", "abcd", "abd"));
    expect("root ::= \"a\\n\\t\\\"\\\\\" \"\\x41\" \"\\u00e9\"", L("a\n\t\"\\A\xc3\xa9"), L("a"));
    /* comments, rules across lines, forward references */
    expect("# greeting\nroot ::= greet\n   \" \" name # trailing\ngreet ::= \"hi\" | \"hello\"\n"
           "name ::= \"bob\"\n",
           L("hi bob", "hello bob"), L("hi", "hey bob", "hi  bob"));
}

static void test_alternation_grouping(void **state)
{
    (void)state;
    expect("root ::= (\"a\" | \"b\") (\"c\" | ) \"d\"", L("ad", "bd", "acd", "bcd"),
           L("cd", "abd", "a"));
    expect("root ::= \"x\" ( \"y\" ( \"z\" | \"w\" ) )", L("xyz", "xyw"), L("xy", "xz"));
}

static void test_repetitions(void **state)
{
    (void)state;
    expect("root ::= \"a\"? \"b\"", L("b", "ab"), L("aab", "a"));
    expect("root ::= \"a\"* \"b\"", L("b", "ab", "aaaab"), L("", "ba"));
    expect("root ::= \"ab\"+", L("ab", "abab"), L("", "a", "aba"));
    expect("root ::= [0-9]{3}", L("123"), L("12", "1234"));
    expect("root ::= [0-9]{2,4}", L("12", "123", "1234"), L("1", "12345"));
    expect("root ::= [0-9]{2,}", L("12", "123456789"), L("1", ""));
    expect("root ::= [0-9]{,2}", L("", "1", "12"), L("123"));
    expect("root ::= ( \"a\" | \"bc\" ){0,3} \"!\"", L("!", "a!", "bca!", "abcbc!"),
           L("aaaa!", "b!"));
    /* right recursion */
    expect("root ::= list\nlist ::= \"x\" (\",\" list)?", L("x", "x,x,x"), L("", "x,", ",x"));
}

static void test_classes(void **state)
{
    (void)state;
    expect("root ::= [a-cx]+", L("abc", "xa"), L("d", ""));
    expect("root ::= [^a-c]", L("d", "\n", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"),
           L("a", "b", "", "dd"));
    /* a class of non-ASCII code points is matched byte by byte */
    expect("root ::= [\\u00e0-\\u00ff\\u4e00-\\u9fff]", L("\xc3\xa0", "\xc3\xbf", "\xe4\xb8\x80"),
           L("\xc3\x9f", "a", "\xc3"));
    expect("root ::= [é€]", L("\xc3\xa9", "\xe2\x82\xac"), L("e", "\xc3\xa8"));
    expect("root ::= .", L("a", "\xf0\x9f\x98\x80"), L("", "ab", "\xc0\x80", "\xed\xa0\x80"));
    expect("root ::= [\\]\\-\\\\]", L("]", "-", "\\"), L("a"));
}

static void test_matcher_incremental(void **state)
{
    (void)state;
    swarm_grammar *g = compile("root ::= \"ab\" \"c\"*");
    swarm_grammar_matcher *m = NULL;
    CHECK_OK(swarm_grammar_matcher_create(g, &m));
    assert_false(swarm_grammar_matcher_complete(m));
    CHECK_OK(swarm_grammar_matcher_accept(m, "a", 1));
    CHECK_ERR(swarm_grammar_matcher_accept(m, "x", 1), SWARM_EINVAL);
    /* a refused byte leaves the state as it was */
    CHECK_OK(swarm_grammar_matcher_accept(m, "b", 1));
    assert_true(swarm_grammar_matcher_complete(m));
    assert_true(swarm_grammar_matcher_can_continue(m));
    CHECK_OK(swarm_grammar_matcher_accept(m, "cc", 2));
    assert_true(swarm_grammar_matcher_complete(m));
    swarm_grammar_matcher_destroy(m);
    swarm_grammar_destroy(g);

    g = compile("root ::= \"ok\"");
    CHECK_OK(swarm_grammar_matcher_create(g, &m));
    CHECK_OK(swarm_grammar_matcher_accept(m, "ok", 2));
    assert_true(swarm_grammar_matcher_complete(m));
    assert_false(swarm_grammar_matcher_can_continue(m));
    swarm_grammar_matcher_destroy(m);
    swarm_grammar_destroy(g);
}

/* The grammar is refused with code want and a message containing what. */
static void refused(const char *text, size_t len, swarm_err want, const char *what)
{
    swarm_grammar *g = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_grammar_parse(text, len, &g, &d);
    if (rc != want || strstr(d.msg, what) == NULL)
        print_error("got %s '%s', want %s with '%s'\n", swarm_err_name(rc), d.msg,
                    swarm_err_name(want), what);
    assert_int_equal(rc, want);
    assert_null(g);
    assert_non_null(strstr(d.msg, what));
}

#define REFUSED(text, what) refused((text), strlen(text), SWARM_EFORMAT, (what))

static void test_syntax_errors(void **state)
{
    (void)state;
    REFUSED("", "no rule 'root'");
    REFUSED("start ::= \"a\"", "no rule 'root'");
    REFUSED("root ::= \"a", "unterminated string");
    REFUSED("root ::= [a-", "unterminated character class");
    REFUSED("root ::= [z-a]", "reversed");
    REFUSED("root ::= (\"a\"", "missing ')'");
    REFUSED("root ::= \"a\")", "unbalanced ')'");
    REFUSED("root ::= \"a\" @", "unexpected character '@'");
    REFUSED("root = \"a\"", "expected a rule");
    REFUSED("root ::= \"\\q\"", "unknown escape");
    REFUSED("root ::= \"\\u12\"", "hex digits");
    REFUSED("root ::= \"\\uD800\"", "not a Unicode scalar");
    REFUSED("root ::= \"a\"{3,1}", "n < m");
    REFUSED("root ::= \"a\"{x}", "bad repetition");
    REFUSED("root ::= \"a\"{2", "bad repetition");
    REFUSED("root ::= \"a\"{2,3", "missing '}'");
    REFUSED("root ::= \"a\"\nroot ::= \"b\"", "defined twice");
    REFUSED("root ::= \"\xff\"", "invalid UTF-8");
    REFUSED("root ::= \"a\" | b\nc ::= \"c\"", "undefined rule 'b'");
}

static void test_hostile(void **state)
{
    (void)state;
    /* left recursion, direct, indirect and through nullable parts */
    REFUSED("root ::= root \"a\" | \"a\"", "left recursion: rule 'root' -> rule 'root'");
    REFUSED("root ::= a\na ::= b \"x\"\nb ::= \"\"? a", "left recursion");
    REFUSED("root ::= (\"\")* \"a\"", "left recursion");
    REFUSED("root ::= (\"a\"?)+", "left recursion");
    /* rules that never finish */
    REFUSED("root ::= \"a\" root", "can never finish");
    REFUSED("root ::= [^\\x00-\\U0010FFFF]", "can never finish");
    /* limits */
    REFUSED("root ::= \"a\"{10001}", "above the limit of 10000");
    REFUSED("root ::= ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
            "\"a\")))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
            "nested deeper than 64");
    /* 5000 alternatives */
    sw_buf b = {0};
    sw_buf_put(&b, "root ::= \"a\"", 12);
    for (int i = 0; i < 5000; i++) sw_buf_put(&b, " | \"a\"", 6);
    refused(b.p, b.len, SWARM_EFORMAT, "more than 4096 alternatives");
    sw_free(b.p);
    /* nested bounded repetitions stay small (each level repeats one
     * reference), but copies add up: 41 x 10000 elements */
    swarm_grammar *g = compile("root ::= ((((\"abcdefgh\"{100}){100}){100}){100})");
    swarm_grammar_destroy(g);
    b = (sw_buf){0};
    sw_buf_put(&b, "root ::=", 8);
    for (int i = 0; i < 41; i++) sw_buf_put(&b, " [a-z]{10000}", 13);
    refused(b.p, b.len, SWARM_EFORMAT, "more than 400000 elements");
    sw_free(b.p);
    /* too many rules */
    b = (sw_buf){0};
    sw_buf_put(&b, "root ::= r0\n", 12);
    for (int i = 0; i < 25000; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "r%d ::= \"x\" | r%d\n", i, i + 1);
        sw_buf_put(&b, line, (size_t)n);
    }
    refused(b.p, b.len, SWARM_EFORMAT, "more than 20000 rules");
    sw_free(b.p);
    /* too long */
    size_t big = SWARM_GRAMMAR_MAX_TEXT + 1;
    char *t = calloc(big, 1);
    assert_non_null(t);
    memset(t, ' ', big);
    refused(t, big, SWARM_EFORMAT, "above the limit");
    free(t);
}

/* A grammar whose parses multiply: refused at match time, not a hang. */
static void test_ambiguous_at_match(void **state)
{
    (void)state;
    /* each "x" may be closed by "y" or "z" later: 2^n parses alive after n
     * of them; beyond SWARM_GRAMMAR_MAX_STACKS (4096) the matcher refuses */
    swarm_grammar *g = compile("root ::= a\na ::= \"x\" a \"y\" | \"x\" a \"z\" | \"\"");
    swarm_grammar_matcher *m = NULL;
    CHECK_OK(swarm_grammar_matcher_create(g, &m));
    swarm_err rc = SWARM_OK;
    int i = 0;
    for (; i < 40 && rc == SWARM_OK; i++) rc = swarm_grammar_matcher_accept(m, "x", 1);
    assert_int_equal(rc, SWARM_EUNSUPPORTED);
    /* about 4 x 2^(n-1) parses after n: refused at the 11th */
    assert_int_equal(i, 11);
    swarm_grammar_matcher_destroy(m);
    swarm_grammar_destroy(g);
}

/* Token masks from a tiny vocabulary, checked against walking each token. */
static void test_masks(void **state)
{
    (void)state;
    swarm_grammar *g = compile("root ::= \"{\" ( \"\\\"a\\\"\" | \"\\\"ab\\\"\" ) \"}\"");
    static const char *const toks[] = {"{", "\"", "a", "ab", "\"a", "\"ab\"", "}", "{\"", "x", ""};
    enum { N = 11 };
    uint32_t off[N + 1];
    uint8_t kind[N];
    char bytes[64];
    uint32_t pos = 0;
    for (int i = 0; i < N; i++) {
        off[i] = pos;
        const char *t = i < 10 ? toks[i] : "";
        memcpy(bytes + pos, t, strlen(t));
        pos += (uint32_t)strlen(t);
        kind[i] = i == 10 ? SW_GTOK_END : (t[0] ? SW_GTOK_TEXT : SW_GTOK_NEVER);
    }
    off[N] = pos;
    sw_gvocab *v = NULL;
    CHECK_OK(sw_gvocab_create(N, bytes, off, kind, &v));
    sw_gm *m = NULL;
    int32_t st;
    CHECK_OK(sw_gm_create(g, &m));
    CHECK_OK(sw_gm_start(m, &st));
    const char *text[] = {"", "{", "{\"a", "{\"ab\"}"};
    for (size_t k = 0; k < 4; k++) {
        int32_t s;
        CHECK_OK(sw_gm_walk(m, st, text[k], strlen(text[k]), &s));
        assert_true(s != SW_GM_DEAD);
        const uint32_t *bits;
        CHECK_OK(sw_gm_mask(m, v, s, &bits));
        for (int i = 0; i < N; i++) {
            bool want;
            if (kind[i] == SW_GTOK_END) {
                want = sw_gm_accepting(m, s);
            } else if (kind[i] == SW_GTOK_NEVER) {
                want = false;
            } else {
                int32_t s2;
                CHECK_OK(sw_gm_walk(m, s, bytes + off[i], off[i + 1] - off[i], &s2));
                want = s2 != SW_GM_DEAD;
            }
            bool got = (bits[i >> 5] >> (i & 31)) & 1u;
            if (got != want) print_error("after '%s' token %d: got %d want %d\n", text[k], i, got, want);
            assert_int_equal(got, want);
        }
    }
    /* the masks are not trivially all-or-nothing */
    const uint32_t *bits;
    CHECK_OK(sw_gm_mask(m, v, st, &bits));
    assert_int_equal(bits[0], (1u << 0) | (1u << 7)); /* "{" and "{\"" */
    sw_gm_destroy(m);
    sw_gvocab_destroy(v);
    swarm_grammar_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_and_sequences),
        cmocka_unit_test(test_alternation_grouping),
        cmocka_unit_test(test_repetitions),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_matcher_incremental),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_ambiguous_at_match),
        cmocka_unit_test(test_masks),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
