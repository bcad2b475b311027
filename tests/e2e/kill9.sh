#!/bin/sh
# Crash safety: a 200k-line backlog, a slow intake, checkpoint_interval
# 100ms; logshipd is killed with SIGKILL each time the intake's count passes
# a threshold, and restarted. In the end every line arrived, and the
# duplicates (lines shipped again after a crash) stay under
# kills * workers * max_entries * 3. The intake delay is not below the
# checkpoint interval, so between two checkpoints each worker completes at
# most two requests: with the one in flight, 3 batches per worker.
. "$(dirname "$0")/lib.sh"

N=200000
WORKERS=4
MAXE=1000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    workers: $WORKERS
    max_connections: $WORKERS
    batch: { max_entries: $MAXE, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
gen_lines "$T/logs/app.log" "$N" k9
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 100}}'

start_logshipd "$T/logshipd.yaml"
kills=0
for th in 30000 70000 110000 150000; do
	wait_count /api/v2/logs "$th" 60
	stop_logshipd KILL 10
	assert_eq "$LS_STATUS" 137 "exit status after SIGKILL"
	kills=$((kills + 1))
	[ -s "$T/state/checkpoint.json" ] ||
	    fail "no checkpoint.json after kill $kills"
	log "kill $kills at $(intake count) received"
	start_logshipd "$T/logshipd.yaml"
done

wait_for 90 no_missing "$T/logs/app.log"
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_counts "$T/logs/app.log" || :
bound=$((kills * WORKERS * MAXE * 3))
log "written=$N received=$CK_RECEIVED duplicates=$CK_DUP (bound $bound," \
    "$kills kills) missing=$CK_MISSING unexpected=$CK_UNEXPECTED"
if [ "$CK_MISSING" -ne 0 ] || [ "$CK_UNEXPECTED" -ne 0 ]; then
	cat "$T/check.out" >&2
	fail "$CK_MISSING missing, $CK_UNEXPECTED unexpected"
fi
[ "$CK_DUP" -le "$bound" ] ||
    fail "$CK_DUP duplicates, more than $bound for $kills kills"
# A line is shipped again at most once per crash.
intake messages >"$T/got"
maxn=$(sort "$T/got" | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
[ "$maxn" -le $((kills + 1)) ] ||
    fail "a line arrived $maxn times after $kills kills"
log "ok: written=$N received=$CK_RECEIVED duplicates=$CK_DUP"
