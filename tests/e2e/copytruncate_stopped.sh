#!/bin/sh
# copytruncate while logshipd is stopped: lines appended after its last
# checkpoint are in the copy (app.log.1) when it starts again, and the file
# itself holds only new lines. Both reach the intake exactly once, the
# copy's from the checkpoint's offset on; nothing shipped before comes
# again. Done twice: the new file shorter than the checkpoint's offset
# (truncated), and longer, with other first bytes (rewritten).
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config 100

# rotate_while_stopped TAG NEW: ships what app.log holds, stops, appends
# 50 lines, copies and truncates app.log as logrotate's copytruncate does,
# writes NEW new lines to it, and starts again.
rotate_while_stopped() {
	start_logshipd "$T/logshipd.yaml"
	wait_count /api/v2/logs "$(wc -l <"$T/want")" 30
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status ($1)"
	gen_lines "$T/batch" 50 "$1-unread"
	cat "$T/batch" >>"$T/logs/app.log"
	cat "$T/batch" >>"$T/want"
	cp "$T/logs/app.log" "$T/logs/app.log.1"
	: >"$T/logs/app.log"
	gen_lines "$T/batch" "$2" "$1-new"
	cat "$T/batch" >>"$T/logs/app.log"
	cat "$T/batch" >>"$T/want"
	rm -f "$T/batch"
	start_logshipd "$T/logshipd.yaml"
	wait_count /api/v2/logs "$(wc -l <"$T/want")" 30
	grep -q "app.log: truncated; its copy is $T/logs/app.log.1" \
	    "$T/logshipd.log" || fail "$1: the copy was not read"
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status ($1)"
	intake check --expect "$T/want" || fail "$1: received != written"
	rm -f "$T/logs/app.log.1"
}

gen_lines "$T/logs/app.log" 300 first
cp "$T/logs/app.log" "$T/want"
rotate_while_stopped shorter 30
rotate_while_stopped longer 600
log "ok"
