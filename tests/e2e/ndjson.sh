#!/bin/sh
# A generic http destination, NDJSON, no compression: every line arrives
# exactly once, in uncompressed requests to the configured path.
. "$(dirname "$0")/lib.sh"

N=20000
start_intake
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
hostname: e2e-host
$(app_source)
    service: nd
    ddsource: e2e
destinations:
  - name: h
    type: http
    format: ndjson
    compression: none
    url: $INTAKE_URL/ingest
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
gen_lines "$T/logs/a.log" $((N / 2)) nd-a
gen_lines "$T/logs/b.log" $((N / 2)) nd-b
cat "$T/logs/a.log" "$T/logs/b.log" >"$T/want"

start_logshipd "$T/logshipd.yaml"
wait_count /ingest "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --path /ingest --expect "$T/want" --status info \
    --field service=nd --field ddsource=e2e --field hostname=e2e-host ||
    fail "received != written"
assert_eq "$(intake_stat 'sorted(set(r["path"] for r in s["requests_log"]))')" \
    "['/ingest']" "paths requested"
assert_eq "$(intake_stat 'sorted(set(r["encoding"] for r in s["requests_log"]))')" \
    "['identity']" "Content-Encoding (compression: none)"
assert_eq "$(intake_stat 'sorted(s["by_status"])')" "['200']" "answers"
assert_eq "$(ls_final_read)" "$N" "final read="
assert_eq "$(ls_dest_stat h sent)" "$N" "h sent="
log "ok"
