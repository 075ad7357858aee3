#!/bin/sh
# run_hostile.sh: hostile input to `swarm run` and `swarm calibrate`: broken
# swarm files, task files, model files, --chaos specs, flags and EVAL.jsonl
# lines. Every case must end within 20 s with the expected exit code (2 =
# bad input; 1 = a runtime failure, only where docs/runtime.md says so),
# nothing on stdout, and exactly one line on stderr that matches a pattern
# naming the problem. A crash, a hang or a sanitizer report fails the case.
set -u
BIN=${SWARM_BIN:?set SWARM_BIN}
SRC=${SWARM_SOURCE_DIR:?set SWARM_SOURCE_DIR}
SHARED=${SWARM_SHARED_DIR:-$SRC/../shared}
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0 cases=0
TASK="$SRC/examples/tasks/single.json"

# expect NAME CODE PATTERN -- ARGS...: runs swarm ARGS under timeout 20.
expect() {
    name=$1 want=$2 pat=$3
    shift 4
    cases=$((cases + 1))
    timeout 20 "$BIN" "$@" >"$TMP/o" 2>"$TMP/e" </dev/null
    rc=$?
    lines=$(wc -l <"$TMP/e")
    why=""
    [ $rc -eq "$want" ] || why="exit $rc, want $want"
    [ -z "$why" ] && [ -s "$TMP/o" ] && why="wrote to stdout"
    [ -z "$why" ] && [ "$lines" -ne 1 ] && why="$lines lines on stderr, want 1"
    [ -z "$why" ] && ! grep -Eqi -- "$pat" "$TMP/e" && why="message does not match /$pat/"
    if [ -z "$why" ]; then
        echo "ok   $name: $(cat "$TMP/e")"
    else
        echo "FAIL $name: $why"
        sed 's/^/     | /' "$TMP/e" | head -20
        fails=$((fails + 1))
    fi
}

# swarm file content -> `swarm run single.json --swarm it`
swarm_case() {
    name=$1 want=$2 pat=$3 content=$4
    printf '%s' "$content" >"$TMP/swarm.json"
    expect "swarm: $name" "$want" "$pat" -- run "$TASK" --swarm "$TMP/swarm.json" --seed 1
}

# task file content -> `swarm run it --swarm echo.json`
task_case() {
    name=$1 want=$2 pat=$3 content=$4
    printf '%s' "$content" >"$TMP/task.json"
    expect "task: $name" "$want" "$pat" -- run "$TMP/task.json" --swarm "$TMP/echo.json" --seed 1
}

cat >"$TMP/echo.json" <<'J'
{"nodes": [
 {"name": "a", "backend": {"type": "echo", "latency_ms": 1}, "capacity": 2, "skills": {"*": 0.9}},
 {"name": "b", "backend": {"type": "echo", "latency_ms": 1}, "capacity": 2, "skills": {"*": 0.8}},
 {"name": "c", "backend": {"type": "echo", "latency_ms": 1}, "capacity": 2, "skills": {"*": 0.7}}]}
J
E='"backend": {"type": "echo"}'

