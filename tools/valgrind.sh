#!/usr/bin/env bash
# Runs every spec file (or those named) under valgrind's memcheck: any invalid read or write, or
# any definitely lost block, fails the file. Slow (minutes); not part of tools/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test
command -v valgrind >/dev/null || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get install -y -qq valgrind >/dev/null; }
dir=build-vg
[ -f $dir/build.ninja ] || meson setup $dir --buildtype=debug >/dev/null
ninja -C $dir >/dev/null
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
export LODE_TEST_BUILD="$PWD/$dir" LODE_RELEASE_BUILD="$PWD/build"
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(find spec -name '*_spec.lua' | LC_ALL=C sort)
bad=()
for f in "${files[@]}"; do
  log=$(mktemp)
  # Children (curl, node, the lode under test) are not traced: only this process is checked.
  set +e
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$dir/lode" /usr/bin/busted "$f" >"$log" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    echo "-- $f: clean"
  elif [ $rc -eq 99 ]; then
    echo "-- $f: MEMCHECK ERRORS"; grep -aE "==[0-9]+==" "$log" | head -40; bad+=("$f")
  else
    # No memory error; a spec failed, usually a timing limit under valgrind's slowdown.
    echo "-- $f: clean, but specs failed under valgrind (status $rc):"
    grep -aE "successes|Failure ->|Error ->" "$log" | head -5
  fi
  rm -f "$log"
done
echo "valgrind: $(( ${#files[@]} - ${#bad[@]} )) files clean, ${#bad[@]} with memory errors"
[ ${#bad[@]} -eq 0 ]
