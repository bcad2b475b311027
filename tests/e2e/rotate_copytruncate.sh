#!/bin/sh
# Rotation by copytruncate with Debian's real logrotate, every 3500 lines,
# while a writer appends ~2k lines/s through one O_APPEND descriptor. Lines
# written between logrotate's copy and its truncate are in no file at all
# and are lost by design; every other line must arrive: those written after
# logshipd's last read and before the copy are read from the copy. So: no
# duplicates, nothing unexpected, no missing line that is in a rotated
# copy, and truncations counted. Prints how many are missing (in no file).
. "$(dirname "$0")/lib.sh"

LOGROTATE=/usr/sbin/logrotate
if [ ! -x "$LOGROTATE" ]; then
	echo "SKIP: $TEST_NAME: no $LOGROTATE (Debian package logrotate)" >&2
	exit 77
fi

N=20000
RATE=2000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
cat >"$T/lr.conf" <<LR
$T/logs/app.log {
    copytruncate
    rotate 5
    missingok
}
LR
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML

: >"$T/logs/app.log"
start_logshipd "$T/logshipd.yaml"
wait_for 15 ls_started
# 5 rotations: "rotate 5" keeps every copy, so lost lines can be told apart.
rot=$(rot_writer "$T/logs/app.log" "$T/want" ct "$N" "$RATE" 0 3500 \
    "$T/lr.conf" "$T/lr.state") || fail "the writer failed"
assert_eq "$rot" 5 "rotations"
W=$(wc -l <"$T/want")
assert_eq "$W" "$N" "lines written"

# Once the last line written arrived, everything before it was read:
# SIGTERM drains it.
last=$(tail -n 1 "$T/want")
has_last() {
	intake messages | grep -qxF "$last"
}
wait_for 60 has_last
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"

check_counts "$T/want" || :
trunc=$(ls_files_stat truncations)
loss=$(ls_files_stat suspected_loss_bytes)
if [ -z "$trunc" ] || [ -z "$loss" ]; then
	fail "no 'files: truncations=N suspected_loss_bytes=N' line in the log"
fi
# Of the missing lines, which are in a rotated copy (logshipd could have
# read them before the truncation) and which are in no file at all?
intake messages >"$T/got"
ondisk=$("$PYTHON3" - "$T/want" "$T/got" "$T"/logs/app.log* <<'PY'
import sys
want = open(sys.argv[1]).read().splitlines()
got = set(open(sys.argv[2]).read().splitlines())
disk = set()
for p in sys.argv[3:]:
    disk.update(open(p, errors="replace").read().splitlines())
print(sum(1 for l in want if l not in got and l in disk))
PY
)
log "written=$W received=$CK_RECEIVED duplicates=$CK_DUP" \
    "missing=$CK_MISSING (in a rotated copy: $ondisk; in no file:" \
    "$((CK_MISSING - ondisk))) unexpected=$CK_UNEXPECTED" \
    "truncations=$trunc suspected_loss_bytes=$loss"
if [ "$CK_DUP" -ne 0 ] || [ "$CK_UNEXPECTED" -ne 0 ]; then
	cat "$T/check.out" >&2
	fail "$CK_DUP duplicated, $CK_UNEXPECTED unexpected lines"
fi
if [ "$trunc" -lt 1 ] || [ "$trunc" -gt "$rot" ]; then
	fail "truncations=$trunc, want 1..$rot"
fi
if [ "$ondisk" -gt 0 ]; then
	cat "$T/check.out" >&2
	fail "$ondisk missing lines are in a rotated copy: not read from it"
fi
assert_eq "$(ls_files_stat truncations_no_copy)" 0 "truncations_no_copy"
assert_eq "$(ls_dest_stat dd sent)" "$CK_RECEIVED" "dd sent="
log "ok: written=$W received=$CK_RECEIVED duplicates=$CK_DUP missing=$CK_MISSING"
