#!/usr/bin/env bash
# Bindings, packaging and examples CI: run by .ci/run after the main build and ctest.
#
#   .ci/bindings.sh BUILD_DIR        (BUILD_DIR: the configured and built cmake tree)
#
# Installs what it needs (Debian packages; set SANA_CI_NO_INSTALL=1 to skip), then runs each
# check, logging to BUILD_DIR/bindings-ci/logs/, and prints "bindings: N passed, M failed".
# Exit status 0 only when nothing failed. Idempotent: its work folder is recreated every run.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:?usage: .ci/bindings.sh BUILD_DIR}" && pwd)
WORK=$BUILD/bindings-ci
LOGS=$WORK/logs
PREFIX=$WORK/prefix
rm -rf "$WORK" && mkdir -p "$LOGS"

PASSED=() FAILED=() NOTES=()
log() { printf '[bindings] %s\n' "$*"; }

# step NAME CMD...: runs CMD with output to LOGS/NAME.log; records the result.
step() {
    local name=$1 t0=$SECONDS
    shift
    log "$name ..."
    if "$@" >"$LOGS/$name.log" 2>&1; then
        PASSED+=("$name")
        log "$name: ok ($((SECONDS - t0)) s)"
    else
        FAILED+=("$name")
        log "$name: FAILED ($((SECONDS - t0)) s); last lines of $LOGS/$name.log:"
        tail -n 40 "$LOGS/$name.log" | sed 's/^/    /'
    fi
}

# --- packages ------------------------------------------------------------------------------------
DEB_PACKAGES=(python3 python3-venv python3-pip python3-setuptools python3-wheel python3-numpy
              python3-pil python3-pytest golang-go pkg-config abigail-tools chromium curl
              fonts-dejavu-core)
install_packages() {
    [ "${SANA_CI_NO_INSTALL:-0}" = 1 ] && return 0
    local missing=()
    for p in "${DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "installing: ${missing[*]}"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1
}
install_packages || { log "package install failed (see $LOGS/apt.log)"; FAILED+=("packages"); }

# Debian's interpreter, with its numpy/Pillow/pytest (a pyenv or conda python on PATH may lack them).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
LIB=$(ls "$BUILD"/libsana.so 2>/dev/null || true)

# --- Python: pip-install the package into a venv, run pytest against the installed copy -------
python_tests() {
    "$PY" -m venv --system-site-packages "$WORK/venv" &&
    "$WORK/venv/bin/pip" install -q --no-build-isolation --no-deps "$ROOT/bindings/python" &&
    rm -rf "$ROOT/bindings/python/build" "$ROOT/bindings/python/"*.egg-info &&
    (cd "$ROOT/bindings/python/tests" &&
     SANA_LIBRARY="$LIB" "$WORK/venv/bin/python" -m pytest -p no:cacheprovider -rxXfE -v \
         --junitxml="$WORK/python-junit.xml" .)
}

step python python_tests
NOTES+=("python: $(grep -E '^=+ .*(passed|failed|error).* =+$' "$LOGS/python.log" | tail -1 | tr -d '=')(xfailed: not implemented yet or a known library gap; skipped: known library bug — see logs/python.log)")

# --- Python, self-contained: libsana copied into the package folder, found without SANA_LIBRARY --
python_bundled() {
    rm -rf "$WORK/bundled" && mkdir -p "$WORK/bundled" &&
    cp -r "$ROOT/bindings/python" "$WORK/bundled/src" && rm -rf "$WORK/bundled/src/tests" &&
    cp -L "$LIB.0" "$WORK/bundled/src/sana/" &&
    "$PY" -m venv --system-site-packages "$WORK/bundled/venv" &&
    "$WORK/bundled/venv/bin/pip" install -q --no-build-isolation --no-deps "$WORK/bundled/src" &&
    (cd / && env -u SANA_LIBRARY -u LD_LIBRARY_PATH "$WORK/bundled/venv/bin/python" -c \
        "import sana, os; p = sana.library._name; print(sana.version(), p); assert os.path.dirname(p) == os.path.dirname(sana.__file__)")
}
step python-bundled python_bundled

