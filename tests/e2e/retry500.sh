#!/bin/sh
# The intake answers 500 to the first 5 requests: logshipd retries, and
# every line arrives exactly once.
. "$(dirname "$0")/lib.sh"

N=5000
start_intake --api-key "$DD_API_KEY"
intake control '{"path": "/api/v2/logs", "script": [{"status": 500, "times": 5}]}'
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML
gen_lines "$T/logs/app.log" "$N" retry500
cp "$T/logs/app.log" "$T/want"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" --status info || fail "received != written"
assert_eq "$(intake_stat 's["by_status"].get("500", 0)')" 5 "500 answers"
assert_eq "$(intake_stat 's["requests"] - s["by_status"].get("202", 0)')" 5 \
    "answers other than 202 and 500"
assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent="
assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped="
log "ok"
