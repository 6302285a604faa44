#!/usr/bin/env bash
# ABI check: compares libsana's exported ABI with the committed baseline abi/libsana.abi
# (libabigail's abidw/abidiff, Debian package abigail-tools).
#
#   abi/check.sh [LIBSANA.so]        check (default: build a debug copy of the library)
#   abi/check.sh --update [LIB.so]   rewrite the baseline (after a deliberate change)
#
# Fails when the ABI changed incompatibly and the SONAME was not bumped. Incompatible: a removed
# function, a changed parameter or return type, a changed enumerator value, a struct member
# removed, moved or retyped, or a member inserted before the old end. Compatible (reported,
# passes): added functions, added enumerators, members appended to params structs (the
# struct_size rule in sana.h). abidw needs DWARF: a library without debug info is rebuilt here
# as a Debug build of just the library target.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASELINE=$ROOT/abi/libsana.abi
UPDATE=0
if [ "${1:-}" = "--update" ]; then UPDATE=1; shift; fi
LIB=${1:-}
WORK=${SANA_ABI_WORK:-$(mktemp -d)}
mkdir -p "$WORK"

has_dwarf() { [ -n "$1" ] && [ -f "$1" ] && readelf -S "$1" 2>/dev/null | grep -q '\.debug_info'; }
if ! has_dwarf "$LIB"; then
    [ -n "$LIB" ] && echo "abi: $LIB has no debug info; building a debug copy of the library"
    cmake -S "$ROOT" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Debug -DSANA_CUDA=OFF \
        -DSANA_BUILD_TESTS=OFF -DSANA_BUILD_EXAMPLES=OFF >"$WORK/cmake.log" 2>&1 ||
        { cat "$WORK/cmake.log"; exit 1; }
    cmake --build "$WORK/build" -j2 --target sana >>"$WORK/cmake.log" 2>&1 ||
        { tail -30 "$WORK/cmake.log"; exit 1; }
    LIB=$WORK/build/libsana.so
fi

# Only what the public header declares; no paths, locations or DT_NEEDED (they vary by build).
abidw --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --type-id-style hash \
      --drop-private-types --headers-dir "$ROOT/include/sana" "$LIB" --out-file "$WORK/current.abi"
if [ $UPDATE = 1 ]; then
    # The translation-unit paths are the only machine-specific text left: make them relative.
    sed "s|path='$ROOT/|path='|" "$WORK/current.abi" >"$BASELINE"
    echo "abi: baseline written: $BASELINE ($(grep -c '<elf-symbol ' "$BASELINE") symbols)"
    exit 0
fi

soname() { grep -o "soname='[^']*'" "$1" | head -1 | cut -d"'" -f2; }
old_so=$(soname "$BASELINE")
new_so=$(soname "$WORK/current.abi")
set +e
abidiff "$BASELINE" "$WORK/current.abi" >"$WORK/abidiff.txt" 2>&1
rc=$?
set -e
echo "abi: $old_so (baseline) vs $new_so ($LIB): abidiff exit $rc"
if [ $((rc & 3)) -ne 0 ]; then
    cat "$WORK/abidiff.txt"
    echo "abi: abidiff failed to run"
    exit 1
fi
if [ $rc -eq 0 ]; then
    echo "abi: unchanged"
    exit 0
fi
cat "$WORK/abidiff.txt"

# Classify the report: print each incompatible line.
bad=$(awk '
    /type size changed from [0-9]+ to/ { match($0, /from [0-9]+/); old = substr($0, RSTART + 5, RLENGTH - 5) + 0 }
    /data member insertion/ { ins = 1; next }
    ins && /at offset [0-9]+/ {
        match($0, /at offset [0-9]+/); off = substr($0, RSTART + 10, RLENGTH - 10) + 0
        if (old == 0 || off < old) print "member inserted before the end: " $0
        next
    }
    { ins = 0 }
    /Removed function|Removed variable|\[D\]/ && !/ 0 Removed/ { print; next }
    /offset changed|data member deletion|data member change|enumerator change|enumerator deletion|was added$|was removed$|type name changed|typedef name changed|name of .* changed|size of .* changed/ { print }
' "$WORK/abidiff.txt")
if [ $((rc & 8)) -ne 0 ] && [ -z "$bad" ]; then bad="abidiff reports an incompatible change"; fi

if [ -z "$bad" ]; then
    echo "abi: compatible additions only; record them with: abi/check.sh --update"
    exit 0
fi
echo "abi: INCOMPATIBLE changes:"
echo "$bad" | sed 's/^/    /'
if [ "$old_so" != "$new_so" ]; then
    echo "abi: the SONAME was bumped ($old_so -> $new_so): allowed; update the baseline with abi/check.sh --update"
    exit 0
fi
echo "abi: FAIL: incompatible ABI change without a SONAME bump (SANA_VERSION_MAJOR in sana.h sets it)"
exit 1
