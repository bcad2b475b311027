#!/bin/sh
# The first request is answered 429 with Retry-After: 3. No request may
# reach the intake until 3 s after that answer; then every line arrives.
# 1: one worker and one connection, so the pause is that of the
# destination. 2: two workers and one connection, the 429 answered after
# 1 s: the second worker, waiting for the connection meanwhile, is given
# it when the 429 comes back, and must wait out the Retry-After too.
. "$(dirname "$0")/lib.sh"

N=3000
start_intake --api-key "$DD_API_KEY"
intake control '{"path": "/api/v2/logs", "script": [{"status": 429, "retry_after": "3"}]}'
mkdir "$T/logs" "$T/state"
# dd_one_conn WORKERS: destination dd, its WORKERS workers sharing one
# connection, in batches of 500, retrying from 100 ms up to 500 ms.
dd_one_conn() {
	dd_dest
	printf '%s\n' "    workers: $1" "    max_connections: 1" \
	    "    batch: { max_entries: 500, max_wait: 200ms }" \
	    "    retry: { initial: 100ms, max: 500ms }"
}
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
$(dd_one_conn 1)
YAML
gen_lines "$T/logs/app.log" "$N" retry429
cp "$T/logs/app.log" "$T/want"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" || fail "received != written"
assert_eq "$(intake_stat 's["by_status"].get("429", 0)')" 1 "429 answers"
# retry_after_kept: no request began within 3 s after the 429's answer.
retry_after_kept() {
	intake stats | "$PYTHON3" -c '
import json, sys
log = json.load(sys.stdin)["requests_log"]
first = log[0]
if first["status"] != 429:
    sys.exit("first request answered %r, not 429" % first["status"])
after = [r for r in log[1:] if r["t"] >= first["t_end"]]
if not after:
    sys.exit("no request after the 429")
gap = min(r["t"] for r in after) - first["t_end"]
print("next request %.3f s after the 429 answer" % gap)
if gap < 3.0 - 0.05:
    sys.exit("Retry-After: 3 not honoured: next request after %.3f s" % gap)
' || fail "Retry-After"
}
retry_after_kept
log "1: ok"

# 2: a second worker waiting for the one connection when the 429 comes.
intake control '{"clear": true, "reset": true}'
intake control '{"path": "/api/v2/logs", "script": [{"status": 429, "retry_after": "3", "delay_ms": 1000}]}'
mkdir "$T/logs2" "$T/state2"
write_config "$T/two.yaml" <<YAML
state_dir: $T/state2
shutdown_timeout: 10s
scan_interval: 200ms
poll_interval: 100ms
$(app_source_in "$T/logs2")
$(dd_one_conn 2)
YAML
gen_lines "$T/logs2/app.log" "$N" retry429two
start_logshipd "$T/two.yaml"
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (two workers)"
check_exact "$T/logs2/app.log"
assert_eq "$(intake_stat 's["by_status"].get("429", 0)')" 1 \
    "429 answers (two workers)"
retry_after_kept
log "2: ok"
