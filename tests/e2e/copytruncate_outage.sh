#!/bin/sh
# copytruncate during an intake outage, then a restart (issue 13.1): the
# intake answers 503; 1,000 lines are read and held; logrotate's
# copytruncate copies app.log to app.log.1 and truncates it; 10 lines
# follow; logshipd is stopped (SIGTERM, then in a second round kill -9)
# and started again with the intake healthy. Every line arrives exactly
# once: the 1,000 held ones from the copy, which is a followed file of its
# own with its own checkpoint entry, and the 10 new ones from app.log.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
METRICS_PORT=$(free_port)
app_config 100 "" "metrics: { listen: \"127.0.0.1:$METRICS_PORT\" }"

# lines_read: logshipd_read_lines_total at the status endpoint.
lines_read() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" <<'PY'
import sys, urllib.request
try:
    body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
except OSError:
    print(0)
    sys.exit(0)
for ln in body.splitlines():
    if ln.startswith("logshipd_read_lines_total{"):
        print(int(float(ln.split()[1])))
        break
else:
    print(0)
PY
}
read_at_least() {
	[ "$(lines_read)" -ge "$1" ]
}
truncation_seen() {
	ls_run_log | grep -q "app.log: truncated"
}

# round TAG SIG: the scenario, stopping logshipd with SIG.
round() {
	intake control '{"path": "/api/v2/logs", "default": {"status": 503}}'
	_before=$(intake count)
	start_logshipd "$T/logshipd.yaml"
	gen_lines "$T/logs/app.log" 1000 "$1-held"
	gen_lines "$T/want" 1000 "$1-held"
	wait_for 30 read_at_least 1000
	# logrotate's copytruncate, by hand: copy, then truncate in place.
	cp "$T/logs/app.log" "$T/logs/app.log.1"
	: >"$T/logs/app.log"
	wait_for 30 truncation_seen
	gen_lines "$T/logs/app.log" 10 "$1-new"
	gen_lines "$T/want" 10 "$1-new"
	wait_for 30 read_at_least 1010
	[ "$(intake count)" -eq "$_before" ] ||
	    fail "$1: lines were accepted in the outage"
	stop_logshipd "$2" 30
	intake control '{"path": "/api/v2/logs", "reset": true}'
	start_logshipd "$T/logshipd.yaml"
	wait_count /api/v2/logs "$(wc -l <"$T/want")" 30
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status ($1)"
	check_exact "$T/want"
	log "$1: $(wc -l <"$T/want") lines, each exactly once"
	# The next round starts from clean files: no copy left behind.
	rm -f "$T/logs/app.log.1"
}

: >"$T/want"
round term TERM
round kill KILL
log "ok"
