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
# A build without TLS, for spec/tls_notls_spec.lua.
[ -f build-notls/build.ninja ] || meson setup build-notls -Dtls=false >/dev/null
ninja -C build-notls >/dev/null
export LODE_NOTLS="$PWD/build-notls/lode"

echo "== luacheck"
luacheck -q lua spec examples bench

echo "== busted"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LODE_TEST_BUILD="$PWD/$dir"
# Each spec file runs in a process of its own: one file's leftovers (a listener, a server it
# failed to close) cannot change another's result, and a crash names its file.
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(find spec -name '*_spec.lua' | LC_ALL=C sort)
passed=0; failed=0; bad_files=()
for f in "${files[@]}"; do
  log=$(mktemp)
  set +e
  timeout 600 "$dir/lode" /usr/bin/busted --output=utfTerminal "$f" >"$log" 2>&1
  status=$?
  set -e
  # (|| true: a run that crashed before busted's summary must be reported, not end this script)
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -aE '[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors?' | tail -1 || true)
  ok=$(echo "$summary" | grep -oE '^[0-9]+' || echo 0)
  nf=$(echo "$summary" | grep -oE '[0-9]+ failures?' | grep -oE '[0-9]+' || echo 0)
  ne=$(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0)
  passed=$((passed + ${ok:-0}))
  if [ -z "$summary" ] || [ "$status" -ne 0 ] || [ $((nf + ne)) -ne 0 ]; then
    failed=$((failed + nf + ne))
    [ -z "$summary" ] || [ $((nf + ne)) -eq 0 ] && failed=$((failed + 1))
    bad_files+=("$f")
    echo "-- $f: FAILED (status $status)"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -av "^\s*no file" | tail -60
  else
    echo "-- $f: ${summary%% :*}"
  fi
  rm -f "$log"
done
[ ${#bad_files[@]} -eq 0 ] || echo "failed files: ${bad_files[*]}"
echo "specs: ${passed} passed, ${failed} failed"
[ ${#bad_files[@]} -eq 0 ]
