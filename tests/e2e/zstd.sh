#!/bin/sh
# compression: zstd, to a datadog destination (JSON arrays) and an http one
# (NDJSON): every line arrives exactly once on each, in requests the intake
# decoded as Content-Encoding: zstd.
. "$(dirname "$0")/lib.sh"

"$PYTHON3" -c 'import zstandard' 2>/dev/null || {
	echo "SKIP: zstd: $PYTHON3 has no zstandard module (Debian: python3-zstandard)" >&2
	exit 77
}
N=20000
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
$(app_source)
$(dd_dest)
    compression: zstd
    compression_level: 3
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
  - name: h
    type: http
    format: ndjson
    compression: zstd
    url: $INTAKE_URL/ingest
    batch: { max_entries: 700, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
routes:
  - { severity: all, to: [dd, h] }
YAML
gen_lines "$T/logs/a.log" "$N" zs

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 60
wait_count /ingest "$N" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/a.log"
check_exact "$T/logs/a.log" --path /ingest
assert_eq "$(intake_stat 'sorted(set(r["encoding"] for r in s["requests_log"]))')" \
    "['zstd']" "Content-Encoding"
assert_eq "$(intake_stat 'sorted(s["by_status"])')" "['200', '202']" "answers"
log "ok"
