#!/bin/sh
# bench_model.sh: fast smoke of `swarm bench-model`: the stories15m shape at
# one thread and a few tokens gives a JSON object whose figures are positive,
# --keep leaves a file the engine loads again, and bad flags exit 2.
set -u
BIN=${SWARM_BIN:?SWARM_BIN is not set}
[ -x "$BIN" ] || { echo "no swarm binary at $BIN"; exit 77; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" bench-model --shape stories15m --type Q8_0 --threads 1 --prompt-tokens 8 \
    --gen-tokens 4 --reps 1 --bw-mb 32 --json --keep "$TMP/m.gguf" >"$TMP/out.json" \
    2>"$TMP/err.txt" || { cat "$TMP/err.txt"; fail "bench-model exited $?"; }

# Top-level keys are indented by two spaces (one per line); each must be a
# positive number.
for key in prompt_tok_s gen_tok_s weight_bytes bandwidth_gb_s limit_tok_s fraction_of_limit \
           threads n_params file_bytes; do
    v=$(sed -n "s/^  \"$key\": \([-0-9.eE+]*\),\{0,1\}\$/\1/p" "$TMP/out.json")
    [ -n "$v" ] || { cat "$TMP/out.json"; fail "key $key missing"; }
    awk -v x="$v" 'BEGIN { exit !(x + 0 > 0) }' || fail "$key is not positive: $v"
done
grep -q '^  "shape": "stories15m",$' "$TMP/out.json" || fail "shape missing"
grep -q '^  "type": "Q8_0",$' "$TMP/out.json" || fail "type missing"
grep -q '"runs": \[' "$TMP/out.json" || fail "runs missing"
# weights read per token: about 15M Q8_0 weights plus the tied head (8.5 bits each)
wb=$(sed -n 's/^  "weight_bytes": \([0-9]*\),$/\1/p' "$TMP/out.json")
[ "$wb" -gt 14000000 ] && [ "$wb" -lt 20000000 ] || fail "weight_bytes implausible: $wb"

# --keep leaves a loadable GGUF file behind.
[ -s "$TMP/m.gguf" ] || fail "--keep did not keep the file"
head -c 4 "$TMP/m.gguf" | grep -q GGUF || fail "kept file is not GGUF"
# ... that the engine loads again and generates from, reproducibly: 8 greedy
# tokens after BOS, the same twice.
"$BIN" generate -m "$TMP/m.gguf" -n 8 --temp 0 --json >"$TMP/g1.json" 2>"$TMP/err.txt" ||
    { cat "$TMP/err.txt"; fail "generate on the kept file exited $?"; }
"$BIN" generate -m "$TMP/m.gguf" -n 8 --temp 0 --json >"$TMP/g2.json" 2>/dev/null ||
    fail "second generate on the kept file failed"
toks=$(sed -n 's/.*"tokens": \[\([0-9, ]*\)\].*/\1/p' "$TMP/g1.json")
[ "$(echo "$toks" | tr ',' '\n' | grep -c '[0-9]')" -eq 9 ] || fail "kept file: want 9 tokens, got [$toks]"
[ "$toks" = "$(sed -n 's/.*"tokens": \[\([0-9, ]*\)\].*/\1/p' "$TMP/g2.json")" ] ||
    fail "kept file: greedy generation differs between two runs"

# The table form prints one row per thread count.
"$BIN" bench-model --shape stories15m --type Q4_K --threads 1 --prompt-tokens 4 \
    --gen-tokens 2 --reps 1 --bw-mb 32 >"$TMP/table.txt" 2>/dev/null || fail "table run failed"
grep -q 'fraction' "$TMP/table.txt" || fail "table header missing"
grep -Eq 'Q5_0|Q4_0' "$TMP/table.txt" || fail "Q4_K fallback (dim 288) not reported"

# --profile: a per-step table whose rows name the steps
"$BIN" bench-model --shape stories15m --type Q8_0 --threads 1 --prompt-tokens 4 \
    --gen-tokens 2 --reps 1 --bw-mb 32 --profile >"$TMP/prof.txt" 2>/dev/null || fail "profile run failed"
grep -q '^gate+up ' "$TMP/prof.txt" && grep -q '^attention ' "$TMP/prof.txt" &&
    grep -q '^total ' "$TMP/prof.txt" || fail "profile table missing"

# Bad flags: exit 2 with a message.
for args in "--shape nope --type Q8_0" "--shape stories15m --type Q5_K" \
            "--shape stories15m --type Q8_0 --threads 0" "--type Q8_0" \
            "--shape stories15m --type Q8_0 --frobnicate 1" \
            "--shape stories15m --type Q8_0 --prompt-tokens x" \
            "--shape stories15m --type Q8_0 --prompt-tokens 5000" \
            "--shape stories15m --type Q8_0 --threads 1,x" \
            "--shape stories15m --type Q8_0 --gen-tokens"; do
    # shellcheck disable=SC2086
    "$BIN" bench-model $args >/dev/null 2>"$TMP/e.txt"
    rc=$?
    [ $rc -eq 2 ] || fail "bench-model $args: exit $rc, want 2"
    [ -s "$TMP/e.txt" ] || fail "bench-model $args: no message"
done
echo "bench_model.sh: ok"
