#!/bin/sh
# grammar.sh: `swarm generate --grammar | --json-schema`: outputs follow the
# grammar and the schema (checked with python3's json when present), seeded
# runs are reproducible, --print-grammar prints a grammar the parser
# accepts, and hostile or unsupported grammars and schemas exit 2 quickly
# with a message naming the problem.
set -u
BIN=${SWARM_BIN:?SWARM_BIN is not set}
SHARED=${SWARM_SHARED_DIR:-}
[ -x "$BIN" ] || { echo "no swarm binary at $BIN"; exit 77; }
M="$SHARED/models/stories260K.gguf"
[ -r "$M" ] || { echo "SKIP: $M not found"; [ "${CI:-}" = true ] && { echo "FAIL: ../shared is required under CI"; exit 1; }; exit 77; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$TMP/story.gbnf" <<'G'
# a story opening with a choice and a name
root ::= "Once upon a time, " animal " named " name "."
animal ::= "a cat" | "a dog" | "a bird"
name ::= [A-Z] [a-z]{2,8}
G
for seed in 1 2 3 4 5; do
    "$BIN" generate -m "$M" --grammar "$TMP/story.gbnf" --seed $seed >"$TMP/o.txt" 2>"$TMP/e.txt" ||
        { cat "$TMP/e.txt"; fail "--grammar exited $?"; }
    grep -Eqx 'Once upon a time, a (cat|dog|bird) named [A-Z][a-z]{2,8}\.' "$TMP/o.txt" ||
        fail "seed $seed: output does not follow the grammar: $(cat "$TMP/o.txt")"
done
"$BIN" generate -m "$M" --grammar "$TMP/story.gbnf" --seed 9 >"$TMP/a.txt" 2>/dev/null
"$BIN" generate -m "$M" --grammar "$TMP/story.gbnf" --seed 9 >"$TMP/b.txt" 2>/dev/null
cmp -s "$TMP/a.txt" "$TMP/b.txt" || fail "equal seeds gave different outputs"

cat >"$TMP/person.json" <<'J'
{"type": "object",
 "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 12},
                "age": {"type": "integer"},
                "color": {"enum": ["red", "green", "blue"]},
                "tags": {"type": "array", "items": {"type": "string", "maxLength": 5},
                         "maxItems": 2}},
 "required": ["name", "age"], "additionalProperties": false}
J
for seed in 1 2 3 4 5 6 7 8; do
    "$BIN" generate -m "$M" --json-schema "$TMP/person.json" --seed $seed --json \
        >"$TMP/p$seed.json" 2>"$TMP/e.txt" || { cat "$TMP/e.txt"; fail "--json-schema exited $?"; }
done
if command -v python3 >/dev/null 2>&1; then
    python3 - "$TMP" <<'P' || fail "--json-schema outputs"
import json, sys
for seed in range(1, 9):
    out = json.load(open(f"{sys.argv[1]}/p{seed}.json"))
    assert out["stop"] == "eos", out
    v = json.loads(out["text"])
    assert set(v) <= {"name", "age", "color", "tags"} and "name" in v and "age" in v, v
    assert isinstance(v["name"], str) and 1 <= len(v["name"]) <= 12, v
    assert isinstance(v["age"], int), v
    assert v.get("color", "red") in ("red", "green", "blue"), v
    assert len(v.get("tags", [])) <= 2 and all(len(t) <= 5 for t in v.get("tags", [])), v
P
fi

# --print-grammar: a grammar that --grammar accepts, giving the same output
"$BIN" generate --json-schema "$TMP/person.json" --print-grammar >"$TMP/person.gbnf" ||
    fail "--print-grammar exited $?"
grep -q '^root ::= ' "$TMP/person.gbnf" || fail "--print-grammar: no root rule"
"$BIN" generate -m "$M" --grammar "$TMP/person.gbnf" --seed 4 --json >"$TMP/g4.json" 2>/dev/null ||
    fail "the printed grammar was refused"
sed 's/"timings".*//' "$TMP/g4.json" >"$TMP/g4.txt"
sed 's/"timings".*//' "$TMP/p4.json" >"$TMP/p4.txt"
cmp -s "$TMP/g4.txt" "$TMP/p4.txt" || fail "printed grammar and schema give different outputs"

# incomplete at the length limit: exit 1 with a message
"$BIN" generate -m "$M" --grammar "$TMP/story.gbnf" -n 4 >/dev/null 2>"$TMP/e.txt"
[ $? -eq 1 ] || fail "-n 4 under a grammar should exit 1"
grep -q "incomplete" "$TMP/e.txt" || fail "no 'incomplete' message: $(cat "$TMP/e.txt")"

