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
