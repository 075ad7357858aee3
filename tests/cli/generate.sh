#!/bin/sh
# generate.sh: `swarm generate` against llama2.c's run.c: every case of
# models/golden/cases.psv byte for byte on stdout (--temp 0), the GGUF
# checkpoint printing the same as the .bin, --json parsing as JSON, seeded
# sampling being reproducible, and bad flags, missing, truncated or
# non-regular model files and over-long prompts exiting 2 with a message.
set -u
BIN=${SWARM_BIN:?SWARM_BIN is not set}
SHARED=${SWARM_SHARED_DIR:-}
[ -x "$BIN" ] || { echo "no swarm binary at $BIN"; exit 77; }
M="$SHARED/models"
[ -r "$M/golden/cases.psv" ] || { echo "SKIP: $M/golden/cases.psv not found"; [ "${CI:-}" = true ] && { echo "FAIL: ../shared is required under CI"; exit 1; }; exit 77; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- every golden case, byte-exact ---------------------------------------
n=0
pass=0
while IFS='|' read -r model tok prompt steps expected; do
    case "$model" in '#'*|'') continue ;; esac
    n=$((n + 1))
    "$BIN" generate -m "$M/$model" -z "$M/$tok" -p "$prompt" -n "$steps" --temp 0 \
        >"$TMP/out.txt" 2>"$TMP/err.txt" || { cat "$TMP/err.txt"; fail "case $n exited $?"; }
    if cmp -s "$TMP/out.txt" "$M/$expected"; then
        pass=$((pass + 1))
    else
        echo "case $n ($model, '$prompt', -n $steps) differs from $expected:"
        diff "$M/$expected" "$TMP/out.txt" | head -5
    fi
    # timing goes to stderr only
    grep -q "tok/s" "$TMP/err.txt" || fail "case $n: no timing line on stderr"
done <"$M/golden/cases.psv"
echo "golden cases: $pass/$n byte-exact"
[ "$n" -ge 12 ] || fail "only $n cases read"
[ "$pass" -eq "$n" ] || fail "$((n - pass)) golden cases differ"

# --- GGUF (tokenizer inside) prints the same as the llama2.c checkpoint ---
for p in "" "Once upon a time" "Lily and Tom"; do
    "$BIN" generate -m "$M/stories260K.gguf" -p "$p" -n 200 --temp 0 >"$TMP/g.txt" 2>/dev/null ||
        fail "gguf generate exited $?"
    "$BIN" generate -m "$M/stories260K.bin" -z "$M/tok512.bin" -p "$p" -n 200 --temp 0 \
        >"$TMP/b.txt" 2>/dev/null || fail "bin generate exited $?"
    cmp -s "$TMP/g.txt" "$TMP/b.txt" || fail "stories260K.gguf and .bin differ for '$p'"
done

# --- default tokenizer: tok512.bin next to the model ----------------------
"$BIN" generate -m "$M/stories260K.bin" -p "The little dog" -n 64 --temp 0 >"$TMP/d.txt" \
    2>/dev/null || fail "default tokenizer run exited $?"
cmp -s "$TMP/d.txt" "$M/golden/the_little_dog_n64.txt" || fail "default tokenizer output differs"

# --- JSON ------------------------------------------------------------------
"$BIN" generate -m "$M/stories260K.bin" -z "$M/tok512.bin" -p "Once upon a time" -n 64 \
    --temp 0 --json >"$TMP/j.json" 2>/dev/null || fail "--json exited $?"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$TMP/j.json" "$M/golden/once_upon_a_time_n64.txt" <<'EOF' || fail "--json content"
import json, sys
j = json.load(open(sys.argv[1]))
want = open(sys.argv[2], encoding="utf-8").read()
assert j["prompt"] + j["text"] + "\n" == want, (j["prompt"], j["text"])
assert len(j["tokens"]) == 65 and j["tokens"][0] == 1 and j["n_prompt"] == 5, j["tokens"]
t = j["timings"]
assert t["prompt_ms"] >= 0 and t["gen_ms"] > 0 and t["tok_s"] > 0, t
assert j["stop"] == "length", j["stop"]
EOF
else
    grep -q '"tokens": \[1, ' "$TMP/j.json" || fail "--json has no tokens"
fi

# --- sampling: same seed, same text; a different seed, other text --------
gen() { "$BIN" generate -m "$M/stories260K.bin" -z "$M/tok512.bin" -n 100 --temp 1 --top-p 0.9 \
    --seed "$1" 2>/dev/null; }
a=$(gen 7) || fail "sampling exited"
b=$(gen 7) || fail "sampling exited"
c=$(gen 8) || fail "sampling exited"
[ "$a" = "$b" ] || fail "seed 7 gave two different texts"
[ "$a" != "$c" ] || fail "seeds 7 and 8 gave the same text"
"$BIN" generate -m "$M/stories260K.bin" -z "$M/tok512.bin" -n 50 --temp 0.8 --top-k 5 \
    --min-p 0.05 --seed 3 --threads 1 >/dev/null 2>&1 || fail "top-k/min-p run exited $?"