# ---- swarm files -----------------------------------------------------------
swarm_case "empty file" 2 "line 1|end of file|empty" ""
swarm_case "invalid JSON" 2 "line 1" '{"nodes": ['
swarm_case "trailing garbage" 2 "line" '{"nodes": []} x'
swarm_case "top level array" 2 "top level" '[]'
swarm_case "missing nodes" 2 '"nodes"' '{}'
swarm_case "zero nodes" 2 '"nodes".*non-empty' '{"nodes": []}'
swarm_case "nodes not an array" 2 '"nodes"' '{"nodes": 5}'
swarm_case "unknown top-level key" 2 'unknown key "nodez"' '{"nodez": []}'
swarm_case "node not an object" 2 'nodes\[0\].*object' '{"nodes": [3]}'
swarm_case "node without name" 2 'missing "name"' "{\"nodes\": [{$E}]}"
swarm_case "empty node name" 2 'name.*non-empty' "{\"nodes\": [{\"name\": \"\", $E}]}"
swarm_case "name is a number" 2 'name.*string' "{\"nodes\": [{\"name\": 7, $E}]}"
swarm_case "NUL in name" 2 'u0000.*not allowed' "{\"nodes\": [{\"name\": \"a\\u0000b\", $E}]}"
swarm_case "duplicate node names" 2 'duplicate node name "x"' "{\"nodes\": [{\"name\": \"x\", $E}, {\"name\": \"x\", $E}]}"
swarm_case "duplicate key" 2 'duplicate' "{\"nodes\": [{\"name\": \"x\", \"name\": \"y\", $E}]}"
swarm_case "missing backend" 2 'missing "backend"' '{"nodes": [{"name": "x"}]}'
swarm_case "backend is a string" 2 'backend.*object' '{"nodes": [{"name": "x", "backend": "echo"}]}'
swarm_case "backend without type" 2 'missing "type"' '{"nodes": [{"name": "x", "backend": {}}]}'
swarm_case "unknown backend" 2 'unknown backend "gpu"' '{"nodes": [{"name": "x", "backend": {"type": "gpu"}}]}'
swarm_case "unknown node key" 2 'unknown key "cpus"' "{\"nodes\": [{\"name\": \"x\", $E, \"cpus\": 4}]}"
swarm_case "negative capacity" 2 'capacity.*out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"capacity\": -2}]}"
swarm_case "zero capacity" 2 'capacity.*out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"capacity\": 0}]}"
swarm_case "fractional capacity" 2 'capacity.*integer' "{\"nodes\": [{\"name\": \"x\", $E, \"capacity\": 1.5}]}"
swarm_case "capacity as string" 2 'capacity.*number' "{\"nodes\": [{\"name\": \"x\", $E, \"capacity\": \"2\"}]}"
swarm_case "capacity 1e400 (inf)" 2 'overflow|out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"capacity\": 1e400}]}"
swarm_case "accuracy -1e400" 2 'overflow|out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"accuracy\": -1e400}]}"
swarm_case "accuracy above 1" 2 'accuracy.*out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"accuracy\": 1.01}]}"
swarm_case "skill C above 1" 2 'skills.story.*\[0, 1\]' "{\"nodes\": [{\"name\": \"x\", $E, \"skills\": {\"story\": 1.5}}]}"
swarm_case "skill C below 0" 2 'skills.story.*\[0, 1\]' "{\"nodes\": [{\"name\": \"x\", $E, \"skills\": {\"story\": -0.1}}]}"
swarm_case "skill C a string" 2 'skills.story' "{\"nodes\": [{\"name\": \"x\", $E, \"skills\": {\"story\": \"high\"}}]}"
swarm_case "skills an array" 2 'skills.*object' "{\"nodes\": [{\"name\": \"x\", $E, \"skills\": [0.5]}]}"
swarm_case "coordinates of 3" 2 'coordinates' "{\"nodes\": [{\"name\": \"x\", $E, \"coordinates\": [1, 2, 3]}]}"
swarm_case "coordinates strings" 2 'coordinates' "{\"nodes\": [{\"name\": \"x\", $E, \"coordinates\": [\"a\", 2]}]}"
swarm_case "negative power" 2 'power_watts.*out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"power_watts\": -5}]}"
swarm_case "negative time per token" 2 'time_per_token_ms.*out of range' "{\"nodes\": [{\"name\": \"x\", $E, \"time_per_token_ms\": -1}]}"
swarm_case "negative echo latency" 2 'latency_ms.*out of range' '{"nodes": [{"name": "x", "backend": {"type": "echo", "latency_ms": -1}}]}'
swarm_case "local without model" 2 'missing "model"' '{"nodes": [{"name": "x", "backend": {"type": "local"}}]}'
swarm_case "zero threads" 2 'threads.*out of range' '{"nodes": [{"name": "x", "backend": {"type": "local", "model": "m.bin", "threads": 0}}]}'
swarm_case "negative temperature" 2 'temperature.*out of range' '{"nodes": [{"name": "x", "backend": {"type": "local", "model": "m.bin", "sampling": {"temperature": -1}}}]}'
swarm_case "zero top_p" 2 'top_p: must be in \(0, 1\]' '{"nodes": [{"name": "x", "backend": {"type": "local", "model": "m.bin", "sampling": {"top_p": 0}}}]}'
swarm_case "unknown sampling key" 2 'unknown key "beam"' '{"nodes": [{"name": "x", "backend": {"type": "local", "model": "m.bin", "sampling": {"beam": 4}}}]}'
swarm_case "unset variable in path" 2 'SWARM_HOSTILE_UNSET.*not set' '{"nodes": [{"name": "x", "backend": {"type": "local", "model": "${SWARM_HOSTILE_UNSET}/m.bin"}}]}'
swarm_case "unterminated \${" 2 'unterminated' '{"nodes": [{"name": "x", "backend": {"type": "local", "model": "${HOME/m.bin"}}]}'
swarm_case "openai bad url" 2 'base_url.*http' '{"nodes": [{"name": "x", "backend": {"type": "openai", "base_url": "ftp://h", "model": "m"}}]}'
swarm_case "openai not in this build" 2 'openai backend not available' '{"nodes": [{"name": "x", "backend": {"type": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m"}}]}'
swarm_case "missing model file" 2 'node "x".*nope.bin' "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$TMP/nope.bin\"}}]}"
mkdir "$TMP/modeldir"
swarm_case "directory as model" 2 'node "x".*modeldir' "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$TMP/modeldir\"}}]}"
: >"$TMP/empty.bin"
swarm_case "empty model file" 2 'node "x"' "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$TMP/empty.bin\"}}]}"
if [ -r "$SHARED/models/stories260K.bin" ] && [ -r "$SHARED/models/tok512.bin" ]; then
    head -c 3000 "$SHARED/models/stories260K.bin" >"$TMP/trunc.bin"
    head -c 5000 "$SHARED/models/stories260K.gguf" >"$TMP/trunc.gguf"
    swarm_case "truncated llama2.c model" 2 'node "x"' "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$TMP/trunc.bin\", \"tokenizer\": \"$SHARED/models/tok512.bin\"}}]}"
    swarm_case "truncated GGUF model" 2 'node "x"' "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$TMP/trunc.gguf\"}}]}"
    swarm_case "n_ctx past the model's context" 2 "n_ctx 4096 exceeds the model's context of 512" "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$SHARED/models/stories260K.bin\", \"tokenizer\": \"$SHARED/models/tok512.bin\", \"n_ctx\": 4096}}]}"
    swarm_case "missing tokenizer file" 2 'node "x".*tok-nope' "{\"nodes\": [{\"name\": \"x\", \"backend\": {\"type\": \"local\", \"model\": \"$SHARED/models/stories260K.bin\", \"tokenizer\": \"$TMP/tok-nope.bin\"}}]}"
