#!/bin/sh
# SIGHUP and journald sources: units, service and tags change at once
# (entries read after the reload follow the new file, those before keep
# what they were read with); a source added starts from its start_at; a
# source removed stops reading and its cursor leaves the checkpoint once
# its records are done. Exact counts throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

start_intake
mkdir "$T/journal" "$T/journal2" "$T/state"
conf() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
sources:
$1
destinations:
  - name: h
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 100ms }
YAML
}
conf "  - { name: jd, type: journald, directory: $T/journal, units: [app] }"
journal_gen "$T/e1" 400 one "app.service db.service"
journal_write "$T/journal" "$T/e1"
journal_want "$T/e1.all" '^app[.]service$' . | cut -f 2 >"$T/want1"
start_logshipd "$T/logshipd.yaml"
wait_count /ingest "$(wc -l <"$T/want1")" 20
check_exact "$T/want1" --path /ingest

# units: [app, db], a service of its own; and a second source.
conf "  - { name: jd, type: journald, directory: $T/journal, units: [app, db], service: svc2, tags: [\"v:2\"] }
  - { name: jd2, type: journald, directory: $T/journal2, start_at: beginning }"
kill -HUP "$LS_PID"
wait_for 10 grep -q "reloaded: 2 sources" "$T/logshipd.log"
journal_gen "$T/e2" 400 two "app.service db.service" 401
journal_write "$T/journal" "$T/e2"
journal_gen "$T/e3" 50 three "x.service" 1
journal_write "$T/journal2" "$T/e3"
n=$(($(wc -l <"$T/want1") + 400 + 50))
wait_count /ingest "$n" 20
{ cat "$T/want1"; cut -f 2 "$T/e2.all"; cut -f 2 "$T/e3.all"; } >"$T/want2"
check_exact "$T/want2" --path /ingest
intake entries --path /ingest | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    m = e["message"]
    if m.startswith("two"):
        assert e["service"] == "svc2" and e["ddtags"] == "v:2", e
    elif m.startswith("one"):
        assert e["service"] == "app" and "ddtags" not in e, e
    elif m.startswith("three"):
        assert e["service"] == "x", e
' || fail "labels across the reload"
has_jd2() { grep -q '"jd2"' "$T/state/checkpoint.json"; }
wait_for 10 has_jd2

# jd2 removed: its cursor goes from the checkpoint.
conf "  - { name: jd, type: journald, directory: $T/journal, units: [app, db] }"
kill -HUP "$LS_PID"
wait_for 10 grep -q "reloaded: 1 sources" "$T/logshipd.log"
journal_gen "$T/e4" 20 four "x.service" 51
journal_write "$T/journal2" "$T/e4"
no_jd2() { ! grep -q '"jd2"' "$T/state/checkpoint.json"; }
wait_for 10 no_jd2
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want2" --path /ingest
log "ok"
