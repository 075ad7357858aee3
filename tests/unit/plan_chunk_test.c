/* plan_chunk_test.c: splitting input for map-reduce: words, sentences and
 * paragraphs, overlap, and the edge cases (empty, blank, one huge sentence,
 * size <= overlap, the chunk-count limit). */
#include <string.h>

#include "check.h"
#include "plan/plan_int.h"

/* Chunks text and compares each chunk's text with want[] (NULL-terminated). */
static void expect_chunks(const char *text, sw_chunk_by by, size_t size, size_t overlap,
                          const char *const *want)
{
    sw_span *c = NULL;
    size_t n = 0;
    swarm_diag d = {{0}};
    CHECK_OK(sw_plan_chunk(text, strlen(text), by, size, overlap, 1000, &c, &n, &d));
    size_t nw = 0;
    while (want[nw] != NULL) nw++;
    if (n != nw) {
        print_error("got %zu chunks, want %zu\n", n, nw);
        for (size_t i = 0; i < n; i++)
            print_error("  [%zu] '%.*s'\n", i, (int)(c[i].end - c[i].start), text + c[i].start);
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = c[i].end - c[i].start;
        if (strlen(want[i]) != l || memcmp(text + c[i].start, want[i], l) != 0) {
            print_error("chunk %zu is '%.*s', want '%s'\n", i, (int)l, text + c[i].start, want[i]);
            fail();
        }
    }
    sw_free(c);
}

static void test_tokens_with_overlap(void **state)
{
    (void)state;
    const char *t = "a b c d e f g h i j";
    expect_chunks(t, SW_CHUNK_TOKENS, 4, 1,
                  (const char *[]){"a b c d", "d e f g", "g h i j", NULL});
    expect_chunks(t, SW_CHUNK_TOKENS, 4, 0, (const char *[]){"a b c d", "e f g h", "i j", NULL});
    expect_chunks(t, SW_CHUNK_TOKENS, 3, 2,
                  (const char *[]){"a b c", "b c d", "c d e", "d e f", "e f g", "f g h", "g h i",
                                   "h i j", NULL});
    expect_chunks(t, SW_CHUNK_TOKENS, 100, 10, (const char *[]){t, NULL});
    /* Original spacing inside a chunk survives; outer whitespace does not. */
    expect_chunks("  one\ttwo\n\nthree  ", SW_CHUNK_TOKENS, 2, 0,
                  (const char *[]){"one\ttwo", "three", NULL});
}

static void test_sentences(void **state)
{
    (void)state;
    const char *t = "Tom ran. Did he stop?! \"Yes,\" said Mom. Pi is 3.14 today.";
    expect_chunks(t, SW_CHUNK_SENTENCES, 1, 0,
                  (const char *[]){"Tom ran.", "Did he stop?!", "\"Yes,\" said Mom.",
                                   "Pi is 3.14 today.", NULL});
    expect_chunks(t, SW_CHUNK_SENTENCES, 2, 1,
                  (const char *[]){"Tom ran. Did he stop?!", "Did he stop?! \"Yes,\" said Mom.",
                                   "\"Yes,\" said Mom. Pi is 3.14 today.", NULL});
    /* Closing quotes stay with their sentence; a paragraph break ends one. */
    expect_chunks("She said \"Stop.\" He did\n\nNew part", SW_CHUNK_SENTENCES, 1, 0,
                  (const char *[]){"She said \"Stop.\"", "He did", "New part", NULL});
}

static void test_one_huge_sentence(void **state)
{
    (void)state;
    size_t n = 20000;
    char *t = sw_malloc(n + 1);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) t[i] = (i % 6 == 5) ? ' ' : 'w';
    t[n] = '\0';
    /* By sentences: one chunk holding everything (no terminator anywhere). */
    sw_span *c = NULL;
    size_t nc = 0;
    CHECK_OK(sw_plan_chunk(t, n, SW_CHUNK_SENTENCES, 3, 1, 1000, &c, &nc, NULL));
    assert_int_equal(nc, 1);
    assert_int_equal(c[0].start, 0);
    assert_int_equal(c[0].end, n);
    sw_free(c);
    /* By tokens it splits: 3334 words, 1000 per chunk, overlap 100. */
    CHECK_OK(sw_plan_chunk(t, n, SW_CHUNK_TOKENS, 1000, 100, 1000, &c, &nc, NULL));
    assert_int_equal(nc, 4); /* starts 0, 900, 1800, 2700 (ends at 3334) */
    assert_int_equal(c[1].start, 900 * 6);
    sw_free(c);
    sw_free(t);
}

static void test_paragraphs(void **state)
{
    (void)state;
    const char *t = "First para\nstill first.\n  \n\nSecond.\r\n\r\nThird\n";
    expect_chunks(t, SW_CHUNK_PARAGRAPHS, 1, 0,
                  (const char *[]){"First para\nstill first.", "Second.", "Third", NULL});
    expect_chunks(t, SW_CHUNK_PARAGRAPHS, 2, 1,
                  (const char *[]){"First para\nstill first.\n  \n\nSecond.", "Second.\r\n\r\nThird",
                                   NULL});
}

static void test_empty_and_blank(void **state)
{
    (void)state;
    for (int by = 0; by < SW_CHUNK_BY_COUNT; by++) {
        const char *inputs[] = {"", "   \n\n\t  "};
        for (int i = 0; i < 2; i++) {
            sw_span *c = (sw_span *)1;
            size_t n = 99;
            CHECK_OK(sw_plan_chunk(inputs[i], strlen(inputs[i]), (sw_chunk_by)by, 2, 0, 10, &c, &n,
                                   NULL));
            assert_int_equal(n, 0);
            assert_null(c);
        }
    }
}

static void test_rejects(void **state)
{
    (void)state;
    sw_span *c = NULL;
    size_t n = 0;
    swarm_diag d = {{0}};
    CHECK_ERR(sw_plan_chunk("a b", 3, SW_CHUNK_TOKENS, 2, 2, 10, &c, &n, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "greater than overlap"));
    CHECK_ERR(sw_plan_chunk("a b", 3, SW_CHUNK_TOKENS, 0, 0, 10, &c, &n, &d), SWARM_EINVAL);
    CHECK_ERR(sw_plan_chunk("a b c d e", 9, SW_CHUNK_TOKENS, 1, 0, 4, &c, &n, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "5 chunks, more than the limit of 4"));
    CHECK_OK(sw_plan_chunk("a b c d", 7, SW_CHUNK_TOKENS, 1, 0, 4, &c, &n, &d));
    assert_int_equal(n, 4);
    sw_free(c);
}

static void test_word_count(void **state)
{
    (void)state;
    assert_int_equal(sw_plan_count_words(""), 0);
    assert_int_equal(sw_plan_count_words("  a  bb\nccc\t"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_with_overlap), cmocka_unit_test(test_sentences),
        cmocka_unit_test(test_one_huge_sentence),   cmocka_unit_test(test_paragraphs),
        cmocka_unit_test(test_empty_and_blank),     cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_word_count),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
