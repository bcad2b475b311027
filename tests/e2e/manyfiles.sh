#!/bin/sh
# 10,000 files under one glob, 2 lines each, max_open_files at its default
# (8192, fewer than the files): all 20,000 lines arrive exactly once, and
# logshipd's thread count stays small (< 20) all along: no thread per file.
# Then a restart with more files than max_open_files (8) while reading is
# paused: the files left waiting for a descriptor keep their checkpoint
# entries, and resume at their offsets, not at 0, once they are opened.
# Last, with 8 files open out of 8, one is renamed away (its writer goes on
# appending to it) and a ninth appears: the descriptor is taken from a
# file that can be opened again, not from the renamed one, whose new lines
# arrive too. And a file renamed while logshipd is stopped, restarted with
# 8 named files (max_open_files): the rest of the renamed one is read.
. "$(dirname "$0")/lib.sh"

NF=10000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
# The fast timers of every configuration here.
TIMERS="checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms"
many_config 1s "$TIMERS"
"$PYTHON3" - "$T/logs" "$T/want" "$NF" <<'PY'
import sys
d, want, nf = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(want, "w") as w:
    for i in range(nf):
        with open("%s/f%05d.log" % (d, i), "w") as f:
            for j in range(2):
                line = "2026-11-23T10:00:00Z INFO file %05d line %d\n" % (i, j)
                f.write(line)
                w.write(line)
PY
W=$((2 * NF))

start_logshipd "$T/logshipd.yaml"
wait_count_peak "$W" 60 task
maxthr=$PEAK
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
[ "$maxthr" -lt 20 ] || fail "logshipd had $maxthr threads"
# More files than max_open_files: the limit was met, and coped with.
grep -q 'max_open_files ([0-9]*) reached' "$T/logshipd.log" ||
    fail "max_open_files was never reached with $NF files"
log "many: written=$W received=$CK_RECEIVED duplicates=$CK_DUP" \
    "files=$NF max_threads=$maxthr"

# A fresh intake, files and state; 10 files and max_open_files 8.
stop_intake
start_intake --api-key "$DD_API_KEY" --quiet
rm -rf "$T/logs" "$T/state"
mkdir "$T/logs" "$T/state"
METRICS_PORT=$(free_port)
many_config 500ms "$TIMERS
max_open_files: 8
max_buffer_bytes: 1MiB
metrics: { listen: \"127.0.0.1:$METRICS_PORT\" }"
# gen_files N LEN: appends N lines of about LEN bytes to each of the 10
# files, and to $T/want.
gen_files() {
	"$PYTHON3" - "$T/logs" "$T/want" "$1" "$2" <<'PY'
import sys
d, want, n, ln = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(want, "a") as w:
    for i in range(10):
        with open("%s/g%02d.log" % (d, i), "a") as f:
            for j in range(n):
                line = "2026-11-23T10:00:00Z INFO g%02d %05d of %d %s\n" % (
                    i, j, n, "x" * ln)
                f.write(line)
                w.write(line)
PY
}
# ckpt_written: checkpoint.json's "written" (0 if there is none).
ckpt_written() {
	"$PYTHON3" -c 'import json, sys
try:
    print(json.load(open(sys.argv[1]))["written"])
except FileNotFoundError:
    print(0)' "$T/state/checkpoint.json"
}
rm -f "$T/want"
gen_files 10 10
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 100 30
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status (10 files)"
check_exact "$T/want"

# Each file now holds more than the buffer: reading pauses within the
# first file read, so no open file is at its end and none is closed for
# the two that wait. A checkpoint is written meanwhile.
gen_files 3000 400
intake control '{"path": "/api/v2/logs", "default": {"status": 500}}'
w0=$(ckpt_written)
start_logshipd "$T/logshipd.yaml"
wait_for 30 reading_paused
ckpt_again() {
	[ "$(ckpt_written)" -gt "$w0" ]
}
wait_for 30 ckpt_again
ls_run_log | grep -q 'max_open_files (8) reached' ||
    fail "max_open_files was not reached with 10 files"
intake control '{"path": "/api/v2/logs", "reset": true}'
W2=$(wc -l <"$T/want")
wait_count /api/v2/logs "$W2" 60
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status (waiting files)"
check_exact "$T/want"
log "waiting: written=$W2 received=$CK_RECEIVED duplicates=$CK_DUP"

stop_intake
start_intake --api-key "$DD_API_KEY" --quiet
rm -rf "$T/logs" "$T/state" "$T/want"
mkdir "$T/logs" "$T/state"
# config8: max_open_files 8, at this intake.
config8() {
	many_config 500ms "$TIMERS
max_open_files: 8"
}
config8
# line FILE TEXT: appends TEXT to FILE and to $T/want.
line() {
	echo "2026-11-23T10:00:00Z INFO $2" | tee -a "$T/want" >>"$1"
}
for i in 0 1 2 3 4 5 6 7; do
	line "$T/logs/r$i.log" "r$i first"
done
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 8 30
mv "$T/logs/r0.log" "$T/logs/r0.log.1"
r0_renamed() {
	ls_run_log | grep -q "r0.log: no longer under that name"
}
wait_for 15 r0_renamed
line "$T/logs/r8.log" "r8 first"
wait_count /api/v2/logs 9 30
ls_run_log | grep -q 'max_open_files (8) reached' &&
    fail "max_open_files reached with a file to close"
for i in 1 2 3; do
	line "$T/logs/r0.log.1" "r0 renamed $i"
	line "$T/logs/r1.log" "r1 more $i"
done
wait_count /api/v2/logs 15 30
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status (renamed)"
check_exact "$T/want"
log "renamed: received=$CK_RECEIVED duplicates=$CK_DUP"

stop_intake
start_intake --api-key "$DD_API_KEY" --quiet
rm -rf "$T/logs" "$T/state" "$T/want"
mkdir "$T/logs" "$T/state"
config8
for i in 0 1 2 3 4 5 6 7; do
	line "$T/logs/n$i.log" "n$i first"
done
line "$T/logs/s.log" "s first"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 9 30
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status (before the rename)"
for i in 1 2 3; do
	line "$T/logs/s.log" "s unread $i"
done
mv "$T/logs/s.log" "$T/logs/s.log.1"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 12 30
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status (renamed while stopped)"
check_exact "$T/want"
log "ok: many: written=$W files=$NF max_threads=$maxthr;" \
    "waiting: written=$W2; renamed: received=15;" \
    "renamed while stopped: received=$CK_RECEIVED duplicates=$CK_DUP"
