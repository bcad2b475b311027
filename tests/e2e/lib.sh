# lib.sh: sourced by every end-to-end test (POSIX sh).
#
# Each test runs the real logshipd against tests/fake-intake/intake.py on an
# ephemeral loopback port, in its own temp dir $T, under "trap cleanup EXIT".
# Waits are bounded polls (wait_for), never fixed sleeps; every deadline is
# multiplied by LS_TIMEOUT_SCALE (e.g. 5 under TSan).
#
# Environment (exported by "make check"; defaults for running by hand):
#   LOGSHIPD          the binary
#   TOP_SRCDIR        the source tree
#   PYTHON3           python3 (missing: the test is skipped, exit 77)
#   LS_TIMEOUT_SCALE  deadline multiplier, an integer or decimal (1)
#   LS_KEEP           1: keep $T even when the test passes

set -eu

if [ -z "${TOP_SRCDIR:-}" ]; then
	TOP_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
fi
: "${PYTHON3:=python3}"
: "${LS_TIMEOUT_SCALE:=1}"
: "${LS_KEEP:=0}"
if [ -z "${LOGSHIPD:-}" ]; then
	for f in "$PWD/logshipd" ../logshipd "$TOP_SRCDIR/build/logshipd" \
	    "$TOP_SRCDIR/logshipd"; do
		if [ -x "$f" ]; then
			LOGSHIPD=$f
			break
		fi
	done
	: "${LOGSHIPD:=$PWD/logshipd}"
fi
INTAKE_PY=$TOP_SRCDIR/tests/fake-intake/intake.py
TEST_NAME=$(basename "$0" .sh)

if ! command -v "$PYTHON3" >/dev/null 2>&1; then
	echo "SKIP: $TEST_NAME: no python3 ($PYTHON3)" >&2
	exit 77
fi

# The API key the Datadog destinations read (api_key_env: DD_API_KEY) and
# the intake checks (start_intake --api-key "$DD_API_KEY").
DD_API_KEY=e2e-key-0123456789abcdef
export DD_API_KEY

T=$(mktemp -d "${TMPDIR:-/tmp}/logshipd-e2e-$TEST_NAME.XXXXXX")
LS_PID=
LS_STATUS=
LS_AS= # a prefix that runs logshipd as another user (as_unprivileged)
LS_USERS= # users the test made (attacker_user), deleted by cleanup
INTAKE_PID=
INTAKE_PORT=
INTAKE_URL=

