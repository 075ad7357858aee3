#!/bin/sh
# assign.sh: `swarm assign` end to end: a solved problem (text, --json, each
# method, stdin), redundancy output, the Pareto front (sorted, non-dominated),
# an infeasible problem (exit 1 with the reason), malformed input and bad
# flags (exit 2, message on stderr, nothing on stdout); bench-assign flags.
set -u
BIN=${SWARM_BIN:?set SWARM_BIN}
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

cat >"$TMP/p.json" <<'EOF'
{"E": [1, 2, 6], "T": [1, 3, 4], "B": [2, 3, 4],
 "C": [[0.9, 0.9, 0.4, 0.1], [0.8, 0.8, 0.8, 0.9], [0.9, 0.9, 0.9, 0.9]],
 "c_min": 0.5, "p_min": 1.0, "weights": {"energy": 1, "time": 1}}
EOF

# 1. exact, JSON: the hand-computed optimum 14 with assignment [0,0,1,1]
out=$("$BIN" assign "$TMP/p.json" --method exact --json 2>"$TMP/err"); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '"status":"optimal"' &&
   echo "$out" | grep -q '"assign":\[0,0,1,1\]' && echo "$out" | grep -q '"objective":14'; then
    ok "exact json"
else bad "exact json: rc=$rc out=$out err=$(cat "$TMP/err")"; fi

# 2. human output
out=$("$BIN" assign "$TMP/p.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '^status: optimal' && echo "$out" | grep -q 'subtask 3 -> SLM 1'; then
    ok "human"
else bad "human: rc=$rc out=$out"; fi

# 3. fast method and stdin
out=$("$BIN" assign - --method fast --json <"$TMP/p.json" 2>"$TMP/err"); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '"objective":14' && echo "$out" | grep -q '"method":"greedy+local"'; then
    ok "fast stdin"
else bad "fast stdin: rc=$rc out=$out err=$(cat "$TMP/err")"; fi

# 4. redundancy 2: arrays of two distinct SLMs per subtask
cat >"$TMP/r.json" <<'EOF'
{"E": [1, 1, 5], "T": [1, 1, 5], "B": [2, 2, 2], "C": [[1, 1], [1, 1], [1, 1]], "redundancy": 2}
EOF
out=$("$BIN" assign "$TMP/r.json" --json 2>"$TMP/err"); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '"assign":\[\[0,1\],\[0,1\]\]'; then
    ok "redundancy"
else bad "redundancy: rc=$rc out=$out err=$(cat "$TMP/err")"; fi

# 5. Pareto front: energy falls as time rises, both ends present
cat >"$TMP/f.json" <<'EOF'
{"E": [1, 2, 3], "T": [3, 2, 1], "B": [2, 2, 2],
 "C": [[0.9, 0.5, 0.7, 0.2], [0.6, 0.8, 0.4, 0.9], [0.3, 0.6, 0.9, 0.8]], "p_min": 2.5}
EOF
for meth in exact fast; do
    out=$("$BIN" assign "$TMP/f.json" --pareto --method $meth --json 2>"$TMP/err"); rc=$?
    times=$(echo "$out" | grep -o '"time":[0-9.e+-]*' | cut -d: -f2 | tr '\n' ' ')
    energies=$(echo "$out" | grep -o '"energy":[0-9.e+-]*' | cut -d: -f2 | tr '\n' ' ')
    if [ $rc -eq 0 ] && echo "$out" | grep -q '"pareto":\[' &&
       echo "$times" | awk '{for (i = 2; i <= NF; i++) if ($i <= $(i-1)) exit 1; exit NF < 2}' &&
       echo "$energies" | awk '{for (i = 2; i <= NF; i++) if ($i >= $(i-1)) exit 1; exit NF < 2}' &&
       echo "$times" | grep -q '^6' && echo "$energies" | grep -q ' 6\(\.0\)* *$'; then
        ok "pareto $meth ($times| $energies)"
    else bad "pareto $meth: rc=$rc times=$times energies=$energies err=$(cat "$TMP/err")"; fi
done

# 6. infeasible: exit 1, the reason on stdout (JSON and text)
cat >"$TMP/inf.json" <<'EOF'
{"E": [1,1,1], "T": [1,1,1], "B": [3,2,2],
 "C": [[1,1,1,1,1,1,1,1,1],[1,1,1,1,1,1,1,1,1],[1,1,1,1,1,1,1,1,1]]}
EOF
out=$("$BIN" assign "$TMP/inf.json" --json 2>"$TMP/err"); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q '"status":"infeasible"' &&
   echo "$out" | grep -qF 'capacity: total capacity 7 < demand 9 (r=1, 9 subtasks)'; then
    ok "infeasible json"
else bad "infeasible json: rc=$rc out=$out"; fi
out=$("$BIN" assign "$TMP/inf.json" 2>"$TMP/err"); rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q '^reason: capacity'; then ok "infeasible text"
else bad "infeasible text: rc=$rc out=$out"; fi

# 7. malformed input and bad flags: exit 2, stderr says why, stdout empty
expect_usage() {
    name=$1 want=$2
    shift 2
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "$want" "$TMP/err" && [ ! -s "$TMP/out" ]; then ok "$name"
    else bad "$name: rc=$rc (want 2) stderr=$(cat "$TMP/err") stdout=$(cat "$TMP/out")"; fi
}
printf '{"E": [1, 2], "T": [1, 2]' >"$TMP/trunc.json"
printf '{"E": [1, -2], "T": [1, 1], "B": [1, 1], "C": [[1], [1]]}' >"$TMP/neg.json"
printf '{"E": [1, 2], "T": [1], "B": [1, 1], "C": [[1], [1]]}' >"$TMP/shape.json"
expect_usage "truncated json" "invalid JSON" assign "$TMP/trunc.json"
expect_usage "negative value" "E[1] = -2 is negative" assign "$TMP/neg.json" --json
expect_usage "wrong shape" '"T" has 1 entries, expected 2' assign "$TMP/shape.json"
expect_usage "missing file" "nope.json" assign "$TMP/nope.json"
expect_usage "no file" "missing PROBLEM.json" assign
expect_usage "bad method" "--method must be exact, fast or auto" assign "$TMP/p.json" --method best
expect_usage "bad time limit" "--time-limit" assign "$TMP/p.json" --time-limit -3
expect_usage "unknown flag" "unknown option '--fast'" assign "$TMP/p.json" --fast
expect_usage "bench bad flag" "unknown argument" bench-assign --slow

"$BIN" assign --help >"$TMP/out" 2>&1 && grep -q 'Exit status' "$TMP/out" && ok "help" || bad "help"
"$BIN" bench-assign --help >"$TMP/out" 2>&1 && grep -q 'bench-assign' "$TMP/out" && ok "bench help" || bad "bench help"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all assign CLI tests passed"
