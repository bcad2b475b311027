#!/bin/sh
# A line's own time is sent as its timestamp (issue 16.4): from a JSON
# line's "timestamp" (RFC 3339), "@timestamp", "time" or "ts" (epoch s or
# ms), and from an RFC 3339 or "YYYY-MM-DD HH:MM:SS.fff" stamp at the
# start of a plain line (local time: TZ=UTC here); a line without one is
# stamped when read. A line 20 hours old, out of Datadog's 18-hour
# window, is sent with the current time and its own as
# original_timestamp, counted (logshipd_destination_restamped_lines_total)
# and warned about. A source with parse_timestamp: false sends the read
# time. Every line arrives exactly once.
. "$(dirname "$0")/lib.sh"

TZ=UTC
export TZ
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
METRICS_PORT=$(free_port)
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
sources:
  - name: app
    paths: ["$T/logs/app.log"]
  - name: raw
    paths: ["$T/logs/raw.log"]
    parse_timestamp: false
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
YAML

# MESSAGE<TAB>WANT for each line: WANT is the time in ms it must be sent
# with, "read" (when it was read), or "restamp:MS" (now, with MS as its
# original_timestamp).
"$PYTHON3" - "$T/logs" "$T/want.tsv" <<'PY'
import datetime, json, sys, time
logs, want = sys.argv[1], sys.argv[2]
now = int(time.time() * 1000)
h = 3600 * 1000
def iso(ms, z="Z"):
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (ms % 1000) + z
def plain(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (ms % 1000)
t1, t2, t3, t4, t5 = now - 2 * h, now - 3 * h, now - 4 * h, now - 5 * h, now - 6 * h
old = now - 20 * h
rows = [
    (json.dumps({"timestamp": iso(t1), "level": "info", "msg": "json rfc3339"}), str(t1)),
    (json.dumps({"@timestamp": iso(t2), "msg": "json at-timestamp"}), str(t2)),
    (json.dumps({"time": t3 // 1000, "msg": "json epoch seconds"}), str(t3 // 1000 * 1000)),
    (json.dumps({"ts": t4, "msg": "json epoch ms"}), str(t4)),
    (iso(t5) + " INFO plain rfc3339", str(t5)),
    (plain(t1) + " WARN plain local", str(t1)),
    ("no time on this line", "read"),
    (json.dumps({"ts": 7, "msg": "a counter is no time"}), "read"),
    (iso(old) + " ERROR twenty hours old", "restamp:%d" % old),
]
with open(logs + "/app.log", "w") as f, open(want, "w") as w:
    for msg, t in rows:
        f.write(msg + "\n")
        w.write("%s\t%s\n" % (msg, t))
    raw = iso(t1) + " INFO parse_timestamp false"
    w.write("%s\tread\n" % raw)
with open(logs + "/raw.log", "w") as f:
    f.write(raw + "\n")
PY
cut -f1 "$T/want.tsv" >"$T/want"
t0=$(now_ms)
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$(wc -l <"$T/want")" 30
t1=$(now_ms)
# restamped N: the endpoint counts N restamped lines (it shows a
# snapshot taken on the loop, so this is waited for).
restamped() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
n = sum(int(float(l.split()[-1])) for l in body.splitlines()
        if l.startswith("logshipd_destination_restamped_lines_total{"))
sys.exit(0 if n == int(sys.argv[2]) else 1)
PY
}
wait_for 10 restamped 1
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
grep -q "lines more than 17 hours old" "$T/logshipd.log" ||
    fail "no warning about the restamped line"
intake entries --path /api/v2/logs | "$PYTHON3" -c '
import json, sys
want = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]))
lo, hi = int(sys.argv[2]) - 1000, int(sys.argv[3]) + 1000
for line in sys.stdin:
    e = json.loads(line)
    w, ts, orig = want[e["message"]], e["timestamp"], e.get("original_timestamp")
    if w == "read":
        ok = lo <= ts <= hi and orig is None
    elif w.startswith("restamp:"):
        ok = lo <= ts <= hi and orig == int(w.split(":")[1])
    else:
        ok = ts == int(w) and orig is None
    if not ok:
        sys.exit("%r: timestamp %r, original %r; want %s" % (e["message"], ts, orig, w))
print("%d entries, each with the time it should have" % len(want))
' "$T/want.tsv" "$t0" "$t1" || fail "timestamps"
log "ok"
