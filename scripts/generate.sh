#!/usr/bin/env bash
# The main job: sets up a fresh machine, builds, and generates an image.
#   scripts/generate.sh --prompt "a cat" --out cat.png              # the bundled tiny model
#   scripts/generate.sh --model /path/to/Sana_600M_1024px_diffusers --prompt "a cat" --out cat.png
set -euo pipefail
here=$(pwd)
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
cli=$(pwd)/${BUILD_DIR:-build}/examples/sana-cli/sana-cli
cd "$here"
exec "$cli" generate "$@"
