#!/bin/sh
# SIGTERM drains. 1: a slow intake and a small buffer, SIGTERM once some
# lines arrived: exit 0 within shutdown_timeout, and the intake holds exactly
# the first R lines of the file, R being the final "read=" count, each once.
# 2: an intake failing with 500 forever: exit 0 within shutdown_timeout + 5 s,
# reporting unsent lines.
. "$(dirname "$0")/lib.sh"

N=50000
start_intake --api-key "$DD_API_KEY"

# config NAME SHUTDOWN_TIMEOUT
config() {
	mkdir "$T/logs-$1" "$T/state-$1"
	write_config "$T/$1.yaml" <<YAML
state_dir: $T/state-$1
shutdown_timeout: $2
max_buffer_bytes: 1MiB
scan_interval: 200ms
poll_interval: 100ms
sources:
  - name: app
    paths: ["$T/logs-$1/*.log"]
$(dd_dest)
    workers: 2
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML
}

# 1: drain what was read.
config slow 10s
gen_lines "$T/logs-slow/app.log" "$N" drain
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 100}}'
start_logshipd "$T/slow.yaml"
wait_count /api/v2/logs 1 30
stop_logshipd TERM 15
assert_eq "$LS_STATUS" 0 "exit status after drain"
R=$(ls_final_read)
[ -n "$R" ] || fail "no 'final: read=N lines' line"
[ "$R" -le "$N" ] || fail "read=$R, more than the $N lines written"
log "read $R of $N lines before SIGTERM"
intake check --expect "$T/logs-slow/app.log" --first "$R" ||
    fail "received != the first $R lines"
assert_eq "$(ls_dest_stat dd sent)" "$R" "dd sent="
assert_eq "$(ls_dest_stat dd unsent)" 0 "dd unsent="

# 2: the intake fails forever; the drain deadline ends it.
intake control '{"clear": true, "reset": true}'
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
config failing 3s
gen_lines "$T/logs-failing/app.log" 1000 failing
start_logshipd "$T/failing.yaml"
# A function, so that every poll asks the intake again.
refused_twice() {
	test "$(intake_stat 's["by_status"].get("500", 0)')" -ge 2
}
wait_for 30 refused_twice
stop_logshipd TERM 8
assert_eq "$LS_STATUS" 0 "exit status with a failing intake"
assert_eq "$(intake count)" 0 "entries accepted by a failing intake"
unsent=$(ls_dest_stat dd unsent)
[ -n "$unsent" ] && [ "$unsent" -gt 0 ] ||
    fail "dd unsent='$unsent', want > 0"
assert_eq "$(ls_dest_stat dd sent)" 0 "dd sent= with a failing intake"
log "ok (unsent=$unsent after ${LS_STOP_MS}ms)"
