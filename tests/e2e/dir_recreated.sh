#!/bin/sh
# The directory of a glob is deleted and made anew (a redeploy): the new
# directory is watched again. Once the deleted file is closed (the poll
# closes it) the kernel drops the old watch, and logshipd forgets it; the
# next scan finds the new directory and its file, and watches it. With
# scan and poll then reloaded to 60 s, what is appended to the file
# arrives through inotify, long before either would read it. Every line
# arrives exactly once.
. "$(dirname "$0")/lib.sh"

N=200
start_intake --api-key "$DD_API_KEY"
mkdir -p "$T/logs/app" "$T/state"
# config SCAN_INTERVAL POLL_INTERVAL
config() {
	write_config "$T/logshipd.yaml" <<YAML
$(SCAN_INTERVAL=$1 POLL_INTERVAL=$2 app_top)
$(app_source_in "$T/logs/app")
$(dd_dest)
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 1s }
YAML
}
config 500ms 100ms
gen_lines "$T/logs/app/a.log" "$N" first
cp "$T/logs/app/a.log" "$T/want"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30

# The directory goes, with its file.
rm -rf "$T/logs/app"
forgotten() {
	grep -q "$T/logs/app: no longer watched" "$T/logshipd.log"
}
wait_for 20 forgotten

# It comes back, with a new file: the scan finds both.
mkdir "$T/logs/app"
gen_lines "$T/logs/app/b.log" "$N" second
cat "$T/logs/app/b.log" >>"$T/want"
wait_count /api/v2/logs $((2 * N)) 30
config 60s 60s
kill -HUP "$LS_PID"
reloaded() {
	grep -q 'reloaded: 1 sources' "$T/logshipd.log"
}
wait_for 10 reloaded

# Appends: an event for them, or nothing until the scan or the poll.
gen_lines "$T/batch" "$N" third
cat "$T/batch" >>"$T/logs/app/b.log"
cat "$T/batch" >>"$T/want"
wait_count /api/v2/logs $((3 * N)) 15
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" || fail "received != written"
log "ok"
