#!/bin/sh
# A type: journald source reading a journal directory: exact delivery of
# 2,000 entries of three units, the units filter (units, exclude_units),
# PRIORITY as the status, routed by severity to two destinations; service,
# hostname and the journald attributes of each entry; an entry appended
# while running arrives without any poll (the journal's descriptor wakes
# the loop: the source has no timer that would read it); /metrics,
# /status and logshipd status show the source's journal (entries, cursor);
# after SIGTERM the cursor is in checkpoint.json (and the final report)
# and a restart ships exactly the entries written since.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/journal" "$T/state"
METRICS_PORT=$(free_port)
M_URL=http://127.0.0.1:$METRICS_PORT
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: 127.0.0.1:$METRICS_PORT }
sources:
  - name: jd
    type: journald
    directory: $T/journal
    units: [app, "db*"]
    exclude_units: [dbnoise.service]
    ddsource: journald
    tags: ["env:test"]
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

units="app.service db.service dbnoise.service other.service"
journal_gen "$T/e1" 2000 first "$units"
journal_write "$T/journal" "$T/e1"
journal_want "$T/e1.all" '^(app|db)[.]service$' '^[a-z]' >"$T/read1"
journal_want "$T/e1.all" '^(app|db)[.]service$' '^(emergency|alert|critical|error|warning|notice|info)$' >"$T/want.dd"
journal_want "$T/e1.all" '^(app|db)[.]service$' '^(emergency|alert|critical|error)$' >"$T/want.alerts"
n_dd=$(wc -l <"$T/want.dd")
n_alerts=$(wc -l <"$T/want.alerts")
log "2000 entries: $(wc -l <"$T/read1") of app and db, $n_dd to dd, $n_alerts to alerts"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$n_dd" 30
wait_count /ingest "$n_alerts" 30
check_exact "$T/want.dd" --path /api/v2/logs --with-status \
    --field ddsource=journald --field ddtags=env:test --field hostname=jhost
check_exact "$T/want.alerts" --path /ingest --with-status

# Each entry's service (its unit's name) and attributes.
intake entries --path /api/v2/logs | "$PYTHON3" -c '
import json, sys
n = 0
for line in sys.stdin:
    e = json.loads(line)
    j = e["journald"]
    want = {"SYSLOG_IDENTIFIER": e["service"], "_SYSTEMD_UNIT": e["service"] + ".service",
            "_PID": str(100 + len(e["service"]) + 8), "_HOSTNAME": "jhost"}
    if j != want or e["service"] not in ("app", "db"):
        sys.exit("bad attributes %r" % e)
    n += 1
print(n)' >"$T/nattr" || fail "attributes"

# Status: every entry read (2,000: those the units leave out included),
# the committed cursor, in the three renderings.
metrics_ok() {
	curl -sf "$M_URL/metrics" >"$T/metrics" &&
	    grep -qx 'logshipd_journal_entries_total{source="jd"} 2000' "$T/metrics" &&
	    grep -qx 'logshipd_journal_inflight_entries{source="jd"} 0' "$T/metrics" &&
	    grep -qx 'logshipd_journal_cursor_lost_total{source="jd"} 0' "$T/metrics" &&
	    grep -qx "logshipd_read_lines_total{source=\"jd\"} $(wc -l <"$T/read1")" "$T/metrics"
}
wait_for 10 metrics_ok
status_ok() {
	curl -sf "$M_URL/status" | "$PYTHON3" -c '
import json, sys
d = json.load(sys.stdin)
s = [s for s in d["sources"] if s["name"] == "jd"][0]
j = s["journal"]
assert s["type"] == "journald", s
assert j["entries"] == 2000 and j["inflight"] == 0, j
assert j["directory"] == sys.argv[1], j
assert j["cursor"].startswith("s="), j
' "$T/journal"
}
wait_for 10 status_ok
"$LOGSHIPD" status -c "$T/logshipd.yaml" >"$T/status.out" 2>&1 ||
    fail "logshipd status: exit $? ($(cat "$T/status.out"))"
grep -q "^JOURNAL " "$T/status.out" || fail "no JOURNAL table: $(cat "$T/status.out")"
grep -Eq "^jd +$T/journal +2000 +0 +[0-9]+s +s=" "$T/status.out" ||
    fail "no row for jd: $(cat "$T/status.out")"

# Appended while running: the descriptor wakes the loop.
journal_gen "$T/e2" 100 second "app.service" 2001
t0=$(now_ms)
journal_write "$T/journal" "$T/e2"
n2=$(journal_want "$T/e2.all" '^app[.]service$' '^(emergency|alert|critical|error|warning|notice|info)$' | wc -l)
wait_count /api/v2/logs $((n_dd + n2)) 10
log "appended entries arrived in $(($(now_ms) - t0)) ms"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
cur=$(journal_cursor jd)
[ -n "$cur" ] || fail "no cursor for jd in checkpoint.json"
log "cursor $cur"
grep -q "journal jd: entries=2100 cursor_lost=0 skipped=0 cursor=$cur" \
    "$T/logshipd.log" || fail "no final report line for jd"

# A restart resumes after the cursor: only the new entries.
journal_gen "$T/e3" 300 third "$units" 2101
journal_write "$T/journal" "$T/e3"
{ cat "$T/want.dd"
  journal_want "$T/e2.all" '^app[.]service$' '^(emergency|alert|critical|error|warning|notice|info)$'
  journal_want "$T/e3.all" '^(app|db)[.]service$' '^(emergency|alert|critical|error|warning|notice|info)$'
} >"$T/want.dd2"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$(wc -l <"$T/want.dd2")" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want.dd2" --path /api/v2/logs --with-status
grep -q "journal jd: resuming after $cur" "$T/logshipd.log" ||
    fail "the restart did not resume after the saved cursor"
log "ok"
