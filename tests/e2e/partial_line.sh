#!/bin/sh
# A partial last line (no newline) at shutdown is neither shipped nor
# committed; once completed after a restart it ships whole, exactly once.
# Then a partial last line that copytruncate cuts (the copy ends with it,
# and logshipd had read up to there) ships once, as the line it became.
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
log "completed: written=12 received=$CK_RECEIVED duplicates=$CK_DUP"

start_logshipd "$T/logshipd.yaml"
wait_for 15 ls_started
printf '%s\n%s' '2026-11-23T10:00:13Z INFO part 0000012 whole' \
    '2026-11-23T10:00:14Z INFO part 0000013 cut by copytruncate' >>"$F"
wait_count /api/v2/logs 13 30
# copytruncate by hand: the copy is not matched by the glob.
cp "$F" "$T/logs/app.log.1"
: >"$F"
echo '2026-11-23T10:00:15Z INFO part 0000014 after' >>"$F"
{
	cat "$T/logs/app.log.1"
	echo
	cat "$F"
} >"$T/want"
wait_count /api/v2/logs 15 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (copytruncate)"
check_exact "$T/want"
assert_eq "$(ls_files_stat truncations_no_copy)" 0 "truncations_no_copy="
log "ok: written=15 received=$CK_RECEIVED duplicates=$CK_DUP"
