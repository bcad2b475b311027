#!/bin/sh
# The status endpoint. Ships lines of every severity to two destinations,
# then checks /metrics with the reference parser (prometheus_client) and
# with strict rules of our own, its counters against what the intake
# received; /status against the file; /healthz turning 503 when one
# destination stops delivering, and 200 again when it recovers; the status
# command; SIGUSR1's table in the log; 404 and 405.
. "$(dirname "$0")/lib.sh"

# The reference parser is Debian's python3-prometheus-client (deps.sh); the
# python that runs the tests may be another one.
PROM_PY=
for py in "$PYTHON3" /usr/bin/python3; do
	if "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
		PROM_PY=$py
		break
	fi
done
[ -n "$PROM_PY" ] ||
    fail "no python3 with prometheus_client (apt-get install python3-prometheus-client)"

METRICS_PORT=$(free_port)
M_URL=http://127.0.0.1:$METRICS_PORT

# mcheck strict | eval EXPR | status EXPR | get PATH: the endpoint's
# client. strict: /metrics parses and follows the rules; eval: EXPR over
# v(name, **labels) (a sample's value) and fam (the families) is true;
# status: EXPR over the /status document d is true; get: prints
# "STATUS BODY" of GET PATH (or another METHOD).
cat >"$T/mcheck.py" <<'PYEOF'
import json, sys, urllib.error, urllib.request
from prometheus_client.parser import text_string_to_metric_families

base, cmd = sys.argv[1], sys.argv[2]