else
    echo "skip truncated model cases: $SHARED/models not found"
fi
python3 -c 'import json; print(json.dumps({"nodes": [{"name": "n%d" % i, "backend": {"type": "echo", "latency_ms": 1}, "capacity": 100000} for i in range(300)]}))' >"$TMP/threads.json"
expect "swarm: 300 nodes x 64 slot threads" 2 'threads.*at most 16384' -- run "$TASK" --swarm "$TMP/threads.json" --seed 1
python3 -c 'import json; print(json.dumps({"nodes": [{"name": "n%d" % i, "backend": {"type": "echo"}, "skills": {"*": 0.5}} for i in range(300)]}))' >"$TMP/many.json"
expect "swarm: 300 child processes" 2 'at most 256 nodes' -- run "$TASK" --swarm "$TMP/many.json" --seed 1 --transport process
expect "swarm: file is a directory" 2 "modeldir" -- run "$TASK" --swarm "$TMP/modeldir"
expect "swarm: file does not exist" 2 "nope-swarm.json" -- run "$TASK" --swarm "$TMP/nope-swarm.json"
# 100 000 nested arrays: refused by the JSON parser's depth limit, no stack overflow
python3 -c 'import sys; sys.stdout.write("["*100000 + "]"*100000)' >"$TMP/deep.json"
expect "swarm: deep nesting" 2 "depth|nest|line" -- run "$TASK" --swarm "$TMP/deep.json"

