#!/bin/sh
# The memory budget holds while a copy is read (issue 13.2): a backlog
# held through an intake outage (503) under max_buffer_bytes: 8MiB, then
# logrotate's copytruncate, then the intake heals. The copy's unread tail
# (most of the backlog) is read in slices under the budget like any file,
# not in one loop: logshipd's peak RSS stays within the budget plus a
# fixed margin, and every line arrives exactly once. (Before, the copy
# was read to its end at once: the peak grew with the backlog.)
#
# Under ASan/TSan the RSS is the sanitizer's: only the RSS bound is not
# asserted (said so in the output).
. "$(dirname "$0")/lib.sh"

N=${LS_COPY_LINES:-300000}
BUDGET_KIB=$((8 * 1024))
# As in outage_memory.sh: everything but the records (code, libraries,
# thread stacks, malloc arenas, the batches being encoded) is within
# 24 MiB; the backlog here (~60 MB) is well past budget + margin.
RSS_LIMIT_KIB=$((BUDGET_KIB + 24 * 1024))
sanitizer=$(ls_sanitizer)

start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
METRICS_PORT=$(free_port)
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
max_buffer_bytes: 8MiB
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
$(app_source)
$(dd_dest)
    workers: 2
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML

intake control '{"path": "/api/v2/logs", "default": {"status": 503}}'
gen_lines "$T/logs/app.log" "$N" held
start_logshipd "$T/logshipd.yaml"
# Read up to the budget, then paused: the file holds the rest.
wait_for 30 reading_paused
cp "$T/logs/app.log" "$T/logs/app.log.1"
: >"$T/logs/app.log"
gen_lines "$T/logs/app.log" 10 new
cat "$T/logs/app.log.1" "$T/logs/app.log" >"$T/want"

rss_sample 300 "$T/rss" "$T/rss.stop" &
SAMPLER=$!
intake control '{"path": "/api/v2/logs", "reset": true}'
wait_count /api/v2/logs $((N + 10)) 120
: >"$T/rss.stop"
wait "$SAMPLER" || fail "sampling the RSS"
read -r peak _ nsamples <"$T/rss"
grep -q "app.log: truncated; its copy is $T/logs/app.log.1" \
    "$T/logshipd.log" || fail "the copy was not read"
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
log "peak RSS $peak KiB while the copy was read ($nsamples samples);" \
    "limit $RSS_LIMIT_KIB KiB (8MiB budget + 24 MiB)"
if [ -n "$sanitizer" ]; then
	log "SKIP the RSS assertion: $LOGSHIPD is built with $sanitizer"
elif [ "$peak" -gt "$RSS_LIMIT_KIB" ]; then
	fail "peak RSS $peak KiB while the copy was read, above $RSS_LIMIT_KIB KiB"
fi
log "ok: $((N + 10)) lines once each"