def get(path, method="GET"):
    req = urllib.request.Request(base + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()

def metrics():
    st, ctype, body = get("/metrics")
    if st != 200:
        sys.exit("/metrics: HTTP %d" % st)
    if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
        sys.exit("/metrics: Content-Type %r" % ctype)
    return body.decode("utf-8")

def strict(text):
    """Rules beyond what the parser enforces."""
    types, helps, series, order = {}, set(), set(), []
    suffixes = {"histogram": ("_bucket", "_sum", "_count")}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            if name in types:
                sys.exit("TYPE of %s twice" % name)
            if name not in helps:
                sys.exit("TYPE of %s before its HELP" % name)
            if typ == "counter" and not name.endswith("_total"):
                sys.exit("counter %s does not end in _total" % name)
            if typ != "counter" and name.endswith("_total"):
                sys.exit("%s %s ends in _total" % (typ, name))
            if not name.startswith("logshipd_"):
                sys.exit("%s: no logshipd_ prefix" % name)
            types[name] = typ
            order.append(name)
            continue
        if not line or line.startswith("#"):
            sys.exit("unexpected line %r" % line)
        key, _, value = line.rpartition(" ")
        float(value)
        name = key.split("{", 1)[0]
        fam = order[-1] if order else None
        ok = fam is not None and (name == fam or name in
                                  [fam + s for s in suffixes.get(types[fam], ())])
        if not ok:
            sys.exit("sample %s has no TYPE (last TYPE: %s)" % (name, fam))
        if key in series:
            sys.exit("series twice: %s" % key)
        series.add(key)
    if len(types) < 40:
        sys.exit("only %d families" % len(types))

def samples(text):
    out = {}
    fams = list(text_string_to_metric_families(text))
    for f in fams:
        for s in f.samples:
            k = (s.name, tuple(sorted(s.labels.items())))
            if k in out:
                sys.exit("parser: series twice: %r" % (k,))
            out[k] = s.value
    return fams, out

if cmd == "strict":
    text = metrics()
    strict(text)
    fams, _ = samples(text)
    print("%d families" % len(fams))
elif cmd == "eval":
    fams, out = samples(metrics())
    def v(name, **labels):
        k = (name, tuple(sorted(labels.items())))
        if k not in out:
            sys.exit("no sample %s%r" % (name, labels))
        return out[k]
    def total(name, **labels):
        return sum(val for (n, ls), val in out.items() if n == name and
                   all(dict(ls).get(a) == b for a, b in labels.items()))
    r = eval(sys.argv[3])
    print(r)
    sys.exit(0 if r else 1)
elif cmd == "status":
    st, ctype, body = get("/status")
    if st != 200 or not ctype.startswith("application/json"):
        sys.exit("/status: HTTP %d, %r" % (st, ctype))
    d = json.loads(body)
    r = eval(sys.argv[3])
    print(r)
    sys.exit(0 if r else 1)
elif cmd == "get":
    st, _, body = get(sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "GET")
    print(st, body.decode("utf-8", "replace").strip())
PYEOF
mcheck() {
	"$PROM_PY" "$T/mcheck.py" "$M_URL" "$@"
}

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: 127.0.0.1:$METRICS_PORT }
$(app_source)
$(dd_dest)
    batch: { max_entries: 50, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
  - name: alerts
    type: http
    url: $INTAKE_URL/ingest
    batch: { max_entries: 50, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
    health_window: 1s
routes:
  - { severity: [emergency, alert, critical, error], to: [dd, alerts] }
  - { severity: [warning, notice, info, debug], to: [dd] }
YAML

# 100 lines of each severity, interleaved.
"$PYTHON3" - "$T/logs/app.log" <<'PY'
import sys
kws = ["EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"]
with open(sys.argv[1], "w") as f:
    for i in range(100):
        for kw in kws:
            f.write("2026-11-23T10:00:00Z %s metrics line %d\n" % (kw, i))
PY
N=800
N_ALERTS=400
SEVS="emergency alert critical error warning notice info debug"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30
wait_count /ingest "$N_ALERTS" 30
n_dd=$(intake count --path /api/v2/logs)
n_alerts=$(intake count --path /ingest)
assert_eq "$n_dd" "$N" "entries at the intake for dd"
assert_eq "$n_alerts" "$N_ALERTS" "entries at the intake for alerts"

# The snapshot after the last delivery: requests answered 2xx carried what
# the intake counted.
wait_for 15 mcheck eval "v('logshipd_destination_request_entries_total', destination='dd', code='2xx') == $n_dd and v('logshipd_destination_request_entries_total', destination='alerts', code='2xx') == $n_alerts"
mcheck strict >"$T/strict.out" || fail "/metrics: $(cat "$T/strict.out")"
log "/metrics: $(cat "$T/strict.out"), strict rules hold"
check() {
	mcheck eval "$1" >"$T/eval.out" 2>&1 ||
	    fail "/metrics: $1 (got $(cat "$T/eval.out"))"
}
check "v('logshipd_read_lines_total', source='app') == $N"
check "v('logshipd_read_bytes_total', source='app') == $(wc -c <"$T/logs/app.log")"
for s in $SEVS; do
	check "v('logshipd_read_severity_lines_total', severity='$s') == 100"
	check "v('logshipd_destination_sent_lines_total', destination='dd', severity='$s') == 100"
done
check "total('logshipd_destination_sent_lines_total', destination='alerts') == $n_alerts"
check "v('logshipd_destination_routed_lines_total', destination='dd') == $N"
check "v('logshipd_destination_pending_lines', destination='dd') == 0"
check "v('logshipd_destination_healthy', destination='alerts') == 1"
check "v('logshipd_healthy') == 1"
check "v('logshipd_destination_request_duration_seconds_count', destination='dd') == total('logshipd_destination_requests_total', destination='dd') > 0"
check "v('logshipd_destination_request_duration_seconds_bucket', destination='dd', le='+Inf') == v('logshipd_destination_request_duration_seconds_count', destination='dd')"
check "total('logshipd_destination_dropped_lines_total') == 0"
check "v('logshipd_destination_last_success_timestamp_seconds', destination='dd') > 1.7e9"
check "v('logshipd_open_files') == 1"

# /status: the file is committed to its end.
size=$(wc -c <"$T/logs/app.log" | tr -d ' ')
wait_for 15 mcheck status "d['sources'][0]['files'][0]['committed'] == $size"
mcheck status "d['sources'][0]['name'] == 'app' and d['sources'][0]['files'][0]['path'] == '$T/logs/app.log' and d['sources'][0]['files'][0]['size'] == $size and d['sources'][0]['files'][0]['lag_bytes'] == 0 and [x['name'] for x in d['destinations']] == ['dd', 'alerts'] and d['destinations'][0]['sent'] == $N and d['healthy'] is True" >/dev/null ||
    fail "/status: unexpected document"
mcheck status "'$DD_API_KEY' not in json.dumps(d) and '127.0.0.1:$INTAKE_PORT' not in json.dumps(d)" >/dev/null ||
    fail "/status shows a secret or a URL"
assert_eq "$(mcheck get /healthz)" "200 ok" "/healthz"
assert_eq "$(mcheck get /nope | cut -d' ' -f1)" 404 "an unknown path"
assert_eq "$(mcheck get /metrics POST | cut -d' ' -f1)" 405 "POST /metrics"

# alerts' intake fails; with lines waiting for it past its 1s
# health_window, /healthz fails and names it.
intake control '{"path": "/ingest", "default": {"status": 503}}'
"$PYTHON3" - "$T/logs/app.log" <<'PY'
import sys
with open(sys.argv[1], "a") as f:
    for i in range(20):
        f.write("2026-11-23T10:00:01Z ERROR while down %d\n" % i)
PY
healthz_503() {
	mcheck get /healthz >"$T/healthz.out" 2>&1
	grep -q '^503 destination alerts: ' "$T/healthz.out"
}
wait_for 20 healthz_503
log "/healthz: $(cat "$T/healthz.out")"
check "v('logshipd_destination_healthy', destination='alerts') == 0 and v('logshipd_destination_healthy', destination='dd') == 1"
check "v('logshipd_destination_requests_total', destination='alerts', code='5xx') > 0"
check "v('logshipd_destination_retries_total', destination='alerts') > 0"
check "v('logshipd_destination_pending_lines', destination='alerts') == 20"

# The status command, from the configuration.
"$LOGSHIPD" status -c "$T/logshipd.yaml" >"$T/status.out" 2>&1 ||
    fail "logshipd status: exit $? ($(cat "$T/status.out"))"
grep -q '^dd  *ok ' "$T/status.out" || fail "status: no healthy dd row"
grep -q '^alerts  *FAIL ' "$T/status.out" || fail "status: no failing alerts row"
grep -q "^app  *$T/logs/app.log " "$T/status.out" || fail "status: no file row"
grep -q 'UNHEALTHY: destination alerts' "$T/status.out" ||
    fail "status: the verdict is missing"
# And from a URL.
"$LOGSHIPD" status -u "$M_URL/" >"$T/status2.out" 2>&1 ||
    fail "logshipd status -u: exit $?"
grep -q '^alerts ' "$T/status2.out" || fail "status -u: no alerts row"

# SIGUSR1: the same table in the log.
kill -USR1 "$LS_PID"
usr1_table() {
	grep -q 'status: DESTINATION  *HEALTH' "$T/logshipd.log" &&
	    grep -q 'status: alerts  *FAIL ' "$T/logshipd.log" &&
	    grep -q "status: app  *$T/logs/app.log " "$T/logshipd.log"
}
wait_for 10 usr1_table

# Recovery: delivered again, healthy again.
intake control '{"path": "/ingest", "default": null}'
wait_count /ingest $((N_ALERTS + 20)) 30
wait_for 20 mcheck eval "v('logshipd_healthy') == 1 and v('logshipd_destination_pending_lines', destination='alerts') == 0"
assert_eq "$(mcheck get /healthz)" "200 ok" "/healthz after recovery"

stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
# No daemon: the status command says so, and fails.
st=0
"$LOGSHIPD" status -c "$T/logshipd.yaml" >"$T/status3.out" 2>&1 || st=$?
assert_eq "$st" 1 "status with no daemon"
grep -q 'cannot reach logshipd at' "$T/status3.out" ||
    fail "status with no daemon: $(cat "$T/status3.out")"
log "ok"
