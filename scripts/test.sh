#!/bin/sh
# Builds logshipd three ways and runs the whole test suite in each: plain
# with -Werror, under AddressSanitizer+UndefinedBehaviorSanitizer, and under
# ThreadSanitizer, each in its own build directory; then the libFuzzer
# targets (clang), each for FUZZ_SECONDS; then make distcheck; then the
# Debian package (scripts/package-check.sh: build, lintian, piuparts, the
# install/upgrade/remove/purge sequence with dpkg).
# Any failing test, sanitizer report, fuzzer crash or package check fails
# the run.
#   LS_SKIP_DEPS=1  do not apt-get install the dependencies first
#   LS_LEGS="plain" run only some legs (plain asan tsan fuzz distcheck
#                   package)
#   FUZZ_SECONDS=30 how long each fuzz target runs
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -n "${LS_SKIP_DEPS:-}" ] || scripts/deps.sh
legs=${LS_LEGS:-"plain asan tsan fuzz distcheck package"}
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

autoreconf -fi >/dev/null

count() {
	# Adds a leg's automake totals to the run's.
	p=$(sed -n 's/^# PASS: *//p' "$1/test-suite.log.summary" 2>/dev/null || echo 0)
	f=$(sed -n 's/^# FAIL: *//p' "$1/test-suite.log.summary" 2>/dev/null || echo 0)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

leg() {
	name=$1
	# Sanitized binaries are slower: tests stretch their deadlines.
	LS_TIMEOUT_SCALE=$2
	CK_TIMEOUT_MULTIPLIER=$2
	export LS_TIMEOUT_SCALE CK_TIMEOUT_MULTIPLIER
	shift 2
	echo "=== $name: configure $*"
	mkdir -p "build-$name"
	(cd "build-$name" && "$top/configure" --enable-werror "$@" >configure.out) ||
	    { cat "build-$name/configure.out"; exit 1; }
	make -C "build-$name" -j"$jobs" >/dev/null
	echo "=== $name: make check"
	if make -C "build-$name" -j"$jobs" check >"build-$name/check.out" 2>&1; then
		status=0
	else
		status=1
	fi
	grep -E '^(# [A-Z]+:|(PASS|FAIL|ERROR|XPASS|SKIP):)' "build-$name/check.out" |
	    tee "build-$name/test-suite.log.summary" | grep -v '^PASS:' || true
	count "build-$name"
	if [ $status -ne 0 ]; then
		cat "build-$name/test-suite.log" 2>/dev/null | tail -n 200
		echo "$passed passed, $((failed > 0 ? failed : 1)) failed"
		exit 1
	fi
}

for l in $legs; do
	case $l in
	plain) leg plain 1 ;;
	asan) leg asan 3 --enable-asan ;;
	tsan) leg tsan 5 --enable-tsan ;;
	fuzz)
		# One PASS or FAIL per target, counted like a test.
		echo "=== fuzz: configure CC=clang --enable-fuzz"
		mkdir -p build-fuzz
		(cd build-fuzz && CC=clang "$top/configure" --enable-fuzz >configure.out) ||
		    { cat build-fuzz/configure.out; exit 1; }
		echo "=== fuzz: make fuzz, ${FUZZ_SECONDS:-30} s a target"
		if make -C build-fuzz -j"$jobs" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}" \
		    >build-fuzz/fuzz.out 2>&1; then
			status=0
		else
			status=1
		fi
		grep -E '^(# [A-Z]+:|(PASS|FAIL):)' build-fuzz/fuzz.out |
		    tee build-fuzz/test-suite.log.summary || true
		count build-fuzz
		if [ $status -ne 0 ]; then
			tail -n 100 build-fuzz/fuzz.out
			echo "$passed passed, $((failed > 0 ? failed : 1)) failed"
			exit 1
		fi
		;;
	distcheck)
		echo "=== distcheck"
		mkdir -p build-plain
		[ -f build-plain/Makefile ] ||
		    (cd build-plain && "$top/configure" >/dev/null)
		# The tarball builds and installs from a clean tree (what
		# distcheck is for); its tests are a smoke run of a few suites
		# and one end-to-end test, the three legs above having run
		# them all.
		make -C build-plain -j"$jobs" distcheck \
		    DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
		    TESTS="tests/check_conf tests/check_tail tests/e2e/routing.sh" \
		    >build-plain/distcheck.out 2>&1 ||
		    { tail -n 100 build-plain/distcheck.out; echo "$passed passed, 1 failed"; exit 1; }
		echo "distcheck: ok"
		;;
	package)
		# Installs, upgrades and purges the package on this machine: a
		# CI machine, or a developer's who asked for it. Its output is
		# kept in build-package/check.out.
		mkdir -p build-package
		if LS_SKIP_DEPS=1 scripts/package-check.sh >build-package/check.out 2>&1; then
			status=0
		else
			status=1
		fi
		grep -E '^(=== |(PASS|FAIL): |package: )' build-package/check.out || true
		count build-package
		if [ $status -ne 0 ]; then
			tail -n 100 build-package/check.out
			echo "$passed passed, $((failed > 0 ? failed : 1)) failed"
			exit 1
		fi
		;;
	*) echo "unknown leg $l" >&2; exit 64 ;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
