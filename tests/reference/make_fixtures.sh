#!/usr/bin/env bash
# Regenerate tests/fixtures/ from scratch with the pinned reference packages.
#
#   tests/reference/make_fixtures.sh            # create/refresh the venv, then write the fixtures
#   SANA_ORACLE_SKIP_INSTALL=1 tests/reference/make_fixtures.sh   # reuse the venv as is
#
# CPU only, fp32, fixed seeds, one thread: two runs give byte-identical files.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ "${SANA_ORACLE_SKIP_INSTALL:-0}" != "1" ]; then
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
fi

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONHASHSEED=0 CUDA_VISIBLE_DEVICES="" TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export DIFFUSERS_VERBOSITY=error TRANSFORMERS_VERBOSITY=error
cd "$HERE"
"$VENV/bin/python" make_fixtures.py "$@"
python3 "$HERE/check_fixtures.py" "$HERE/../fixtures"