# ---- task files --------------------------------------------------------------
task_case "invalid JSON" 2 "line" '{"input": '
task_case "not an object" 2 "expected" '"just a string"'
task_case "missing input" 2 'input' '{"name": "t"}'
task_case "input a number" 2 'input' '{"input": 5}'
task_case "unknown key" 2 'unknown key' '{"input": "x", "bogus": 1}'
task_case "unknown strategy" 2 'strategy' '{"input": "x", "decomposition": {"strategy": "swarmify"}}'
task_case "unknown kind" 2 'kind' '{"input": "x", "kind": "dream"}'
task_case "classify without labels" 2 'labels' '{"input": "x", "kind": "classify"}'
task_case "duplicate labels" 2 'labels' '{"input": "x", "kind": "classify", "labels": [" a", " a"]}'
task_case "redundancy 0" 2 'redundancy' '{"input": "x", "redundancy": 0}'
task_case "redundancy 1e400" 2 'overflow|redundancy' '{"input": "x", "redundancy": 1e400}'
task_case "negative p_min" 2 'p_min' '{"input": "x", "p_min": -1}'
task_case "ensemble k 0" 2 '\bk\b' '{"input": "x", "decomposition": {"strategy": "ensemble", "k": 0}}'
task_case "overlap >= size" 2 'overlap' '{"input": "a b c", "decomposition": {"strategy": "map-reduce", "chunk": {"by": "tokens", "size": 2, "overlap": 2}, "map_prompt": "{{chunk}}"}}'
task_case "map-reduce of empty input" 2 'empty' '{"input": "   ", "decomposition": {"strategy": "map-reduce", "chunk": {"by": "tokens", "size": 2}, "map_prompt": "{{chunk}}"}}'
task_case "cyclic pipeline" 2 'cycle' '{"input": "x", "decomposition": {"strategy": "pipeline", "steps": [{"name": "a", "prompt": "{{steps.b}}", "depends_on": ["b"]}, {"name": "b", "prompt": "{{steps.a}}", "depends_on": ["a"]}]}}'
task_case "unknown dependency" 2 'unknown step' '{"input": "x", "decomposition": {"strategy": "pipeline", "steps": [{"name": "a", "prompt": "{{input}}", "depends_on": ["zz"]}]}}'
task_case "self dependency" 2 'itself|cycle' '{"input": "x", "decomposition": {"strategy": "pipeline", "steps": [{"name": "a", "prompt": "{{input}}", "depends_on": ["a"]}]}}'
task_case "unterminated template" 2 'unterminated|\{\{' '{"input": "x", "prompt": "{{input"}'
task_case "max_tokens 0" 2 'max_tokens' '{"input": "x", "limits": {"max_tokens": 0}}'
task_case "negative deadline" 2 'deadline_ms' '{"input": "x", "limits": {"deadline_ms": -5}}'
task_case "objective all zero" 2 'objective' '{"input": "x", "objective": {"energy": 0, "time": 0}}'
task_case "input file missing" 2 'nope.txt' '{"input": {"file": "nope.txt"}}'
task_case "weighted-average of text" 2 'weighted-average' '{"input": "x", "aggregation": {"method": "weighted-average"}}'
task_case "P_min beyond reach" 2 'P_min' '{"input": "x", "p_min": 99}'
task_case "redundancy > nodes" 2 'redundancy.*node' '{"input": "x", "redundancy": 5}'
printf '%s' '{"input": "x", "redundancy": 2}' >"$TMP/r2.json"
expect "task: redundancy 2 in distinct zones, one zone" 2 'distinct zones needs 2 zones' -- run "$TMP/r2.json" --swarm "$TMP/echo.json" --seed 1 --distinct-zones
expect "task: file is a directory" 2 "modeldir" -- run "$TMP/modeldir" --swarm "$TMP/echo.json"
# input.file a FIFO nobody writes to: refused with a reason, never read as an empty input
mkfifo "$TMP/fifo"
printf '{"name": "f", "input": {"file": "%s"}}' "$TMP/fifo" >"$TMP/fifo-task.json"
expect "task: input.file a FIFO without a writer" 2 'FIFO that gave no data' -- run "$TMP/fifo-task.json" --swarm "$TMP/echo.json"
expect "task: file does not exist" 2 "nope-task.json" -- run "$TMP/nope-task.json" --swarm "$TMP/echo.json"
# the skill case needs a swarm whose nodes have only named skills
printf '%s' '{"nodes": [{"name": "a", "backend": {"type": "echo"}, "skills": {"story": 0.9}}]}' >"$TMP/story.json"
printf '%s' '{"input": "x", "skill": "poetry"}' >"$TMP/poetry.json"
expect "task: skill no node has (named skills)" 2 'skill "poetry"' -- run "$TMP/poetry.json" --swarm "$TMP/story.json" --seed 1

