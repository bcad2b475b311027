#!/bin/sh
# Composition (issue 16.7): the main file includes conf.d/*.yaml, one file
# per application as configuration management drops them; their sources,
# destinations and routes are merged, and ${VAR} / ${VAR:-default} are
# replaced in any value. Lines of the main file's source and of an
# included one arrive exactly once at the included destination; -n names
# an unset variable in an included file by that file, line and column,
# and a duplicate source name by both files (exit 78).
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir -p "$T/logs" "$T/logs2" "$T/state" "$T/conf.d"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
include: ["conf.d/*.yaml"]
sources:
  - name: app
    paths: ["\${LS_E2E_LOGS}/*.log"]
    service: \${LS_E2E_SERVICE:-shop}
YAML
cat >"$T/conf.d/10-dest.yaml" <<YAML
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
YAML
cat >"$T/conf.d/20-worker.yaml" <<YAML
sources:
  - name: worker
    paths: ["$T/logs2/*.log"]
routes:
  - { severity: all, to: [dd] }
YAML
LS_E2E_LOGS=$T/logs
export LS_E2E_LOGS
gen_lines "$T/logs/app.log" 100 app
gen_lines "$T/logs2/w.log" 100 worker
cat "$T/logs/app.log" "$T/logs2/w.log" >"$T/want"
"$LOGSHIPD" -n -c "$T/logshipd.yaml" || fail "-n refused the set"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 200 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
intake entries | "$PYTHON3" -c '
import json, sys
svc = {json.loads(l)["message"].split()[2]: json.loads(l).get("service") for l in sys.stdin}
assert svc["app"] == "shop" and svc["worker"] is None, svc
' || fail "service from \${LS_E2E_SERVICE:-shop}"

# Errors: an unset variable in an included file, a duplicate name.
cat >"$T/conf.d/30-bad.yaml" <<YAML
sources:
  - name: app
    paths: ["\${LS_E2E_UNSET}/*.log"]
YAML
st=0
"$LOGSHIPD" -n -c "$T/logshipd.yaml" 2>"$T/n.err" || st=$?
assert_eq "$st" 78 "-n exit status"
grep -qx "$T/conf.d/30-bad.yaml:3:14: sources\[0\].paths\[0\]: environment variable LS_E2E_UNSET is not set (and the reference has no :-default)" "$T/n.err" ||
    fail "unset variable not reported at its file:line:col: $(cat "$T/n.err")"
grep -qx "$T/conf.d/30-bad.yaml:2:11: sources\[0\].name: duplicate source name \"app\" (first at $T/logshipd.yaml:[0-9]*)" "$T/n.err" ||
    fail "duplicate not reported with both files: $(cat "$T/n.err")"
log "ok"
