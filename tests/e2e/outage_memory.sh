#!/bin/sh
# A long intake outage under a steady writer: memory stays bounded by
# max_buffer_bytes (the files are the buffer), recovery is immediate once
# the intake is back, and every line arrives exactly once.
#
# A writer appends 5000 lines/s (~200 bytes each, numbered). After a short
# warm-up with the intake up (the baseline RSS), the intake answers 503 for
# LS_OUTAGE_SECONDS (default 60; NOT scaled by LS_TIMEOUT_SCALE) while the
# daemon's VmRSS is sampled every 0.5 s: its peak must stay within
# max_buffer_bytes (8MiB) + RSS_OVERHEAD_KIB. Then the intake is reset: the
# first 202 must come within 2 s (scaled) of it, with the default retry
# settings (backoff up to 60s: the one-entry probe every retry.probe, 1s,
# is what finds the intake back); the writer stops; every line arrives
# exactly once.
#
# Under ASan/TSan the RSS is dominated by the sanitizer: only the RSS
# assertion is skipped (said so in the output).
. "$(dirname "$0")/lib.sh"

OUTAGE=${LS_OUTAGE_SECONDS:-60}
RATE=5000
BUDGET_KIB=$((8 * 1024))
# Everything but the records: code, libcurl/zlib, thread stacks, malloc
# arenas, the batches being encoded. Measured without an outage at 5000
# lines/s (the baseline this test prints): ~11.5 MiB; in a 60 s outage the
# peak was ~21 MiB, i.e. budget + ~13 MiB. Allowed: budget + 24 MiB.
RSS_OVERHEAD_KIB=$((24 * 1024))
RSS_LIMIT_KIB=$((BUDGET_KIB + RSS_OVERHEAD_KIB))

sanitizer=$(ls_sanitizer)

start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
max_buffer_bytes: 8MiB
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 1000, max_wait: 200ms }
YAML

# The writer: RATE numbered lines/s of ~200 bytes, paced by itself, until
# $T/stop-writer exists (at most 600 s); prints the number written.
"$PYTHON3" - "$T/logs/app.log" "$RATE" "$T/stop-writer" \
    >"$T/writer.out" 2>"$T/writer.err" <<'PY' &
import os, sys, time
path, rate, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pad = "x" * 130
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
t0 = time.monotonic()
n = 0
while not os.path.exists(stop) and time.monotonic() - t0 < 600:
    want = int((time.monotonic() - t0) * rate)
    if want > n:
        os.write(fd, "".join(
            "2026-11-23T10:00:00.000Z INFO outage %08d %s\n" % (i, pad)
            for i in range(n, want)).encode())
        n = want
    time.sleep(0.01)  # ok-sleep: the writer's pace
os.close(fd)
print(n)
PY
WRITER_PID=$!
# Stop the writer however the test ends.
# shellcheck disable=SC2154
trap '_st=$?; set +e; kill "$WRITER_PID" 2>/dev/null; (exit $_st); cleanup' EXIT

start_logshipd "$T/logshipd.yaml" -s 1
# Warm-up with the intake up: the baseline RSS.
wait_count /api/v2/logs $((RATE * 2)) 30
rss_sample 3 "$T/rss.base" || fail "sampling the baseline RSS"
read -r base_peak _ _ <"$T/rss.base"
log "baseline (intake up, $RATE lines/s): peak RSS $base_peak KiB"

intake control '{"path": "/api/v2/logs", "default": {"status": 503}}'
log "intake down for ${OUTAGE}s"
rss_sample "$OUTAGE" "$T/rss.outage" || fail "sampling the RSS in the outage"
read -r peak last nsamples <"$T/rss.outage"
alive "$LS_PID" || fail "logshipd died during the outage"
alive "$WRITER_PID" || fail "the writer stopped during the outage"
n503=$(intake_stat 's["by_status"].get("503", 0)')
log "outage: peak RSS $peak KiB, at its end $last KiB ($nsamples samples);" \
    "limit $RSS_LIMIT_KIB KiB (8MiB budget + $RSS_OVERHEAD_KIB KiB); $n503 x 503"
[ "$n503" -ge 2 ] || fail "only $n503 requests answered 503 in the outage"
# Not hammered: about one probe a second, plus the backed-off retries.
[ "$n503" -le $((OUTAGE * 2 + 10)) ] ||
    fail "$n503 requests in a ${OUTAGE}s outage: the backoff is not holding"
if [ -n "$sanitizer" ]; then
	log "SKIP the RSS assertion: $LOGSHIPD is built with $sanitizer"
elif [ "$peak" -gt "$RSS_LIMIT_KIB" ]; then
	fail "peak RSS $peak KiB in the outage, above $RSS_LIMIT_KIB KiB"
fi

# The intake is back: the first 202 within 2 s.
t_reset=$("$PYTHON3" -c 'import time; print(time.monotonic())')
intake control '{"path": "/api/v2/logs", "reset": true}'
# (a function: wait_for must run the query at each poll)
ok_since_reset() {
	[ "$(intake_stat 'sum(1 for r in s["requests_log"] if r["status"] == 202 and r["t_end"] >= '"$t_reset"')')" -ge 1 ]
}
wait_for 30 ok_since_reset
first=$(intake_stat '"%.3f" % min(max(0.0, r["t"] - '"$t_reset"') for r in s["requests_log"] if r["status"] == 202 and r["t_end"] >= '"$t_reset"')')
log "first 202 ${first}s after the reset"
awk -v f="$first" -v m="$(scaled 2)" 'BEGIN { exit !(f <= m) }' ||
    fail "first 202 ${first}s after the intake came back, want <= $(scaled 2)s"

: >"$T/stop-writer"
_end=$(($(now_ms) + $(scaled 15) * 1000))
while alive "$WRITER_PID"; do
	[ "$(now_ms)" -lt "$_end" ] || fail "the writer did not stop"
	sleep 0.1 # ok-sleep: bounded poll
done
wait "$WRITER_PID" || fail "the writer failed: $(cat "$T/writer.err")"
WRITER_PID=
N=$(cat "$T/writer.out")
assert_eq "$(wc -l <"$T/logs/app.log" | tr -d ' ')" "$N" "lines in the file"
t0=$(now_ms)
wait_count /api/v2/logs "$N" 120
log "all $N lines delivered $(($(now_ms) - t0)) ms after the writer stopped"
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log"
assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent="
assert_eq "$(ls_dest_stat dd unsent)" 0 "dd unsent="
log "ok: $N lines once each; baseline RSS $base_peak KiB, outage peak" \
    "$peak KiB, limit $RSS_LIMIT_KIB KiB${sanitizer:+ (not asserted: $sanitizer)};" \
    "first 202 ${first}s after the reset"
