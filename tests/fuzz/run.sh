#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a scratch copy of its corpus (the checked-in
# corpus is left alone; add a new crash input to it by hand, as corpus/<target>/crash_<what>).
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSANA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-fuzz -j2 --target fuzz_safetensors
#   tests/fuzz/run.sh safetensors 300        # target, seconds; then extra libFuzzer flags
# Crash inputs land in $WORK/<target>/artifacts ($WORK: ${FUZZ_WORK:-/tmp/sana-fuzz}).
set -euo pipefail
cd "$(dirname "$0")/../.."
t=$1 secs=${2:-300}
shift 2 || shift $#
bin=${BUILD_DIR:-build-fuzz}/tests/fuzz/fuzz_$t
work=${FUZZ_WORK:-/tmp/sana-fuzz}/$t
case $t in
  tokenizer_json) max_len=65536 ;;
  safetensors | png | config) max_len=8192 ;;
  *) max_len=2048 ;;
esac
mkdir -p "$work/corpus" "$work/artifacts"
cp -n tests/fuzz/corpus/"$t"/* "$work/corpus/"
exec nice -n 19 "$bin" "$work/corpus" -max_total_time="$secs" -rss_limit_mb=2048 -max_len="$max_len" \
  -timeout=30 -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@"
