#!/bin/sh
# SIGHUP adding a pattern to a source's paths must not drop what the
# source follows already. app.log, mostly unread (the intake refuses
# everything, a 1 MiB buffer holds reading back), is renamed app.log.1,
# which no pattern names: the source follows it to its end as a rotated
# file. A reload that only adds a pattern keeps it with the source; every
# one of its lines arrives once. (A reload that detached the files of any
# source whose paths changed lost the rotated file's unread 19,000 lines.)
. "$(dirname "$0")/lib.sh"

N=20000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
METRICS_PORT=$(free_port)
# config PATHS: app's paths.
config() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
max_buffer_bytes: 1MiB
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
sources:
  - name: app
    paths: [$1]
$(dd_dest)
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML
}
config "\"$T/logs/app.log\""
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
gen_lines "$T/logs/app.log" "$N" held
cp "$T/logs/app.log" "$T/want"
start_logshipd "$T/logshipd.yaml"
wait_for 30 reading_paused
mv "$T/logs/app.log" "$T/logs/app.log.1"
renamed() {
	ls_run_log | grep -q "app.log: no longer under that name"
}
wait_for 15 renamed
config "\"$T/logs/app.log\", \"$T/logs/other.log\""
kill -HUP "$LS_PID"
reloaded() {
	ls_run_log | grep -q "reloaded"
}
wait_for 15 reloaded
reading_paused || fail "reading resumed while the intake refused everything"
intake control '{"path": "/api/v2/logs", "reset": true}'
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
log "ok: the renamed file kept by its source across the reload: $CK_RECEIVED lines, duplicates=$CK_DUP"
