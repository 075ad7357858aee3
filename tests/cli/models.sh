#!/bin/sh
# models.sh: `swarm models inspect` and `swarm models convert` on the shared
# stories260K files: the inspect summary, usage errors (exit 2), llama2.c ->
# GGUF conversion (F32 and quantized, with the block-size fallback), GGUF ->
# GGUF, and that the converted file generates the same text as the originals.
set -u
BIN=${SWARM_BIN:-build/swarm}
M=${SWARM_SHARED_DIR:-../shared}/models
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
[ -f "$M/stories260K.gguf" ] && [ -f "$M/stories260K.bin" ] && [ -f "$M/tok512.bin" ] ||
    { echo "SKIP: shared models not found under $M"; [ "${CI:-}" = true ] && { echo "FAIL: ../shared is required under CI"; exit 1; }; exit 77; }
T=$(mktemp -d /tmp/swarm_models_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
# expect_code CODE DESCRIPTION CMD...: runs CMD, output in $T/out and $T/err
expect_code() {
    want=$1 what=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
        bad "$what: exit $got, want $want"; sed 's/^/  | /' "$T/err" | head -5; fi
}
has() { # has FILE TEXT DESCRIPTION
    if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in output"; head -20 "$1" | sed 's/^/  | /'; fi
}

# inspect: GGUF and llama2.c
expect_code 0 "inspect stories260K.gguf" "$BIN" models inspect "$M/stories260K.gguf"
has "$T/out" "architecture:   llama" "gguf architecture"
has "$T/out" "parameters:     292800" "gguf parameter count"
has "$T/out" "quantization:   F32 (matrices: F32 x 37)" "gguf quantization histogram"
has "$T/out" "context length: 2048" "gguf context length"
has "$T/out" "tokenizer:      llama, 512 tokens" "gguf tokenizer"
has "$T/out" "chat template:  none" "gguf chat template"
has "$T/out" "blk.4.ffn_down.weight     F32     [172, 64]" "gguf tensor table"
has "$T/out" "engine:         runs it (llama, 5 layers" "gguf engine verdict"
# a file the engine cannot run: the architecture value patched in place (the
# string after the key, its u32 type and u64 length); inspect names the reason
cp "$M/stories260K.gguf" "$T/arch.gguf"
off=$(grep -oba 'general.architecture' "$T/arch.gguf" | head -1 | cut -d: -f1)
printf 'lla9a' | dd of="$T/arch.gguf" bs=1 seek=$((off + 20 + 4 + 8)) conv=notrunc 2>/dev/null
expect_code 0 "inspect unsupported architecture" "$BIN" models inspect "$T/arch.gguf"
has "$T/out" "engine:         cannot run it: architecture 'lla9a' is not supported" "unsupported architecture named"
expect_code 0 "inspect stories260K.bin" "$BIN" models inspect "$M/stories260K.bin"
has "$T/out" "dim 64, hidden_dim 172, n_layers 5, n_heads 8, n_kv_heads 4, vocab_size 512, seq_len 512" "llama2.c header"
has "$T/out" "classifier:     shared with the token embedding" "llama2.c classifier"
has "$T/out" "parameters:     260032" "llama2.c parameter count"

# usage and input errors: exit 2 with a message
expect_code 2 "models without subcommand" "$BIN" models
expect_code 0 "models --help" "$BIN" models --help
expect_code 2 "unknown subcommand" "$BIN" models frob
expect_code 2 "inspect without file" "$BIN" models inspect
expect_code 2 "inspect unknown flag" "$BIN" models inspect --bogus "$M/stories260K.gguf"
expect_code 2 "inspect missing file" "$BIN" models inspect "$T/missing.gguf"
has "$T/err" "$T/missing.gguf" "missing file named"
head -c 1000 "$M/stories260K.gguf" >"$T/trunc.gguf"
expect_code 2 "inspect truncated gguf" "$BIN" models inspect "$T/trunc.gguf"
has "$T/err" "trunc.gguf: " "truncated file message names the file"
head -c 5000 "$M/stories260K.bin" >"$T/trunc.bin"
expect_code 2 "inspect truncated llama2.c" "$BIN" models inspect "$T/trunc.bin"
expect_code 2 "convert without OUT" "$BIN" models convert "$M/stories260K.bin"
expect_code 2 "convert .bin without -z" "$BIN" models convert "$M/stories260K.bin" "$T/x.gguf"
has "$T/err" "tokenizer.bin with -z" "missing -z explained"
expect_code 2 "convert bad --type" "$BIN" models convert "$M/stories260K.bin" "$T/x.gguf" -z "$M/tok512.bin" --type IQ2_XXS
# non-regular inputs and outputs: refused before anything is read or renamed
# over them (only files under $T are used as targets, never real devices)
mkdir "$T/dir.gguf"
expect_code 2 "inspect a directory" "$BIN" models inspect "$T/dir.gguf"
has "$T/err" "is a directory" "directory named as such"
expect_code 2 "inspect /dev/null" "$BIN" models inspect /dev/null
has "$T/err" "not a regular file" "device refused"
expect_code 2 "convert to a directory" "$BIN" models convert "$M/stories260K.gguf" "$T/dir.gguf"
[ -d "$T/dir.gguf" ] && ok "the directory is still there" || bad "convert replaced a directory"
if command -v mkfifo >/dev/null 2>&1 && mkfifo "$T/pipe.gguf"; then
    expect_code 2 "inspect a FIFO (no writer: must not block)" "$BIN" models inspect "$T/pipe.gguf"
    expect_code 2 "convert onto a FIFO" "$BIN" models convert "$M/stories260K.gguf" "$T/pipe.gguf"
    [ -p "$T/pipe.gguf" ] && ok "the FIFO is still there" || bad "convert replaced a FIFO"
    expect_code 2 "convert -z a FIFO" "$BIN" models convert "$M/stories260K.bin" "$T/y.gguf" -z "$T/pipe.gguf"
fi
cp "$M/stories260K.gguf" "$T/self.gguf"
expect_code 2 "convert onto its own input" "$BIN" models convert "$T/self.gguf" "$T/self.gguf"
has "$T/err" "is the input file" "same-file output explained"
expect_code 2 "convert onto its own input by another name" "$BIN" models convert "$T/self.gguf" "$T/../$(basename "$T")/self.gguf"
expect_code 2 "convert bad tokenizer" "$BIN" models convert "$M/stories260K.bin" "$T/x.gguf" -z "$T/trunc.bin"
[ ! -e "$T/x.gguf" ] && ok "no output file after failures" || bad "output file left after failures"

# llama2.c -> GGUF
expect_code 0 "convert .bin -> F32 gguf" "$BIN" models convert "$M/stories260K.bin" "$T/s.gguf" -z "$M/tok512.bin"
expect_code 0 "inspect converted" "$BIN" models inspect "$T/s.gguf"
has "$T/out" "parameters:     260032" "converted parameter count"
has "$T/out" "context length: 512" "converted context length"
has "$T/out" "tokenizer.ggml.tokens                        [512 x str] \"<unk>\", \"<s>\", \"</s>\", \"<0x00>\"" "converted vocabulary"
has "$T/out" "tokenizer.ggml.token_type                    [512 x i32] 2, 3, 3, 6" "converted token types"
has "$T/out" "blk.0.ffn_gate.weight     F32     [64, 172]" "converted ffn_gate shape"
expect_code 0 "convert .bin -> Q8_0 gguf" "$BIN" models convert "$M/stories260K.bin" "$T/s8.gguf" -z "$M/tok512.bin" --type Q8_0
has "$T/out" "F32 x 11, F16 x 5, Q8_0 x 31" "Q8_0 types with F16 fallback for ffn_down"
has "$T/err" "stored as F16" "fallback reported"
expect_code 0 "convert .bin -> Q4_K gguf" "$BIN" models convert "$M/stories260K.bin" "$T/s4k.gguf" -z "$M/tok512.bin" --type q4_k
expect_code 0 "inspect Q4_K" "$BIN" models inspect "$T/s4k.gguf"
has "$T/out" "quantization:   Q8_0" "Q4_K falls back to Q8_0 for 64-wide rows"
# GGUF -> GGUF
expect_code 0 "convert gguf -> Q8_0 gguf" "$BIN" models convert "$M/stories260K.gguf" "$T/g8.gguf" --type Q8_0
expect_code 0 "inspect gguf -> gguf" "$BIN" models inspect "$T/g8.gguf"
has "$T/out" "general.file_type                            7" "file type updated"
has "$T/out" "tokenizer.ggml.seperator_token_id            4294967295" "metadata copied"

# The converted file generates the same text as the checkpoint and the
# published GGUF.
P="Once upon a time"
if "$BIN" generate -m "$M/stories260K.bin" -z "$M/tok512.bin" -p "$P" -n 64 --temp 0 >"$T/gen_bin" 2>"$T/err"; then
    "$BIN" generate -m "$M/stories260K.gguf" -p "$P" -n 64 --temp 0 >"$T/gen_gguf" 2>>"$T/err"
    "$BIN" generate -m "$T/s.gguf" -p "$P" -n 64 --temp 0 >"$T/gen_conv" 2>>"$T/err"
    if [ -s "$T/gen_bin" ] && cmp -s "$T/gen_bin" "$T/gen_conv"; then ok "converted gguf generates as the .bin"; else
        bad "converted gguf output differs from the .bin"; diff "$T/gen_bin" "$T/gen_conv" | head -5; fi
    if cmp -s "$T/gen_gguf" "$T/gen_conv"; then ok "converted gguf generates as stories260K.gguf"; else
        bad "converted gguf output differs from stories260K.gguf"; diff "$T/gen_gguf" "$T/gen_conv" | head -5; fi
    # Q8_0 against the F32 original: the greedy ids must agree for at least the
    # first 32 generated tokens (measured: all 59 of a 64-position run agree).
    "$BIN" generate -m "$T/s8.gguf" -p "$P" -n 64 --temp 0 --json >"$T/gen_q8.json" 2>>"$T/err"
    "$BIN" generate -m "$T/s.gguf" -p "$P" -n 64 --temp 0 --json >"$T/gen_f32.json" 2>>"$T/err"
    if python3 -c 'import json,sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
n = a["n_prompt"]; qa, qb = a["tokens"][n:], b["tokens"][n:]
agree = 0
for x, y in zip(qa, qb):
    if x != y: break
    agree += 1
print("Q8_0 vs F32: %d of %d generated tokens agree" % (agree, len(qb)))
assert len(qb) >= 32 and agree >= 32, agree' "$T/gen_q8.json" "$T/gen_f32.json"; then
        ok "Q8_0 conversion generates as the F32 original (greedy, 32+ tokens)"; else
        bad "Q8_0 conversion diverges from the F32 original"; fi
else
    bad "swarm generate failed on stories260K.bin"
    head -3 "$T/err" | sed 's/^/  | /'
fi

echo "models.sh: $fails failure(s)"
[ "$fails" -eq 0 ]