# ---- --chaos specs ------------------------------------------------------------
chaos_case() {
    expect "chaos: $1" 2 "$2" -- run "$TASK" --swarm "$TMP/echo.json" --seed 1 --chaos "$3"
}
chaos_case "not KEY=VALUE" 'KEY=VALUE' 'kill'
chaos_case "kill without time" 'NODE@TIME' 'kill=a'
chaos_case "kill unknown node" 'unknown node "zz"' 'kill=zz@1ms'
chaos_case "negative time" 'bad time' 'kill=a@-5ms'
chaos_case "time not a number" 'bad time' 'kill=a@soon'
chaos_case "time in hours" 'bad time' 'kill=a@1h'
chaos_case "time 1e400" 'bad time' 'kill=a@1e400ms'
chaos_case "pause without duration" 'bad time' 'pause=a@1ms'
chaos_case "p_kill above 1" 'p_kill' 'p_kill=2'
chaos_case "p_kill nan" 'p_kill' 'p_kill=nan'
chaos_case "slow factor 0" 'slow' 'slow=ax0'
chaos_case "slow without factor" 'slow' 'slow=a'
chaos_case "slow share 0" 'slow' 'slow=ax2:0'
chaos_case "corrupt unknown node" 'unknown node' 'corrupt=q'
chaos_case "unknown fault" 'unknown fault "melt"' 'melt=a'
chaos_case "kill twice" 'kill given twice for node "a"' 'kill=a@1ms,kill=a@5ms'
chaos_case "overlapping pauses" 'time order, not overlapping' 'pause=a@10ms+100ms,pause=a@50ms+10ms'

