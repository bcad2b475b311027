#!/bin/sh
# max_connections bounds a destination's concurrent requests, also at
# startup with a backlog: 6 workers, max_connections 2, a slow intake
# (every answer after 2 s) and 5000 lines waiting. Once 1000 entries
# arrived, the intake never saw more than 2 requests at once, and did see 2
# (both connections used).
. "$(dirname "$0")/lib.sh"

N=5000
start_intake --api-key "$DD_API_KEY" --quiet
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 2000}}'
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 3s
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 6
    max_connections: 2
    batch: { max_entries: 100, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
YAML
gen_lines "$T/logs/app.log" "$N" maxconn

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 1000 60
# The intake's own high-water mark, and the same from the request log
# (overlapping [t, t_end] intervals), as a cross-check.
intake stats >"$T/stats.json"
read -r maxc overlap nreq <<EOF
$("$PYTHON3" - "$T/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ev = []
for r in s["requests_log"]:
    ev += [(r["t"], 1), (r["t_end"], -1)]
cur = peak = 0
for _, d in sorted(ev, key=lambda e: (e[0], e[1])):
    cur += d
    peak = max(peak, cur)
print(s["max_concurrent"], peak, len(s["requests_log"]))
PY
)
EOF
log "max_concurrent=$maxc (from the request log: $overlap) over $nreq requests"
[ "$maxc" -le 2 ] || fail "max_concurrent=$maxc, above max_connections: 2"
[ "$overlap" -le 2 ] || fail "$overlap overlapping requests, above max_connections: 2"
[ "$maxc" -ge 2 ] || fail "max_concurrent=$maxc: the 2 connections were not both used"
stop_logshipd TERM 15
assert_eq "$LS_STATUS" 0 "exit status"
log "ok"
