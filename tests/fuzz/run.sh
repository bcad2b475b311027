#!/bin/sh
# Runs each libFuzzer target for FUZZ_SECONDS (default 60) on a copy of its
# seed corpus, from the build directory (make fuzz):
#	run.sh SEED_DIR TARGET...
# Each target's corpus is tests/tmp/fuzz/<name>/, kept between runs so that
# a run starts from what the last one found; its log is <name>.log beside
# it, and an input that crashed, leaked or hung is saved as
# <name>-crash-*, -leak-* or -timeout-*. Prints an automake-style
# PASS/FAIL line per target and the totals; exits 1 if any target failed.
set -u
seeds=$1
shift
secs=${FUZZ_SECONDS:-60}
work=tests/tmp/fuzz
pass=0
fail=0
mkdir -p "$work/tmp"
# Temporary files of the targets (fuzz_checkpoint's directory) stay in the
# build tree, even when a crash skips their removal.
TMPDIR=$(cd "$work/tmp" && pwd)
export TMPDIR
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export UBSAN_OPTIONS

for t in "$@"; do
	name=$(basename "$t")
	mkdir -p "$work/$name"
	if [ -d "$seeds/$name" ]; then
		cp "$seeds/$name"/* "$work/$name/" 2>/dev/null || true
	fi
	log=$work/$name.log
	echo "=== $name: $secs s"
	"$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/$name-" \
	    "$work/$name" >"$log" 2>&1
	rc=$?
	# The last status line: "#N DONE cov: C ft: F corp: K/S ...".
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	info="${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "PASS: $t ($secs s, $info)"
	else
		fail=$((fail + 1))
		echo "FAIL: $t (exit $rc, $info)"
		tail -n 60 "$log"
		ls "$work/$name"-* 2>/dev/null | sed 's/^/  saved: /'
	fi
done
echo "# TOTAL: $((pass + fail))"
echo "# PASS: $pass"
echo "# FAIL: $fail"
[ $fail -eq 0 ]
