#!/bin/sh
# SIGTERM while the intake is down: the lines shipped before the outage
# are committed, the ones read during it are not. logshipd exits 0 within
# shutdown_timeout; restarted once the intake is back, it ships exactly the
# rest: every line once, nothing lost, nothing shipped twice. During the
# outage app.log is also rotated (renamed to app.log.1, which the glob does
# not match, and created anew): the checkpoint must still lead the restart
# to the rest of the renamed file.
. "$(dirname "$0")/lib.sh"

N1=1000
N2=1000
N3=300
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 3s
checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 200, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML

gen_lines "$T/logs/app.log" "$N1" before
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N1" 30
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
gen_lines "$T/logs/app.log" "$N2" during
# A function, so that every poll asks the intake again.
refused_twice() {
	test "$(intake_stat 's["by_status"].get("500", 0)')" -ge 2
}
wait_for 30 refused_twice
mv "$T/logs/app.log" "$T/logs/app.log.1"
gen_lines "$T/logs/app.log" "$N3" rotated
renamed_seen() {
	ls_run_log | grep -q "app.log: no longer under that name"
}
wait_for 15 renamed_seen
stop_logshipd TERM 8
assert_eq "$LS_STATUS" 0 "exit status with the intake down"
[ "$LS_STOP_MS" -le $(($(scaled 3) * 1000 + 2000)) ] ||
    fail "took ${LS_STOP_MS}ms to exit, shutdown_timeout is 3s"
assert_eq "$(intake count)" "$N1" "entries accepted before the outage"
unsent=$(ls_dest_stat dd unsent)
[ "$unsent" -gt 0 ] || fail "dd unsent=$unsent, want > 0"

intake control '{"path": "/api/v2/logs", "reset": true}'
start_logshipd "$T/logshipd.yaml"
cat "$T/logs/app.log.1" "$T/logs/app.log" >"$T/want"
wait_count /api/v2/logs $((N1 + N2 + N3)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status after the outage"
check_exact "$T/want"
assert_eq "$(ls_dest_stat dd sent)" $((N2 + N3)) "dd sent= after the restart"
log "ok: written=$((N1 + N2 + N3)) received=$CK_RECEIVED duplicates=$CK_DUP" \
    "(unsent at SIGTERM: $unsent)"

# 2: the same with a reload just before the SIGTERM. dd is changed (its
# batch size), so its old instance retires and drains, with the
# shutdown_timeout of the new file (5 s); a second reload, which keeps the
# new dd, sets 60 s for the SIGTERM that follows at once. The old instance
# is stopped at its own deadline, after the router has closed the new
# instance's input: its lines were never sent, and must not be committed
# (given up as if dd had been removed). Restarted with the intake back,
# logshipd ships every one of them.
N4=500
intake control '{"clear": true, "reset": true}'
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
mkdir "$T/logs2" "$T/state2"
# config2 MAX_ENTRIES SHUTDOWN_TIMEOUT
config2() {
	write_config "$T/new2.yaml" <<YAML
state_dir: $T/state2
shutdown_timeout: $2
checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms
$(app_source_in "$T/logs2")
$(dd_dest)
    workers: 2
    batch: { max_entries: $1, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML
	mv "$T/new2.yaml" "$T/reload.yaml"
}
reloaded() {
	[ "$(ls_run_log | grep -c 'reloaded: [0-9]* sources')" -ge "$1" ]
}
config2 200 3s
gen_lines "$T/logs2/app.log" "$N4" reload
start_logshipd "$T/reload.yaml"
wait_for 30 refused_twice
config2 100 "$(scaled 5)s"
kill -HUP "$LS_PID"
wait_for 10 reloaded 1
# Its deadline is set when the router has left it, with the config of
# that moment: wait for that before the next reload.
old_draining() {
	ls_run_log | grep -q 'dd: the old instance drains, for at most'
}
wait_for 10 old_draining
config2 100 60s
kill -HUP "$LS_PID"
wait_for 10 reloaded 2
kill -TERM "$LS_PID"
# The old instance's end: its lines either stay unsent (right) or are
# given up (wrong: they would be committed).
old_done() {
	ls_run_log | grep -Eq 'dd: (removed with [0-9]+ lines|the old instance stopped with [0-9]+ lines unsent)'
}
wait_for 30 old_done
ls_run_log | grep -q 'dd: removed with' &&
    fail "the old dd gave its unsent lines up: they would be committed"
# A second signal stops the new instance, which is still retrying.
stop_logshipd TERM 10
assert_eq "$LS_STATUS" 0 "exit status after a reload and the intake down"
assert_eq "$(intake count)" 0 "entries accepted by a failing intake"

intake control '{"path": "/api/v2/logs", "reset": true}'
start_logshipd "$T/reload.yaml"
wait_count /api/v2/logs "$N4" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status after the restart"
check_exact "$T/logs2/app.log"
log "ok: a reload before the SIGTERM committed nothing unsent ($N4 lines" \
    "shipped after the restart)"
