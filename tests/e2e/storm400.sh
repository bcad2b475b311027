#!/bin/sh
# The intake answers 400 to everything (a storm: a wrong format, a proxy,
# a codec it does not take). logshipd must not mistake that for bad
# entries: it drops nothing, holds, and /healthz answers 503 naming the
# reason; logshipd status shows it. When the intake heals, every line
# arrives exactly once and /healthz answers 200.
. "$(dirname "$0")/lib.sh"

N=3000
METRICS_PORT=$(free_port)
start_intake --api-key "$DD_API_KEY" --refuse-all
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
$(app_source)
$(dd_dest)
    workers: 2
    reject_limit: 5
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 50ms, max: 500ms }
YAML
gen_lines "$T/logs/app.log" "$N" storm

# get PATH: "STATUS BODY" of the status endpoint's PATH.
get() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
healthz_503() {
	get /healthz >"$T/healthz.out" 2>&1
	grep -q '^503 destination dd: HTTP 400: holding: the intake refuses entry after entry' "$T/healthz.out"
}
healthz_200() {
	[ "$(get /healthz)" = "200 ok" ]
}

start_logshipd "$T/logshipd.yaml"
wait_for 30 healthz_503
log "/healthz: $(cat "$T/healthz.out")"
get /status >"$T/status.json"
"$PYTHON3" - "$T/status.json" <<'PY' || fail "/status does not show the hold"
import json, sys
st, _, body = open(sys.argv[1]).read().partition(" ")
d = json.loads(body)["destinations"][0]
assert d["holding"].startswith("holding: "), d
assert d["dropped"] == 0 and d["sent"] == 0, d
PY
"$LOGSHIPD" status -c "$T/logshipd.yaml" >"$T/status.out" 2>&1 ||
    fail "logshipd status: exit $? ($(cat "$T/status.out"))"
grep -q '^dd  *HOLD ' "$T/status.out" || fail "status: no HOLD row for dd"
grep -q 'UNHEALTHY: destination dd: HTTP 400: holding' "$T/status.out" ||
    fail "status: the reason is not named"
# Held a while: still nothing dropped, nothing accepted.
assert_eq "$(intake count)" 0 "entries accepted during the storm"
assert_eq "$(grep -c 'dropped an entry' "$T/logshipd.log" || true)" 0 "drop warnings"

intake control '{"refuse_all": false}'
wait_count /api/v2/logs "$N" 60
wait_for 20 healthz_200
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log"
assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped="
assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent="
grep -q 'no longer holding' "$T/logshipd.log" || fail "the end of the hold is not logged"
log "ok ($(intake_stat 's["by_status"].get("400", 0)') answers 400)"
