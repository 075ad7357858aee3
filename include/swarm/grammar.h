/*
 * grammar.h: constrained decoding: a small GBNF-like grammar language
 * (docs/grammar.md), a JSON Schema subset compiled to it, and a matcher
 * that follows text byte by byte. The engine uses a compiled grammar to
 * mask, at every step, the tokens that cannot continue it (swarm_gen_params
 * .grammar in engine.h).
 *
 * A swarm_grammar is immutable after it is built and may be shared by many
 * threads and generations; a swarm_grammar_matcher (its position in one
 * text, with its caches) is used by one thread at a time.
 */
#ifndef SWARM_GRAMMAR_H
#define SWARM_GRAMMAR_H

#include <stdbool.h>
#include <stddef.h>

#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits that refuse hostile grammars and schemas with a message naming
 * the limit, instead of using unbounded time or memory. */
#define SWARM_GRAMMAR_MAX_TEXT (1 << 20)      /* bytes of grammar or schema text */
#define SWARM_GRAMMAR_MAX_RULES 20000         /* rules, counting groups and repetitions */
#define SWARM_GRAMMAR_MAX_ELEMS 400000        /* compiled elements (after expansion) */
#define SWARM_GRAMMAR_MAX_ALTS 4096           /* alternatives of one rule or group */
#define SWARM_GRAMMAR_MAX_NESTING 64          /* nested groups / schema levels */
#define SWARM_GRAMMAR_MAX_REPEAT 10000        /* m and n of x{m,n} */
#define SWARM_GRAMMAR_MAX_STACKS 4096         /* parses alive at once (ambiguity) */

typedef struct swarm_grammar swarm_grammar;

/* Compiles grammar text (docs/grammar.md); the start rule is `root`.
 * SWARM_EFORMAT with "line L: ..." in d for a syntax error, an undefined
 * rule, left recursion, a rule that can never finish, or a limit above. */
SWARM_API swarm_err swarm_grammar_parse(const char *text, size_t len, swarm_grammar **out,
                                        swarm_diag *d);

/* Compiles a JSON Schema (the subset of docs/grammar.md) into a grammar of
 * the JSON texts it accepts. One call serves OpenAI's response_format
 * json_schema and a tool's parameter schema. SWARM_EUNSUPPORTED names an
 * unsupported keyword and where it is ("#/properties/age: unsupported
 * keyword 'minimum'"); SWARM_EFORMAT is a schema that is not valid. */
SWARM_API swarm_err swarm_grammar_from_schema(const char *json, size_t len,
                                              swarm_grammar **out, swarm_diag *d);
/* The grammar text a schema compiles to (for inspection and docs); *out is
 * NUL-terminated, free it with swarm_free. */
SWARM_API swarm_err swarm_grammar_schema_to_text(const char *json, size_t len, char **out,
                                                 swarm_diag *d);

SWARM_API void swarm_grammar_destroy(swarm_grammar *g);

/* ---- following a text ---- */

typedef struct swarm_grammar_matcher swarm_grammar_matcher;

SWARM_API swarm_err swarm_grammar_matcher_create(const swarm_grammar *g,
                                                 swarm_grammar_matcher **out);
SWARM_API void swarm_grammar_matcher_destroy(swarm_grammar_matcher *m);
/* Feeds n bytes. SWARM_EINVAL when they cannot continue the grammar (the
 * matcher is then unchanged); SWARM_EUNSUPPORTED when the grammar is too
 * ambiguous here (more than SWARM_GRAMMAR_MAX_STACKS parses); ENOMEM. */
SWARM_API swarm_err swarm_grammar_matcher_accept(swarm_grammar_matcher *m, const char *bytes,
                                                 size_t n);
/* True when the text so far is a complete sentence of the grammar. */
SWARM_API bool swarm_grammar_matcher_complete(const swarm_grammar_matcher *m);
/* True when some byte may still follow. */
SWARM_API bool swarm_grammar_matcher_can_continue(const swarm_grammar_matcher *m);

/* Whether the whole of text is a sentence of g (*ok), e.g. to check the
 * output of a backend that was not constrained (an openai node). */
SWARM_API swarm_err swarm_grammar_match(const swarm_grammar *g, const char *text, size_t len,
                                        bool *ok);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_GRAMMAR_H */
