#!/bin/sh
# run_demo_noshared.sh: `make run`'s script (scripts/run-demo) on a machine
# without ../shared: it trains language specialists from the Debian fortune
# files (tiny budget here), caches them, and runs the demo on them: the
# trace shows a node killed and its subtask reassigned, an answer is printed,
# exit 0. A second run with the same cache trains nothing. Also: with
# ../shared present the stories260K demo is still the default, and a bad
# DEMO is refused. Skips only when the fortune files are not installed.
set -u
BIN=${SWARM_BIN:?set SWARM_BIN}
SRC=${SWARM_SOURCE_DIR:?set SWARM_SOURCE_DIR}
BUILD=${SWARM_BUILD_DIR:-$(dirname "$BIN")}
SHARED=${SWARM_SHARED_DIR:-$SRC/../shared}
FORTUNES=${FORTUNES_DIR:-/usr/share/games/fortunes}
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
for f in computers de es it; do
    [ -e "$FORTUNES/$f" ] || {
        echo "SKIP: $FORTUNES/$f missing (apt-get install fortunes fortunes-de fortunes-es fortunes-it)"
        exit 77
    }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# the environment of a fresh machine: no ../shared, no SWARM_MODELS, an empty
# cache; a training budget of 1.5 s per specialist so the test takes seconds
demo() {
    env -u SWARM_MODELS -u DEMO SWARM_SHARED_DIR=/nonexistent SWARM_CACHE="$TMP/cache" \
        MINUTES=0.1 SPECIALISTS=4 sh "$SRC/scripts/run-demo" "$BUILD"
}

# --- first run: trains, then the demo ------------------------------------
demo >"$TMP/1.out" 2>&1 || { cat "$TMP/1.out"; fail "first run exited $?"; }
out="$TMP/1.out"
grep -q "stories260K.bin not found, so the demo trains its own models" "$out" || { cat "$out"; fail "no reason given"; }
grep -q "^make-specialists: training 4 specialists" "$out" || { cat "$out"; fail "did not train"; }
grep -q "^lang-4: [0-9]* steps in" "$out" || { cat "$out"; fail "no training summary of lang-4"; }
grep -q "^   trained in [0-9]* s; cached in $TMP/cache/" "$out" || { cat "$out"; fail "no training time / cache line"; }
n=$(find "$TMP/cache" -mindepth 1 -maxdepth 1 | wc -l)
[ "$n" -eq 1 ] || fail "cache holds $n entries, want 1: $(ls "$TMP/cache")"
CACHE=$(find "$TMP/cache" -mindepth 1 -maxdepth 1)
for f in swarm.json task.json trained.txt eval-dev.txt lang-1.gguf lang-4.gguf; do
    [ -s "$CACHE/$f" ] || fail "$f not in the cache"
done
# every sentence of the examples gets an answer (a language label)
n=$(grep -c '^ [ x] \(en\|de\|es\|it\)  *\(en\|de\|es\|it\) ' "$out")
want=$(grep -c . "$SRC/examples/demo/languages.tsv")
[ "$n" -eq "$want" ] || { cat "$out"; fail "$n answered sentences, want $want"; }
grep -q "^   [0-9] of $want right" "$out" || { cat "$out"; fail "no tally"; }
# the kill: the named node is convicted, its member reassigned to another node
victim=$(sed -n 's/.*--chaos kill=\(lang-[0-9]*\)#1.*/\1/p' "$out" | head -1)
[ -n "$victim" ] || { cat "$out"; fail "no node killed"; }
line=$(grep "^[0-9]  *member-[0-9]  *$victim  .* reassigned  *node dead" "$out") ||
    { cat "$out"; fail "the trace shows no reassignment away from $victim"; }
member=$(echo "$line" | awk '{ print $2 }')
grep "^[0-9]  *$member  *lang-[0-9] .* done" "$out" | grep -v " $victim " | grep -q . ||
    { cat "$out"; fail "$member was not done on another node"; }
grep -q "^wall .* reassigned 1, .* convicted 1" "$out" || { cat "$out"; fail "stats do not count the kill"; }
grep -q "^check: .* lost 0, stuck 0, failed 0" "$out" || { cat "$out"; fail "checker line"; }
grep -q "^result:  *\(en\|de\|es\|it\)$" "$out" || { cat "$out"; fail "no result line"; }
grep -q "^== answer with $victim killed: \(en\|de\|es\|it\) (expected en;" "$out" ||
    { cat "$out"; fail "no answer line"; }
echo "first run: trained, $victim killed, $member reassigned, answered"

# --- second run: the cache is reused, nothing is trained ------------------
sums=$(cd "$CACHE" && cksum ./*.gguf swarm.json trained.txt)
demo >"$TMP/2.out" 2>&1 || { cat "$TMP/2.out"; fail "second run exited $?"; }
out="$TMP/2.out"
grep -q "^make-specialists: reusing $CACHE (trained in [0-9]* s" "$out" || { cat "$out"; fail "no reuse message"; }
grep -q "^   reused the specialists cached in $CACHE: no training this time" "$out" ||
    { cat "$out"; fail "run-demo did not say it reused the cache"; }
! grep -q "steps in\|^make-specialists: training" "$out" || { cat "$out"; fail "the second run trained again"; }
[ "$(cd "$CACHE" && cksum ./*.gguf swarm.json trained.txt)" = "$sums" ] || fail "the cached files changed"
[ "$(find "$TMP/cache" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1 ] || fail "the second run made another cache entry"
grep -q "reassigned  *node dead" "$out" || { cat "$out"; fail "second run: no reassignment"; }
grep -q "^== answer with lang-[0-9]* killed: " "$out" || { cat "$out"; fail "second run: no answer"; }
echo "second run: cache reused, nothing trained"

# --- bad DEMO, and the stories demo when ../shared is there ----------------
DEMO=bogus sh "$SRC/scripts/run-demo" "$BUILD" >/dev/null 2>"$TMP/e"
rc=$?
if [ $rc -ne 2 ] || ! grep -q "DEMO must be" "$TMP/e"; then fail "DEMO=bogus exited $rc: $(cat "$TMP/e")"; fi
if [ -r "$SHARED/models/stories260K.bin" ]; then
    env -u SWARM_MODELS -u DEMO SWARM_SHARED_DIR="$SHARED" SWARM_CACHE="$TMP/cache2" \
        sh "$SRC/scripts/run-demo" "$BUILD" >"$TMP/3.out" 2>&1 || { cat "$TMP/3.out"; fail "stories demo exited $?"; }
    grep -q "^== swarm run: map-reduce on 4 nodes" "$TMP/3.out" || { cat "$TMP/3.out"; fail "not the stories demo"; }
    [ ! -e "$TMP/cache2" ] || fail "the stories demo trained specialists"
    echo "with ../shared: the stories260K demo, as before"
else
    echo "(../shared absent: the stories260K default not checked)"
fi
echo "run_demo_noshared.sh: ok"
