#!/bin/sh
# Multiline entries: a Java stack trace (with "Caused by:" and "... 3
# more") and a Python traceback, each after a timestamped ERROR line, among
# ordinary timestamped lines. start: '^[0-9]{4}-[0-9]{2}-[0-9]{2}' (a
# timestamp begins an entry; other lines join it with "\n"). The intake must
# hold exactly the expected entries, the last one shipped by the flush
# timeout since no line follows it. Then a second batch is appended.
# Last, with a flush timeout that never fires during the test, app.log is
# truncated while an entry is being gathered: that entry (whole lines read
# before the truncation) must still arrive, once. And a file deleted with
# an entry being gathered and a partial last line: read to its end, both
# arrive (nothing more can come to end them) before it is forgotten.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config 100 "multiline: { start: '^[0-9]{4}-[0-9]{2}-[0-9]{2}', flush: 500ms }"

# gen ROUND: appends ROUND's lines to the log and its entries (JSON lines)
# to $T/want.jsonl; prints how many entries.
gen() {
	"$PYTHON3" - "$T/logs/app.log" "$T/want.jsonl" "$1" <<'PY'
import json, sys
log, want, r = sys.argv[1], sys.argv[2], int(sys.argv[3])
java = [
    "java.lang.IllegalStateException: round %d failed" % r,
    "\tat com.example.Service.handle(Service.java:42)",
    "\tat com.example.Server.dispatch(Server.java:117)",
    "\tat java.base/java.lang.Thread.run(Thread.java:833)",
    "Caused by: java.io.IOException: connection reset",
    "\tat com.example.Client.read(Client.java:88)",
    "\t... 3 more",
]
py = [
    "Traceback (most recent call last):",
    '  File "/srv/app/main.py", line 10, in <module>',
    "    main()",
    '  File "/srv/app/main.py", line 7, in main',
    "    raise ValueError('x')",
    "ValueError: x",
]
entries = []
def ts(i):
    return "2026-11-23 10:%02d:%02d,%03d" % (r, i % 60, i)
for i in range(20):
    entries.append(["%s INFO request %d of round %d served" % (ts(i), i, r)])
    if i == 5:
        entries.append(["%s ERROR request failed" % ts(i)] + java)
    if i == 12:
        entries.append(["%s ERROR script failed" % ts(i)] + py)
entries.append(["%s ERROR last words of round %d" % (ts(99), r)] + java)
with open(log, "a") as f, open(want, "a") as w:
    for e in entries:
        f.write("\n".join(e) + "\n")
        w.write(json.dumps("\n".join(e)) + "\n")
print(len(entries))
PY
}

n1=$(gen 1)
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$n1" 30
n2=$(gen 2)
wait_count /api/v2/logs $((n1 + n2)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
same_entries >"$T/same.out" || {
	cat "$T/same.out" >&2
	fail "received entries != expected"
}
assert_eq "$(intake count)" $((n1 + n2)) "entries"
lines=$(wc -l <"$T/logs/app.log")
multi=$(grep -c 'ERROR' "$T/logs/app.log")
log "rounds: written=$((n1 + n2)) entries ($lines lines, $multi multiline)" \
    "received=$(intake count) duplicates=0 ($(head -n 1 "$T/same.out"))"

# put FILE ENTRY...: appends the entries (lines joined by "\n") to FILE;
# those given as "+ENTRY" to $T/want.jsonl as well.
put() {
	"$PYTHON3" - "$T/want.jsonl" "$@" <<'PY'
import json, sys
want, log, entries = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(log, "a") as f, open(want, "a") as w:
    for e in entries:
        if e.startswith("+"):
            e = e[1:]
            w.write(json.dumps(e) + "\n")
        f.write(e + "\n")
PY
}
app_config 100 "multiline: { start: '^[0-9]{4}-[0-9]{2}-[0-9]{2}', flush: 1h }"
start_logshipd "$T/logshipd.yaml"
# B's start line ends A; B (and its continuation lines) is being gathered
# when app.log is truncated. C is ended by D, which nothing ends.
put "$T/logs/app.log" "+2026-11-23 11:00:00,000 ERROR trunc A
	at com.example.A.run(A.java:1)" "+2026-11-23 11:00:01,000 ERROR trunc B
	at com.example.B.run(B.java:2)
	at com.example.B.main(B.java:3)"
wait_count /api/v2/logs $((n1 + n2 + 1)) 30
: >"$T/logs/app.log"
put "$T/logs/app.log" "+2026-11-23 11:00:02,000 INFO trunc C" \
    "2026-11-23 11:00:03,000 INFO trunc D"
wait_count /api/v2/logs $((n1 + n2 + 3)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (truncation)"
same_entries >"$T/same.out" || {
	cat "$T/same.out" >&2
	fail "received entries != expected (truncation)"
}
assert_eq "$(intake count)" $((n1 + n2 + 3)) "entries (truncation)"
assert_eq "$(ls_files_stat truncations)" 1 "truncations="
log "truncation: written=$((n1 + n2 + 3)) entries received=$(intake count)" \
    "duplicates=0 ($(head -n 1 "$T/same.out"))"

app_config 100 "multiline: { start: '^[0-9]{4}-[0-9]{2}-[0-9]{2}', flush: 1h }
    partial_flush: 1h"
start_logshipd "$T/logshipd.yaml"
put "$T/logs/del.log" "+2026-11-23 11:00:04,000 ERROR gone A
	at com.example.A.run(A.java:1)" "+2026-11-23 11:00:05,000 ERROR gone B
	at com.example.B.run(B.java:2)"
printf '%s' "2026-11-23 11:00:06,000 INFO gone C" >>"$T/logs/del.log"
printf '%s\n' '"2026-11-23 11:00:06,000 INFO gone C"' >>"$T/want.jsonl"
wait_count /api/v2/logs $((n1 + n2 + 4)) 30
rm "$T/logs/del.log"
wait_count /api/v2/logs $((n1 + n2 + 6)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (deleted)"
same_entries >"$T/same.out" || {
	cat "$T/same.out" >&2
	fail "received entries != expected (deleted)"
}
assert_eq "$(intake count)" $((n1 + n2 + 6)) "entries (deleted)"
log "ok: written=$((n1 + n2 + 6)) entries received=$(intake count)" \
    "duplicates=0 ($(head -n 1 "$T/same.out"))"
