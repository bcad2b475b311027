#!/bin/sh
# A 100 MB line, twice, with max_line_bytes 256KiB:
#  1. a line of 100 MB that a newline ends at last, then more lines;
#  2. a line of 100 MB that no newline ends: partial_flush ships it once
#     the file is idle, then more lines are written after it.
# Each arrives as its first 256 KiB and " [logshipd: truncated N bytes]",
# the lines after it arrive, and logshipd's memory stays bounded while it
# reads the 100 MB: its peak VmRSS may exceed the one before the line by
# at most 16 MiB. What a line costs is at most max_line_bytes in the line
# buffer, plus the record, its JSON and the gzip buffers, a few copies of
# 256 KiB (about 2 MiB in all); keeping the line would cost 100 MB, six
# times the bound. Under ASan/TSan the allocator (quarantine, shadow)
# dominates the RSS: there the assertion is skipped, and said so.
. "$(dirname "$0")/lib.sh"

MB100=100000000
MAX=262144
RSS_SLACK_KIB=$((16 * 1024))
sanitizer=$(ls_sanitizer)

start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
    max_line_bytes: 256KiB
    partial_flush: 2s
$(dd_dest)
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML

# sampler OUT: samples logshipd's VmRSS every 50 ms into OUT (its peak, in
# KiB) until $T/stop-sampler exists (at most 300 s).
sampler() {
	rm -f "$T/stop-sampler"
	"$PYTHON3" - "$LS_PID" "$1" "$T/stop-sampler" <<'PY' &
import os, sys, time
pid, out, stop = sys.argv[1:4]
peak = 0
end = time.monotonic() + 300
while not os.path.exists(stop) and time.monotonic() < end:
    try:
        with open("/proc/%s/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    peak = max(peak, int(ln.split()[1]))
    except OSError:
        break
    time.sleep(0.05)  # ok-sleep: the sampling pace
with open(out, "w") as f:
    f.write("%d\n" % peak)
PY
	SAMPLER_PID=$!
}

stop_sampler() {
	: >"$T/stop-sampler"
	wait "$SAMPLER_PID" || fail "the RSS sampler failed"
	SAMPLER_PID=
}
SAMPLER_PID=
# shellcheck disable=SC2154
trap '_st=$?; set +e; [ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null; (exit $_st); cleanup' EXIT

# huge FILE PREFIX: appends PREFIX and x's, 100 MB in all, no newline, and
# its expected (truncated) line to $T/want.
huge() {
	"$PYTHON3" - "$1" "$2" "$MB100" "$MAX" "$T/want" <<'PY'
import sys
path, prefix, total, cap, want = sys.argv[1], sys.argv[2].encode(), \
    int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
chunk = b"x" * (1 << 20)
with open(path, "ab") as f:
    f.write(prefix)
    left = total - len(prefix)
    while left > 0:
        f.write(chunk[:min(left, len(chunk))])
        left -= min(left, len(chunk))
kept = (prefix + b"x" * cap)[:cap]
with open(want, "ab") as w:
    w.write(kept + b" [logshipd: truncated %d bytes]\n" % (total - cap))
PY
}

rss() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$LS_PID/status"
}

# lines FILE N PREFIX: N normal lines to FILE and to $T/want.
lines() {
	gen_lines "$T/batch" "$2" "$3"
	cat "$T/batch" >>"$1"
	cat "$T/batch" >>"$T/want"
	rm -f "$T/batch"
}

: >"$T/want"
lines "$T/logs/app.log" 100 before
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 100 30
base=$(rss)

# 1. Ended by a newline at last.
sampler "$T/peak1"
huge "$T/logs/app.log" "INFO huge line one "
printf '\n' >>"$T/logs/app.log"
lines "$T/logs/app.log" 100 after-one
wait_count /api/v2/logs 201 60
stop_sampler
peak1=$(cat "$T/peak1")

# 2. Never ended: shipped by partial_flush, then the next lines.
sampler "$T/peak2"
huge "$T/logs/app.log" "INFO huge line two "
wait_count /api/v2/logs 202 60
stop_sampler
peak2=$(cat "$T/peak2")
lines "$T/logs/app.log" 100 after-two
wait_count /api/v2/logs 302 30

alive "$LS_PID" || fail "logshipd died"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
log "VmRSS before the lines $base KiB; peak while reading them $peak1 KiB, $peak2 KiB; allowed $((base + RSS_SLACK_KIB)) KiB"
if [ -n "$sanitizer" ]; then
	log "SKIP the RSS assertion: $LOGSHIPD is built with $sanitizer"
else
	for p in "$peak1" "$peak2"; do
		[ "$p" -le $((base + RSS_SLACK_KIB)) ] ||
		    fail "peak VmRSS $p KiB reading a 100 MB line, above $base + $RSS_SLACK_KIB KiB"
	done
fi
log "ok: two 100 MB lines cut to 256 KiB with the marker, the lines after them arrived"
