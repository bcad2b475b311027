#!/bin/sh
# metrics.listen "" turns the status endpoint off: logshipd listens on no
# socket at all, ships as usual, SIGUSR1 still logs the table, and the
# status command says why it cannot ask.
. "$(dirname "$0")/lib.sh"

# listening PID: prints the local ports PID listens on (TCP, v4 and v6),
# from its socket descriptors and /proc/net.
listening() {
	"$PYTHON3" - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        f = row.split()
        if f[3] == "0A" and f[9] in inodes:  # LISTEN
            print(int(f[1].rsplit(":", 1)[1], 16))
PY
}

start_intake
# The check itself finds a listener where there is one.
[ -n "$(listening "$INTAKE_PID")" ] ||
    fail "the listener check finds none in the intake"

mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
metrics:
  listen: ""
$(app_source)
destinations:
  - name: out
    type: http
    url: $INTAKE_URL/ingest
    batch: { max_wait: 100ms }
YAML
gen_lines "$T/logs/app.log" 100
start_logshipd "$T/logshipd.yaml"
wait_count /ingest 100 30
wait_for 10 ls_started
ports=$(listening "$LS_PID")
assert_eq "$ports" "" "ports logshipd listens on"
grep -q 'status endpoint on' "$T/logshipd.log" &&
    fail "the log says an endpoint started"

kill -USR1 "$LS_PID"
usr1_table() {
	grep -q 'status: out  *ok ' "$T/logshipd.log"
}
wait_for 10 usr1_table

st=0
"$LOGSHIPD" status -c "$T/logshipd.yaml" >"$T/status.out" 2>&1 || st=$?
assert_eq "$st" 1 "status with the endpoint off"
grep -q 'metrics.listen is off' "$T/status.out" ||
    fail "status: $(cat "$T/status.out")"

stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(ls_dest_stat out sent)" 100 "out sent="
log "ok"