# --- usage errors exit 2 with a message -----------------------------------
expect2() {
    "$BIN" generate "$@" >"$TMP/o.txt" 2>"$TMP/e.txt"
    rc=$?
    [ "$rc" -eq 2 ] || fail "'$*' exited $rc, want 2"
    [ -s "$TMP/e.txt" ] || fail "'$*' printed no message"
}
expect2
expect2 -m "$M/stories260K.bin" --bogus
expect2 -m "$M/stories260K.bin" -n abc
expect2 -m "$M/stories260K.bin" -n -3
expect2 -m "$M/stories260K.bin" --temp -1
expect2 -m "$M/stories260K.bin" --top-p 1.5
expect2 -m "$M/stories260K.bin" --seed
expect2 -m "$TMP/missing.gguf"
expect2 -m "$M/stories260K.bin" -z "$TMP/missing-tok.bin"
head -c 1000 "$M/stories260K.bin" >"$TMP/trunc.bin"
expect2 -m "$TMP/trunc.bin" -z "$M/tok512.bin"
grep -q "trunc.bin" "$TMP/e.txt" || fail "truncated-file message does not name the file"
# hostile flags and model paths: a clear message and exit 2, never a crash
# or a hang (each run is bounded by timeout when it is available)
TO=""
command -v timeout >/dev/null 2>&1 && TO="timeout 60"
expect2msg() { # expect2msg NEEDLE ARGS...: exit 2 and NEEDLE in the message
    needle=$1
    shift
    $TO "$BIN" generate "$@" >"$TMP/o.txt" 2>"$TMP/e.txt"
    rc=$?
    [ "$rc" -eq 2 ] || { cat "$TMP/e.txt"; fail "'$*' exited $rc, want 2"; }
    grep -q -- "$needle" "$TMP/e.txt" || { cat "$TMP/e.txt"; fail "'$*': no '$needle' in the message"; }
}
G="$M/stories260K.gguf"
expect2msg "bad value '-5' for -n" -m "$G" -n -5
expect2msg "bad value '1e9' for -n" -m "$G" -n 1e9
expect2msg "for -n" -m "$G" -n 99999999999999999999
expect2msg "for -n" -m "$G" -n ""
expect2msg "bad value 'nan' for --temp" -m "$G" --temp nan
expect2msg "for --temp" -m "$G" --temp inf
expect2msg "for --temp" -m "$G" --temp 1e400
expect2msg "for --threads" -m "$G" --threads 0
expect2msg "for --threads" -m "$G" --threads 1000
expect2msg "for --threads" -m "$G" --threads -1
expect2msg "for --top-p" -m "$G" --top-p 0
expect2msg "for --top-p" -m "$G" --top-p nan
expect2msg "for --min-p" -m "$G" --min-p 2
expect2msg "for --top-k" -m "$G" --top-k -1
expect2msg "for --seed" -m "$G" --seed -1
expect2msg "missing -m" -p "Once upon a time"
expect2msg "needs a value" -m
expect2msg "No such file" -m ""
expect2msg "is a directory" -m "$TMP"
expect2msg "not a regular file" -m /dev/null
expect2msg "not a regular file" -m /dev/zero
expect2msg "is a directory" -m "$M/stories260K.bin" -z "$TMP"
expect2msg "not a regular file" -m "$M/stories260K.bin" -z /dev/zero
if command -v mkfifo >/dev/null 2>&1 && mkfifo "$TMP/fifo.gguf"; then
    expect2msg "not a regular file" -m "$TMP/fifo.gguf" # no writer: must not block
    expect2msg "fifo.gguf" -m "$M/stories260K.bin" -z "$TMP/fifo.gguf"
fi
# truncated copies of the real GGUF file, cut in the header, the metadata,
# the tensor table and the weights
size=$(wc -c <"$G")
for cut in 0 3 4 8 23 24 100 1000 5000 20000 100000 700000 $((size - 1)); do
    head -c "$cut" "$G" >"$TMP/cut.gguf"
    expect2msg "cut.gguf" -m "$TMP/cut.gguf" -n 8
done
# a prompt longer than the model's context (stories260K.bin: 512 positions)
long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "Lily and Tom went to the park. "; }')
expect2msg "the prompt has" -m "$M/stories260K.bin" -z "$M/tok512.bin" -p "$long"
# -n far beyond the context is clamped to it, not refused
$TO "$BIN" generate -m "$M/stories260K.bin" -z "$M/tok512.bin" -n 1048576 --temp 0 --threads 1 \
    --json >"$TMP/big.json" 2>"$TMP/e.txt" || { cat "$TMP/e.txt"; fail "-n 1048576 exited $?"; }
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert len(j["tokens"]) <= 513, len(j["tokens"])' \
        "$TMP/big.json" || fail "-n 1048576 ran past the context"
fi

"$BIN" generate --help >"$TMP/h.txt" || fail "--help exited $?"
grep -q "usage: swarm generate" "$TMP/h.txt" || fail "--help has no usage line"
echo "generate: all checks passed"