cleanup() {
	status=$?
	set +e
	if [ -n "$LS_PID" ]; then
		kill -KILL "$LS_PID" 2>/dev/null
		wait "$LS_PID" 2>/dev/null
	fi
	if [ -n "$INTAKE_PID" ]; then
		kill -TERM "$INTAKE_PID" 2>/dev/null
		wait "$INTAKE_PID" 2>/dev/null
	fi
	for _u in $LS_USERS; do
		pkill -KILL -u "$_u" 2>/dev/null
		userdel "$_u" 2>/dev/null
	done
	# A sanitizer report anywhere in the daemon's log fails the test, even
	# from a run the test killed on purpose.
	if [ "$status" -eq 0 ] && [ -f "$T/logshipd.log" ] &&
	    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' \
	    "$T/logshipd.log"; then
		echo "FAIL: $TEST_NAME: sanitizer report in $T/logshipd.log" >&2
		status=1
	fi
	if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
		if [ -s "$T/logshipd.log" ]; then
			echo "--- last 150 lines of $T/logshipd.log" >&2
			tail -n 150 "$T/logshipd.log" >&2
			echo "---" >&2
		fi
		echo "FAIL: $TEST_NAME (exit $status); kept $T" >&2
	elif [ "$LS_KEEP" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

log() {
	echo "$TEST_NAME: $*" >&2
}

# assert_eq ACTUAL EXPECTED MSG
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# scaled SECONDS: the deadline in whole seconds, times LS_TIMEOUT_SCALE.
scaled() {
	awk -v s="$1" -v k="$LS_TIMEOUT_SCALE" \
	    'BEGIN { v = s * k; i = int(v); if (i < v) i++; print i }'
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_for TIMEOUT_SECONDS CMD...: polls CMD until it succeeds, or fails the
# test once the (scaled) deadline has passed.
wait_for() {
	_wf_to=$(scaled "$1")
	shift
	_wf_end=$(($(now_ms) + _wf_to * 1000))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(now_ms)" -ge "$_wf_end" ]; then
			fail "timed out after ${_wf_to}s waiting for: $*"
		fi
		sleep 0.1 # ok-sleep: bounded poll
	done
}

# Is process $1 (our child) still running? A zombie is not.
alive() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $_st in
	Z* | "") return 1 ;;
	esac
	return 0
}

# -- the fake intake --------------------------------------------------------

# start_intake [intake.py serve args]: sets INTAKE_PORT, INTAKE_URL.
start_intake() {
	rm -f "$T/intake.port"
	"$PYTHON3" "$INTAKE_PY" serve --port-file "$T/intake.port" "$@" \
	    2>>"$T/intake.log" &
	INTAKE_PID=$!
	_end=$(($(now_ms) + $(scaled 15) * 1000))
	while [ ! -s "$T/intake.port" ]; do
		alive "$INTAKE_PID" || {
			cat "$T/intake.log" >&2
			fail "the fake intake died at start"
		}
		[ "$(now_ms)" -lt "$_end" ] || fail "the fake intake did not start"
		sleep 0.1 # ok-sleep: bounded poll
	done
	INTAKE_PORT=$(cat "$T/intake.port")
	INTAKE_URL=http://127.0.0.1:$INTAKE_PORT
}

# stop_intake: SIGTERM, and the intake must exit 0.
stop_intake() {
	kill -TERM "$INTAKE_PID"
	_st=0
	wait "$INTAKE_PID" || _st=$?
	INTAKE_PID=
	assert_eq "$_st" 0 "fake intake exit status"
}

# intake CMD [args]: the intake's command-line client (count, entries,
# messages, stats, control, post, check), pointed at this test's intake.
intake() {
	_cmd=$1
	shift
	"$PYTHON3" "$INTAKE_PY" "$_cmd" --port-file "$T/intake.port" "$@"
}

# intake_stat PYEXPR: evaluates a Python expression over the stats dict s.
# e.g. intake_stat 's["by_status"].get("500", 0)'
intake_stat() {
	intake stats | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# wait_count PATH N TIMEOUT: until the intake holds at least N entries on
# PATH. Fails early if logshipd died.
wait_count() {
	_wc_to=$(scaled "$3")
	_wc_end=$(($(now_ms) + _wc_to * 1000))
	while :; do
		_wc_n=$(intake count --path "$1")
		[ "$_wc_n" -ge "$2" ] && return 0
		if [ -n "$LS_PID" ] && ! alive "$LS_PID"; then
			fail "logshipd died while waiting for $2 entries on $1 (have $_wc_n)"
		fi
		if [ "$(now_ms)" -ge "$_wc_end" ]; then
			fail "timed out after ${_wc_to}s: $_wc_n of $2 entries on $1"
		fi
		sleep 0.1 # ok-sleep: bounded poll
	done
}

# -- logshipd -----------------------------------------------------------------

# write_config FILE <<EOF ... EOF
write_config() {
	cat >"$1"
	no_default_metrics "$1"
}

# wait_count_peak N SECONDS PROCDIR: waits, as wait_count does, for N
# entries at the intake, sampling meanwhile how many entries
# /proc/$LS_PID/PROCDIR holds (fd: descriptors, task: threads); the most
# seen is left in $PEAK.
wait_count_peak() {
	PEAK=0
	_wp_end=$(($(now_ms) + $(scaled "$2") * 1000))
	while :; do
		# shellcheck disable=SC2012
		if _wp_n=$(ls "/proc/$LS_PID/$3" 2>/dev/null | wc -l) &&
		    [ "$_wp_n" -gt "$PEAK" ]; then
			PEAK=$_wp_n
		fi
		_wp_c=$(intake count)
		[ "$_wp_c" -ge "$1" ] && return 0
		alive "$LS_PID" || fail "logshipd died with $_wp_c of $1 lines in"
		[ "$(now_ms)" -lt "$_wp_end" ] ||
		    fail "timed out: $_wp_c of $1 lines (at most $PEAK in /proc/pid/$3)"
		sleep 0.2 # ok-sleep: bounded poll
	done
}

# app_config [MAX_ENTRIES [SOURCE_KEYS [TOP_KEYS]]]: writes
# $T/logshipd.yaml, the configuration most tests start from: source "app"
# tails $T/logs/*.log with fast timers (SOURCE_KEYS: more of its keys, one
# YAML line; TOP_KEYS: more top-level keys), and destination "dd" ships to
# the fake intake in batches of MAX_ENTRIES (100) or 200 ms, retrying from
# 100 ms. State goes to $T/state. SCAN_INTERVAL and POLL_INTERVAL, when
# set, replace the scan and poll periods (200ms, 100ms).
app_config() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
${3:-}
$(app_source)
${2:+    $2}
$(dd_dest)
    batch: { max_entries: ${1:-100}, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
}

# The pieces most test configurations are made of, to put in a heredoc
# with the test's own keys after each: app_top (state in $T/state, a 10 s
# drain, fast scan and poll: SCAN_INTERVAL and POLL_INTERVAL replace
# 200ms and 100ms), app_source (source "app" on $T/logs/*.log) and dd_dest
# (destination "dd", Datadog-style, at the fake intake).
app_top() {
	printf '%s\n' "state_dir: $T/state" "shutdown_timeout: 10s" \
	    "scan_interval: ${SCAN_INTERVAL:-200ms}" \
	    "poll_interval: ${POLL_INTERVAL:-100ms}"
}
app_source() {
	app_source_in "$T/logs"
}
dd_dest() {
	printf '%s\n' "destinations:" "  - name: dd" "    type: datadog" \
	    "    url: $INTAKE_URL/api/v2/logs" "    api_key_env: DD_API_KEY"
}

# app_source_in DIR: app_source on DIR/*.log instead (a second logshipd's
# logs, e.g. $T/logs2).
app_source_in() {
	printf '%s\n' "sources:" "  - name: app" \
	    "    paths: [\"$1/*.log\"]"
}

# many_config RETRY_MAX [TOP_KEYS]: writes $T/logshipd.yaml, the
# configuration of the tests of many files: state in $T/state, a 20 s
# drain, TOP_KEYS (more top-level keys, one a line: the timers too),
# source "many" on $T/logs/*.log, and destination "dd" (2 workers) in
# batches of 1000 or 200 ms, retrying from 100 ms up to RETRY_MAX.
many_config() {
	write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
${2:-}
sources:
  - name: many
    paths: ["$T/logs/*.log"]
$(dd_dest)
    workers: 2
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: $1 }
YAML
}

# no_default_metrics FILE: turns the status endpoint off in FILE unless it
# sets metrics: its default port is one for the whole machine, and tests
# run in parallel. A test that wants the endpoint picks a free port.
no_default_metrics() {
	grep -q '^metrics:' "$1" || echo 'metrics: { listen: "" }' >>"$1"
}

# free_port: prints a TCP port on 127.0.0.1 that is free now (for the
# status endpoint: metrics: { listen: "127.0.0.1:PORT" }).
free_port() {
	"$PYTHON3" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# reading_paused: the status endpoint at 127.0.0.1:$METRICS_PORT says
# reading is paused (logshipd_reading_paused 1, by max_buffer_bytes).
reading_paused() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
sys.exit(0 if "\nlogshipd_reading_paused 1\n" in "\n" + body else 1)
PY
}

need_logshipd() {
	[ -x "$LOGSHIPD" ] || fail "no logshipd binary at $LOGSHIPD (set LOGSHIPD)"
}

# start_logshipd CONFIG [args]: in the background, output to
# $T/logshipd.log; sets LS_PID.
start_logshipd() {
	need_logshipd
	_cf=$1
	shift
	no_default_metrics "$_cf"
	echo "=== $LOGSHIPD -d -v -c $_cf $*" >>"$T/logshipd.log"
	# shellcheck disable=SC2086
	$LS_AS "$LOGSHIPD" -d -v -c "$_cf" "$@" >>"$T/logshipd.log" 2>&1 &
	LS_PID=$!
	LS_STATUS=
}

# stop_logshipd [SIG] [TIMEOUT]: sends SIG (TERM), waits at most TIMEOUT
# (scaled, default 60) seconds; sets LS_STATUS and LS_STOP_MS (how long it
# took to exit).
stop_logshipd() {
	_sig=${1:-TERM}
	_sto=$(scaled "${2:-60}")
	[ -n "$LS_PID" ] || fail "stop_logshipd: logshipd is not running"
	_t0=$(now_ms)
	kill -"$_sig" "$LS_PID" 2>/dev/null || true
	while alive "$LS_PID"; do
		if [ "$(now_ms)" -ge $((_t0 + _sto * 1000)) ]; then
			fail "logshipd did not exit within ${_sto}s of SIG$_sig"
		fi
		sleep 0.1 # ok-sleep: bounded poll
	done
	LS_STOP_MS=$(($(now_ms) - _t0))
	LS_STATUS=0
	wait "$LS_PID" || LS_STATUS=$?
	LS_PID=
	log "logshipd exited $LS_STATUS, ${LS_STOP_MS}ms after SIG$_sig"
}

# ls_final_read: N of the last "final: read=N lines" line in the log.
ls_final_read() {
	sed -n 's/.*final: read=\([0-9][0-9]*\).*/\1/p' "$T/logshipd.log" |
	    tail -n 1
}

# ls_dest_stat NAME KEY: KEY (sent, dropped, unsent) of the last
# "destination NAME: sent=N dropped=N unsent=N" line.
ls_dest_stat() {
	sed -n "/destination $1: /s/.*[ :]$2=\\([0-9][0-9]*\\).*/\\1/p" \
	    "$T/logshipd.log" | tail -n 1
}

# gen_lines FILE N [PREFIX]: appends N distinct INFO lines (python: fast
# for 100k lines).
gen_lines() {
	"$PYTHON3" - "$@" <<'PYEOF'
import sys
fname, n = sys.argv[1], int(sys.argv[2])
prefix = sys.argv[3] if len(sys.argv) > 3 else "line"
with open(fname, "a") as f:
    for i in range(n):
        f.write("2026-11-23T10:00:00.%03dZ INFO %s %07d the quick brown fox\n"
                % (i % 1000, prefix, i))
PYEOF
}

# ls_sanitizer: ASan or TSan when $LOGSHIPD is built with one, else
# nothing (RSS bounds are not asserted under a sanitizer).
ls_sanitizer() {
	if grep -q __asan_init "$LOGSHIPD" 2>/dev/null; then
		echo ASan
	elif grep -q __tsan_init "$LOGSHIPD" 2>/dev/null; then
		echo TSan
	fi
}

# rss_sample SECONDS OUT [STOP]: VmRSS (kB) of logshipd every 0.1 s for
# SECONDS (bounded), or until the file STOP exists; "peak last samples"
# into OUT; exits 1 if logshipd died.
rss_sample() {
	"$PYTHON3" - "$LS_PID" "$1" "$2" "${3:-}" <<'PY'
import os, sys, time
pid, secs, out, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
peak, last, n = 0, 0, 0
end = time.monotonic() + secs
while True:
    try:
        with open("/proc/%s/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    last = int(ln.split()[1])
    except OSError:
        sys.exit("logshipd (pid %s) is gone" % pid)
    peak, n = max(peak, last), n + 1
    if time.monotonic() >= end or (stop and os.path.exists(stop)):
        break
    time.sleep(0.1)  # ok-sleep: the sampling pace, bounded by secs
with open(out, "w") as f:
    f.write("%d %d %d\n" % (peak, last, n))
PY
}

# same_entries: the intake's messages equal $T/want.jsonl's (one JSON
# string a line: entries of several lines), as a multiset.
same_entries() {
	intake entries | "$PYTHON3" -c '
import collections, json, sys
want = collections.Counter(json.loads(l) for l in open(sys.argv[1]))
have = collections.Counter(json.loads(l)["message"] for l in sys.stdin)
miss, extra = want - have, have - want
print("%d expected, %d received, %d missing, %d extra" % (
    sum(want.values()), sum(have.values()), sum(miss.values()),
    sum(extra.values())))
for k in list(miss)[:5]:
    print("  missing: %r" % k[:200])
for k in list(extra)[:5]:
    print("  extra: %r" % k[:200])
sys.exit(0 if not miss and not extra else 1)' "$T/want.jsonl"
}

# -- helpers of the file-handling tests (rotation, checkpoint, restart) -----

# ls_files_stat KEY: KEY (truncations, suspected_loss_bytes, inode_reuse,
# removed_unread_bytes, checkpoint_errors) of the last "files:" line.
ls_files_stat() {
	sed -n "/files: truncations=/s/.*[ :]$1=\\([0-9][0-9]*\\).*/\\1/p" \
	    "$T/logshipd.log" | tail -n 1
}

# ls_run_log: the log of the last run (from its "===" line on).
ls_run_log() {
	awk '/^=== / { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' \
	    "$T/logshipd.log"
}

# ls_started: the last run logged "started:" (its signal handlers are in).
ls_started() {
	ls_run_log | grep -Eq '(^|[]: >])started: [0-9]+ sources'
}

# wait_exit TIMEOUT: waits (scaled) for logshipd to exit by itself; sets
# LS_STATUS.
wait_exit() {
	_we_end=$(($(now_ms) + $(scaled "$1") * 1000))
	while alive "$LS_PID"; do
		[ "$(now_ms)" -lt "$_we_end" ] ||
		    fail "logshipd did not exit by itself within $1 s"
		sleep 0.1 # ok-sleep: bounded poll
	done
	LS_STATUS=0
	wait "$LS_PID" || LS_STATUS=$?
	LS_PID=
}

# check_counts EXPECT [intake check args]: runs "intake check --expect",
# output in $T/check.out; sets CK_EXPECTED CK_RECEIVED CK_MISSING CK_DUP
# CK_UNEXPECTED; returns the check's status.
check_counts() {
	_cc_st=0
	intake check --expect "$@" >"$T/check.out" 2>&1 || _cc_st=$?
	_cc_n=$(sed -n 's/^\([0-9]*\) expected, \([0-9]*\) received, \([0-9]*\) missing, \([0-9]*\) duplicated, \([0-9]*\) unexpected$/\1 \2 \3 \4 \5/p' \
	    "$T/check.out")
	[ -n "$_cc_n" ] || {
		cat "$T/check.out" >&2
		fail "intake check printed no counts"
	}
	# shellcheck disable=SC2086
	set -- $_cc_n
	CK_EXPECTED=$1 CK_RECEIVED=$2 CK_MISSING=$3 CK_DUP=$4 CK_UNEXPECTED=$5
	return "$_cc_st"
}

# check_exact EXPECT [args]: every line of EXPECT received exactly once
# (or as often as EXPECT holds it), nothing else; prints the check's
# output on failure.
check_exact() {
	check_counts "$@" || {
		cat "$T/check.out" >&2
		fail "received != expected ($CK_EXPECTED expected, $CK_RECEIVED received, $CK_MISSING missing, $CK_DUP duplicated, $CK_UNEXPECTED unexpected)"
	}
}

# no_missing EXPECT: succeeds once every line of EXPECT arrived (at least
# once); for polls.
no_missing() {
	[ "$(intake count)" -ge "$(wc -l <"$1")" ] || return 1
	check_counts "$1" || :
	[ "$CK_MISSING" -eq 0 ]
}

# open_deleted PID: how many of PID's descriptors are deleted files.
open_deleted() {
	find "/proc/$1/fd" -lname '*(deleted)' 2>/dev/null | wc -l
}

# rot_writer LOG WANT PREFIX N RATE REOPEN EVERY LRCONF LRSTATE: appends N
# numbered lines (all of one length) to LOG at RATE lines/s, and to WANT.
# REOPEN: 0, LOG is opened once (O_APPEND) and kept open, like an
# application that never reopens; K > 0, reopened every K lines (without
# O_CREAT, like an application that reopens after rotation; a line written
# between logrotate's rename and its create waits for the create). Every
# EVERY lines (0: never) it starts logrotate -f -s LRSTATE LRCONF in the
# background, waiting for the previous one first. Exits 1 if logrotate
# failed; prints the number of rotations.
rot_writer() {
	"$PYTHON3" - "$@" <<'PYEOF'
import os, subprocess, sys, time
(path, want, prefix, n, rate, reopen, every, lrconf,
 lrstate) = sys.argv[1:10]
n, rate, reopen, every = int(n), float(rate), int(reopen), int(every)
fl = os.O_WRONLY | os.O_APPEND

def open_log():
    end = time.monotonic() + 30
    while True:
        try:
            return os.open(path, fl)
        except FileNotFoundError:
            if time.monotonic() > end:
                raise
            time.sleep(0.0005)  # ok-sleep: bounded wait for logrotate's create

def lr_wait(p):
    if p is not None and p.wait(timeout=60) != 0:
        sys.exit("logrotate failed: exit %d" % p.returncode)

fd = os.open(path, fl | os.O_CREAT, 0o644)
lr, rotations = None, 0
t0 = time.monotonic()
with open(want, "a") as w:
    for i in range(n):
        if every and i and i % every == 0:
            lr_wait(lr)
            lr = subprocess.Popen(["/usr/sbin/logrotate", "-f", "-s",
                                   lrstate, lrconf])
            rotations += 1
        if reopen and i and i % reopen == 0:
            os.close(fd)
            fd = open_log()
        line = ("2026-11-23T10:00:00Z INFO %s %07d the quick brown fox "
                "jumps\n" % (prefix, i))
        os.write(fd, line.encode())
        w.write(line)
        ahead = t0 + (i + 1) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)  # ok-sleep: the writer's pace
lr_wait(lr)
os.close(fd)
print(rotations)
PYEOF
}

# ls_follow_offset PATH: the offset the last run started PATH at (its
# "PATH: following (source S, from offset N)" line), empty if none yet.
ls_follow_offset() {
	ls_run_log | sed -n "s|^.*$1: following (source [^,]*, from offset \\([0-9]*\\)).*|\\1|p" |
	    tail -n 1
}

# -- running logshipd unprivileged (file permission faults) ------------------

# as_unprivileged [UID]: from here on start_logshipd runs logshipd as
# nobody (65534:65534), or as UID (a user of its own, in nobody's group),
# when the test runs as root, who reads and writes any file whatever its
# mode; as another user, logshipd runs as that user, whom the modes bind
# already. Call it first: if the user cannot reach $T or run $LOGSHIPD (a
# build tree under a private home), $T moves under /tmp and the binary is
# copied there. Skips (77) only without setpriv.
as_unprivileged() {
	umask 022
	chmod 755 "$T"
	[ "$(id -u)" -eq 0 ] || return 0
	if ! command -v setpriv >/dev/null 2>&1; then
		echo "SKIP: $TEST_NAME: running as root and no setpriv (util-linux) to run logshipd as nobody" >&2
		exit 77
	fi
	LS_UID=${1:-65534}
	LS_AS="setpriv --reuid=$LS_UID --regid=65534 --clear-groups"
	# TSan's suppressions file too must be readable by nobody.
	_supp=$(printf '%s\n' "${TSAN_OPTIONS:-}" |
	    sed -n 's/.*suppressions=\([^:]*\).*/\1/p')
	# shellcheck disable=SC2086
	if ! $LS_AS sh -c 'cd "$1" && test -x "$2" && { [ -z "$3" ] || test -r "$3"; }' \
	    sh "$T" "$LOGSHIPD" "$_supp" 2>/dev/null; then
		rm -rf "$T"
		T=$(mktemp -d "/tmp/logshipd-e2e-$TEST_NAME.XXXXXX")
		chmod 755 "$T"
		cp "$LOGSHIPD" "$T/logshipd"
		LOGSHIPD=$T/logshipd
		if [ -n "$_supp" ]; then
			cp "$_supp" "$T/tsan.supp"
			TSAN_OPTIONS=$(printf '%s\n' "$TSAN_OPTIONS" |
			    sed "s|suppressions=[^:]*|suppressions=$T/tsan.supp|")
			export TSAN_OPTIONS
		fi
		log "nobody cannot reach the build tree: working in $T"
	fi
}

# unprivileged_dir DIR...: makes DIR (created if need be) the unprivileged
# logshipd's own, as its state_dir must be.
unprivileged_dir() {
	mkdir -p "$@"
	[ -z "$LS_AS" ] || chown "$LS_UID:65534" "$@"
}

# -- a local attacker (security tests) ----------------------------------------

# attacker_user: makes a user of the test's own (no home, no login), who
# writes the log directories as an application's user would; sets
# ATTACKER, ATTACKER_UID, ATTACKER_GID. cleanup deletes it. Skips (77)
# where users cannot be made (not root, no useradd or setpriv).
attacker_user() {
	if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null 2>&1 ||
	    ! command -v setpriv >/dev/null 2>&1; then
		echo "SKIP: $TEST_NAME: cannot make a user here (needs root, useradd, setpriv)" >&2
		exit 77
	fi
	ATTACKER=lsatk$$
	# useradd takes /etc/passwd's lock: another test may hold it.
	_au_end=$(($(now_ms) + $(scaled 30) * 1000))
	until useradd -M -U -s /usr/sbin/nologin "$ATTACKER" 2>"$T/useradd.err"; do
		grep -q 'lock' "$T/useradd.err" && [ "$(now_ms)" -lt "$_au_end" ] || {
			cat "$T/useradd.err" >&2
			echo "SKIP: $TEST_NAME: useradd failed" >&2
			exit 77
		}
		sleep 0.1 # ok-sleep: bounded wait for /etc/passwd's lock
	done
	LS_USERS="$LS_USERS $ATTACKER"
	ATTACKER_UID=$(id -u "$ATTACKER")
	ATTACKER_GID=$(id -g "$ATTACKER")
	# The attacker must reach $T (mktemp made it 0700); a build tree
	# under a private home is out of its reach: then $T moves to /tmp
	# (call attacker_user first, before anything is in $T).
	chmod 755 "$T"
	if ! as_attacker sh -c 'cd "$1"' sh "$T" 2>/dev/null; then
		rm -rf "$T"
		T=$(mktemp -d "/tmp/logshipd-e2e-$TEST_NAME.XXXXXX")
		chmod 755 "$T"
		log "$ATTACKER cannot reach the build tree: working in $T"
	fi
	log "attacker: $ATTACKER (uid $ATTACKER_UID)"
}

# as_attacker CMD [ARGS]: runs CMD as the attacker.
as_attacker() {
	setpriv --reuid="$ATTACKER_UID" --regid="$ATTACKER_GID" --clear-groups "$@"
}
