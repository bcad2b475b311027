#!/bin/sh
# Issue 18: the commit and multiline entries of interleaved processes.
# Process A (pid 1) prints 20 stack traces of five lines (a head line of
# PRIORITY 3, four trace lines), one line at a time; process B (pid 2)
# prints single lines of PRIORITY 6 between them (20 before the first
# trace, then one after each of A's lines). Errors go to a destination
# that answers 503, info to a healthy one. Once every line of B is
# delivered and the checkpoint holds the cursor committed after their
# acknowledgements, logshipd is killed with SIGKILL and restarted with the
# errors' destination healthy: every trace arrives, whole and once (the
# cursor never passed the first line of a trace not yet delivered), and
# each of B's lines at least once and at most twice.
# Then the same at a SIGTERM: one trace still gathered when it comes (a
# flush of an hour), shipped by the stop to the destination that answers
# 503, B's lines between its lines delivered; after shutdown_timeout the
# checkpoint holds a cursor before the trace, and a restart with the
# destination healthy delivers it whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

NTR=20
NB0=20
METRICS_PORT=$(free_port)
M_URL=http://127.0.0.1:$METRICS_PORT
start_intake
mkdir "$T/journal" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: 127.0.0.1:$METRICS_PORT }
sources:
  - name: jd
    type: journald
    directory: $T/journal
    multiline: { start: '^\\d{4}-\\d\\d-\\d\\d ', flush: 300ms }
