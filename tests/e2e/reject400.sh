#!/bin/sh
# The first request is answered 400: its entries are dropped (never
# resent), every other line arrives exactly once, and the final stats say
# how many were dropped.
. "$(dirname "$0")/lib.sh"

N=3000
start_intake --api-key "$DD_API_KEY"
intake control '{"path": "/api/v2/logs", "script": [{"status": 400}]}'
mkdir "$T/logs" "$T/state"
app_config 500
gen_lines "$T/logs/app.log" "$N" reject400

start_logshipd "$T/logshipd.yaml"
# (a function: wait_for must run the count at each poll)
some_rejected() {
	[ "$(intake count --rejected)" -gt 0 ]
}
wait_for 30 some_rejected
R=$(intake count --rejected)
wait_count /api/v2/logs $((N - R)) 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(intake_stat 's["by_status"].get("400", 0)')" 1 "400 answers"
intake messages --rejected >"$T/rejected"
grep -vxFf "$T/rejected" "$T/logs/app.log" >"$T/want"
assert_eq "$(wc -l <"$T/want" | tr -d ' ')" $((N - R)) "lines not rejected"
intake check --expect "$T/want" || fail "received != written - rejected"
assert_eq "$(ls_dest_stat dd dropped)" "$R" "dd dropped="
assert_eq "$(ls_dest_stat dd sent)" $((N - R)) "dd sent="
log "ok ($R rejected)"
