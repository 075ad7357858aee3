#!/bin/sh
# run_transport.sh: `swarm run --transport` by name and by URL (issue 13:
# transports chosen by URL scheme): the same task gives the same result on
# inproc and on worker processes (frames of the wire format between them),
# and an unknown scheme is refused with exit 2 naming the known ones.
set -u
BIN=${SWARM_BIN:?set SWARM_BIN}
SRC=${SWARM_SOURCE_DIR:?set SWARM_SOURCE_DIR}
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
cat >"$TMP/echo.json" <<'J'
{"nodes": [
 {"name": "e1", "backend": {"type": "echo", "latency_ms": 2}, "capacity": 2, "skills": {"*": 0.9}},
 {"name": "e2", "backend": {"type": "echo", "latency_ms": 2}, "capacity": 2, "skills": {"*": 0.8}}]}
J
TASK="$SRC/examples/tasks/map-reduce.json"
for t in inproc process inproc: proc:; do
    if "$BIN" run "$TASK" --swarm "$TMP/echo.json" --seed 7 --transport "$t" --echo \
        >"$TMP/out.$t" 2>"$TMP/err.$t"; then
        grep '^result:' "$TMP/out.$t" >"$TMP/res.$t"
        echo "ok: --transport $t ran"
    else
        echo "FAIL: --transport $t: exit $?"; sed 's/^/  | /' "$TMP/err.$t" | head -3
        fails=$((fails + 1))
    fi
done
for t in process inproc: proc:; do
    if [ -s "$TMP/res.$t" ] && cmp -s "$TMP/res.inproc" "$TMP/res.$t"; then
        echo "ok: --transport $t gives the inproc result"
    else
        echo "FAIL: --transport $t result differs from inproc"; fails=$((fails + 1))
    fi
done
for t in nats://localhost:4222 proc:x tcp:; do
    "$BIN" run "$TASK" --swarm "$TMP/echo.json" --transport "$t" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q "inproc: or proc:\|takes no address" "$TMP/err"; then
        echo "ok: --transport $t refused (exit 2)"
    else
        echo "FAIL: --transport $t: exit $rc, stderr: $(cat "$TMP/err")"; fails=$((fails + 1))
    fi
done
echo "run_transport.sh: $fails failure(s)"
[ "$fails" -eq 0 ]