# hostile and unsupported inputs: exit 2, fast, message names the problem
expect2() { # file want-substring
    start=$(date +%s)
    "$BIN" generate -m "$M" "$@" >/dev/null 2>"$TMP/e.txt"
    rc=$?
    [ $rc -eq 2 ] || fail "$*: exit $rc, want 2 ($(cat "$TMP/e.txt"))"
    [ $(( $(date +%s) - start )) -le 5 ] || fail "$*: took more than 5 s"
}
printf 'root ::= a "x"\na ::= b\nb ::= a | "y"\n' >"$TMP/lr.gbnf"
expect2 --grammar "$TMP/lr.gbnf"; grep -q "left recursion" "$TMP/e.txt" || fail "lr: $(cat "$TMP/e.txt")"
printf 'root ::= undefined\n' >"$TMP/u.gbnf"
expect2 --grammar "$TMP/u.gbnf"; grep -q "undefined rule 'undefined'" "$TMP/e.txt" || fail "undef"
awk 'BEGIN { printf "root ::= \"a\""; for (i = 0; i < 5000; i++) printf " | \"b%d\"", i; print "" }' \
    >"$TMP/alt.gbnf"
expect2 --grammar "$TMP/alt.gbnf"; grep -q "alternatives" "$TMP/e.txt" || fail "alternatives"
awk 'BEGIN { printf "root ::= "; for (i = 0; i < 100; i++) printf "("; printf "\"a\""; for (i = 0; i < 100; i++) printf ")"; print "" }' \
    >"$TMP/deep.gbnf"
expect2 --grammar "$TMP/deep.gbnf"; grep -q "nested deeper" "$TMP/e.txt" || fail "nesting"
echo '{"type": "string", "pattern": "^[a-z]+$"}' >"$TMP/pat.json"
expect2 --json-schema "$TMP/pat.json"
grep -q "unsupported keyword 'pattern'" "$TMP/e.txt" || fail "pattern: $(cat "$TMP/e.txt")"
echo '{"type": "object", "properties": {"a": {"$ref": "other.json#/x"}}}' >"$TMP/ref.json"
expect2 --json-schema "$TMP/ref.json"; grep -q "unsupported \$ref" "$TMP/e.txt" || fail "ref"
echo '{"type": ' >"$TMP/broken.json"
expect2 --json-schema "$TMP/broken.json"
expect2 --grammar "$TMP/story.gbnf" --json-schema "$TMP/person.json"
expect2 --grammar "$TMP/missing.gbnf"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$TMP/big.gbnf"
expect2 --grammar "$TMP/big.gbnf"
# the examples of docs/grammar.md compile and generate complete texts
SRC=${SWARM_SOURCE_DIR:-$(dirname "$0")/../..}
for f in "$SRC"/examples/schemas/*.json; do
    "$BIN" generate -m "$M" --json-schema "$f" --seed 1 -n 400 >/dev/null 2>"$TMP/e.txt" ||
        fail "$f: exit $? ($(cat "$TMP/e.txt"))"
done
"$BIN" generate -m "$M" --grammar "$SRC/examples/schemas/story.gbnf" --seed 2 >/dev/null 2>&1 ||
    fail "story.gbnf"
# bench-grammar: a small shape, one round; its JSON report and bad flags
"$BIN" bench-grammar --shape stories15m --tokens 8 --rounds 1 --threads 1 --json >"$TMP/b.json" \
    2>"$TMP/e.txt" || fail "bench-grammar exited $? ($(cat "$TMP/e.txt"))"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$TMP/b.json" <<'P' || fail "bench-grammar --json"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["n_vocab"] == 32000 and b["constrained_tokens"] >= 8 and b["unconstrained_tokens"] >= 8, b
assert b["constrained_ms_per_token"] > 0 and 0 <= b["grammar_ms_per_token"] < b["constrained_ms_per_token"], b
P
fi
expect2 --grammar "$TMP/story.gbnf" --seed x
for bad in "--tokens 0" "--shape nope" "--type Q9" "--rounds" "--json-schema $TMP/pat.json"; do
    # shellcheck disable=SC2086
    "$BIN" bench-grammar --shape stories15m $bad >/dev/null 2>&1
    [ $? -eq 2 ] || fail "bench-grammar $bad: want exit 2"
done
echo "grammar CLI: ok"
