#!/usr/bin/env bash
# Installs the Debian 12 packages lode needs to build and test, only those that are missing.
# Usage: tools/deps.sh [build|test]   (test includes build)
set -euo pipefail

build_pkgs=(gcc pkg-config meson ninja-build lua5.4 liblua5.4-dev libuv1-dev libnghttp2-dev
            libmbedtls-dev node-llhttp)
test_pkgs=(lua-busted lua-check curl openssl ca-certificates nghttp2-client nghttp2-server python3-h2 nodejs netcat-openbsd chromium)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node 20 may come from outside Debian's archive: any working `node` will do.
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "tools/deps.sh: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
