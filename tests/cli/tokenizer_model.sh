#!/bin/sh
# tokenizer_model.sh: `swarm generate -z tok512.model` (a SentencePiece
# protobuf) behaves exactly like `-z tok512.bin`: every stories260K golden
# case byte for byte; a broken or mismatched .model exits 2 with a message
# naming the file and what is wrong.
set -u
BIN=${SWARM_BIN:?SWARM_BIN is not set}
SHARED=${SWARM_SHARED_DIR:-}
[ -x "$BIN" ] || { echo "no swarm binary at $BIN"; exit 77; }
M="$SHARED/models"
[ -r "$M/golden/cases.psv" ] && [ -r "$M/tok512.model" ] ||
    { echo "SKIP: $M/golden/cases.psv or $M/tok512.model not found"; [ "${CI:-}" = true ] && { echo "FAIL: ../shared is required under CI"; exit 1; }; exit 77; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- the golden cases of the model whose tokenizer tok512.model is --------
n=0
while IFS='|' read -r model tok prompt steps expected; do
    [ "$model" = stories260K.bin ] && [ "$tok" = tok512.bin ] || continue
    n=$((n + 1))
    "$BIN" generate -m "$M/$model" -z "$M/tok512.model" -p "$prompt" -n "$steps" --temp 0 \
        >"$TMP/out.txt" 2>"$TMP/err.txt" || { cat "$TMP/err.txt"; fail "case $n exited $?"; }
    cmp -s "$TMP/out.txt" "$M/$expected" ||
        fail "case $n ('$prompt', -n $steps) with tok512.model differs from $expected"
done <"$M/golden/cases.psv"
[ "$n" -ge 8 ] || fail "only $n stories260K cases read"
echo "golden cases with tok512.model: $n/$n byte-exact"

# --- hostile .model files: exit 2, the file and the problem named --------
expect_bad() { # file, expected message part
    "$BIN" generate -m "$M/stories260K.bin" -z "$1" -p "x" -n 8 >"$TMP/o" 2>"$TMP/e"
    rc=$?
    [ "$rc" -eq 2 ] || { cat "$TMP/e"; fail "$1: exit $rc, want 2"; }
    grep -q "$1" "$TMP/e" || { cat "$TMP/e"; fail "$1: message does not name the file"; }
    grep -q "$2" "$TMP/e" || { cat "$TMP/e"; fail "$1: message lacks '$2'"; }
}
head -c 3000 "$M/tok512.model" >"$TMP/cut.model"
expect_bad "$TMP/cut.model" "bytes are left in its message"
# cut right after the 512th piece (byte 7431 of the pinned file, where the
# trainer spec starts): still a complete model
head -c 7431 "$M/tok512.model" >"$TMP/pieces.model"
"$BIN" generate -m "$M/stories260K.bin" -z "$TMP/pieces.model" -p "x" -n 8 >/dev/null 2>&1 ||
    fail "tok512.model without its trainer spec should still load"
printf '\012\005\012\001a\020\000' >"$TMP/wire.model"
expect_bad "$TMP/wire.model" "wire type 0"
printf '\012\377\377\377\377\377\377\377\377\377\177' >"$TMP/varint.model"
expect_bad "$TMP/varint.model" "overlong varint"
# a valid model with the wrong number of pieces for the checkpoint
{ cat "$M/tok512.model"; printf '\012\005\012\003zzz'; } >"$TMP/extra.model"
expect_bad "$TMP/extra.model" "513 pieces but the model's vocabulary has 512 tokens"
echo "hostile .model files: exit 2 with a message"
