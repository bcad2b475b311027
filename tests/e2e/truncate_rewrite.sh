#!/bin/sh
# Truncation in place: app.log's 1000 lines are shipped, then it is
# truncated (": > app.log") and 500 new lines written: read from the start
# again, each new line once, truncations=1, nothing suspected lost. Then,
# while logshipd is stopped, truncated again and 230 lines written: the
# file is shorter than its checkpoint, read from its start (its first 30
# lines, the same as before, ship again).
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config 200

F=$T/logs/app.log
gen_lines "$F" 1000 old
cp "$F" "$T/want"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 1000 30
: >"$F"
gen_lines "$F" 500 new
cat "$F" >>"$T/want"
wait_count /api/v2/logs 1500 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
assert_eq "$(ls_files_stat truncations)" 1 "truncations="
assert_eq "$(ls_files_stat suspected_loss_bytes)" 0 "suspected_loss_bytes="
log "running: written=1500 received=$CK_RECEIVED duplicates=$CK_DUP"

# A restart with nothing new resumes at the end: the checkpoint holds the
# file as it is since the truncation (its new first bytes, too).
start_logshipd "$T/logshipd.yaml"
wait_for 15 ls_started
has_follow() {
	[ -n "$(ls_follow_offset "$F")" ]
}
wait_for 15 has_follow
assert_eq "$(ls_follow_offset "$F")" "$(stat -c %s "$F")" \
    "offset resumed at after the truncation"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (resume)"
assert_eq "$(intake count)" 1500 "entries after a restart with nothing new"

# Truncated while stopped, rewritten with the same first 1 KiB (else it
# would be told apart as another file: inode reuse) and other lines after.
head -n 30 "$F" >"$T/head"
: >"$F"
cat "$T/head" >>"$F"
gen_lines "$F" 200 stopped
cat "$F" >>"$T/want"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 1730 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (restart)"
check_exact "$T/want"
assert_eq "$(ls_files_stat truncations)" 1 "truncations= (while stopped)"
assert_eq "$(ls_files_stat inode_reuse)" 0 "inode_reuse= (while stopped)"
log "ok: written=1730 received=$CK_RECEIVED duplicates=$CK_DUP truncations=1+1"
