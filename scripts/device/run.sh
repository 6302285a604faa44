#!/usr/bin/env bash
# The body of one device `run` call on the H200, from the repository root, with
# carry [".devdeps", ".whl", ".devshared", ".devresults"] filled by scripts/device/prep.sh here
# (the calls, in order, with their budgets: docs/cuda_status.md, "How the next GPU session runs it"):
#
#   bash scripts/device/run.sh STAGE...          the stages run in the order given
#     build              unpack .devdeps, configure and build build-gpu (CUDA sm_90, -Werror, tests
#                        and examples; cuDNN wired in where one is found)
#     test               ctest -R cuda (verbose), the rest of ctest, ctest -R cuda with
#                        SANA_CUDA_CONV=gemm                                     -> $OUT/ctest.log
#     bench              the ceilings (PyTorch), then sana-bench: sana-0.6b, sprint-0.6b,
#                        sana-1.6b-4k (the issue's parameters), sana-0.6b --no-graph and with
#                        SANA_CUDA_CONV=gemm
#     diffusers          for sana-0.6b and sprint-0.6b: bench_diffusers_gpu.py eager, then --compile
#     diffusers-eager, diffusers-compile   one half of that
#     report             the table (scripts/device/report.py): keep it last, the reply shows the tail
#
# $OUT gets four files (a call brings back at most eight): results.json (every step's record with
# its JSON), ctest.log, logs.tar.gz (every step's output), report.txt. The records also stay in
# build-gpu/device-results/ while the machine is warm, and results.json files of earlier calls
# copied into .devresults/ (and carried) are merged in, so a report covers every call.
#
# Every step runs under `timeout` with its own limit, cut to what is left of SANA_RUN_BUDGET
# seconds (default 550, for a call of timeout_s 600); a step with less than half its limit left
# is recorded as skipped and the next call runs it. Knobs:
#   SANA_DEVICE_DRYRUN=1  rehearsal on a CPU machine: SANA_CUDA=OFF build in build-dryrun, tiny
#                         shapes on the CPU, OUT defaults to a new temp folder
#   SANA_SKIP_DONE=1      skip the benchmark steps already recorded as ok (this machine or .devresults)
#   SANA_BENCH_CONFIGS    default "sana-0.6b sprint-0.6b sana-1.6b-4k" (and sana-1.6b); SANA_NOGRAPH=0
#                         drops the --no-graph run, SANA_GEMMCONV=0 the SANA_CUDA_CONV=gemm one
#   SANA_DIFFUSERS_CONFIGS  default "sana-0.6b sprint-0.6b"; SANA_COMPILE_MODE: torch.compile mode
#                         (default: the script's max-autotune-no-cudagraphs)
#   SANA_CUDNN=auto|wheel|off (wheel: python's nvidia-cudnn-cu13 even where the system has one)
#   SANA_JOBS (nproc), SANA_PYTHON (python3), SANA_DEPS_PREFIX (/opt/sana-deps)
set -uo pipefail # no -e: a failed step is recorded and the next one runs

T0=$(date +%s)
cd "$(dirname "$0")/../.." || exit 2
[ $# -gt 0 ] || { sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
for s in "$@"; do
    case $s in
    build | test | bench | diffusers | diffusers-eager | diffusers-compile | report) ;;
    *) echo "run.sh: unknown stage $s (build test bench diffusers diffusers-eager diffusers-compile report)"; exit 2 ;;
    esac
