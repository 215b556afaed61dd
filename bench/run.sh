#!/usr/bin/env bash
# lode's side-by-side benchmark: bench/run.sh [--quick] [--only hello,many,...]. See bench/README.md.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
