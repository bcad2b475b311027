#!/bin/sh
# Runs the benchmark for each compression mode (see bench/run.py).
#   bench/run.sh [--lines N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
for c in none gzip; do
	python3 "$top/bench/run.py" --compression "$c" "$@"
done