destinations:
  - name: errs
    type: http
    format: ndjson
    url: $INTAKE_URL/errs
    batch: { max_entries: 10, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
  - name: info
    type: http
    format: ndjson
    url: $INTAKE_URL/info
    batch: { max_entries: 10, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
routes:
  - { severity: [emergency, alert, critical, error], to: [errs] }
  - { severity: [warning, notice, info, debug], to: [info] }
YAML
# want.errs: each trace, its lines joined with \n (written as \ and n);
# want.info: B's lines.
"$PYTHON3" - "$T/e" "$T/want.errs" "$T/want.info" "$NTR" "$NB0" <<'PY'
import sys, time
ntr, nb0 = int(sys.argv[4]), int(sys.argv[5])
now = int(time.time() * 1e6)
out, errs, info = [], [], []
def b():
    m = "2026-12-01 10:00:00 pB line %d" % len(info)
    info.append(m)
    out.append((2, 6, m))
for k in range(nb0):
    b()
for k in range(ntr):
    lines = ["2026-12-01 10:00:%02d pA trace %d" % (k % 60, k),
             "java.lang.IllegalStateException: boom %d" % k,
             "\tat com.example.A.run(A.java:%d)" % k,
             "\tat com.example.B.call(B.java:12)",
             "\t... 3 more"]
    errs.append("\\n".join(lines))
    for i, l in enumerate(lines):
        out.append((1, 3 if i == 0 else 6, l))
        b()
with open(sys.argv[1], "w") as f:
    for n, (pid, prio, line) in enumerate(out):
        f.write("__REALTIME_TIMESTAMP=%d\n_SYSTEMD_UNIT=app.service\n"
                "SYSLOG_IDENTIFIER=app\n_PID=%d\nPRIORITY=%d\nMESSAGE=%s\n\n"
                % (now + n, pid, prio, line))
with open(sys.argv[2], "w") as f:
    f.write("".join(m + "\n" for m in errs))
with open(sys.argv[3], "w") as f:
    f.write("".join(m + "\n" for m in info))
PY
NINFO=$(wc -l <"$T/want.info")
NENT=$((NINFO + NTR * 5))
journal_write "$T/journal" "$T/e"
intake control '{"path": "/errs", "default": {"status": 503}}'

start_logshipd "$T/logshipd.yaml"
wait_count /info "$NINFO" 30
# The status (published by the loop once a second) with every entry read
# and only the traces in flight: B's acknowledgements are in. The
# snapshot after it comes from a later tick, which committed over them;
# the checkpoint then holds its cursor.
snap() {
	curl -sf "$M_URL/status" | "$PYTHON3" -c '
import json, sys
d = json.load(sys.stdin)
j = [s for s in d["sources"] if s["name"] == "jd"][0]["journal"]
assert j["entries"] == int(sys.argv[1]) and j["inflight"] == int(sys.argv[2]), j
assert d["time"] > float(sys.argv[3]), d["time"]
print(d["time"], j.get("cursor") or "")
' "$NENT" "$NTR" "$1" >"$T/snap"
}
wait_for 20 snap 0
t1=$(cut -d ' ' -f 1 "$T/snap")
wait_for 20 snap "$t1"
cur=$(cut -d ' ' -f 2- "$T/snap")
ckpt_has() {
	[ "$(journal_cursor jd)" = "$cur" ]
}
[ -z "$cur" ] || wait_for 10 ckpt_has
log "committed before the kill: ${cur:-none}"
[ "$(intake count --path /errs)" -eq 0 ] || fail "errors delivered while down"
stop_logshipd KILL 10
assert_eq "$LS_STATUS" 137 "exit status after SIGKILL"

intake control '{"path": "/errs", "reset": true}'
start_logshipd "$T/logshipd.yaml"
# errs_at_least N: waits (30 s, scaled) until /errs has N entries, failing
# if logshipd dies; at the deadline it returns, and the comparison after
# it says what is missing.
errs_at_least() {
	_end=$(($(now_ms) + $(scaled 30) * 1000))
	while [ "$(intake count --path /errs)" -lt "$1" ] &&
	    [ "$(now_ms)" -lt "$_end" ]; do
		alive "$LS_PID" || fail "logshipd died after the restart"
		sleep 0.1 # ok-sleep: bounded poll
	done
}

inflight_0() {
	curl -sf "$M_URL/metrics" >"$T/metrics" &&
	    grep -qx "logshipd_journal_inflight_entries{source=\"jd\"} 0" "$T/metrics" &&
	    grep -qx "logshipd_journal_entries_total{source=\"jd\"} [0-9]*" "$T/metrics"
}
# Every trace, or the deadline (then the comparison says what is missing).
errs_at_least "$NTR"
wait_for 20 inflight_0
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"

intake entries --path /errs | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["message"].replace("\n", "\\n"))
' | sort >"$T/got.errs"
sort "$T/want.errs" >"$T/want.errs.sorted"
cmp -s "$T/got.errs" "$T/want.errs.sorted" || {
	diff "$T/want.errs.sorted" "$T/got.errs" | head -20 >&2
	fail "the traces are not each delivered once, whole ($(wc -l <"$T/got.errs") of $NTR entries)"
}
intake messages --path /info | sort >"$T/got.info"
sort -u "$T/got.info" >"$T/got.info.u"
sort "$T/want.info" >"$T/want.info.sorted"
cmp -s "$T/got.info.u" "$T/want.info.sorted" || {
	diff "$T/want.info.sorted" "$T/got.info.u" | head -20 >&2
	fail "B's lines differ"
}
maxn=$(uniq -c "$T/got.info" | sort -rn | awk 'NR == 1 { print $1 }')
[ "$maxn" -le 2 ] || fail "a line of B arrived $maxn times after one kill"

# -- a trace gathered at SIGTERM ------------------------------------------
mkdir "$T/journal2" "$T/state2"
sed -e "s|$T/journal|$T/journal2|; s|$T/state|$T/state2|" \
    -e 's|flush: 300ms|flush: 1h|; s|shutdown_timeout: .*|shutdown_timeout: 2s|' \
    "$T/logshipd.yaml" >"$T/logshipd2.yaml"
"$PYTHON3" - "$T/e2" "$T/want2.errs" "$T/want2.info" <<'PY'
import sys, time
now = int(time.time() * 1e6)
out, info = [], []
def b():
    m = "2026-12-01 11:00:00 pB line %d" % len(info)
    info.append(m)
    out.append((2, 6, m))
for k in range(10):
    b()
lines = ["2026-12-01 11:00:00 pA trace at the stop",
         "java.lang.IllegalStateException: stop",
         "\tat com.example.A.run(A.java:1)",
         "\tat com.example.B.call(B.java:12)",
         "\t... 3 more"]
for i, l in enumerate(lines):
    out.append((1, 3 if i == 0 else 6, l))
    b()
with open(sys.argv[1], "w") as f:
    for n, (pid, prio, line) in enumerate(out):
        f.write("__REALTIME_TIMESTAMP=%d\n_SYSTEMD_UNIT=app.service\n"
                "SYSLOG_IDENTIFIER=app\n_PID=%d\nPRIORITY=%d\nMESSAGE=%s\n\n"
                % (now + n, pid, prio, line))
with open(sys.argv[2], "w") as f:
    f.write("\\n".join(lines) + "\n")
with open(sys.argv[3], "w") as f:
    f.write("".join(m + "\n" for m in info))
PY
journal_write "$T/journal2" "$T/e2"
intake control '{"reset": true, "clear": true}'
intake control '{"path": "/errs", "default": {"status": 503}}'
start_logshipd "$T/logshipd2.yaml"
# B's lines but its last (gathered too, shipped by the stop) delivered.
wait_count /info 14 30
stop_logshipd TERM 20
log "committed at the stop: $("$PYTHON3" -c '
import json, sys
print([j["cursor"] for j in json.load(open(sys.argv[1]))["journals"]])
' "$T/state2/checkpoint.json")"
intake control '{"path": "/errs", "reset": true}'
start_logshipd "$T/logshipd2.yaml"
errs_at_least 1
wait_for 20 inflight_0
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake entries --path /errs | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["message"].replace("\n", "\\n"))
' >"$T/got2.errs"
cmp -s "$T/got2.errs" "$T/want2.errs" || {
	diff "$T/want2.errs" "$T/got2.errs" >&2
	fail "the trace gathered at the stop is not delivered once, whole"
}
intake messages --path /info | sort -u >"$T/got2.info"
sort "$T/want2.info" | cmp -s - "$T/got2.info" || fail "B's lines differ (stop)"

log "ok: $NTR traces whole once; B's $NINFO lines: $(wc -l <"$T/got.info")" \
    "received (those after the first trace's first line twice)"
