#!/bin/sh
# Inode reuse while stopped: a.log is shipped and checkpointed, logshipd
# stops, a.log is deleted and b.log (other contents, longer than a.log's
# committed offset) gets a.log's inode. The fingerprint of the first 1 KiB
# tells them apart: b.log is read from its start.
# Then, while running: c.log is deleted and closed with its line still in
# flight (the intake refuses it), and d.log gets c.log's inode with the
# same first bytes (c.log's whole contents, then more): a deleted file
# never comes back, so d.log is a new file, read from its start.
# Last, while stopped: e.log is deleted and x.tmp, a file the glob does not
# match, gets its inode: it is not e.log renamed (its first bytes differ),
# and nothing of it is shipped.
. "$(dirname "$0")/lib.sh"

# take_inode INO SRC DEST: copies SRC to candidates beside DEST until one
# gets inode INO, which becomes DEST; skips the test (77) if none does
# within 10 s. ext4 hands a freed inode out again at once within the
# second it was freed, else only 5 s later: candidates are kept meanwhile.
take_inode() {
	_ti_end=$(($(now_ms) + $(scaled 10) * 1000))
	_ti_i=0
	while :; do
		cp "$2" "$(dirname "$3")/cand-$_ti_i.tmp"
		if [ "$(stat -c %i "$(dirname "$3")/cand-$_ti_i.tmp")" = "$1" ]; then
			mv "$(dirname "$3")/cand-$_ti_i.tmp" "$3"
			rm -f "$(dirname "$3")"/cand-*.tmp
			log "$(basename "$3") has inode $1 (try $((_ti_i + 1)))"
			return 0
		fi
		_ti_i=$((_ti_i + 1))
		if [ "$(now_ms)" -ge "$_ti_end" ]; then
			rm -f "$(dirname "$3")"/cand-*.tmp
			echo "SKIP: $TEST_NAME: no new file got inode $1 back in $_ti_i tries" >&2
			exit 77
		fi
		sleep 0.05 # ok-sleep: bounded poll (the inode's reuse)
	done
}

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config

gen_lines "$T/logs/a.log" 100 aaaa
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 100 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (a.log)"
[ -s "$T/state/checkpoint.json" ] || fail "no checkpoint.json"
ino=$(stat -c %i "$T/logs/a.log")
cp "$T/logs/a.log" "$T/a.want"
gen_lines "$T/b.want" 300 bbbb
rm "$T/logs/a.log"

take_inode "$ino" "$T/b.want" "$T/logs/b.log"
assert_eq "$(stat -c %i "$T/logs/b.log")" "$ino" "b.log's inode"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 400 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (b.log)"
cat "$T/a.want" "$T/b.want" >"$T/want"
check_exact "$T/want"
assert_eq "$(ls_files_stat inode_reuse)" 1 "inode_reuse="
log "stopped: written=400 received=$CK_RECEIVED duplicates=$CK_DUP inode_reuse=1"

echo "2026-11-23T10:00:00Z INFO cccc the first line of c and of d" \
    >"$T/c.want"
cp "$T/c.want" "$T/d.want"
gen_lines "$T/d.want" 50 dddd
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
cp "$T/c.want" "$T/logs/c.log"
ino=$(stat -c %i "$T/logs/c.log")
start_logshipd "$T/logshipd.yaml"
refused() {
	test "$(intake_stat 's["by_status"].get("500", 0)')" -ge 1
}
wait_for 30 refused
rm "$T/logs/c.log"
c_gone() {
	ls_run_log | grep -q "c.log: no longer under that name"
}
wait_for 15 c_gone
# Candidates from now on: the first one made once logshipd has closed
# c.log gets its inode.
take_inode "$ino" "$T/d.want" "$T/logs/d.log"
intake control '{"path": "/api/v2/logs", "reset": true}'
wait_count /api/v2/logs 452 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (running)"
cat "$T/a.want" "$T/b.want" "$T/c.want" "$T/d.want" >"$T/want"
check_exact "$T/want"
assert_eq "$(ls_files_stat inode_reuse)" 1 "inode_reuse= (running)"
log "running: written=452 received=$CK_RECEIVED duplicates=$CK_DUP inode_reuse=1+1"

gen_lines "$T/logs/e.log" 10 eeee
cat "$T/logs/e.log" >>"$T/want"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 462 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (e.log)"
ino=$(stat -c %i "$T/logs/e.log")
gen_lines "$T/x.want" 30 xxxx
rm "$T/logs/e.log"
take_inode "$ino" "$T/x.want" "$T/logs/x.tmp"
echo "2026-11-23T10:00:00Z INFO marker after x.tmp" | tee -a "$T/want" \
    >>"$T/logs/b.log"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 463 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (x.tmp)"
check_exact "$T/want"
log "ok: written=463 received=$CK_RECEIVED duplicates=$CK_DUP inode_reuse=1+1"
