#!/bin/sh
# The state directory fails under logshipd, twice:
#  1. full: a file size limit (RLIMIT_FSIZE, set on the running daemon with
#     prlimit; what works unprivileged and without mounts) makes every
#     checkpoint write fail with EFBIG, and raises SIGXFSZ, which logshipd
#     ignores so that it gets the error instead of dying;
#  2. read-only: the directory loses its write permission (logshipd runs as
#     nobody then: root writes anywhere; and as the test's user for 1, since
#     changing the limits of another user's process takes a capability).
# Each time: the failure is logged (once, not every second), counted in
# checkpoint_errors, shipping goes on, the checkpoint on disk stays the
# last good one; when the space or the permission is back, the checkpoint
# is written again and holds every delivered line. Every line arrives
# exactly once.
. "$(dirname "$0")/lib.sh"

command -v prlimit >/dev/null 2>&1 || {
	echo "SKIP: $TEST_NAME: no prlimit (util-linux)" >&2
	exit 77
}
as_unprivileged
unprivileged_dir "$T/state2"
NOBODY=$LS_AS
LS_AS=
N=300
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs1" "$T/logs2" "$T/state1"
METRICS_PORT=$(free_port)
# config K: logs K and state K
config() {
	write_config "$T/logshipd$1.yaml" <<YAML
state_dir: $T/state$1
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
shutdown_timeout: 10s
scan_interval: 200ms
poll_interval: 100ms
checkpoint_interval: 100ms
$(app_source_in "$T/logs$1")
$(dd_dest)
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML
}
config 1
config 2

# ckpt_offset K: the committed offset of logs K/app.log in the checkpoint
# on disk.
ckpt_offset() {
	"$PYTHON3" - "$T/state$1/checkpoint.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(sum(e["offset"] for e in doc["files"] if e["path"].endswith("/app.log")))
PY
}

# ckpt_at K OFFSET
ckpt_at() {
	[ "$(ckpt_offset "$1")" = "$2" ]
}

# ckpt_errors_over N: the endpoint counts more than N failed checkpoints.
ckpt_errors_over() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" "$1" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
n = [float(l.split()[-1]) for l in text.splitlines()
     if l.startswith("logshipd_checkpoint_errors_total")]
sys.exit(0 if n and n[0] > float(sys.argv[2]) else 1)
PY
}

# in_run_log REGEX: the last run logged REGEX; fails the test at once if
# logshipd is dead.
in_run_log() {
	if ! alive "$LS_PID"; then
		# (wait_for hides what the poll prints: say it in the log)
		echo "FAIL: $TEST_NAME: logshipd died" >>"$T/logshipd.log"
		exit 1
	fi
	ls_run_log | grep -Eq "$1"
}

size() {
	wc -c <"$1" | tr -d ' '
}

# 1. Full. logshipd writes its log into a pipe, not a file: the size limit
# is for the checkpoint, not for the log.
mkfifo "$T/log.fifo"
cat "$T/log.fifo" >>"$T/logshipd.log" &
CAT_PID=$!
# shellcheck disable=SC2154
trap '_st=$?; set +e; kill "$CAT_PID" 2>/dev/null; (exit $_st); cleanup' EXIT
echo "=== $LOGSHIPD -d -v -c $T/logshipd1.yaml" >>"$T/logshipd.log"
"$LOGSHIPD" -d -v -c "$T/logshipd1.yaml" >"$T/log.fifo" 2>&1 &
LS_PID=$!
gen_lines "$T/logs1/app.log" "$N" before
cp "$T/logs1/app.log" "$T/want"
wait_count /api/v2/logs "$N" 30
wait_for 10 ckpt_at 1 "$(size "$T/logs1/app.log")"
good=$(ckpt_offset 1)
# No file may grow past 64 bytes now; a checkpoint is longer.
prlimit --pid "$LS_PID" --fsize=64:unlimited
gen_lines "$T/logs1/app.log" "$N" full
wait_count /api/v2/logs $((2 * N)) 30
wait_for 10 in_run_log 'checkpoint.json.tmp: write.*File too large'
# Failing at every interval, and said once.
wait_for 10 ckpt_errors_over 5
alive "$LS_PID" || fail "logshipd died of the file size limit (SIGXFSZ?)"
assert_eq "$(ckpt_offset 1)" "$good" "the checkpoint on disk while full"
assert_eq "$(ls_run_log | grep -c 'checkpoint not saved')" 1 \
    "warnings about the full state directory"
prlimit --pid "$LS_PID" --fsize=unlimited:unlimited
wait_for 10 in_run_log 'checkpoint written again'
wait_for 10 ckpt_at 1 "$(size "$T/logs1/app.log")"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
errs=$(ls_files_stat checkpoint_errors)
[ "${errs:-0}" -gt 5 ] || fail "checkpoint_errors=$errs while full, want > 5"
cat "$T/logs1/app.log" >"$T/want"
check_exact "$T/want"
kill "$CAT_PID" 2>/dev/null || :

# 2. Read-only, with logshipd as nobody: the directory cannot take the
# temporary file.
LS_AS=$NOBODY
start_logshipd "$T/logshipd2.yaml"
gen_lines "$T/logs2/app.log" "$N" before-ro
wait_count /api/v2/logs $((3 * N)) 30
wait_for 10 ckpt_at 2 "$(size "$T/logs2/app.log")"
good=$(ckpt_offset 2)
chmod 555 "$T/state2"
gen_lines "$T/logs2/app.log" "$N" readonly
wait_count /api/v2/logs $((4 * N)) 30
wait_for 10 in_run_log 'checkpoint.json.tmp: open.*Permission denied'
wait_for 10 ckpt_errors_over 5
alive "$LS_PID" || fail "logshipd died with a read-only state directory"
assert_eq "$(ckpt_offset 2)" "$good" "the checkpoint on disk while read-only"
assert_eq "$(ls_run_log | grep -c 'checkpoint not saved')" 1 \
    "warnings about the read-only state directory"
chmod 755 "$T/state2"
wait_for 10 in_run_log 'checkpoint written again'
wait_for 10 ckpt_at 2 "$(size "$T/logs2/app.log")"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
cat "$T/logs1/app.log" "$T/logs2/app.log" >"$T/want"
check_exact "$T/want"
errs2=$(ls_files_stat checkpoint_errors)
[ "${errs2:-0}" -gt 5 ] || fail "checkpoint_errors=$errs2 while read-only, want > 5"
log "ok: $((4 * N)) lines once each; checkpoint_errors=$errs (full), $errs2 (read-only); the checkpoint recovered both times"
