#!/bin/sh
# Routes by source as well as severity (issue 15): two sources, api and
# worker; errors of api alone go to the http destination "alerts", and a
# route without source sends every line of both to "dd". alerts receives
# exactly api's error lines, dd every line, each exactly once.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir -p "$T/api" "$T/worker" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
sources:
  - name: api
    paths: ["$T/api/*.log"]
  - name: worker
    paths: ["$T/worker/*.log"]
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
  - name: alerts
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 200ms }
routes:
  - { source: [api], severity: [error, critical], to: [alerts] }
  - { severity: all, to: [dd] }
YAML
"$PYTHON3" - "$T" <<'PY'
import sys
T = sys.argv[1]
with open(T + "/api/a.log", "w") as a, open(T + "/worker/w.log", "w") as w, \
        open(T + "/want.all", "w") as al, open(T + "/want.alerts", "w") as er:
    for i in range(100):
        for src, f in (("api", a), ("worker", w)):
            lvl = ("ERROR", "INFO", "WARN", "CRITICAL")[i % 4]
            line = "%s %s line %03d" % (lvl, src, i)
            f.write(line + "\n")
            al.write(line + "\n")
            if src == "api" and lvl in ("ERROR", "CRITICAL"):
                er.write(line + "\n")
PY
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 200 30
wait_count /ingest 50 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want.all" --path /api/v2/logs
check_exact "$T/want.alerts" --path /ingest
log "ok: 200 lines to dd, api's 50 errors alone to alerts"