done
ROOT=$PWD
DRY=${SANA_DEVICE_DRYRUN:-0}
BUDGET=${SANA_RUN_BUDGET:-550}
RESERVE=15 # seconds kept for the last collect and the report
JOBS=${SANA_JOBS:-$(nproc)}
PY=${SANA_PYTHON:-python3}
SKIP_DONE=${SANA_SKIP_DONE:-0}
BENCH_CONFIGS=${SANA_BENCH_CONFIGS:-sana-0.6b sprint-0.6b sana-1.6b-4k}
DIFF_CONFIGS=${SANA_DIFFUSERS_CONFIGS:-sana-0.6b sprint-0.6b}
if [ "$DRY" = 1 ]; then
    B=$ROOT/build-dryrun
    DEPS=${SANA_DEPS_PREFIX:-/tmp/sana-dryrun-deps}
    SITE=/tmp/sana-dryrun-site
    OUT=${OUT:-$(mktemp -d /tmp/sana-dryrun-out.XXXXXX)}
else
    B=$ROOT/build-gpu
    DEPS=${SANA_DEPS_PREFIX:-/opt/sana-deps}
    SITE=/tmp/site
    [ -n "${OUT:-}" ] || { echo "run.sh: OUT is not set (the device tool sets it; SANA_DEVICE_DRYRUN=1 elsewhere)"; exit 2; }
