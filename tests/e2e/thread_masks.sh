#!/bin/sh
# Every thread but the loop's has SIGTERM, SIGINT, SIGHUP and SIGUSR1
# blocked, those a reload starts too, and carries its name: after a SIGHUP
# that changes the destination's workers from 1 to 3 (so a new batcher and
# new workers start, from the loop thread, whose mask is empty by then),
# the threads are exactly ckpt, router, batch/dd, send/dd/0..2 and http, each
# with the four signals in its SigBlk (/proc/PID/task/TID/status), and the
# loop thread still takes them (a SIGUSR1 prints the summary; SIGTERM
# drains, status 0); every line arrives exactly once.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs"
METRICS_PORT=$(free_port)

# config WORKERS
config() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
$(app_source)
$(dd_dest)
    workers: $1
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML
}

# threads: "NAME SIGBLK" for each thread but the loop's (tid = pid), sorted.
threads() {
	for _t in /proc/"$LS_PID"/task/*; do
		[ "${_t##*/}" = "$LS_PID" ] && continue
		_blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$_t/status" 2>/dev/null) ||
		    continue
		[ -n "$_blk" ] || continue
		printf '%s %s\n' "$(cat "$_t/comm")" "$_blk"
	done | sort
}

# ThreadSanitizer's runtime has a background thread of its own, started
# before main() with every signal blocked; it keeps the process's name.
EXTRA=''
NEXTRA=0
if ldd "$LOGSHIPD" 2>/dev/null | grep -q libtsan; then
	EXTRA=logshipd
	NEXTRA=1
fi

# nthreads_is N: there are N threads but the loop's (and TSan's).
nthreads_is() {
	[ "$(threads | wc -l)" -eq $(($1 + NEXTRA)) ]
}

# names_are NAME...: the threads' names are these (and TSan's).
names_are() {
	# shellcheck disable=SC2086
	_want=$(printf '%s\n' "$@" $EXTRA | sort | tr '\n' ' ')
	_names=$(awk '{ print $1 }' "$T/threads" | tr '\n' ' ')
	assert_eq "$_names" "$_want" "thread names"
}

# masks_block: every thread's SigBlk holds SIGHUP, SIGINT, SIGUSR1 and
# SIGTERM (bits 0, 1, 9, 14: 0x4203).
masks_block() {
	threads >"$T/threads"
	cat "$T/threads" >&2
	while read -r _name _blk; do
		[ $((0x$_blk & 0x4203)) -eq $((0x4203)) ] ||
		    fail "thread $_name: SigBlk $_blk misses some of SIGHUP," \
		    "SIGINT, SIGUSR1, SIGTERM"
	done <"$T/threads"
}

config 1
gen_lines "$T/logs/app.log" 300 first
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 300 30
wait_for 10 nthreads_is 5
masks_block
names_are ckpt router batch/dd send/dd/0 http

config 3
kill -HUP "$LS_PID"
reloaded() {
	ls_run_log | grep -q 'reloaded: 1 sources, 1 destinations'
}
wait_for 20 reloaded
# The old instance's threads end once it is retired.
wait_for 20 nthreads_is 7
masks_block
names_are ckpt router batch/dd send/dd/0 send/dd/1 send/dd/2 http
# The loop thread takes the signals still.
kill -USR1 "$LS_PID"
summary() {
	ls_run_log | grep -q 'status: '
}
wait_for 10 summary
gen_lines "$T/logs/app.log" 300 second
wait_count /api/v2/logs 600 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/logs/app.log" || fail "received != written"
log "ok: after the reload: $(awk '{ printf "%s(%s) ", $1, $2 }' "$T/threads")"
