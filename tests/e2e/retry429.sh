#!/bin/sh
# The first request is answered 429 with Retry-After: 3. No request may
# reach the intake until 3 s after that answer; then every line arrives.
# One worker and one connection, so the pause is that of the destination.
. "$(dirname "$0")/lib.sh"

N=3000
start_intake --api-key "$DD_API_KEY"
intake control '{"path": "/api/v2/logs", "script": [{"status": 429, "retry_after": "3"}]}'
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
$(dd_dest)
    workers: 1
    max_connections: 1
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML
gen_lines "$T/logs/app.log" "$N" retry429
cp "$T/logs/app.log" "$T/want"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" || fail "received != written"
assert_eq "$(intake_stat 's["by_status"].get("429", 0)')" 1 "429 answers"
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
log "ok"
