#!/bin/sh
# A signal while logshipd scans 20,000 files at start does not take its
# default action: SIGHUP (and SIGUSR1) sent during the scan leave it alive,
# the reload happens once it runs, and every line arrives exactly once;
# SIGTERM sent during the scan ends it with a clean drain and status 0, and
# a restart ships the rest, again exactly once.
#
# The scan is caught, not hoped for: once the daemon holds a descriptor of
# one of the files, it is frozen (SIGSTOP); frozen, it has not logged
# "started:" yet, so it is inside the start, after the scan began. The
# signal is sent then, and SIGCONT lets it go on. Should the scan have
# ended before the freeze (a fast machine), that run is thrown away and
# another made, up to 5 times.
. "$(dirname "$0")/lib.sh"

NF=20000
mkdir "$T/logs"
"$PYTHON3" - "$T/logs" "$T/want" "$NF" <<'PY'
import sys
d, want, nf = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(want, "w") as w:
    for i in range(nf):
        line = "2026-11-23T10:00:00Z INFO file %05d\n" % i
        with open("%s/f%05d.log" % (d, i), "w") as f:
            f.write(line)
        w.write(line)
PY

# freeze_in_scan: waits for logshipd ($LS_PID) to open one of the files,
# then stops it (SIGSTOP) and waits until it is stopped. 1 if it exited.
freeze_in_scan() {
	"$PYTHON3" - "$LS_PID" "$T/logs/" "$(scaled 30)" <<'PY'
import os, signal, sys, time
pid, d, end = int(sys.argv[1]), sys.argv[2], time.time() + int(sys.argv[3])
def holds_one():
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(d):
                    return True
            except OSError:
                pass
    except OSError:
        sys.exit(1)  # gone
    return False
while not holds_one():
    if time.time() > end:
        sys.exit(1)
os.kill(pid, signal.SIGSTOP)
while open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "T":
    time.sleep(0.001)
PY
}

# fresh: a new intake, configuration and state: nothing shipped yet.
fresh() {
	[ -z "$INTAKE_PID" ] || stop_intake
	start_intake --api-key "$DD_API_KEY" --quiet
	rm -rf "$T/state"
	mkdir "$T/state"
	many_config 1s "checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms"
}

# start_in_scan: starts logshipd afresh and freezes it during its scan
# (again, afresh, when the scan was over first).
start_in_scan() {
	for _try in 1 2 3 4 5; do
		fresh
		start_logshipd "$T/logshipd.yaml"
		freeze_in_scan || fail "logshipd exited before its scan"
		if ! ls_started; then
			log "frozen during the scan (try $_try)"
			return 0
		fi
		kill -CONT "$LS_PID"
		stop_logshipd TERM 30
	done
	fail "the scan was always over before logshipd could be frozen"
}

# SIGHUP and SIGUSR1 during the scan.
start_in_scan
kill -HUP "$LS_PID"
kill -USR1 "$LS_PID"
kill -CONT "$LS_PID"
# reloaded_or_dead: the reload is done, or logshipd is gone.
reloaded_or_dead() {
	ls_run_log | grep -q 'reloaded: 1 sources, 1 destinations' ||
	    ! alive "$LS_PID"
}
wait_for 60 reloaded_or_dead
if ! alive "$LS_PID"; then
	_st=0
	wait "$LS_PID" || _st=$?
	LS_PID=
	fail "logshipd died of a SIGHUP during its scan (exit $_st)"
fi
ls_run_log | grep -q 'status: ' || fail "no SIGUSR1 summary"
wait_count /api/v2/logs "$NF" 120
stop_logshipd TERM 60
assert_eq "$LS_STATUS" 0 "exit status after the SIGHUP"
check_exact "$T/want"
log "SIGHUP in the scan: alive, reloaded, received=$CK_RECEIVED" \
    "duplicates=$CK_DUP"

# SIGTERM during the scan: a clean drain, status 0; a restart ships the
# rest.
start_in_scan
kill -TERM "$LS_PID"
kill -CONT "$LS_PID"
wait_exit 60
assert_eq "$LS_STATUS" 0 "exit status of a SIGTERM during the scan"
ls_run_log | grep -q 'received signal 15: draining' ||
    fail "no drain after the SIGTERM"
first=$(intake count)
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$NF" 120
stop_logshipd TERM 60
assert_eq "$LS_STATUS" 0 "exit status of the restart"
check_exact "$T/want"
log "ok: SIGHUP in the scan: alive and reloaded; SIGTERM in the scan:" \
    "exit 0 after a drain ($first lines), then $CK_RECEIVED in all," \
    "duplicates=$CK_DUP"
