#!/bin/sh
# Files a glob matches that cannot be followed, beside ones that can:
# a file logshipd may not read (it runs as nobody: root reads anything), a
# FIFO, a symbolic link to itself (a loop), one to /dev/zero, one to
# nothing, and a followed file replaced by a directory. Each is reported
# once in the log, by name and reason, however many scans see it again;
# none blocks the loop or is read (nothing from /dev/zero); the other files
# keep shipping. Once a fault is gone (the mode fixed, the directory back
# to a file) the file is followed, and every line arrives exactly once.
# The source follows links (follow_symlinks), so that each link is judged
# by its target: symlink_attack.sh tests the default, where none is.
. "$(dirname "$0")/lib.sh"

as_unprivileged
unprivileged_dir "$T/state"
N=100
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
    follow_symlinks: true
$(dd_dest)
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML
: >"$T/want"

# add FILE PREFIX [WANT]: N lines to FILE and to what must arrive (WANT:
# $T/want, or a file of lines that must arrive later).
add() {
	gen_lines "$T/batch" "$N" "$2"
	cat "$T/batch" >>"$1"
	cat "$T/batch" >>"${3:-$T/want}"
	rm -f "$T/batch"
}

arrived() {
	wait_count /api/v2/logs "$(wc -l <"$T/want")" 30
}

# reported REGEX: the log says it exactly once.
reported() {
	[ "$(grep -cE "$1" "$T/logshipd.log")" -eq 1 ]
}

add "$T/logs/good.log" good
add "$T/logs/unreadable.log" unreadable "$T/held"
chmod 000 "$T/logs/unreadable.log"
add "$T/logs/todir.log" todir
mkfifo "$T/logs/fifo.log"
ln -s loop.log "$T/logs/loop.log"
ln -s /dev/zero "$T/logs/zero.log"
ln -s nowhere "$T/logs/dangling.log"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs $((2 * N)) 30
L=$T/logs
wait_for 10 reported "$L/unreadable.log: open: Permission denied; skipped"
wait_for 10 reported "$L/fifo.log: not a regular file \\(a FIFO\\); skipped"
wait_for 10 reported "$L/loop.log: Too many levels of symbolic links; skipped"
wait_for 10 reported "$L/zero.log: a symbolic link out of the source's directories; skipped"
wait_for 10 reported "$L/dangling.log: a symbolic link to nothing; skipped"

# Scans go on (each new file makes one): the faults are not reported again,
# and the good files keep shipping.
for i in 1 2 3 4 5; do
	add "$T/logs/more$i.log" "more$i"
	arrived
done

# A followed file replaced by a directory.
rm "$T/logs/todir.log"
mkdir "$T/logs/todir.log"
add "$T/logs/good.log" good2
arrived
wait_for 10 reported "$L/todir.log: not a regular file \\(a directory\\); skipped"

for re in "unreadable.log: open" "fifo.log: not a regular" "loop.log: Too many" \
    "zero.log: a symbolic link out" "dangling.log: a symbolic"; do
	reported "$L/$re" || fail "'$re' reported $(grep -c "$L/$re" "$T/logshipd.log") times"
done
alive "$LS_PID" || fail "logshipd died"
# Nothing of /dev/zero was read, nor is it open.
if ls -l "/proc/$LS_PID/fd" 2>/dev/null | grep -q '/dev/zero'; then
	fail "logshipd holds /dev/zero open"
fi

# The faults go away.
chmod 644 "$T/logs/unreadable.log"
cat "$T/held" >>"$T/want"
rmdir "$T/logs/todir.log"
add "$T/logs/todir.log" todir2
arrived
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
assert_eq "$(ls_final_read)" "$(wc -l <"$T/want" | tr -d ' ')" "final read= (lines)"
log "ok: $CK_RECEIVED lines once each; every unfollowable path reported once"
