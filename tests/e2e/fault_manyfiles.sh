#!/bin/sh
# 100,000 files appear at once in a directory logshipd already watches
# (the inotify queue overflows), with max_open_files 1024: logshipd never
# holds more descriptors than that (plus its own few), does not crash, says
# that the limit was met, and ships every line of every file exactly once.
. "$(dirname "$0")/lib.sh"

NF=${LS_MANYFILES:-100000}
MAXOPEN=1024
# Under TSan everything in logshipd runs ten times slower (the stat(2)
# calls of its scans do not): fewer files keep the leg's time reasonable,
# still 30 rounds of max_open_files.
if [ -z "${LS_MANYFILES:-}" ] && grep -q __tsan_init "$LOGSHIPD" 2>/dev/null; then
	NF=30000
	log "TSan build: $NF files (100000 in the other legs)"
fi
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
many_config 1s "checkpoint_interval: 1s
scan_interval: 10s
poll_interval: 200ms
max_open_files: $MAXOPEN"

start_logshipd "$T/logshipd.yaml"
wait_for 10 ls_started
t0=$(now_ms)
"$PYTHON3" - "$T/logs" "$T/want" "$NF" <<'PY'
import sys
d, want, nf = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(want, "w") as w:
    for i in range(nf):
        line = "2026-11-23T10:00:00Z INFO file %06d of many\n" % i
        with open("%s/f%06d.log" % (d, i), "w") as f:
            f.write(line)
        w.write(line)
PY
log "$NF files made in $(($(now_ms) - t0)) ms"

wait_count_peak "$NF" 90 fd
maxfd=$PEAK
log "all $NF lines in $(($(now_ms) - t0)) ms; at most $maxfd descriptors"
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
# Its own descriptors (stdio, inotify, the loop's, sockets, the state
# directory) are few: 64 is room enough.
[ "$maxfd" -le $((MAXOPEN + 64)) ] ||
    fail "$maxfd descriptors open, above max_open_files ($MAXOPEN) + 64"
grep -q "max_open_files ($MAXOPEN) reached" "$T/logshipd.log" ||
    fail "max_open_files was never reached with $NF files"
log "ok: $NF files, $CK_RECEIVED lines once each; at most $maxfd descriptors"
