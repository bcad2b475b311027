#!/bin/sh
# multiline: auto (issue 15): no pattern; entries begin at lines with a
# time or a level, and Java, Python (chained), Go, Ruby, Node and .NET
# traces join their entry, after log lines of several time formats and
# printed alone; lines without a time are entries of their own. Every
# trace arrives as one entry, no two entries merged, each exactly once
# (empty lines are not lines: they are not in the entries).
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config 100 "multiline: auto"

"$PYTHON3" - "$T/logs/app.log" "$T/want.jsonl" <<'PY'
import json, sys
log, want = sys.argv[1], sys.argv[2]
java = ["java.lang.IllegalStateException: boom",
        "\tat com.example.Handler.handle(Handler.java:42)",
        "Caused by: java.io.IOException: closed",
        "\tat com.example.Conn.read(Conn.java:7)", "\t... 2 more"]
py = ["Traceback (most recent call last):",
      '  File "/app/job.py", line 10, in run', "    step()", "KeyError: 'x'",
      "", "During handling of the above exception, another exception occurred:",
      "", "Traceback (most recent call last):",
      '  File "/app/job.py", line 12, in run', "ValueError: boom"]
go = ["goroutine 7 [running]:", "main.handler()",
      "\t/src/main.go:10 +0x1d", "created by main.main",
      "\t/src/main.go:20 +0x2f"]
ruby = ["\tfrom x.rb:5:in `<main>'"]
node = ["Error: connect ECONNREFUSED", "    at TCPConnectWrap.afterConnect (node:net:1187:16)"]
dotnet = ["System.InvalidOperationException: boom", "   at App.Run() in /src/App.cs:line 10",
          "--- End of stack trace from previous location ---", "   at App.Main()"]
entries = []
for i in range(30):
    t = "2026-11-23T10:00:%02d.%03dZ" % (i % 60, i)
    entries.append(["%s INFO request %d" % (t, i)])
    k = i % 6
    if k == 0:
        entries.append(["%s ERROR java %d" % (t, i)] + java)
    elif k == 1:
        entries.append(["2026-11-23 10:00:%02d,000 ERROR py %d" % (i, i)] + py)
    elif k == 2:
        entries.append(["2026/11/23 10:00:%02d go %d: panic" % (i, i)] + go)
    elif k == 3:
        entries.append(["[2026-11-23 10:00:%02d] ERROR: x.rb:1:in `f': ruby %d" % (i, i)] + ruby)
    elif k == 4:
        entries.append(["%s ERROR node %d" % (t, i)] + node)
    else:
        entries.append(["Nov 23 10:00:%02d host app[1]: ERROR dotnet %d" % (i, i)] + dotnet)
    entries.append(["plain line without a time %d" % i])
    entries.append(["Traceback (most recent call last):", '  File "/x.py", line 1, in <module>',
                    "RuntimeError: alone %d" % i])
    entries.append(["panic: alone %d" % i, "", "goroutine 1 [running]:", "main.main()",
                    "\t/x/main.go:8 +0x1d"])
    entries.append(["another plain line %d" % i])
with open(log, "w") as f, open(want, "w") as w:
    for e in entries:
        f.write("\n".join(e) + "\n")
        # Empty lines are no lines (linebuf.h): not in the entries.
        w.write(json.dumps("\n".join(l for l in e if l != "")) + "\n")
PY
n=$(wc -l <"$T/want.jsonl")
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$n" 30
# The last entry is ended by nothing: multiline.flush ships it.
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
same_entries >"$T/same.out" || {
	cat "$T/same.out" >&2
	fail "received entries != expected"
}
assert_eq "$(intake count)" "$n" "entries"
log "ok: $(head -n 1 "$T/same.out")"
