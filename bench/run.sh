#!/bin/sh
# Runs the benchmark for each compression mode (see bench/run.py).
#   bench/run.sh [--lines N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# Debian's python3 first: the sink decodes zstd with python3-zstandard.
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
for c in none "zstd --level 1" "gzip --level 6"; do
	# shellcheck disable=SC2086
	$py "$top/bench/run.py" --compression $c "$@"
done
