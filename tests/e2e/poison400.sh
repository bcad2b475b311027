#!/bin/sh
# One poison entry among 1,000: the intake answers 400 to every body that
# holds it. logshipd halves the batch until the poison entry stands alone,
# drops only it (counted in /metrics, reason rejected, and logged with its
# first bytes and the intake's answer, never the key); the other 999 arrive
# exactly once.
. "$(dirname "$0")/lib.sh"

N=1000
METRICS_PORT=$(free_port)
start_intake --api-key "$DD_API_KEY" --poison POISON-MARK
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
$(app_source)
$(dd_dest)
    workers: 1
    batch: { max_entries: 1000, max_wait: 500ms }
    retry: { initial: 50ms, max: 500ms }
YAML
gen_lines "$T/gen" "$N" poison
# The poison line is the 638th: not first in any half.
awk 'NR == 638 { $0 = $0 " POISON-MARK" } { print }' "$T/gen" >"$T/logs/app.log"
grep -v POISON-MARK "$T/logs/app.log" >"$T/want"

# metric SERIES: the value of SERIES (name{labels}) in /metrics.
metric() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(line.split(" ")[1])
        sys.exit(0)
sys.exit("no series " + sys.argv[2])
PY
}
dropped_one() {
	[ "$(metric 'logshipd_destination_dropped_lines_total{destination="dd",reason="rejected"}')" = 1 ]
}

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs $((N - 1)) 60
wait_for 20 dropped_one
log "bisections: $(metric 'logshipd_destination_bisections_total{destination="dd"}')"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" || fail "received != written - the poison line"
assert_eq "$(ls_dest_stat dd dropped)" 1 "dd dropped="
assert_eq "$(ls_dest_stat dd sent)" $((N - 1)) "dd sent="
grep -q 'dropped an entry the intake refuses alone.*HTTP 400.*poison entry.*2026-11-23T10:00:00.637Z INFO poison 0000637' \
    "$T/logshipd.log" || fail "no warning quoting the poison entry and the answer"
if grep -F -q "$DD_API_KEY" "$T/logshipd.log"; then
	fail "the log shows the API key"
fi
log "ok"
