#!/bin/sh
# max_entry_bytes bounds a message as it is sent, escaped (issue 16.5): a
# 1 MB line of control bytes, each six bytes once escaped (\u0001), is
# sent cut to the longest prefix that fits in the default 900,000 bytes
# with the marker (" [logshipd: truncated N bytes]", N the bytes left
# out), at once (no 413: the body is under the intake's 1 MB
# limit), and the lines around it arrive whole. Before, it was cut to
# 1,000,000 raw bytes (a 6 MB body), answered 413, and halved to a tenth
# of what would have fitted.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY" --max-bytes 1000000
mkdir "$T/logs" "$T/state"
app_config 10 "max_line_bytes: 2MiB"
"$PYTHON3" - "$T/logs/app.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("before the long line\n")
    f.write("\x01" * 1000000 + "\n")
    f.write("after the long line\n")
PY
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 3 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
n413=$(intake_stat 's["by_status"].get("413", 0)')
assert_eq "$n413" 0 "413 answers"
intake entries --path /api/v2/logs >"$T/entries.json"
"$PYTHON3" - "$T/entries.json" <<'PY' || fail "the long line was not cut to what fits"
import json, sys
import re
msgs = [json.loads(l)["message"] for l in open(sys.argv[1]) if l.strip()]
assert len(msgs) == 3, len(msgs)
assert "before the long line" in msgs and "after the long line" in msgs
m = [x for x in msgs if x.startswith("\x01")][0]
mark = re.search(r" \[logshipd: truncated (\d+) bytes\]\Z", m)
assert mark, "no marker"
body = m[: mark.start()]
assert set(body) == {"\x01"}, "not a prefix of the line"
assert int(mark.group(1)) == 1000000 - len(body), "marker count"
sent = 6 * len(body) + len(mark.group(0))
print("long line: %d bytes kept, %d sent escaped" % (len(body), sent))
assert sent <= 900000, "over max_entry_bytes: %d" % sent
assert sent + 6 > 900000, "cut short: %d" % sent
PY
log "ok"
