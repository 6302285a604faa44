#!/usr/bin/env bash
# The shared library exports only sana_* symbols (plus nothing else that is defined).
set -euo pipefail
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -v '^sana_' || true)
count=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/' | grep -c ' sana_' || true)
if [ -n "$bad" ]; then
  echo "check_exports: symbols outside sana_*:"; echo "$bad"
  echo "check_exports: 0 passed, 1 failed"; exit 1
fi
[ "$count" -gt 20 ] || { echo "check_exports: only $count sana_* symbols"; echo "check_exports: 0 passed, 1 failed"; exit 1; }
echo "check_exports: $count sana_* symbols, nothing else"
echo "check_exports: 1 passed, 0 failed"
