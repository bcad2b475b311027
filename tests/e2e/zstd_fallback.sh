#!/bin/sh
# compression: zstd towards a host that is not agent-http-intake.logs.*:
# accepted with a warning at load. The intake refuses zstd, once with 415
# and once (a second logshipd) with 400: the destination switches to gzip
# (logged once, counted), resends the refused batch as gzip, and every line
# arrives exactly once.
. "$(dirname "$0")/lib.sh"

N=5000
# fallbacks_are N: /metrics counts N switches from zstd to gzip.
fallbacks_are() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
want = 'logshipd_destination_codec_fallbacks_total{destination="dd"} %s' % sys.argv[2]
sys.exit(0 if want in body.splitlines() else 1)
PY
}
mkdir "$T/logs" "$T/state"
for status in 415 400; do
	start_intake --api-key "$DD_API_KEY" --refuse-zstd "$status"
	rm -rf "$T/state" "$T/logs" && mkdir "$T/logs" "$T/state"
	METRICS_PORT=$(free_port)
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
$(app_source)
$(dd_dest)
    workers: 2
    compression: zstd
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 50ms, max: 500ms }
YAML
	gen_lines "$T/logs/app.log" "$N" "zfb$status"
	: >"$T/logshipd.log"
	start_logshipd "$T/logshipd.yaml"
	wait_count /api/v2/logs "$N" 60
	# (the endpoint's snapshot is refreshed every second)
	wait_for 10 fallbacks_are 1
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status ($status)"
	check_exact "$T/logs/app.log"
	assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped= ($status)"
	assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent= ($status)"
	grep -q 'compression: zstd: only agent-http-intake.logs.<site> is known to take it' \
	    "$T/logshipd.log" || fail "no warning at load ($status)"
	assert_eq "$(grep -c "answered HTTP $status to a zstd body; sending gzip" "$T/logshipd.log")" \
	    1 "fallback warnings ($status)"
	# Every zstd request was refused, every accepted one was gzip.
	assert_eq "$(intake_stat 'sorted(set((r["encoding"], r["status"]) for r in s["requests_log"]))')" \
	    "[('gzip', 202), ('zstd', $status)]" "encodings and answers ($status)"
	stop_intake
done
log "ok"
