#!/bin/sh
# A reload whose changed destination cannot make its threads is undone:
# the running instance goes on shipping every line, and SIGTERM still ends
# the daemon at once, with status 0 (the threads that never ran are not
# waited for). logshipd runs as a user of its own (uid 64123: no other
# test's process counts against its limit), and its second run under an
# RLIMIT_NPROC of exactly the tasks that user had in the first: it starts,
# and no new thread can be made after that.
. "$(dirname "$0")/lib.sh"

as_unprivileged 64123
unprivileged_dir "$T/state"
N=300
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs"

# config WORKERS
config() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
$(dd_dest)
    workers: $1
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML
}

config 1
gen_lines "$T/logs/app.log" "$N" first
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30
[ -n "$LS_AS" ] || { echo "SKIP: $TEST_NAME: not root, no user to limit" >&2; exit 77; }
K=$(ps -L -u 64123 --no-headers | wc -l)
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "first run's exit status"

LS_AS="$LS_AS prlimit --nproc=$K:$K"
gen_lines "$T/logs/app.log" "$N" second
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs $((2 * N)) 30
config 4
kill -HUP "$LS_PID"
undone() {
	ls_run_log | grep -q 'dd: cannot start; the reload is undone'
}
wait_for 20 undone
gen_lines "$T/logs/app.log" "$N" after
wait_count /api/v2/logs $((3 * N)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/logs/app.log" || fail "received != written"
log "ok ($K tasks; the reload was undone; SIGTERM ended it in ${LS_STOP_MS}ms)"
