#!/bin/sh
# Routing by severity to two destinations: error and worse to both, warning,
# notice and info to Datadog only, debug nowhere. Checks the exact message
# set and status per destination, and the fields every entry carries.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
hostname: e2e-host
$(app_source)
    service: routing-svc
    ddsource: e2e
    tags: ["env:test", "team:core"]
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
  - name: alerts
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
routes:
  - { severity: [emergency, alert, critical, error], to: [dd, alerts] }
  - { severity: [warning, notice, info], to: [dd] }
YAML

# STATUS<TAB>LINE for every line written, in the order written.
"$PYTHON3" - "$T/logs/app.log" "$T/all" <<'PY'
import json, sys
plain = [("EMERG", "emergency"), ("ALERT", "alert"), ("CRIT", "critical"),
         ("FATAL", "critical"), ("ERROR", "error"), ("WARN", "warning"),
         ("NOTICE", "notice"), ("INFO", "info"), ("DEBUG", "debug")]
js = [("level", "error", "error"), ("severity", "warn", "warning"),
      ("status", "info", "info"), ("lvl", "debug", "debug"),
      ("level", "critical", "critical"), ("level", "notice", "notice")]
out = []
for i in range(40):
    for kw, st in plain:
        out.append((st, "2026-11-23T10:00:%02dZ %s routing plain %d %s"
                    % (i % 60, kw, i, kw.lower())))
    for key, val, st in js:
        out.append((st, json.dumps({"ts": i, key: val,
                                    "msg": "routing json %d %s" % (i, val)})))
    out.append(("info", "no keyword here, line %d" % i))
with open(sys.argv[1], "w") as f, open(sys.argv[2], "w") as a:
    for st, line in out:
        f.write(line + "\n")
        a.write("%s\t%s\n" % (st, line))
PY
awk -F '\t' '$1 != "debug"' "$T/all" >"$T/want.dd"
awk -F '\t' '$1 ~ /^(emergency|alert|critical|error)$/' "$T/all" >"$T/want.alerts"
n_dd=$(wc -l <"$T/want.dd")
n_alerts=$(wc -l <"$T/want.alerts")
log "$(wc -l <"$T/all") lines: $n_dd to dd, $n_alerts to alerts"

t0=$(now_ms)
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$n_dd" 30
wait_count /ingest "$n_alerts" 30
stop_logshipd TERM 20
t1=$(now_ms)
assert_eq "$LS_STATUS" 0 "exit status"

fields="--field service=routing-svc --field ddsource=e2e \
    --field ddtags=env:test,team:core,filename:app.log,dirname:$T/logs \
    --field hostname=e2e-host"
# shellcheck disable=SC2086
intake check --path /api/v2/logs --expect "$T/want.dd" --with-status $fields ||
    fail "datadog destination"
# shellcheck disable=SC2086
intake check --path /ingest --expect "$T/want.alerts" --with-status $fields ||
    fail "http destination"

# timestamp: epoch milliseconds. A plain line's own time (its leading
# RFC 3339 stamp, 2026-11-23T10:00:SSZ) on the http destination; on the
# datadog one that is older than Datadog's window, so it is sent with
# the current time and its own as original_timestamp. The JSON lines
# carry no time ("ts" is a counter): the time they were read, between
# start and stop.
for p in /api/v2/logs /ingest; do
	intake entries --path "$p" | "$PYTHON3" -c '
import calendar, json, re, sys
lo, hi, dd = int(sys.argv[1]) - 1000, int(sys.argv[2]) + 1000, sys.argv[3] == "1"
for line in sys.stdin:
    e = json.loads(line)
    ts, orig = e.get("timestamp"), e.get("original_timestamp")
    m = re.match(r"2026-11-23T10:00:(\d\d)Z ", e["message"])
    own = calendar.timegm((2026, 11, 23, 10, 0, int(m.group(1)))) * 1000 if m else None
    if own is not None and dd:
        ok = lo <= ts <= hi and orig == own
    elif own is not None:
        ok = ts == own and orig is None
    else:
        ok = lo <= ts <= hi and orig is None
    if not isinstance(ts, int) or isinstance(ts, bool) or not ok:
        sys.exit("bad timestamp %r (original %r, own %r, read in [%d, %d]) in %r"
                 % (ts, orig, own, lo, hi, e["message"]))
' "$t0" "$t1" "$([ "$p" = /api/v2/logs ] && echo 1 || echo 0)" || fail "timestamps on $p"
done
assert_eq "$(ls_final_read)" "$(wc -l <"$T/all" | tr -d ' ')" "final read="
assert_eq "$(ls_dest_stat dd sent)" "$n_dd" "dd sent="
assert_eq "$(ls_dest_stat alerts sent)" "$n_alerts" "alerts sent="
log "ok"
