#!/bin/sh
# read_coalesce: a line written after a quiet spell is read at once; under
# a steady stream of writes, the tailer wakes once per period, not once per
# write, and every line still arrives exactly once.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
# Long scan and poll periods: nothing but inotify reads the file.
SCAN_INTERVAL=1h POLL_INTERVAL=1h app_config 10 "" "read_coalesce: 5s"

F=$T/logs/app.log
: >"$F"
start_logshipd "$T/logshipd.yaml"
wait_for 30 ls_started

# A quiet spell's first line: read at once, well inside the 5 s period
# (not scaled: one line takes milliseconds even under a sanitizer).
t0=$(now_ms)
gen_lines "$F" 1 first
wait_count /api/v2/logs 1 3
took=$(($(now_ms) - t0))
[ "$took" -lt 4000 ] || fail "the first line took ${took}ms (read_coalesce 5s)"

# A steady stream: 100 lines, one every 20 ms, inside the period the first
# line started. They are read together when it ends.
"$PYTHON3" - "$F" <<'PYEOF'
import sys, time
with open(sys.argv[1], "a") as f:
    for i in range(100):
        f.write("2026-11-23T10:00:00.%03dZ INFO stream %07d the quick brown fox\n"
                % (i % 1000, i))
        f.flush()
        time.sleep(0.02)  # ok-sleep: a paced writer, not a wait
PYEOF
wait_count /api/v2/logs 101 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"

gen_lines "$T/expect" 1 first
"$PYTHON3" - "$T/expect" <<'PYEOF'
import sys
with open(sys.argv[1], "a") as f:
    for i in range(100):
        f.write("2026-11-23T10:00:00.%03dZ INFO stream %07d the quick brown fox\n"
                % (i % 1000, i))
PYEOF
check_exact "$T/expect"
wakeups=$(ls_files_stat inotify_wakeups)
[ -n "$wakeups" ] || fail "no inotify_wakeups in the final report"
# One for the first line, one or two for the stream (three if a slow leg
# stretched it past a period); a wakeup per write would be over 100.
[ "$wakeups" -le 5 ] || fail "$wakeups inotify wakeups for 101 writes"
log "ok: first line in ${took}ms; 101 lines once each; $wakeups wakeups"
