#!/bin/sh
# boundaries.sh: the include rules of docs/STYLE (issue 13, item 4), checked
# by grep so a new arrow that runs back up the house fails the suite:
# - cli/ includes only public headers (include/swarm/...), its own headers
#   (cli.h, train_cli.h: no path) and
#   the bench/ front ends, never a module's private header (src/...);
# - the platform layer (src/platform/) includes no module's header: only
#   system headers and core's (src/core/).
set -u
SRC=${SWARM_SOURCE_DIR:-.}
[ -d "$SRC/cli" ] && [ -d "$SRC/src/platform" ] || { echo "SKIP: sources not found under $SRC"; exit 77; }
fails=0
# every quoted include of cli/, minus the allowed ones
bad=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$SRC"/cli/*.c "$SRC"/cli/*.h |
    grep -v -e '"swarm/[a-z_]*\.h"' -e '"[a-z_]*\.h"' -e '"\.\./bench/[a-z_]*\.h"')
if [ -n "$bad" ]; then
    echo "FAIL: cli/ includes a header outside include/swarm/ (use a public function):"
    echo "$bad" | sed 's/^/  | /'
    fails=$((fails + 1))
else
    echo "ok: cli/ includes only include/swarm/ headers"
fi
bad=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$SRC"/src/platform/*/*.c "$SRC"/src/platform/*.h 2>/dev/null |
    grep -v -e '"\.\./\.\./core/[a-z_]*\.h"' -e '"\.\./core/[a-z_]*\.h"' -e '"swarm/swarm\.h"')
if [ -n "$bad" ]; then
    echo "FAIL: the platform layer includes a module's header (declare it in src/core/platform.h):"
    echo "$bad" | sed 's/^/  | /'
    fails=$((fails + 1))
else
    echo "ok: src/platform/ includes only system and core headers"
fi
# the check itself must be able to fail: a private include is caught
probe=$(printf '#include "engine/engine_int.h"\n' | grep -v -e '"swarm/[a-z_]*\.h"' -e '"cli\.h"' -e '"\.\./bench/[a-z_]*\.h"')
[ -n "$probe" ] && echo "ok: the pattern catches a private include" ||
    { echo "FAIL: the pattern lets a private include through"; fails=$((fails + 1)); }
echo "boundaries.sh: $fails failure(s)"
[ "$fails" -eq 0 ]