# ---- flags ----------------------------------------------------------------------
expect "flag: unknown" 2 "unknown.*--bogus" -- run "$TASK" --swarm "$TMP/echo.json" --bogus
expect "flag: --swarm without value" 2 "--swarm" -- run "$TASK" --swarm
expect "flag: no task" 2 "TASK" -- run --swarm "$TMP/echo.json"
expect "flag: two tasks" 2 "unexpected argument" -- run "$TASK" "$TASK" --swarm "$TMP/echo.json"
expect "flag: --seed 0" 2 "seed" -- run "$TASK" --swarm "$TMP/echo.json" --seed 0
expect "flag: --seed -1" 2 "seed" -- run "$TASK" --swarm "$TMP/echo.json" --seed -1
expect "flag: --seed 99999999999999999999999" 2 "seed" -- run "$TASK" --swarm "$TMP/echo.json" --seed 99999999999999999999999
expect "flag: --dispatch" 2 "dispatch" -- run "$TASK" --swarm "$TMP/echo.json" --dispatch random
expect "flag: --assign" 2 "assign" -- run "$TASK" --swarm "$TMP/echo.json" --assign magic
expect "flag: --transport" 2 "transport" -- run "$TASK" --swarm "$TMP/echo.json" --transport nats
expect "flag: --detector" 2 "detector" -- run "$TASK" --swarm "$TMP/echo.json" --detector psychic
expect "flag: --comm-weight -1" 2 "comm-weight" -- run "$TASK" --swarm "$TMP/echo.json" --comm-weight -1
expect "flag: --comm-weight nan" 2 "comm-weight" -- run "$TASK" --swarm "$TMP/echo.json" --comm-weight nan
expect "flag: --resume without --journal" 2 "journal" -- run "$TASK" --swarm "$TMP/echo.json" --resume
expect "flag: journal in a missing directory" 2 "nodir" -- run "$TASK" --swarm "$TMP/echo.json" --journal "$TMP/nodir/j.db"
expect "flag: journal is not SQLite" 2 "swarm.json|database" -- run "$TASK" --swarm "$TMP/echo.json" --journal "$TMP/echo.json"
expect "flag: audit a missing journal" 1 "nope.db" -- run --audit "$TMP/nope.db"
expect "flag: --model missing" 2 "nope-model" -- run "$TASK" --swarm "$SRC/examples/swarm-demo.json" --model "$TMP/nope-model.bin"

