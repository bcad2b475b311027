#!/bin/sh
# A file deleted while open, most of it unread (a slow intake and a 1 MiB
# buffer hold reading back): logshipd reads it to its end through its
# descriptor, every one of its 50k lines arrives once, and then it closes
# the descriptor (it does not wait for close_removed_after).
. "$(dirname "$0")/lib.sh"

N=50000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 10s
checkpoint_interval: 100ms
max_buffer_bytes: 1MiB
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML

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
log "ok: written=$N received=$CK_RECEIVED duplicates=$CK_DUP (at rm: $at_rm)"
