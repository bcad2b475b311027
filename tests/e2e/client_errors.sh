#!/bin/sh
# 4xx answers other than 400. 404 (a wrong url) is not the body's fault:
# the lines wait, retried every retry.max with a warning, and every one
# arrives once the url answers; nothing is dropped. An unlisted 4xx (409)
# is retried 5 times for a batch, then refused like a 400: the batch is
# halved to find the refused entries; here the halves are accepted, so
# nothing is dropped and every line arrives exactly once. (Before issue 16
# the batch was dropped after the fifth 409.)
. "$(dirname "$0")/lib.sh"

N=2000
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
# One worker and no probes: the scripted answers go to whole batches, in
# order.
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 1
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 50ms, max: 300ms, probe: 0s }
YAML

# 1. Three 404s: the first batch waits, then everything arrives.
intake control '{"path": "/api/v2/logs", "script": [{"status": 404}, {"status": 404}, {"status": 404}]}'
gen_lines "$T/logs/app.log" "$N" wrongurl
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
assert_eq "$(intake_stat 's["by_status"].get("404", 0)')" 3 "404 answers"
grep -q 'no intake at this url: check it' "$T/logshipd.log" ||
    fail "no warning naming the url"
intake check --expect "$T/logs/app.log" || fail "after 404s: received != written"

# 2. Five 409s: the next batch (its size is up to the batcher: at most
# 500) is sent five times, then halved; the halves are accepted.
intake control '{"path": "/api/v2/logs", "script": [{"status": 409}, {"status": 409}, {"status": 409}, {"status": 409}, {"status": 409}]}'
gen_lines "$T/logs/app.log" "$N" conflict
wait_count /api/v2/logs $((2 * N)) 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(intake_stat 's["by_status"].get("409", 0)')" 5 "409 answers"
# (the 404s' entries are among the refused too: only "conflict" lines)
intake messages --rejected | grep ' conflict ' >"$T/refused" || true
R=$(LC_ALL=C sort -u "$T/refused" | wc -l | tr -d ' ')
[ "$R" -ge 1 ] && [ "$R" -le 500 ] || fail "refused batch of $R lines"
assert_eq "$(wc -l <"$T/refused" | tr -d ' ')" $((5 * R)) "entries refused (5 tries)"
grep -q "dd: HTTP 409: .*halving $R entries to find the refused ones" \
    "$T/logshipd.log" || fail "the halving after the fifth 409 is not logged"
check_exact "$T/logs/app.log"
assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped="
assert_eq "$(ls_dest_stat dd sent)" $((2 * N)) "dd sent="
log "ok ($R lines refused 5 times, then delivered in halves)"
