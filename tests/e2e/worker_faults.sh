#!/bin/sh
# Failures in worker threads are reported to the main loop, not fatal on
# the spot (tests/logshipd_faults: the daemon with faults injected into its
# send ops, tests/faults.h):
#  1. at the start, a destination whose workers cannot be made (no curl
#     handle): a clean exit 1 with a message, nothing shipped;
#  2. at a reload, a new destination whose workers cannot be made: the
#     reload is undone, logged, and the old configuration ships every line
#     exactly once;
#  3. at run time, a destination whose sends meet an internal error
#     (compression): logged, the other destination drains, the checkpoint
#     is written, exit 1; after a restart without the fault, every line
#     reaches the failed destination exactly once (none was committed).
. "$(dirname "$0")/lib.sh"

LOGSHIPD=${LS_BUILDDIR:-$(dirname "$LOGSHIPD")}/tests/logshipd_faults
if [ ! -x "$LOGSHIPD" ]; then
	echo "SKIP: $TEST_NAME: no $LOGSHIPD (make check builds it)" >&2
	exit 77
fi

start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"

# config WITH_B: dd, and b (ndjson at /b) if WITH_B is 1.
config() {
	{
		cat <<YAML
$(app_top)
checkpoint_interval: 100ms
$(app_source)
$(dd_dest)
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 1s }
YAML
		[ "$1" = 1 ] && cat <<YAML
  - name: b
    type: http
    format: ndjson
    url: $INTAKE_URL/b
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 1s }
YAML
		:
	} >"$T/new.yaml"
	mv "$T/new.yaml" "$T/logshipd.yaml"
}

# 1. At the start.
config 0
# Exported and unset around each run: an assignment before a function
# call may outlive it in some shells.
LS_FAULT_WORKER="dd"
export LS_FAULT_WORKER
start_logshipd "$T/logshipd.yaml"
wait_exit 30
assert_eq "$LS_STATUS" 1 "exit status when a worker cannot start"
grep -q 'dd: cannot set up curl (injected)' "$T/logshipd.log" ||
    fail "the failed worker was not logged"
grep -q 'cannot start the pipeline' "$T/logshipd.log" ||
    fail "the failed start was not logged"
assert_eq "$(intake count)" 0 "entries shipped by a daemon that did not start"

# 2. At a reload: b cannot start; dd goes on.
gen_lines "$T/logs/app.log" 1000 first
LS_FAULT_WORKER="b"
start_logshipd "$T/logshipd.yaml"
wait_for 30 ls_started
wait_count /api/v2/logs 1000 60
config 1
kill -HUP "$LS_PID"
wait_for 30 grep -q 'b: cannot start; the reload is undone' "$T/logshipd.log"
wait_for 30 grep -q 'reload failed: still running the previous configuration' \
    "$T/logshipd.log"
gen_lines "$T/logs/app.log" 1000 second
wait_count /api/v2/logs 2000 60
alive "$LS_PID" || fail "logshipd died after an undone reload"
stop_logshipd
assert_eq "$LS_STATUS" 0 "exit status after an undone reload"
unset LS_FAULT_WORKER
cat "$T/logs/app.log" >"$T/expect"
check_exact "$T/expect"
assert_eq "$(intake count --path /b)" 0 "entries on the destination that never started"

# 3. At run time: every batch of b fails; the daemon drains dd and exits 1.
gen_lines "$T/logs/app.log" 1000 third
LS_FAULT_SEND="b"
export LS_FAULT_SEND
start_logshipd "$T/logshipd.yaml"
wait_exit 60
assert_eq "$LS_STATUS" 1 "exit status after a destination failed"
grep -q 'b: compression failed (injected); the destination cannot send' \
    "$T/logshipd.log" || fail "the failure was not logged"
grep -q 'then exiting 1' "$T/logshipd.log" ||
    fail "the main loop did not take the report"
grep -q 'final checkpoint was not written' "$T/logshipd.log" &&
    fail "the final checkpoint was not written"
assert_eq "$(intake count --path /b)" 0 "entries on the failed destination"
unset LS_FAULT_SEND
# The restart ships the third run's lines to b, each once: none of them was
# committed, as b never took one.
start_logshipd "$T/logshipd.yaml"
wait_count /b 1000 60
stop_logshipd
assert_eq "$LS_STATUS" 0 "exit status of the restart"
assert_eq "$(intake count --path /b)" 1000 "entries on b after the restart"
assert_eq "$(intake messages --path /b | sort -u | grep -c third)" 1000 \
    "distinct third-run lines on b"
log "worker faults: start exit 1, reload undone, run-time failure drained"
