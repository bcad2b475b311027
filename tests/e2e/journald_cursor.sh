#!/bin/sh
# A saved cursor the journal no longer has (vacuumed, or another
# journal's): the checkpoint names a cursor of a sequence that is not in
# the journal; logshipd warns, counts it, and ships from the oldest entry:
# all 500 entries (those that match: matches: ["PRIORITY=3"] keeps one in
# eight), each once. And a cursor that is there but whose entry the
# matches leave out (the configuration changed) still resumes after it,
# not at the oldest entry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

start_intake
mkdir "$T/journal" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
sources:
  - name: jd
    type: journald
    directory: $T/journal
    matches: ["PRIORITY=3"]
destinations:
  - name: h
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 200ms }
YAML
journal_gen "$T/e" 4000 vac
journal_write "$T/journal" "$T/e"
awk -F '\t' '$1 == "error" { print $2 }' "$T/e.all" >"$T/want"
# A well-formed cursor of a sequence id this journal never had.
gone='s=0123456789abcdef0123456789abcdef;i=7;b=00000000000000000000000000000000;m=0;t=5f3c0a1b2c3d4;x=0123456789abcdef'
cat >"$T/state/checkpoint.json" <<JSON
{"version":1,"written":0,"files":[
],"journals":[
{"source":"jd","cursor":"$gone"}
]}
JSON
chmod 600 "$T/state/checkpoint.json"
start_logshipd "$T/logshipd.yaml"
wait_count /ingest "$(wc -l <"$T/want")" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want" --path /ingest --status error
grep -q "journal jd: the saved cursor is no longer in the journal" \
    "$T/logshipd.log" || fail "no warning for the vacuumed cursor"
cur=$(journal_cursor jd)
[ -n "$cur" ] && [ "$cur" != "$gone" ] || fail "the cursor did not move: $cur"

# The matches change (PRIORITY=4): the saved cursor's entry (PRIORITY 3)
# is one they leave out, and a restart still resumes after it: the
# warnings after it (3996 of the first journal, and those appended), not
# the 500 before it.
sed -i 's/PRIORITY=3/PRIORITY=4/' "$T/logshipd.yaml"
journal_gen "$T/e2" 16 more "app.service" 4001
journal_write "$T/journal" "$T/e2"
{ cat "$T/want"
  awk -F '\t' '$1 == "warning" && $2 ~ / 0003996 / { print $2 }' "$T/e.all"
  awk -F '\t' '$1 == "warning" { print $2 }' "$T/e2.all"
} >"$T/want3"
start_logshipd "$T/logshipd.yaml"
wait_count /ingest "$(wc -l <"$T/want3")" 30
stop_logshipd TERM 20
check_exact "$T/want3" --path /ingest
[ "$(ls_run_log | grep -c 'no longer in the journal')" -eq 0 ] ||
    fail "a cursor that is there was taken for a vacuumed one"
log "ok"
