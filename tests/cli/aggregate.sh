#!/bin/sh
# aggregate.sh: `swarm aggregate` on the paper's three worked examples
# (exact output, text and --json), stdin input, and bad input (exit 2 with a
# message on stderr, nothing on stdout).
set -u
BIN=${SWARM_BIN:?set SWARM_BIN}
SRC=${SWARM_SOURCE_DIR:?set SWARM_SOURCE_DIR}
EX="$SRC/examples/aggregate"
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0

# expect NAME WANT-STDOUT ARGS...: exit 0 and exactly that stdout.
expect() {
    name=$1 want=$2
    shift 2
    got=$("$BIN" aggregate "$@" 2>"$TMP/err")
    rc=$?
    if [ $rc -ne 0 ] || [ "$got" != "$want" ]; then
        echo "FAIL $name: rc=$rc"
        echo "  want: $want"
        echo "  got:  $got"
        sed 's/^/  stderr: /' "$TMP/err"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

# expect_bad NAME STDERR-SUBSTRING INPUT: exit 2, message on stderr, empty stdout.
expect_bad() {
    name=$1 want=$2
    printf '%s' "$3" >"$TMP/in.json"
    "$BIN" aggregate "$TMP/in.json" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -ne 2 ] || ! grep -qF -- "$want" "$TMP/err" || [ -s "$TMP/out" ]; then
        echo "FAIL $name: rc=$rc (want 2), stderr: $(cat "$TMP/err")"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

nl='
'
# The paper's examples: sentiment R = 0.4 -> positive; translation -> SLM_2;
# anomaly R = 0.63 >= 0.6 -> alert.
expect sentiment "0.4${nl}decision: positive" "$EX/sentiment.json"
expect translation "Today, the weather is wonderful.${nl}winner: SLM_2" "$EX/translation.json"
expect anomaly "0.63${nl}decision: alert" "$EX/anomaly.json"

expect sentiment-json '{"value": 0.4, "decision": "positive", "winner": null, "support": 1.0, "weights": [{"node": "SLM_1", "weight": 0.5}, {"node": "SLM_2", "weight": 0.3}, {"node": "SLM_3", "weight": 0.2}]}' --json "$EX/sentiment.json"
expect translation-json '{"value": "Today, the weather is wonderful.", "decision": null, "winner": "SLM_2", "support": 1.0, "weights": [{"node": "SLM_1", "weight": 0.333333333333}, {"node": "SLM_2", "weight": 0.360784313725}, {"node": "SLM_3", "weight": 0.305882352941}]}' --json "$EX/translation.json"
expect anomaly-json '{"value": 0.63, "decision": "alert", "winner": null, "support": 1.0, "weights": [{"node": "SLM_1", "weight": 0.4}, {"node": "SLM_2", "weight": 0.3}, {"node": "SLM_3", "weight": 0.3}]}' "$EX/anomaly.json" --json

# More methods on the other examples (docs/aggregation.md explains each).
expect weighted-vote "good${nl}winner: SLM_1" "$EX/sentiment-vote.json"
expect consensus "She kicked the ball and it rolled into the pond.${nl}winner: tiny-a" "$EX/story-consensus.json"
expect hierarchical "0.625${nl}decision: alert" "$EX/regions-hierarchical.json"

# stdin, and results given as p and r (f = P*R by default).
got=$(printf '%s' '{"method": "weighted-average", "results": [{"node": "a", "value": 1, "p": 0.5, "r": 1}, {"node": "b", "value": 0, "p": 0.5, "r": 0.5}]}' | "$BIN" aggregate - 2>&1)
if [ "$got" = "0.666666666667" ]; then echo "ok   stdin"; else echo "FAIL stdin: $got"; fails=$((fails + 1)); fi

# A text vote: exact match after trimming.
printf '%s' '{"method": "vote", "results": [{"node": "a", "value": " good"}, {"node": "b", "value": "bad"}, {"node": "c", "value": "good "}]}' >"$TMP/vote.json"
expect vote "good${nl}winner: a" "$TMP/vote.json"

expect_bad malformed "line 1" '{"method": '
expect_bad duplicate-key "duplicate" '{"method": "vote", "method": "vote", "results": [{"node": "a", "value": 1}]}'
expect_bad unknown-method "unknown method 'median'" '{"method": "median", "results": [{"node": "a", "value": 1, "weight": 1}]}'
expect_bad wrong-type "value must be a number or a string" '{"method": "vote", "results": [{"node": "a", "value": [1]}]}'
expect_bad missing-weight "weight (or p and r) is missing" '{"method": "weighted-average", "results": [{"node": "a", "value": 1}]}'
expect_bad zero-weights "weights are zero" '{"method": "weighted-average", "results": [{"node": "a", "value": 1, "weight": 0}]}'
expect_bad overflow "overflow" '{"method": "weighted-average", "results": [{"node": "a", "value": 1e400, "weight": 1}]}'
expect_bad text-average "needs numeric results" '{"method": "weighted-average", "results": [{"node": "a", "value": "x", "weight": 1}]}'
expect_bad empty "results is empty" '{"method": "vote", "results": []}'
deep=$(awk 'BEGIN { s = ""; for (i = 0; i < 5000; i++) s = s "["; print s }')
expect_bad deep-nesting "nested deeper" "{\"method\": \"vote\", \"results\": $deep"

"$BIN" aggregate "$TMP/does-not-exist.json" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "does-not-exist" "$TMP/err"; then echo "ok   missing-file"; else echo "FAIL missing-file rc=$rc"; fails=$((fails + 1)); fi
"$BIN" aggregate /dev/zero >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "larger than the limit" "$TMP/err"; then echo "ok   endless-input"; else echo "FAIL endless-input rc=$rc"; fails=$((fails + 1)); fi
"$BIN" aggregate --bogus "$EX/sentiment.json" >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then echo "ok   bad-flag"; else echo "FAIL bad-flag rc=$rc"; fails=$((fails + 1)); fi
"$BIN" aggregate >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then echo "ok   no-file"; else echo "FAIL no-file rc=$rc"; fails=$((fails + 1)); fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all aggregate CLI checks passed"
