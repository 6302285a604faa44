#!/usr/bin/env bash
# Builds and runs the consumer against an installed libsana, both ways:
#   tests/consumer/run.sh PREFIX WORKDIR
# pkg-config (shared, and static with --static) and find_package (sana::sana, sana::sana_static).
set -euo pipefail
PREFIX=$(cd "$1" && pwd)
WORK=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$WORK" && mkdir -p "$WORK"
CC=${CC:-cc}
CXX=${CXX:-c++}
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"

echo "== pkg-config: $(pkg-config --modversion sana), $(pkg-config --cflags --libs sana)"
$CC -std=c11 -Wall -Wextra -Werror "$HERE/consumer.c" -o "$WORK/pc_shared" $(pkg-config --cflags --libs sana)
$CXX -std=c++17 -Wall -Wextra -Werror "$HERE/consumer.cpp" -o "$WORK/pc_cxx" $(pkg-config --cflags --libs sana)
# Static: the archive by file name, then its private dependencies from the .pc.
$CC -std=c11 "$HERE/consumer.c" -o "$WORK/pc_static" $(pkg-config --cflags sana) \
    $(pkg-config --static --libs sana | sed 's/-lsana\b/-l:libsana.a/')
readelf -d "$WORK/pc_shared" | grep -q 'NEEDED.*libsana\.so\.[0-9]' ||
    { echo "pc_shared does not link libsana by its SONAME"; exit 1; }
if readelf -d "$WORK/pc_static" | grep -q 'NEEDED.*libsana'; then
    echo "pc_static links libsana dynamically"; exit 1
fi
LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/pc_shared"
LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/pc_cxx"
env -u LD_LIBRARY_PATH "$WORK/pc_static"

echo "== find_package(sana)"
cmake -S "$HERE" -B "$WORK/cmake" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$WORK/cmake" -j2 >/dev/null
LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/cmake/consumer_shared"
LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/cmake/consumer_cxx"
env -u LD_LIBRARY_PATH "$WORK/cmake/consumer_static"
echo "consumer: all builds ok"
