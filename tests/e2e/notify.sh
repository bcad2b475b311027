#!/bin/sh
# The systemd notify protocol: a fake NOTIFY_SOCKET (a python datagram
# server that records, for each datagram, the sender's pid from its
# credentials and every KEY=VALUE line) sees, in this order, READY=1 from
# logshipd's own pid, at least two WATCHDOG=1 (WATCHDOG_USEC=400000, so one
# every 200 ms) while lines are shipped, and STOPPING=1 after SIGTERM; the
# lines all arrive, and logshipd exits 0.
. "$(dirname "$0")/lib.sh"
need_logshipd

# The socket's name: a path, or an abstract name when the temp dir is too
# long for sun_path (108 bytes).
SOCK=$T/notify.sock
[ "${#SOCK}" -lt 100 ] || SOCK=@logshipd-e2e-notify/$$

cat >"$T/notify_server.py" <<'PY'
import os, socket, struct, sys

name, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + name[1:] if name.startswith("@") else name)
open(ready, "w").close()
with open(out, "a") as f:
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, cred in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", cred[:12])[0]
        for line in data.decode().split("\n"):
            f.write("%d %s\n" % (pid, line))
        f.flush()
PY
"$PYTHON3" "$T/notify_server.py" "$SOCK" "$T/notify.log" "$T/notify.ready" \
    2>>"$T/notify_server.err" &
NOTIFY_PID=$!
# lib.sh's cleanup knows nothing of this server: stop it first.
notify_cleanup() {
	_st=$?
	set +e
	kill -TERM "$NOTIFY_PID" 2>/dev/null
	wait "$NOTIFY_PID" 2>/dev/null
	(exit "$_st")
	cleanup
}
trap notify_cleanup EXIT
wait_for 15 test -e "$T/notify.ready"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config
gen_lines "$T/logs/app.log" 500 before

# WATCHDOG_PID must be logshipd's own pid: the shell sets it to its own and
# execs logshipd, which keeps that pid.
echo "=== NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=400000 $LOGSHIPD -d -v" \
    "-c $T/logshipd.yaml" >>"$T/logshipd.log"
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=400000 \
    sh -c 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" "$@"' \
    "$LOGSHIPD" -d -v -c "$T/logshipd.yaml" >>"$T/logshipd.log" 2>&1 &
LS_PID=$!
PID=$LS_PID # stop_logshipd clears LS_PID

# notified STATE: the line "PID STATE" (from logshipd's pid) is there.
notified() {
	grep -qx "$PID $1" "$T/notify.log"
}
# watchdogs N: at least N WATCHDOG=1 came after READY=1.
watchdogs() {
	[ "$(sed -n '/ READY=1$/,$p' "$T/notify.log" |
	    grep -cx "$PID WATCHDOG=1")" -ge "$1" ]
}

wait_for 30 notified READY=1
wait_count /api/v2/logs 500 30
gen_lines "$T/logs/app.log" 500 during
wait_for 30 watchdogs 2
wait_count /api/v2/logs 1000 30
grep -q "^$PID STATUS=read [0-9]" "$T/notify.log" ||
    fail "no STATUS=read N line in $(cat "$T/notify.log")"
notified STOPPING=1 && fail "STOPPING=1 before SIGTERM"

stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
wait_for 10 notified STOPPING=1
check_exact "$T/logs/app.log"

# The order: READY=1, then two WATCHDOG=1 or more, then STOPPING=1.
order=$(grep -E "^$PID (READY|WATCHDOG|STOPPING)=1$" "$T/notify.log" |
    cut -d' ' -f2 | uniq -c | awk '{ printf "%s%s", sep, $2; sep = "," }')
case $order in
"READY=1,WATCHDOG=1,STOPPING=1" | "READY=1,WATCHDOG=1,STOPPING=1,WATCHDOG=1") ;;
*) fail "notifications out of order: $order" ;;
esac
# Every datagram came from logshipd itself (NotifyAccess=main).
others=$(grep -v "^$PID " "$T/notify.log" || true)
[ -z "$others" ] || fail "datagrams from another pid: $others"
log "ok ($(grep -c "WATCHDOG=1" "$T/notify.log") WATCHDOG=1, order $order)"
