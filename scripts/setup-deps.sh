#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test libsana (skips what is there).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libpng-dev zlib1g-dev libcjson-dev libopenblas-dev python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
