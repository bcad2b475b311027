#!/bin/sh
# The first request is answered 400, once (an intake or a proxy in a bad
# moment, not a bad entry). logshipd no longer drops the batch: it halves
# it to find the refused entries, the halves are accepted, and every line
# arrives exactly once; nothing is dropped. (Before issue 16 the whole
# batch was dropped: poison400.sh and storm400.sh test the rest.)
. "$(dirname "$0")/lib.sh"

N=3000
start_intake --api-key "$DD_API_KEY"
intake control '{"path": "/api/v2/logs", "script": [{"status": 400}]}'
mkdir "$T/logs" "$T/state"
app_config 500
gen_lines "$T/logs/app.log" "$N" reject400

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(intake_stat 's["by_status"].get("400", 0)')" 1 "400 answers"
R=$(intake count --rejected)
[ "$R" -ge 1 ] || fail "no entries in the refused request"
grep -q "dd: HTTP 400: .*halving $R entries to find the refused ones" \
    "$T/logshipd.log" || fail "the halving is not logged"
check_exact "$T/logs/app.log"
assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped="
assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent="
log "ok ($R entries refused once, then delivered in halves)"
