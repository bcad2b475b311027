#!/bin/sh
# A partial last line (no newline) at shutdown is neither shipped nor
# committed; once completed after a restart it ships whole, exactly once.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config 100 'partial_flush: 1h'

F=$T/logs/app.log
gen_lines "$F" 10 part
printf '2026-11-23T10:00:11Z INFO part 0000010 first half,' >>"$F"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 10 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (partial)"
assert_eq "$(intake count)" 10 "entries before the line was completed"
assert_eq "$(ls_final_read)" 10 "final read= with a partial line"

printf ' second half\n2026-11-23T10:00:12Z INFO part 0000011 last\n' >>"$F"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 12 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (completed)"
check_exact "$F"
intake messages | grep -qxF \
    '2026-11-23T10:00:11Z INFO part 0000010 first half, second half' ||
    fail "line 11 did not arrive whole"
log "ok: written=12 received=$CK_RECEIVED duplicates=$CK_DUP"
