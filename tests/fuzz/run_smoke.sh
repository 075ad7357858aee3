#!/bin/sh
# run_smoke.sh SEEDS_TOOL FUZZER KIND WORKDIR SECONDS [DICT]: a fresh seed corpus
# from our own generator, then a bounded libFuzzer run (ASan+UBSan, 256 MiB
# RSS cap, 1 s per input). Any crash, leak or sanitizer report fails.
set -eu
seeds=$1 fuzzer=$2 kind=$3 work=$4 secs=$5
dict=${6:-}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
"$seeds" "$kind" "$work/corpus"
# ASan's free quarantine (256 MiB by default) would count against the RSS cap.
ASAN_OPTIONS="quarantine_size_mb=32${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS
exec "$fuzzer" -max_total_time="$secs" -rss_limit_mb=256 -timeout=1 -print_final_stats=1 \
    ${dict:+-dict="$dict"} -artifact_prefix="$work/artifacts/" "$work/corpus"
