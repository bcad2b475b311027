#!/bin/sh
# Intake faults, one after another in one run: the connection reset in the
# middle of the request, an answer cut short (Content-Length larger than
# what comes), an intake that stalls past the timeout, a 200 whose body is
# not JSON (not the Datadog intake), a 302 (never followed), and a 500 with
# a 10 MB body (not kept). For each: lines are written while the fault is
# on, logshipd retries (the intake sees the fault at least 3 times) and
# says what happened in its log, nothing is accepted meanwhile; then the
# fault is cleared and every line arrives exactly once. logshipd runs at
# debug level with the status endpoint on; at the end the API key must
# appear nowhere in what it printed, nor in /metrics or /status.
. "$(dirname "$0")/lib.sh"

K=200 # lines per fault
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
printf '%s\n' "$DD_API_KEY" >"$T/dd_api_key"
chmod 600 "$T/dd_api_key"
METRICS_PORT=$(free_port)
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
$(app_source)
destinations:
  - name: dd
    type: datadog
    url: $INTAKE_URL/api/v2/logs
    api_key_file: $T/dd_api_key
    workers: 2
    timeout: 2s
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
YAML
: >"$T/want"

sanitizer=
if grep -q __asan_init "$LOGSHIPD" 2>/dev/null; then
	sanitizer=ASan
elif grep -q __tsan_init "$LOGSHIPD" 2>/dev/null; then
	sanitizer=TSan
fi

vmrss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$LS_PID/status"
}

# hits KIND N: the intake answered at least N requests with KIND (a status
# or a fault's name).
hits() {
	[ "$(intake_stat 's["by_status"].get("'"$1"'", 0)')" -ge "$2" ]
}

in_log() {
	grep -Eq "$1" "$T/logshipd.log"
}

# fault NAME STEP KIND REGEX: turns the fault STEP on for every request,
# writes K lines, waits until the intake has answered 3 requests with KIND
# and the log matches REGEX, checks that nothing was accepted meanwhile,
# turns the fault off and waits for every line so far.
fault() {
	_before=$(intake count)
	intake control '{"path": "/api/v2/logs", "default": '"$2"'}'
	gen_lines "$T/batch" "$K" "$1"
	cat "$T/batch" >>"$T/logs/app.log"
	cat "$T/batch" >>"$T/want"
	rm -f "$T/batch"
	wait_for 30 hits "$3" 3
	wait_for 10 in_log "$4"
	alive "$LS_PID" || fail "$1: logshipd died"
	assert_eq "$(intake count)" "$_before" "$1: entries accepted during the fault"
	[ -z "$BIG_BASE" ] || BIG_PEAK=$(vmrss)
	intake control '{"path": "/api/v2/logs", "reset": true}'
	wait_count /api/v2/logs "$(wc -l <"$T/want")" 30
	log "$1: $(intake_stat 's["by_status"].get("'"$3"'", 0)') x $3, then delivered"
}

start_logshipd "$T/logshipd.yaml" -v
# Something delivered first: the connections are up, the baseline is set.
gen_lines "$T/logs/app.log" "$K" warmup
cat "$T/logs/app.log" >>"$T/want"
wait_count /api/v2/logs "$K" 30

BIG_BASE=
fault reset '{"reset": true}' reset \
    'dd: .*(reset by peer|Broken pipe|Send failure|Recv failure).*; retrying'
fault truncate '{"truncate": true}' truncate \
    'dd: .*transfer closed with [0-9]+ bytes remaining.*; retrying'
fault stall '{"stall": true}' stall \
    'dd: .*[Tt]imeout was reached|dd: .*[Tt]imed out.*; retrying'
fault garbage '{"status": 200, "body": "<html><body>Welcome to the hotel wifi</body></html>"}' \
    200 "dd: HTTP 200: <html>.*; retrying in [0-9]+ ms \\(not the intake's JSON answer: check the url\\)"
fault redirect '{"status": 302, "headers": {"Location": "/api/v2/elsewhere"}}' \
    302 'dd: HTTP 302.*; retrying in [0-9]+ ms \(redirects are not followed: check the url\)'
# Nothing was sent to where the redirect pointed.
assert_eq "$(intake count --path /api/v2/elsewhere)" 0 "entries on the redirect's path"
assert_eq "$(intake_stat 'sum(1 for r in s["requests_log"] if r["path"] != "/api/v2/logs")')" 0 \
    "requests to another path (a followed redirect)"

BIG_BASE=$(vmrss)
fault bigbody '{"status": 500, "body_bytes": 10000000}' 500 \
    'dd: HTTP 500: x{100}.*; retrying'
# The log shows at most 200 bytes of an answer's body.
big=$(grep -E 'dd: HTTP 500: x' "$T/logshipd.log" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
[ "$big" -lt 400 ] || fail "a log line of $big bytes quotes the 10 MB body"
# Each 10 MB answer was read and let go: the RSS did not grow by one.
log "RSS before the 10 MB answers ${BIG_BASE} KiB, after 3 of them ${BIG_PEAK} KiB"
if [ -n "$sanitizer" ]; then
	log "SKIP the RSS assertion: $LOGSHIPD is built with $sanitizer"
elif [ $((BIG_PEAK - BIG_BASE)) -gt 4096 ]; then
	fail "RSS grew by $((BIG_PEAK - BIG_BASE)) KiB during the 10 MB answers"
fi

# What logshipd shows of itself holds no key.
"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT" "$T/endpoint.out" <<'PY' ||
import sys, urllib.request
base, out = sys.argv[1], sys.argv[2]
with open(out, "wb") as f:
    for path in ("/metrics", "/status", "/healthz"):
        try:
            with urllib.request.urlopen(base + path, timeout=10) as r:
                f.write(r.read())
        except urllib.error.HTTPError as e:
            f.write(e.read())
PY
    fail "cannot read the status endpoint"
grep -q logshipd_destination_retries_total "$T/endpoint.out" ||
    fail "the endpoint's output has no retries counter"

stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
assert_eq "$(ls_dest_stat dd sent)" "$(wc -l <"$T/want" | tr -d ' ')" "dd sent="
assert_eq "$(ls_dest_stat dd dropped)" 0 "dd dropped="
if grep -F -l "$DD_API_KEY" "$T/logshipd.log" "$T/endpoint.out"; then
	fail "the API key is in what logshipd printed"
fi
grep -q 'DD-API-KEY' "$T/logshipd.log" && fail "the log names the key header"
log "ok: $CK_RECEIVED lines once each through 6 faults; no key in the log or the endpoint"
