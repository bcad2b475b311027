#!/bin/sh
# Processing rules (log_processing_rules, the Datadog Agent's schema), with
# exact counts:
#  - a top-level exclude_at_match ("health") applies to two sources;
#  - source app masks card numbers (keeping the last four digits through a
#    group, $1) and API keys (${1}[REDACTED]): the intake never sees a raw
#    card number or key, in any entry;
#  - source web keeps only 5xx lines (include_at_match);
#  - the counters per source and rule in /metrics, /status, logshipd status
#    and the final summary equal what was written;
#  - a file whose last lines are all excluded has its end committed (the
#    checkpoint goes on), so after a kill -9 and a restart nothing is sent
#    again and reading resumes at the end;
#  - a pathological pattern ("(a+)+$" on "aaa...ab", "(x+x+)+$" on
#    "xxx...x") returns within its match limit: the filtered lines arrive,
#    the masked ones are withheld whole, errors are counted, and the other
#    lines are not held up.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/web" "$T/slow" "$T/state"
METRICS_PORT=$(free_port)
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
log_processing_rules:
  - type: exclude_at_match
    name: health
    pattern: 'GET /health\b'
sources:
  - name: app
    paths: ["$T/logs/*.log"]
    log_processing_rules:
      - type: mask_sequences
        name: card
        replace_placeholder: "[card ending \$1]"
        pattern: '\b(?:\d{4}[- ]?){3}(\d{4})\b'
      - type: mask_sequences
        name: api_key
        replace_placeholder: '\${1}[REDACTED]'
        pattern: '(?i)(api_key=)[a-z0-9]{32}'
  - name: web
    paths: ["$T/web/*.log"]
    log_processing_rules:
      - { type: include_at_match, name: errors_only, pattern: 'status=5\d\d' }
  - name: slow
    paths: ["$T/slow/*.log"]
    log_processing_rules:
      - { type: exclude_at_match, name: slow_ex, pattern: '(a+)+\$' }
      - { type: mask_sequences, name: slow_mask, pattern: '(x+x+)+\$',
          replace_placeholder: "[x]" }
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
"$LOGSHIPD" -n -c "$T/logshipd.yaml" || fail "-n refused the configuration"

# The lines, and the messages the intake must hold, written by one script
# so the counts cannot disagree.
"$PYTHON3" - "$T" <<'PY'
import sys
t = sys.argv[1]
want = open(t + "/want", "w")
counts = {"app_health": 0, "card": 0, "api_key": 0, "web_health": 0,
          "not_included": 0}
with open(t + "/logs/app.log", "w") as f:
    for i in range(300):
        if i % 10 == 0:
            f.write("GET /health 200 app %d\n" % i)
            counts["app_health"] += 1
            continue
        line, out = "app line %d" % i, "app line %d" % i
        if i % 7 == 0:
            card = "4%03d-1111-2222-%04d" % (i, 1000 + i)
            line += " paid with " + card + " ok"
            out += " paid with [card ending %04d] ok" % (1000 + i)
            counts["card"] += 1
        if i % 11 == 0:
            key = ("%032x" % (i * 0x9e3779b97f4a7c15))[-32:]
            line += " api_key=" + key
            out += " api_key=[REDACTED]"
            counts["api_key"] += 1
        f.write(line + "\n")
        want.write(out + "\n")
with open(t + "/web/web.log", "w") as f:
    for i in range(120):
        if i % 4 == 0:
            f.write("GET /health status=500 web %d\n" % i)
            counts["web_health"] += 1
        elif i % 3 == 0:
            f.write("GET /api status=503 web %d\n" % i)
            want.write("GET /api status=503 web %d\n" % i)
        else:
            f.write("GET /api status=200 web %d\n" % i)
            counts["not_included"] += 1
with open(t + "/counts", "w") as f:
    for k, v in sorted(counts.items()):
        f.write("%s=%d\n" % (k, v))
PY
. "$T/counts"
want=$(wc -l <"$T/want")
log "written: app 300 lines (health $app_health, cards $card, keys $api_key)," \
    "web 120 lines (health $web_health, 2xx $not_included); expected $want"

start_logshipd "$T/logshipd.yaml" -s 3600
wait_count /api/v2/logs "$want" 30

# metric NAME SOURCE RULE [WANT]: the value of NAME{source=,rule=} at
# /metrics ("absent" if it has none); with WANT, polls (bounded: the
# endpoint shows a snapshot made once a second) until it is WANT.
metric() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" \
	    "$(scaled 10)" "$@" <<'PY'
import sys, time, urllib.request
url, secs, name, src, rule = sys.argv[1:6]
want = sys.argv[6] if len(sys.argv) > 6 else None
key = '%s{source="%s",rule="%s"} ' % (name, src, rule)
end = time.monotonic() + float(secs)
while True:
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    v = "absent"
    for ln in body.splitlines():
        if ln.startswith(key):
            v = ln[len(key):]
    if want is None or v == want or time.monotonic() > end:
        print(v)
        break
    time.sleep(0.1)  # ok-sleep: bounded poll
PY
}
# assert_metric NAME SOURCE RULE WANT WHAT
assert_metric() {
	assert_eq "$(metric "$1" "$2" "$3" "$4")" "$4" "$5"
}
assert_metric logshipd_rule_excluded_lines_total app health "$app_health" \
    "excluded app/health"
assert_metric logshipd_rule_excluded_lines_total web health "$web_health" \
    "excluded web/health (top-level rule, second source)"
assert_metric logshipd_rule_not_included_lines_total web errors_only \
    "$not_included" "not included web/errors_only"
