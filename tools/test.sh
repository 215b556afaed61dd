#!/usr/bin/env bash
# The README's second command: every test. Installs what is missing, builds lode with
# AddressSanitizer and UndefinedBehaviorSanitizer, lints, and runs every spec under that build.
# Ends with one line "specs: N passed, N failed"; the exit status is non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test

dir=build-asan
if [ ! -f $dir/build.ninja ]; then
  meson setup $dir -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug >/dev/null
fi
ninja -C $dir >/dev/null
# The release build of the quick start, also what spec/install_spec.lua installs.
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
export LODE_RELEASE_BUILD="$PWD/build"

echo "== luacheck"
luacheck -q lua spec examples bench

echo "== busted"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LODE_TEST_BUILD="$PWD/$dir"
log=$(mktemp)
set +e
"$dir/lode" /usr/bin/busted --output=utfTerminal "$@" spec 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# busted's summary: "N successes / N failures / N errors / N pending : T seconds"
summary=$(grep -aE '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' "$log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g')
rm -f "$log"
ok=$(echo "$summary" | grep -oE '^[0-9]+' || echo 0)
failed=$(echo "$summary" | grep -oE '[0-9]+ failures?' | grep -oE '[0-9]+' || echo 0)
errors=$(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0)
if [ -z "$summary" ]; then
  echo "tools/test.sh: busted printed no summary (status $status)" >&2
  failed=1
fi
echo "specs: ${ok} passed, $((failed + errors)) failed"
[ "$status" -eq 0 ] && [ $((failed + errors)) -eq 0 ]
