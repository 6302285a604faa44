#!/usr/bin/env bash
# Configures and builds libsana into ${BUILD_DIR:-build} (CPU backend; CUDA when SANA_CUDA=ON/AUTO
# finds a toolkit). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSANA_CUDA="${SANA_CUDA:-OFF}" -DSANA_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
