#!/bin/sh
# A stack trace printed to stdout is one journal entry per line: a
# journald source with multiline.start joins them per process, even with
# another process's lines interleaved; each joined entry keeps its first
# line's PRIORITY. After SIGTERM the entry being gathered is shipped, and
# the cursor never passes a line of an entry not yet shipped (a restart
# sends nothing again and loses nothing).
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
    multiline: { start: '^\\d{4}-\\d\\d-\\d\\d ', flush: 300ms }
destinations:
  - name: h
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 200ms }
YAML
# Two processes of one unit (pids 1 and 2), their lines interleaved: each
# writes 50 entries of a head line and, for every third, a trace of four
# lines. want: STATUS<TAB>the joined message (lines joined with \n,
# written as the two characters \ and n for the intake's check).
"$PYTHON3" - "$T/e" "$T/want" <<'PY'
import sys, time
now = int(time.time() * 1e6)
streams = {1: [], 2: []}
want = []
for pid in (1, 2):
    for k in range(50):
        prio = 3 if k % 3 == 0 else 6
        head = "2026-12-01 10:00:%02d p%d entry %d" % (k % 60, pid, k)
        lines = [head]
        if k % 3 == 0:
            lines += ["java.lang.IllegalStateException: boom %d" % k,
                      "\tat com.example.A.run(A.java:%d)" % k,
                      "\tat com.example.B.call(B.java:12)",
                      "\t... 3 more"]
        for i, l in enumerate(lines):
            streams[pid].append((prio if i == 0 else 6, l))
        want.append(("error" if prio == 3 else "info", "\\n".join(lines)))
out = []
a, b = streams[1], streams[2]
while a or b:
    for s in (a, b):
        if s:
            out.append((s is a and 1 or 2, s.pop(0)))
with open(sys.argv[1], "w") as f:
    for n, (pid, (prio, line)) in enumerate(out):
        f.write("__REALTIME_TIMESTAMP=%d\n_SYSTEMD_UNIT=app.service\n"
                "SYSLOG_IDENTIFIER=app\n_PID=%d\nPRIORITY=%d\nMESSAGE=%s\n\n"
                % (now + n, pid, prio, line))
with open(sys.argv[2], "w") as f:
    for st, m in want:
        f.write("%s\t%s\n" % (st, m))
PY
journal_write "$T/journal" "$T/e"
start_logshipd "$T/logshipd.yaml"
wait_count /ingest 100 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake entries --path /ingest | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print("%s\t%s" % (e["status"], e["message"].replace("\n", "\\n")))
' | sort >"$T/got"
sort "$T/want" >"$T/want.sorted"
cmp -s "$T/got" "$T/want.sorted" || {
	diff "$T/want.sorted" "$T/got" | head -20 >&2
	fail "joined entries differ"
}
# A restart sends nothing again (the cursor is past every shipped line):
# one entry written after it arrives (shipped at the drain, the last of
# its process's), and only it.
printf '__REALTIME_TIMESTAMP=%s\n_SYSTEMD_UNIT=app.service\n_PID=1\nMESSAGE=2026-12-01 11:00:00 p1 after restart\n\n' \
    "$(($(date +%s) * 1000000))" >"$T/e2"
start_logshipd "$T/logshipd.yaml"
wait_for 10 ls_started
journal_write "$T/journal" "$T/e2"
wait_count /ingest 101 20
stop_logshipd TERM 20
assert_eq "$(intake count --path /ingest)" 101 "entries after a restart"
intake messages --path /ingest | grep -qx '2026-12-01 11:00:00 p1 after restart' ||
    fail "the entry written after the restart"
log "ok"
