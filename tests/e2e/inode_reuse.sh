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
#
# While stopped, the reuse is faked in the checkpoint: the entry of the
# deleted file is given the new file's device and inode, which is what
# the checkpoint says when the file system hands the inode out again
# (ext4 does so only now and then under a parallel make check, when
# another test's file takes it first). So those cases always run. While
# running, only a real reuse will do (the tailer's own table knows the
# inode): the new file gets it when ext4 gives it back within the bound,
# and is checked to be read whole either way; the log says which.
. "$(dirname "$0")/lib.sh"

# fake_reuse OLD NEW: the checkpoint's entry for the file that was called
# OLD (there must be one) names NEW's device and inode from now on, as if
# NEW had been given OLD's inode. logshipd must be stopped.
fake_reuse() {
	"$PYTHON3" - "$T/state/checkpoint.json" "$1" "$2" <<'PY' ||
import json, os, sys

ck, old, new = sys.argv[1:]
with open(ck) as f:
    doc = json.load(f)
st = os.stat(new)
hits = [e for e in doc["files"] if e.get("path") == old]
if len(hits) != 1:
    sys.exit("%s: %d checkpoint entries, not 1" % (old, len(hits)))
hits[0]["dev"], hits[0]["ino"] = st.st_dev, st.st_ino
with open(ck + ".fake", "w") as f:
    json.dump(doc, f)
os.rename(ck + ".fake", ck)
PY
	    fail "cannot fake the reuse of $1's inode"
	log "$(basename "$2") has $(basename "$1")'s inode (in the checkpoint)"
}

# take_inode INO SRC DEST: copies SRC to candidates beside DEST until one
# gets inode INO, which becomes DEST: 0. ext4 hands a freed inode out again
# at once within the second it was freed, else only 5 s later: candidates
# are kept meanwhile. If none gets it within 10 s (another process's file
# took it; a file system's pace, not ours, so not scaled), DEST is a copy
# of SRC with an inode of its own: 1.
take_inode() {
	_ti_end=$(($(now_ms) + 10000))
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
			mv "$(dirname "$3")/cand-$((_ti_i - 1)).tmp" "$3"
			rm -f "$(dirname "$3")"/cand-*.tmp
			log "no new file got inode $1 back in $_ti_i tries: $(basename "$3") is only a new file"
			return 1
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
cp "$T/logs/a.log" "$T/a.want"
gen_lines "$T/b.want" 300 bbbb
rm "$T/logs/a.log"
cp "$T/b.want" "$T/logs/b.log"
fake_reuse "$T/logs/a.log" "$T/logs/b.log"

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
# c.log gets its inode, unless another test's file took it.
reused=1
take_inode "$ino" "$T/d.want" "$T/logs/d.log" || reused=0
intake control '{"path": "/api/v2/logs", "reset": true}'
wait_count /api/v2/logs 452 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (running)"
cat "$T/a.want" "$T/b.want" "$T/c.want" "$T/d.want" >"$T/want"
check_exact "$T/want"
assert_eq "$(ls_files_stat inode_reuse)" "$reused" "inode_reuse= (running)"
log "running: written=452 received=$CK_RECEIVED duplicates=$CK_DUP inode_reuse=1+$reused"

gen_lines "$T/logs/e.log" 10 eeee
cat "$T/logs/e.log" >>"$T/want"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 462 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (e.log)"
gen_lines "$T/x.want" 30 xxxx
rm "$T/logs/e.log"
cp "$T/x.want" "$T/logs/x.tmp"
fake_reuse "$T/logs/e.log" "$T/logs/x.tmp"
echo "2026-11-23T10:00:00Z INFO marker after x.tmp" | tee -a "$T/want" \
    >>"$T/logs/b.log"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 463 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (x.tmp)"
check_exact "$T/want"
assert_eq "$(ls_files_stat inode_reuse)" 0 "inode_reuse= (x.tmp)"
log "ok: written=463 received=$CK_RECEIVED duplicates=$CK_DUP inode_reuse=1+$reused+0"
