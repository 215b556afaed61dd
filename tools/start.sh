#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the main example, an
# HTTP/2 server (examples/server.lua) on its built-in default port.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh build
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
exec build/lode examples/server.lua "$@"
