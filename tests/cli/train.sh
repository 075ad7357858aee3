#!/bin/sh
# train.sh: `swarm train` end to end on a small generated corpus (no
# ../shared needed): a model trains, `swarm generate` runs on the F32 file
# and on the Q8_0 export; a run killed with SIGKILL and resumed with
# --resume ends with a final model byte-identical to an uninterrupted run
# (same loss curve, weights, optimizer state); `swarm train --labels` makes
# specialists whose swarm.json / task.json `swarm eval` and `swarm run`
# accept; bad input exits 2 with a message.
set -u
BIN=${SWARM_BIN:?SWARM_BIN is not set}
[ -x "$BIN" ] || { echo "no swarm binary at $BIN"; exit 77; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# a corpus: simple sentences, varied enough to have something to learn
i=0
while [ $i -lt 400 ]; do
    echo "the cat number $i sat on the mat and the dog number $((i * 7 % 13)) ran to the park."
    i=$((i + 1))
done >"$TMP/corpus.txt"

SMALL="--vocab 300 --dim 32 --layers 1 --heads 2 --ctx 32 --batch 4 --threads 1 --seed 3"

# --- train, generate, Q8_0 export ----------------------------------------
"$BIN" train --text "$TMP/corpus.txt" --out "$TMP/m.gguf" $SMALL --steps 30 --q8 "$TMP/m.q8.gguf" \
    >"$TMP/out.txt" 2>"$TMP/err.txt" || { cat "$TMP/err.txt"; fail "train exited $?"; }
grep -q "^trained 30 steps" "$TMP/out.txt" || { cat "$TMP/out.txt"; fail "no summary line"; }
grep -q "validation loss" "$TMP/out.txt" || fail "no validation loss"
grep -q "^step 30/30 loss" "$TMP/err.txt" || { cat "$TMP/err.txt"; fail "no plain progress lines"; }
for f in m.gguf m.q8.gguf m.ckpt.gguf; do [ -s "$TMP/$f" ] || fail "$f not written"; done
[ ! -e "$TMP/m.tok.gguf" ] || fail "the temporary tokenizer file was left behind"
"$BIN" generate -m "$TMP/m.gguf" -p "the cat" -n 16 --temp 0 >"$TMP/g.txt" 2>/dev/null ||
    fail "generate on the trained model exited $?"
grep -q "^the cat" "$TMP/g.txt" || fail "generate did not echo the prompt"
"$BIN" generate -m "$TMP/m.q8.gguf" -p "the cat" -n 16 --temp 0 >/dev/null 2>&1 ||
    fail "generate on the Q8_0 export exited $?"
"$BIN" models inspect "$TMP/m.q8.gguf" 2>/dev/null | grep -q "Q8_0" || fail "export is not Q8_0"

# --- SIGKILL and resume: the same final model as an uninterrupted run -----
LONG="--steps 1500 --ckpt-every 20 --eval-every 500 --log-every 500"
mkdir "$TMP/a" "$TMP/b"
"$BIN" train --text "$TMP/corpus.txt" --out "$TMP/a/m.gguf" $SMALL $LONG >/dev/null 2>&1 ||
    fail "uninterrupted run exited $?"
"$BIN" train --text "$TMP/corpus.txt" --out "$TMP/b/m.gguf" $SMALL $LONG >/dev/null 2>&1 &
pid=$!
n=0
while [ ! -e "$TMP/b/m.ckpt.gguf" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
sleep 0.3
kill -9 $pid 2>/dev/null || fail "the run ended before it could be killed (make it longer)"
wait $pid 2>/dev/null
[ -e "$TMP/b/m.ckpt.gguf" ] || fail "no checkpoint before the kill"
[ ! -e "$TMP/b/m.gguf" ] || fail "the killed run had already finished"
"$BIN" train --text "$TMP/corpus.txt" --out "$TMP/b/m.gguf" $SMALL $LONG --resume \
    >"$TMP/r.txt" 2>"$TMP/r.err" || { cat "$TMP/r.err"; fail "resume exited $?"; }
grep -q "^resuming from .* at step [1-9]" "$TMP/r.err" || { cat "$TMP/r.err"; fail "did not resume"; }
cmp -s "$TMP/a/m.gguf" "$TMP/b/m.gguf" || fail "resumed model differs from the uninterrupted one"
cmp -s "$TMP/a/m.ckpt.gguf" "$TMP/b/m.ckpt.gguf" || fail "resumed loss curve / state differs"
echo "resume after SIGKILL: final model byte-identical ($(grep -o 'at step [0-9]*' "$TMP/r.err"))"

# --- specialists from labelled data and swarm eval ------------------------
i=0
while [ $i -lt 300 ]; do
    if [ $((i % 3)) -eq 0 ]; then
        printf 'spam\twin a free prize now call %d\n' $i
    else
        printf 'ham\tsee you at home tonight %d\n' $i
    fi
    i=$((i + 1))
done >"$TMP/train.tsv"
head -30 "$TMP/train.tsv" >"$TMP/dev.tsv"
"$BIN" train --labels "$TMP/train.tsv" --dev "$TMP/dev.tsv" --out "$TMP/spec" --minutes 0.1 \
    --specialists 2 --skill toy --threads 1 >"$TMP/s.txt" 2>"$TMP/s.err" ||
    { cat "$TMP/s.err"; fail "train --labels exited $?"; }
for f in swarm.json task.json toy-1.gguf toy-2.gguf; do [ -s "$TMP/spec/$f" ] || fail "$f not written"; done
"$BIN" eval "$TMP/spec/swarm.json" "$TMP/dev.tsv" --task "$TMP/spec/task.json" --json >"$TMP/e.json" ||
    fail "eval exited $?"
python3 - "$TMP/e.json" <<'PY' || fail "eval --json shape"
import json, sys
o = json.load(open(sys.argv[1]))
assert 0 <= o["swarm"]["accuracy"] <= 1
assert [n["name"] for n in o["nodes"]] == ["toy-1", "toy-2"]
assert all("accuracy" in n and "confusion" in n for n in o["nodes"])
assert set(o["aggregations"]) == {"weighted-vote", "vote", "max-weight", "weighted-probability"}
assert o["examples"] == 30
PY
"$BIN" run "$TMP/spec/task.json" --swarm "$TMP/spec/swarm.json" >/dev/null 2>"$TMP/run.err" ||
    { cat "$TMP/run.err"; fail "swarm run on the specialists exited $?"; }
# --init: specialists start from the model trained above (its tokenizer inside)
"$BIN" train --labels "$TMP/train.tsv" --dev "$TMP/dev.tsv" --out "$TMP/spec3" --minutes 0.05 \
    --specialists 1 --skill toy --init "$TMP/m.gguf" --threads 1 >/dev/null 2>"$TMP/s3.err" ||
    { cat "$TMP/s3.err"; fail "train --labels --init exited $?"; }
grep -q "toy-1: [0-9]* params (dim 32, 1 layers, vocab" "$TMP/s3.err" || { cat "$TMP/s3.err"; fail "--init shape not used"; }
"$BIN" models inspect "$TMP/spec3/toy-1.gguf" 2>/dev/null | grep -q "gpt2 (pre: gpt-2)" || fail "--init tokenizer not kept"

# --- bad input: exit 2 with a message -------------------------------------
expect2() {
    "$BIN" "$@" >/dev/null 2>"$TMP/bad.err"
    rc=$?
    [ $rc -eq 2 ] || fail "'$*' exited $rc, want 2"
    [ -s "$TMP/bad.err" ] || fail "'$*' printed no message"
}
: >"$TMP/empty.txt"
expect2 train --text "$TMP/nope.txt" --out "$TMP/x.gguf"
expect2 train --text "$TMP/empty.txt" --out "$TMP/x.gguf"
expect2 train --text "$TMP/corpus.txt" --out "$TMP/x.gguf" --dim 30 --heads 4
expect2 train --text "$TMP/corpus.txt" --out "$TMP/x.gguf" --steps -3
expect2 train --text "$TMP/corpus.txt" --out "$TMP/x.gguf" --tokenizer "$TMP/corpus.txt"
expect2 train --text "$TMP/corpus.txt"
expect2 train --text "$TMP/corpus.txt" --out "$TMP/x.gguf" --bogus
printf 'no tab here\n' >"$TMP/bad.tsv"
expect2 train --labels "$TMP/bad.tsv" --out "$TMP/spec2"
printf 'a\tone\na\ttwo\n' >"$TMP/one.tsv"
expect2 train --labels "$TMP/one.tsv" --out "$TMP/spec2"
expect2 eval "$TMP/nope.json" "$TMP/dev.tsv"
expect2 eval "$TMP/spec/swarm.json" "$TMP/bad.tsv"
expect2 eval "$TMP/spec/swarm.json"
echo "train.sh: ok"