# --- install tree: what packagers and the consumers below see -------------------------------
install_tree() { cmake --install "$BUILD" --prefix "$PREFIX"; }
step install install_tree
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# --- Go: cgo through pkg-config against the installed tree -----------------------------------
# Go's build cache lives beside the build tree (kept between runs: faster, still correct).
export GOCACHE="$BUILD/bindings-gocache" GOPATH="$BUILD/bindings-gopath" GOFLAGS=-mod=mod GOPROXY=off
go_tests() { (cd "$ROOT/bindings/go" && go vet ./... && go test -count=1 -v ./...); }
step go go_tests
NOTES+=("go: $(grep -c '^--- PASS' "$LOGS/go.log") passed, $(grep -c '^--- FAIL' "$LOGS/go.log") failed, $(grep -c 'expected-unsupported (' "$LOGS/go.log") expected-unsupported, $(grep -c 'KNOWN BUG' "$LOGS/go.log") known-bug skips")

# --- out-of-tree consumer against the installed tree: pkg-config and find_package --------------
step consumer "$ROOT/tests/consumer/run.sh" "$PREFIX" "$WORK/consumer"

# --- ABI against the committed baseline (libabigail) ---------------------------------------------
step abi env SANA_ABI_WORK="$WORK/abi" "$ROOT/abi/check.sh" "$LIB"
NOTES+=("abi: $(grep '^abi: ' "$LOGS/abi.log" | tail -1 | cut -c6-)")

# --- examples built through pkg-config, run on the tiny model ---------------------------------
TINY=$ROOT/tests/fixtures/sana_tiny
examples() {
    local out=$WORK/examples
    mkdir -p "$out"
    make -s -C "$ROOT/examples/cpp" -f Makefile sana-cpp CXX="${CXX:-c++}" && mv "$ROOT/examples/cpp/sana-cpp" "$out/" &&
    make -s -C "$ROOT/examples/plugin" -f Makefile sana-plugin-host CC="${CC:-cc}" &&
        mv "$ROOT/examples/plugin/sana-plugin-host" "$out/" &&
    "$out/sana-cpp" "$TINY" "a red fox" "$out/cpp.png" --size 96x128 --steps 2 --seed 1 &&
    "$out/sana-plugin-host" "$TINY" "$out/plugin.png" &&
    SANA_LIBRARY="$LIB" "$WORK/venv/bin/python" "$ROOT/examples/python/generate.py" --backend cpu \
        "$TINY" "a red fox" "$out/python.png" --size 96x128 --steps 2 --seed 1 &&
    SANA_LIBRARY="$LIB" "$WORK/venv/bin/python" "$ROOT/examples/python/seeds.py" --backend cpu \
        "$TINY" "a red fox" "$out/seeds.png" --size 96x128 --steps 2 --seeds 1,2 &&
    # The C++ and Python programs asked for the same image, the stage-by-stage one too (seed 1).
    "$PY" -c "import sys; from PIL import Image; a, *b = (Image.open(f).tobytes() for f in sys.argv[1:]); assert all(a == x for x in b), 'C++, Python and stage-by-stage images differ'" \
        "$out/cpp.png" "$out/python.png" "$out/seeds-1.png"
}
step examples examples

# --- Go HTTP service: concurrent curl requests, then its page in headless Chromium ----------
step service "$ROOT/examples/go-service/test.sh" "$WORK/service"
NOTES+=("$(grep '^service: ' "$LOGS/service.log" | tail -1)")

# --- summary -------------------------------------------------------------------------------------
echo
for n in "${NOTES[@]}"; do log "$n"; done
[ ${#FAILED[@]} -gt 0 ] && log "failed: ${FAILED[*]} (logs in $LOGS)"
echo "bindings: ${#PASSED[@]} passed, ${#FAILED[@]} failed"
[ ${#FAILED[@]} -eq 0 ]
