#!/bin/sh
# The intake takes at most 100 entries per request; logshipd sends batches
# of 1000 (a long max_wait makes them full), is told 413, splits them in
# halves and resends: every line arrives exactly once.
. "$(dirname "$0")/lib.sh"

N=5000
start_intake --api-key "$DD_API_KEY" --max-entries 100
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
$(dd_dest)
    batch: { max_entries: 1000, max_bytes: 4MiB, max_wait: 60s }
    retry: { initial: 100ms, max: 1s }
YAML
gen_lines "$T/logs/app.log" "$N" split413
cp "$T/logs/app.log" "$T/want"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" || fail "received != written"
n413=$(intake_stat 's["by_status"].get("413", 0)')
[ "$n413" -ge 5 ] || fail "$n413 answers 413, want at least one per batch (5)"
assert_eq "$(intake_stat 'max(r["entries"] for r in s["requests_log"])')" \
    1000 "largest request (batches should be full)"
assert_eq "$(intake_stat 'sorted(set(s["by_status"]) - {"202", "413"})')" \
    "[]" "answers other than 202 and 413"
assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent="
assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped="
log "ok ($n413 answers 413)"
