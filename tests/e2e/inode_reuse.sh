#!/bin/sh
# Inode reuse while stopped: a.log is shipped and checkpointed, logshipd
# stops, a.log is deleted and b.log (other contents, longer than a.log's
# committed offset) gets a.log's inode. The fingerprint of the first 1 KiB
# tells them apart: b.log is read from its start.
# Then, while running: c.log is deleted and closed with its line still in
# flight (the intake refuses it), and d.log gets c.log's inode with the
# same first bytes (c.log's whole contents, then more): a deleted file
# never comes back, so d.log is a new file, read from its start.
. "$(dirname "$0")/lib.sh"

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

# Candidates are made beside it under a name the glob does not match, and
# kept until one has the inode (a deleted one would be handed out again).
i=0
got=
while [ "$i" -lt 50 ]; do
	cp "$T/b.want" "$T/logs/cand-$i.tmp"
	if [ "$(stat -c %i "$T/logs/cand-$i.tmp")" = "$ino" ]; then
		got=$i
		break
	fi
	i=$((i + 1))
done
if [ -z "$got" ]; then
	echo "SKIP: $TEST_NAME: no new file got inode $ino back in 50 tries" >&2
	exit 77
fi
mv "$T/logs/cand-$got.tmp" "$T/logs/b.log"
rm -f "$T"/logs/cand-*.tmp
assert_eq "$(stat -c %i "$T/logs/b.log")" "$ino" "b.log's inode"
log "b.log has a.log's inode $ino (try $((got + 1)))"

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
no_deleted_open() {
	[ "$(open_deleted "$LS_PID")" -eq 0 ]
}
wait_for 15 no_deleted_open
i=0
got=
while [ "$i" -lt 50 ]; do
	cp "$T/d.want" "$T/logs/cand-$i.tmp"
	if [ "$(stat -c %i "$T/logs/cand-$i.tmp")" = "$ino" ]; then
		got=$i
		break
	fi
	i=$((i + 1))
done
if [ -z "$got" ]; then
	echo "SKIP: $TEST_NAME: no new file got inode $ino back in 50 tries (running)" >&2
	exit 77
fi
mv "$T/logs/cand-$got.tmp" "$T/logs/d.log"
rm -f "$T"/logs/cand-*.tmp
log "d.log has c.log's inode $ino (try $((got + 1)))"
intake control '{"path": "/api/v2/logs", "reset": true}'
wait_count /api/v2/logs 452 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (running)"
cat "$T/a.want" "$T/b.want" "$T/c.want" "$T/d.want" >"$T/want"
check_exact "$T/want"
assert_eq "$(ls_files_stat inode_reuse)" 1 "inode_reuse= (running)"
log "ok: written=452 received=$CK_RECEIVED duplicates=$CK_DUP inode_reuse=1+1"