# ---- calibrate ------------------------------------------------------------------
cal_case() {
    name=$1 want=$2 pat=$3 content=$4
    shift 4
    printf '%s' "$content" >"$TMP/eval.jsonl"
    expect "calibrate: $name" "$want" "$pat" -- calibrate "$TMP/echo.json" "$TMP/eval.jsonl" --dry-run "$@"
}
cal_case "empty file" 2 "no examples" ""
cal_case "invalid JSON line" 2 'eval.jsonl:2' '{"input": "a", "label": "x"}
{"input": "b", "label":'
cal_case "missing label" 2 'eval.jsonl:1' '{"input": "a"}'
cal_case "label a number" 2 'eval.jsonl:1' '{"input": "a", "label": 3}'
cal_case "empty label" 2 'eval.jsonl:1' '{"input": "a", "label": ""}'
cal_case "extra key" 2 'eval.jsonl:1' '{"input": "a", "label": "x", "weight": 2}'
cal_case "line is an array" 2 'eval.jsonl:1' '["a", "x"]'
cal_case "duplicate key" 2 'eval.jsonl:1' '{"input": "a", "input": "b", "label": "x"}'
cal_case "NUL in a line" 2 'eval.jsonl:1' "$(printf '{"input": "a\\u0000b", "label": "x"}')"
printf '{"name": "t", "input": "x", "kind": "classify", "labels": [" good", " bad"]}' >"$TMP/cls.json"
cal_case "label not in the task" 2 'not one of the task' '{"input": "a", "label": " meh"}' --task "$TMP/cls.json"
cal_case "task not classify" 2 'classify task' '{"input": "a", "label": "x"}' --task "$TASK"
cal_case "task missing" 2 'nope-task' '{"input": "a", "label": "x"}' --task "$TMP/nope-task.json"
printf '[1, 2]' >"$TMP/arr.json"
cal_case "task is an array" 2 'arr.json.*task object' '{"input": "a", "label": "x"}' --task "$TMP/arr.json"
cal_case "unknown flag" 2 'unknown.*--fast' '{"input": "a", "label": "x"}' --fast
expect "calibrate: eval file missing" 2 "nope.jsonl" -- calibrate "$TMP/echo.json" "$TMP/nope.jsonl"
expect "calibrate: eval is a directory" 2 "modeldir.*directory" -- calibrate "$TMP/echo.json" "$TMP/modeldir"
expect "calibrate: one argument" 2 "EVAL" -- calibrate "$TMP/echo.json"
printf '{"input": "a", "label": "x"}\n' >"$TMP/ok.jsonl"
printf '%s' '{"nodes": [{"name": "x", "backend": {"type": "gpu"}}]}' >"$TMP/gpu.json"
expect "calibrate: bad swarm" 2 "unknown backend" -- calibrate "$TMP/gpu.json" "$TMP/ok.jsonl"
expect "calibrate: missing model" 2 "nope-model" -- calibrate "$SRC/examples/swarm-demo.json" "$TMP/ok.jsonl" --dry-run --model "$TMP/nope-model.bin"

# ---- runtime failures: exit 1, the result names the cause, in bounded time --
# expect_fail NAME PATTERN -- ARGS...: exit 1, "result: FAILED: ...PATTERN" on stdout
expect_fail() {
    name=$1 pat=$2
    shift 3
    cases=$((cases + 1))
    timeout 20 "$BIN" "$@" >"$TMP/o" 2>"$TMP/e" </dev/null
    rc=$?
    if [ $rc -eq 1 ] && grep -Eq -- "^result: FAILED: .*$pat" "$TMP/o" && ! grep -q "Sanitizer\|runtime error" "$TMP/e"; then
        echo "ok   $name: $(grep '^result:' "$TMP/o")"
    else
        echo "FAIL $name: exit $rc"; sed 's/^/     | /' "$TMP/o" "$TMP/e" | head -20; fails=$((fails + 1))
    fi
}
expect_fail "runtime: every node killed" "no node available" -- run "$SRC/examples/tasks/map-reduce.json" \
    --swarm "$TMP/echo.json" --seed 1 --chaos kill=a@0ms,kill=b@0ms,kill=c@0ms
expect_fail "runtime: every result corrupt" "checksum mismatch" -- run "$TASK" --swarm "$TMP/echo.json" \
    --seed 1 --chaos corrupt=a,corrupt=b,corrupt=c
expect_fail "runtime: every worker process gone (p_kill=1)" "no node available|failed" -- run "$TASK" \
    --swarm "$TMP/echo.json" --seed 1 --transport process --chaos p_kill=1
# the journal cannot be written (file size limit, EFBIG): the run stops and
# says its results are not durable, never reports success
python3 -c 'import json; print(json.dumps({"name": "big", "input": " ".join("w%d" % i for i in range(400)), "decomposition": {"strategy": "map-reduce", "chunk": {"by": "tokens", "size": 1}, "map_prompt": "{{chunk}} and a long prompt that fills the journal"}, "aggregation": {"method": "max-weight"}, "limits": {"max_tokens": 1}}))' >"$TMP/big.json"
cases=$((cases + 1))
(ulimit -f 400 && trap '' XFSZ && exec timeout 20 "$BIN" run "$TMP/big.json" --swarm "$TMP/echo.json" --seed 1 \
    --journal "$TMP/full.db") >"$TMP/o" 2>"$TMP/e" </dev/null
rc=$?
if [ $rc -eq 1 ] && grep -q "^result: FAILED: journal .*not durable" "$TMP/o"; then
    echo "ok   runtime: journal write fails: $(grep '^result:' "$TMP/o")"
else
    echo "FAIL runtime: journal write fails: exit $rc"; sed 's/^/     | /' "$TMP/o" "$TMP/e" | head; fails=$((fails + 1))
fi

echo "$cases cases, $fails failed"
[ $fails -eq 0 ] || exit 1
echo "all ok"
