#!/bin/sh
# The memory budget pauses a journald source as it pauses files: an intake
# answering 503 to everything holds every record, so with max_buffer_bytes
# 1MiB the reader stops well before the journal's 50,000 entries (the
# journal is the buffer), and /metrics says reading is paused; once the
# intake recovers, reading resumes (the budget's callback wakes the
# journal reader too) and every entry arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

N=50000
start_intake
mkdir "$T/journal" "$T/state"
METRICS_PORT=$(free_port)
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
max_buffer_bytes: 1MiB
metrics: { listen: 127.0.0.1:$METRICS_PORT }
sources:
  - name: jd
    type: journald
    directory: $T/journal
destinations:
  - name: h
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 500, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML
journal_gen "$T/e" "$N" bud
journal_write "$T/journal" "$T/e"
cut -f 2 "$T/e.all" >"$T/want"
intake control '{"path": "/ingest", "default": {"status": 503}}'
start_logshipd "$T/logshipd.yaml"
wait_for 20 reading_paused
entries() {
	curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" |
	    sed -n 's/^logshipd_journal_entries_total{source="jd"} //p'
}
read1=$(entries)
log "paused after $read1 of $N entries"
[ "$read1" -lt $((N / 2)) ] || fail "read $read1 of $N entries with a 1MiB budget"
intake control '{"path": "/ingest", "reset": true}'
wait_count /ingest "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want" --path /ingest
log "ok"