fi
R=$B/device-results
mkdir -p "$R" "$OUT" || exit 2
RUNLIB=${LD_LIBRARY_PATH:-} # LD_LIBRARY_PATH for libsana's programs (deps, cuDNN); python keeps its own
EARLIER=()
for f in .devresults/*.json; do [ -f "$f" ] && EARLIER+=("$f"); done

elapsed() { echo $(($(date +%s) - T0)); }
left() { echo $((BUDGET - $(elapsed))); }
clean() { local s=${1//\\/\/}; s=${s//\"/\'}; printf '%s' "${s//$'\n'/ }"; }

# results.json, ctest.log and logs.tar.gz in $OUT, rewritten after every step (a call killed at
# its limit still brings back what ran)
collect() {
    local dryflag=()
    [ "$DRY" = 1 ] && dryflag=(--dryrun) # earlier records of the other kind are left out
    python3 scripts/device/report.py collect "${dryflag[@]}" "$R" "$OUT/results.json" "${EARLIER[@]}"
    : >"$OUT/ctest.log"
    for t in ctest-cuda ctest-all ctest-cuda-gemm; do
        [ -f "$R/$t.out" ] && { echo "===== $t"; cat "$R/$t.out"; } >>"$OUT/ctest.log"
    done
    tar -czf "$OUT/logs.tar.gz" -C "$R" . 2>/dev/null
}

record() { # TAG KIND CONFIG RC WALL_S CMD
    local cfg=null
    [ "$3" != - ] && cfg="\"$3\""
    local rc=$4
    [ "$rc" = skipped ] && rc='"skipped"'
    printf '{"tag": "%s", "kind": "%s", "config": %s, "rc": %s, "wall_s": %s, "time": %s, "dryrun": %s, "cmd": "%s"}\n' \
        "$1" "$2" "$cfg" "$rc" "$5" "$(date +%s)" "$([ "$DRY" = 1 ] && echo true || echo false)" "$(clean "$6")" \
        >"$R/$1.meta"
}

note() { # TAG TEXT: an info record (report.py prints its text)
    printf '%s\n' "$2" >"$R/$1.out"
    : >"$R/$1.err"
    record "$1" info - 0 0 "-"
    echo "[$(printf '%4d' "$(elapsed)")s] $1: $2"
}

# step TAG KIND CONFIG LIMIT CMD...: CMD under timeout (LIMIT seconds, cut to what is left of the
# budget), stdout -> $R/TAG.out, stderr -> $R/TAG.err, its record -> $R/TAG.meta
step() {
    local tag=$1 kind=$2 config=$3 limit=$4
    shift 4
    if [ "$SKIP_DONE" = 1 ] && [[ $kind =~ ^(libsana|diffusers|ceilings)$ ]] &&
        python3 scripts/device/report.py "done" "$tag" "$OUT/results.json"; then
        echo "[$(printf '%4d' "$(elapsed)")s] $tag: ok in an earlier call, skipped (SANA_SKIP_DONE=1)"
        return 0
    fi
    local avail=$(($(left) - RESERVE))
    if [ "$avail" -lt $((limit / 2)) ] || [ "$avail" -lt 20 ]; then # too little left to be worth starting
        : >"$R/$tag.out"
        echo "no time left in this call (SANA_RUN_BUDGET=$BUDGET)" >"$R/$tag.err"
        record "$tag" "$kind" "$config" skipped 0 "$*"
        echo "[$(printf '%4d' "$(elapsed)")s] $tag: SKIPPED, no time left"
        collect
        return 1
    fi
    [ "$limit" -gt "$avail" ] && limit=$avail
    local t0 rc wall
    t0=$(date +%s%N)
    timeout -k 10 "$limit" "$@" >"$R/$tag.out" 2>"$R/$tag.err"
    rc=$?
    wall=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
    record "$tag" "$kind" "$config" "$rc" "$wall" "$*"
    collect
    local word=ok
    [ "$rc" = 0 ] || word="rc $rc"
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && word="TIMEOUT after ${limit}s"
    printf '[%4ds] %-34s %-22s %7.1f s\n' "$(elapsed)" "$tag" "$word" "$wall"
    return "$rc"
}

# --- the environment: libpng/zlib/cJSON, nvcc, cuDNN ----------------------------------------------
setup_deps() {
    if ! compgen -G ".devdeps/*.deb" >/dev/null; then
        if [ "$DRY" = 1 ]; then note deps "no .devdeps: the system's libpng/zlib/cJSON"; DEPS=; return 0; fi
        note deps "no .devdeps/*.deb: run scripts/device/prep.sh here and carry .devdeps"
        return 1
    fi
    local lib=$DEPS/usr/lib/x86_64-linux-gnu f sysz
    mkdir -p "$DEPS" || return 1
    # dpkg where the image has it; else the same unpacking in python (scripts/device/undeb.py)
    for f in .devdeps/*.deb; do
        if command -v dpkg >/dev/null; then dpkg -x "$f" "$DEPS"; else python3 scripts/device/undeb.py "$f" "$DEPS"; fi ||
            { note deps "could not unpack $f into $DEPS"; return 1; }
    done
    # cJSON's CMake files name /usr/... absolutely: point them into the prefix
    sed -i "s#\"/usr\\([/\"]\\)#\"$DEPS/usr\\1#g" "$lib"/cmake/cJSON/*.cmake || return 1
    # zlib1g-dev's libz.so points at /lib/x86_64-linux-gnu/libz.so.1.2.13 (Debian's zlib1g, not
    # carried): where the image's zlib is another version, at the image's libz.so.1
    if [ ! -e "$lib/libz.so" ]; then
        sysz=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
        [ -n "$sysz" ] && ln -sf "$sysz" "$lib/libz.so"
    fi
    RUNLIB=$lib${RUNLIB:+:$RUNLIB}
    note deps "libpng/zlib/cJSON unpacked into $DEPS ($(find .devdeps -name '*.deb' | wc -l) .debs)"
}

setup_cuda() {
    [ "$DRY" = 1 ] && return 0
    local d
    if ! command -v nvcc >/dev/null; then
        for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
            [ -x "$d/nvcc" ] && { PATH=$PATH:$d; break; }
        done
    fi
    note gpu "$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,temperature.gpu,power.draw \
        --format=csv,noheader 2>&1 | head -n 2); $(nvcc --version 2>&1 | grep -o 'release [0-9.]*' || echo 'no nvcc')"
}

# cuDNN: libsana compiles its cuDNN path against cudnn.h (CMake looks beside the toolkit's headers
# and in CMAKE_INCLUDE_PATH) and dlopens libcudnn.so.9 at run time (SANA_CUDNN_LIBRARY overrides;
# docs/cuda_status.md, "Convolutions"). The system's when it has both, else the python wheel
# nvidia-cudnn-cu13's headers and library.
setup_cudnn() {
    [ "$DRY" = 1 ] || [ "${SANA_CUDNN:-auto}" = off ] && return 0
    local d h="" l="" p so
    for d in /usr/local/cuda/include /usr/local/cuda/targets/x86_64-linux/include /usr/include \
        /usr/include/x86_64-linux-gnu; do
        [ -e "$d/cudnn.h" ] && { h=$d; break; }
    done
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
        [ -e "$d/libcudnn.so.9" ] && { l=$d; break; }
    done
    if [ -n "$h" ] && [ -n "$l" ] && [ "${SANA_CUDNN:-auto}" != wheel ]; then
        RUNLIB=$l${RUNLIB:+:$RUNLIB} # dlopen("libcudnn.so.9") must find it and its sub-libraries
        note cudnn "the system's: $h/cudnn.h, $l/libcudnn.so.9"
        return 0
    fi
    p=$("$PY" -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) || p=
    so=$(compgen -G "$p/lib/libcudnn.so.9" | head -n 1)
    if [ -z "$p" ] || [ -z "$so" ] || [ ! -e "$p/include/cudnn.h" ]; then
        note cudnn "none found (system: header '${h}', library '${l}'; no python wheel): the GEMM convolutions only"
        return 0
    fi
    export CMAKE_INCLUDE_PATH=$p/include${CMAKE_INCLUDE_PATH:+:$CMAKE_INCLUDE_PATH}
    export SANA_CUDNN_LIBRARY=$so
    RUNLIB=$p/lib${RUNLIB:+:$RUNLIB} # its libcudnn_cnn.so.9 etc.
    note cudnn "python's nvidia-cudnn wheel: $p (CMAKE_INCLUDE_PATH, SANA_CUDNN_LIBRARY, LD_LIBRARY_PATH)"
}

# --- the stages ----------------------------------------------------------------------------------
stage_build() {
    local gen=() cuda=(-DSANA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90-real) prefix=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    [ "$DRY" = 1 ] && cuda=(-DSANA_CUDA=OFF)
    [ -n "$DEPS" ] && prefix=(-DCMAKE_PREFIX_PATH="$DEPS/usr")
    # a folder configured with another generator stops cmake
    if [ -f "$B/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}" "$B/CMakeCache.txt"; then
        rm -rf "$B/CMakeCache.txt" "$B/CMakeFiles"
    fi
    local cfg=(cmake -S "$ROOT" -B "$B" "${gen[@]}" "${cuda[@]}" "${prefix[@]}" -DSANA_BUILD_TESTS=ON
        -DSANA_BUILD_EXAMPLES=ON -DCMAKE_BUILD_TYPE=Release)
    step configure build - 180 "${cfg[@]}" -DSANA_WERROR=ON || return 1
    note found "$(grep -E '^(PNG_LIBRARY_RELEASE|ZLIB_LIBRARY_RELEASE|cJSON_DIR|SANA_CUDNN_INCLUDE|CMAKE_CUDA_COMPILER|CMAKE_CUDA_ARCHITECTURES|CMAKE_C_COMPILER):' \
        "$B/CMakeCache.txt" | sed 's/:[A-Z]*=/=/' | tr '\n' ' ')$(grep -o 'BLAS for the CPU backend: [A-Z]*' "$R/configure.out")"
    step build build - 420 cmake --build "$B" -j "$JOBS" && return 0
    # The image's gcc is not this machine's (12): where the build failed only on warnings made
    # errors, build again without -Werror so that this call still tests and benchmarks; the
    # warnings are in the report (build's last lines): fix them here. SANA_WERROR_RETRY=0: no retry.
    local errs
    errs=$(cat "$R/build.out" "$R/build.err" 2>/dev/null | grep -E 'error:|CMake Error' |
        grep -v -e '\[-Werror' -e 'warnings being treated as errors' -e '^ninja: build stopped' | head -n 3)
    if [ "${SANA_WERROR_RETRY:-1}" != 1 ] || ! grep -q '\[-Werror' "$R/build.out" "$R/build.err" || [ -n "$errs" ]; then
        return 1
    fi
    note werror "the build failed only on -Werror (the image's compiler warns where this machine's does not): rebuilt without it (build-nowerror); the warnings are in the build step's last lines below and in logs.tar.gz: fix them here"
    step configure-nowerror build - 120 "${cfg[@]}" -DSANA_WERROR=OFF || return 1
    step build-nowerror build - 420 cmake --build "$B" -j "$JOBS"
}

BUILD_OK=1 # a failed build leaves older programs in a warm machine's build-gpu: run none of them

stage_test() {
    local shared=() omp=$((JOBS / 4 > 0 ? JOBS / 4 : 1))
    [ -d .devshared/data ] && shared=("SANA_SHARED_DIR=$ROOT/.devshared")
    [ "$BUILD_OK" = 1 ] || { note ctest "not run: the build failed"; return 1; }
    [ -f "$B/CTestTestfile.cmake" ] || { note ctest "no build in $B: run the build stage first"; return 1; }
    # verbose (ctest -V, SANA_TEST_VERBOSE=1: tests/harness.c prints passing checks too): every
    # check's relative error is in the log, and whether cuDNN loaded
    step ctest-cuda ctest - 240 env "${shared[@]}" LD_LIBRARY_PATH="$RUNLIB" OMP_NUM_THREADS="$omp" \
        SANA_TEST_VERBOSE=1 ctest --test-dir "$B" -R cuda -V -j 4
    # the rest of ctest (the CUDA tests ran just above: not twice on the device's clock)
    step ctest-all ctest - 240 env "${shared[@]}" LD_LIBRARY_PATH="$RUNLIB" OMP_NUM_THREADS=1 \
        ctest --test-dir "$B" -E cuda --output-on-failure -j "$JOBS"
    # the CUDA tests once more on the im2col + GEMM convolutions (the default is cuDNN when it loads)
    step ctest-cuda-gemm ctest - 180 env "${shared[@]}" LD_LIBRARY_PATH="$RUNLIB" OMP_NUM_THREADS="$omp" \
        SANA_CUDA_CONV=gemm ctest --test-dir "$B" -R cuda --output-on-failure -j 4
}

bench_args() { # CONFIG -> sana-bench / bench_diffusers_gpu.py arguments: runs, warm-ups, extras
    case $1 in
    sprint-0.6b) echo "--runs 10 --warmup 2" ;;
    sana-1.6b-4k) echo "--runs 1 --warmup 0" ;; # completes + peak; a second run doubles minutes
    *) echo "--runs 5 --warmup 1" ;;
    esac
}

bench_limit() { # CONFIG -> seconds
    case $1 in
    sana-1.6b-4k) echo 240 ;;
    sprint-0.6b) echo 120 ;;
    *) echo 150 ;;
    esac
}

stage_bench() {
    local sb=$B/examples/sana-bench/sana-bench c args
    [ "$BUILD_OK" = 1 ] || { note sana-bench "not run: the build failed"; return 1; }
    [ -x "$sb" ] || { note sana-bench "no $sb: run the build stage first"; return 1; }
    [ "$DRY" = 1 ] || step ceilings ceilings - 90 "$PY" scripts/device/ceilings.py
    for c in $BENCH_CONFIGS; do
        # shellcheck disable=SC2207
        args=($(bench_args "$c"))
        [ "$c" = sana-1.6b-4k ] && args+=(--decode-budget 8000000000)
        if [ "$DRY" = 1 ]; then
            step "libsana_$c" libsana "$c" 120 env LD_LIBRARY_PATH="$RUNLIB" "$sb" --backend cpu --config tiny \
                --size 64 --runs 2 --warmup 1
        else
            step "libsana_$c" libsana "$c" "$(bench_limit "$c")" env LD_LIBRARY_PATH="$RUNLIB" "$sb" --config "$c" \
                "${args[@]}"
        fi
    done
    [[ " $BENCH_CONFIGS " == *" sana-0.6b "* ]] || return 0
    local a=(--config sana-0.6b --runs 3 --warmup 1)
    [ "$DRY" = 1 ] && a=(--backend cpu --config tiny --size 64 --runs 2 --warmup 1)
    # what the graph replay buys; what cuDNN buys in the decode (SANA_CUDA_CONV=gemm)
    [ "${SANA_NOGRAPH:-1}" = 1 ] &&
        step libsana-nograph_sana-0.6b libsana sana-0.6b 120 env LD_LIBRARY_PATH="$RUNLIB" "$sb" "${a[@]}" --no-graph
    [ "${SANA_GEMMCONV:-1}" = 1 ] &&
        step libsana-gemmconv_sana-0.6b libsana sana-0.6b 120 env LD_LIBRARY_PATH="$RUNLIB" SANA_CUDA_CONV=gemm "$sb" \
            "${a[@]}"
    return 0
}

WHEELS_OK=0
setup_wheels() { # the README's recipe: diffusers and what the image lacks, into $SITE
    [ "$WHEELS_OK" = 1 ] && return 0
    compgen -G ".whl/*.whl" >/dev/null || { note wheels "no .whl/*.whl: run scripts/device/prep.sh here and carry .whl"; return 1; }
    step wheels setup - 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl && WHEELS_OK=1
}

diffusers_one() { # CONFIG eager|compile
    local c=$1 mode=$2 args extra=() limit=180
    setup_wheels || return 1
    # shellcheck disable=SC2207
    args=($(bench_args "$c"))
    if [ "$mode" = compile ]; then
        extra=(--compile)
        [ -n "${SANA_COMPILE_MODE:-}" ] && extra+=(--compile-mode "$SANA_COMPILE_MODE")
        args=(--runs 5 --warmup 2) # the first warm-up compiles (and autotunes)
        limit=360
    fi
    if [ "$DRY" = 1 ]; then
        args=(--device cpu --config tiny --size 64 --runs 1 --warmup 0)
        [ "$mode" = compile ] && args=(--device cpu --config tiny --size 64 --runs 1 --warmup 1)
        [ "$mode" = compile ] && [ -z "${SANA_COMPILE_MODE:-}" ] && extra+=(--compile-mode default)
    else
        args=(--config "$c" "${args[@]}")
    fi
    # offline: nothing can be reached there, and a hub lookup must fail at once, not time out
    step "diffusers-${mode}_$c" diffusers "$c" "$limit" env PYTHONPATH="$SITE" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
        HF_HUB_DISABLE_TELEMETRY=1 "$PY" bench/python/bench_diffusers_gpu.py "${args[@]}" "${extra[@]}"
}

stage_diffusers() { # eager|compile|both
    local c
    for c in $DIFF_CONFIGS; do
        [ "$1" = compile ] || diffusers_one "$c" eager
        [ "$1" = eager ] || diffusers_one "$c" compile
    done
}

stage_report() {
    collect
    python3 scripts/device/report.py report "$OUT/results.json" | tee "$OUT/report.txt"
}

# --- main ------------------------------------------------------------------------------------------
echo "run.sh $* (dry run: $DRY; budget ${BUDGET}s; jobs $JOBS; results in $R; OUT=$OUT)"
collect
status=0
for s in "$@"; do
    case $s in
    build | test | bench)
        setup_deps || status=1
        setup_cuda
        setup_cudnn
        break
        ;;
    esac
done
for s in "$@"; do
    case $s in
    build) stage_build || { status=1; BUILD_OK=0; } ;;
    test) stage_test || status=1 ;;
    bench) stage_bench || status=1 ;;
    diffusers) stage_diffusers both || status=1 ;;
    diffusers-eager) stage_diffusers eager || status=1 ;;
    diffusers-compile) stage_diffusers compile || status=1 ;;
    report) stage_report ;;
    esac
done
collect
exit "$status"
