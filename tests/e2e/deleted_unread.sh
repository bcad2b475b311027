#!/bin/sh
# A file deleted while open, most of it unread (a slow intake and a 1 MiB
# buffer hold reading back): logshipd reads it to its end through its
# descriptor, every one of its 50k lines arrives once, and then it closes
# the descriptor (it does not wait for close_removed_after).
# Then a file read to its end gets more lines and is deleted while reading
# is paused (the intake refuses everything, the buffer is full): it must
# stay open until reading resumes, and those lines arrive too.
. "$(dirname "$0")/lib.sh"

N=50000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
# config RETRY_MAX [TOP_KEYS]: $T/logshipd.yaml, a 1 MiB buffer, 2 workers,
# batches of 500, retrying from 100 ms up to RETRY_MAX.
config() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
max_buffer_bytes: 1MiB
${2:-}
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: $1 }
YAML
}
config 1s

gen_lines "$T/logs/app.log" "$N" del
cp "$T/logs/app.log" "$T/want"
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 50}}'
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 1 30
rm "$T/logs/app.log"
at_rm=$(intake count)
log "deleted app.log with $at_rm of $N lines received"
[ "$at_rm" -lt $((N / 2)) ] || fail "$at_rm lines already in at the rm"
wait_count /api/v2/logs "$N" 60
no_deleted_open() {
	[ "$(open_deleted "$LS_PID")" -eq 0 ]
}
wait_for 15 no_deleted_open
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
assert_eq "$(ls_files_stat removed_unread_bytes)" 0 "removed_unread_bytes="
log "read to its end: written=$N received=$CK_RECEIVED duplicates=$CK_DUP (at rm: $at_rm)"

# A fresh intake, files and state for the second part.
stop_intake
start_intake --api-key "$DD_API_KEY" --quiet
rm -rf "$T/logs" "$T/state"
mkdir "$T/logs" "$T/state"
METRICS_PORT=$(free_port)
config 500ms "metrics: { listen: \"127.0.0.1:$METRICS_PORT\" }"
refused() {
	test "$(intake_stat 's["by_status"].get("500", 0)')" -ge "$1"
}
gen_lines "$T/logs/small.log" 20 small
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 20 30
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
gen_lines "$T/logs/big.log" 20000 big
wait_for 30 reading_paused
gen_lines "$T/logs/small.log" 30 late
cat "$T/logs/small.log" "$T/logs/big.log" >"$T/want2"
rm "$T/logs/small.log"
small_gone() {
	ls_run_log | grep -q "small.log: no longer under that name"
}
wait_for 15 small_gone
# Still paused a while longer: a few more refused retries.
n500=$(intake_stat 's["by_status"].get("500", 0)')
wait_for 30 refused $((n500 + 3))
reading_paused || fail "reading resumed while the intake refused everything"
intake control '{"path": "/api/v2/logs", "reset": true}'
wait_count /api/v2/logs 20050 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (paused)"
check_exact "$T/want2"
assert_eq "$(ls_files_stat removed_unread_bytes)" 0 \
    "removed_unread_bytes= (paused)"
log "ok: written=$((N + 20050)) received=$((N + CK_RECEIVED))" \
    "duplicates=$CK_DUP (at rm: $at_rm)"
