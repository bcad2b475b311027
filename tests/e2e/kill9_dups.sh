#!/bin/sh
# The kill -9 window (issue 13.4): backlogs shipped at full speed to the
# fake intake (answering in 20 ms), with the default checkpoint settings.
# Three times a backlog of CHUNK lines is appended and logshipd is killed
# with SIGKILL a tenth of the way through its delivery (a backlog delivered
# before the poll saw it is not counted, and another one is made), then
# restarted. Every line must arrive at least once, and each kill may cause
# at most BOUND duplicates: the lines delivered after the checkpoint on
# disk, which the restart sends again. They are measured per kill: the
# lines the intake holds once logshipd is dead, less the lines before the
# checkpoint's offset (all delivered; every line after it is read and sent
# again). With the checkpoint written once a second on the loop, this was
# 44,000 to 97,000 per kill here (~170,000 at 1,000,000 lines in issue 13);
# the writer thread renames a fresh one every 50 ms: 4,000 to 12,000.
. "$(dirname "$0")/lib.sh"

CHUNK=${KILL9_CHUNK:-300000}
# Under a sanitizer (LS_TIMEOUT_SCALE 3 or 5) the loop is that much slower:
# while it frames a backlog it applies no acknowledgement, and a kill then
# finds more delivered lines past the checkpoint.
BOUND=${KILL9_BOUND:-$(scaled 25000)}
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
# No checkpoint_interval: the defaults are what is measured.
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 4
    max_connections: 4
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
touch "$T/logs/app.log"
# An intake that answers in 20 ms, as a near one does: with 4 workers up to
# 200,000 lines/s, so that a backlog takes long enough for the count poll
# (slow while the intake is busy) to kill logshipd in the middle of it.
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 20}}'

# count_now: the entries the intake holds (from its stats: "intake count"
# fetches them all, too slow to catch a backlog in the middle).
count_now() {
	intake_stat 's["entries"].get("/api/v2/logs", 0)'
}

# count_over N: the intake holds N entries or more; logshipd must be alive.
count_over() {
	alive "$LS_PID" || fail "logshipd died"
	[ "$(count_now)" -ge "$1" ]
}

# dups_now: the lines the intake holds (distinct) less the lines before the
# checkpoint's offset (none without a checkpoint): what the restart will
# send again.
dups_now() {
	intake messages | "$PYTHON3" -c '
import json, os, sys
got = len(set(sys.stdin.read().splitlines()))
off = 0
if os.path.exists(sys.argv[1]):
    doc = json.load(open(sys.argv[1]))
    off = sum(e["offset"] for e in doc["files"]
              if e["path"].endswith("/app.log"))
with open(sys.argv[2], "rb") as f:
    committed = f.read(off).count(b"\n")
print(got - committed)' "$T/state/checkpoint.json" "$T/logs/app.log"
}

start_logshipd "$T/logshipd.yaml"
wait_for 10 ls_started
kills=0
rounds=0
worst=0
total=0
while [ "$kills" -lt 3 ]; do
	rounds=$((rounds + 1))
	[ "$rounds" -le 6 ] || fail "only $kills kills in $((rounds - 1)) backlogs"
	# Made aside and appended at once: a backlog, read at full speed.
	rm -f "$T/chunk"
	gen_lines "$T/chunk" "$CHUNK" "k9-$rounds"
	base=$(count_now)
	cat "$T/chunk" >>"$T/logs/app.log"
	wait_for 120 count_over $((base + CHUNK / 10))
	stop_logshipd KILL 10
	assert_eq "$LS_STATUS" 137 "exit status after SIGKILL"
	at=$(count_now)
	if [ "$at" -lt $((base + CHUNK)) ]; then
		kills=$((kills + 1))
		d=$(dups_now)
		log "kill $kills at $((at - base)) of $CHUNK lines:" \
		    "$d lines to send again"
		[ "$d" -gt "$worst" ] && worst=$d
		total=$((total + d))
	else
		# The poll was too slow: this kill measured nothing.
		log "backlog $rounds was delivered before the kill: not counted"
	fi
	start_logshipd "$T/logshipd.yaml"
	# Caught up (what the kill made it send again included) before the
	# next backlog, so that the next count is of that backlog alone.
	wait_for 120 no_missing "$T/logs/app.log"
done

N=$(wc -l <"$T/logs/app.log")
wait_for 120 no_missing "$T/logs/app.log"
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_counts "$T/logs/app.log" || :
log "written=$N received=$CK_RECEIVED duplicates=$CK_DUP (measured per" \
    "kill: worst $worst, total $total, bound $BOUND) missing=$CK_MISSING" \
    "unexpected=$CK_UNEXPECTED"
echo "kill9_dups: duplicates per kill: worst $worst, mean" \
    "$((total / kills)) (bound $BOUND); $CK_DUP in all for $kills kills"
if [ "$CK_MISSING" -ne 0 ] || [ "$CK_UNEXPECTED" -ne 0 ]; then
	cat "$T/check.out" >&2
	fail "$CK_MISSING missing, $CK_UNEXPECTED unexpected"
fi
[ "$worst" -le "$BOUND" ] ||
    fail "a kill -9 caused $worst duplicates, more than $BOUND"
[ "$CK_DUP" -le $((kills * BOUND)) ] ||
    fail "$CK_DUP duplicates in all, more than $kills * $BOUND"
log "ok: written=$N received=$CK_RECEIVED duplicates=$CK_DUP"