assert_metric logshipd_rule_masked_lines_total app card "$card" \
    "masked app/card"
assert_metric logshipd_rule_masked_lines_total app api_key "$api_key" \
    "masked app/api_key"
assert_metric logshipd_rule_errors_total app card 0 "errors app/card"
assert_metric logshipd_rule_masked_lines_total web health absent \
    "no masked series for an exclude rule"

# /status JSON and logshipd status (its table).
"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/status" >"$T/status.out" <<'PY'
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
for s in doc["sources"]:
    for r in s["rules"]:
        print("%s %s %s %d %d %d %d" % (s["name"], r["name"], r["type"],
              r["excluded"], r["not_included"], r["masked"], r["errors"]))
PY
assert_eq "$(cat "$T/status.out" | tr '\n' ';')" \
    "app health exclude_at_match $app_health 0 0 0;app card mask_sequences 0 0 $card 0;app api_key mask_sequences 0 0 $api_key 0;web health exclude_at_match $web_health 0 0 0;web errors_only include_at_match 0 $not_included 0 0;slow health exclude_at_match 0 0 0 0;slow slow_ex exclude_at_match 0 0 0 0;slow slow_mask mask_sequences 0 0 0 0;" \
    "/status rules"
"$LOGSHIPD" status -u "http://127.0.0.1:$METRICS_PORT" >"$T/table.out" ||
    fail "logshipd status failed"
grep -Eq "^web +errors_only +include_at_match +0 +$not_included +0 +0 *\$" \
    "$T/table.out" || {
	cat "$T/table.out" >&2
	fail "logshipd status: no row for web/errors_only"
}

# The intake holds exactly the expected messages, and no raw secret.
check_exact "$T/want"
intake entries >"$T/entries.jsonl"
if grep -Eq '[0-9]{4}-1111-2222-[0-9]{4}|api_key=[0-9a-f]{32}' \
    "$T/entries.jsonl"; then
	fail "a raw card number or API key reached the intake"
fi
log "first pass: $CK_RECEIVED received of $want expected; no raw secret"

# A file whose last lines are all excluded: its end is committed (and
# checkpointed) though nothing was sent for them.
for i in 1 2 3 4 5; do
	echo "GET /health 200 tail $i" >>"$T/logs/app.log"
done
size=$(wc -c <"$T/logs/app.log")
committed() {
	"$PYTHON3" - "$T/state/checkpoint.json" "$T/logs/app.log" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(1)
def walk(o):
    if isinstance(o, dict):
        if o.get("path") == sys.argv[2] and "offset" in o:
            print(o["offset"])
            sys.exit(0)
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(doc)
sys.exit(1)
PY
}
end=$(($(now_ms) + $(scaled 15) * 1000))
until [ "$(committed)" = "$size" ]; do
	[ "$(now_ms)" -lt "$end" ] ||
	    fail "checkpoint of app.log at $(committed), not its end $size"
	sleep 0.1 # ok-sleep: bounded poll
done
assert_metric logshipd_rule_excluded_lines_total app health \
    $((app_health + 5)) "excluded app/health (tail)"
stop_logshipd KILL 10
start_logshipd "$T/logshipd.yaml" -s 3600
echo "app line after restart" >>"$T/logs/app.log"
echo "app line after restart" >>"$T/want"
wait_count /api/v2/logs $((want + 1)) 30
assert_eq "$(ls_follow_offset "$T/logs/app.log")" "$size" \
    "app.log resumed at its end"

# The pathological patterns: 40 lines each way among 40 ordinary ones.
"$PYTHON3" - "$T" <<'PY'
import sys
t = sys.argv[1]
with open(t + "/slow/slow.log", "w") as f, open(t + "/want", "a") as w:
    for i in range(40):
        f.write("a" * 40 + "b ok %d\n" % i)
        w.write("a" * 40 + "b ok %d\n" % i)
        f.write("x" * 40 + " SECRET-%d\n" % i)
        w.write('[logshipd: entry withheld: mask rule "slow_mask" could '
                'not be evaluated]\n')
        f.write("plain slow line %d\n" % i)
        w.write("plain slow line %d\n" % i)
PY
t0=$(now_ms)
wait_count /api/v2/logs $((want + 1 + 120)) 30
slow_ms=$(($(now_ms) - t0))
assert_metric logshipd_rule_errors_total slow slow_ex 40 "errors slow/slow_ex"
assert_metric logshipd_rule_errors_total slow slow_mask 40 \
    "errors slow/slow_mask"
assert_metric logshipd_rule_excluded_lines_total slow slow_ex 0 \
    "excluded slow/slow_ex"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
intake entries >"$T/entries.jsonl"
if grep -q 'SECRET-' "$T/entries.jsonl"; then
	fail "a line the mask could not evaluate reached the intake"
fi
grep -q "could not be evaluated on an entry: the match limit was hit" \
    "$T/logshipd.log" || fail "no warning of the match limit"
# The final summary (of this run: counters start at 0 with the process)
# names the rules that did something.
ls_run_log | grep -q "| rules slow: slow_ex errors 40, slow_mask errors 40" ||
    fail "the final summary lacks slow's rules"
# And the final report has a line per rule.
ls_run_log | grep -q "rule slow/slow_mask (mask_sequences): excluded=0 not_included=0 masked=0 errors=40" ||
    fail "the final report lacks the rule slow/slow_mask"
log "ok: $CK_RECEIVED received of $CK_EXPECTED expected, 0 duplicated;" \
    "checkpoint at app.log's end ($size) after excluded tail lines;" \
    "120 pathological/plain lines in ${slow_ms}ms"
