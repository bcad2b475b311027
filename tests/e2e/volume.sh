#!/bin/sh
# 100k lines, half written before logshipd starts and half while it runs
# (appended in chunks): every one arrives exactly once, with its status.
# Reading them leaves the file's atime alone (O_NOATIME; logshipd runs as
# root here, who may).
. "$(dirname "$0")/lib.sh"

N=100000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
scan_interval: 200ms
poll_interval: 100ms
hostname: e2e-host
sources:
  - name: vol
    paths: ["$T/logs/*.log"]
    service: volume
$(dd_dest)
    workers: 4
    max_connections: 4
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML

# gen FROM TO: appends lines FROM..TO-1 to the log and STATUS<TAB>LINE to
# $T/want, cycling through the plain-text severities.
gen() {
	"$PYTHON3" - "$T/logs/vol.log" "$T/want" "$1" "$2" <<'PY'
import sys
kws = [("ERROR", "error"), ("WARN", "warning"), ("INFO", "info"),
       ("DEBUG", "debug"), ("NOTICE", "notice"), ("CRIT", "critical")]
lo, hi = int(sys.argv[3]), int(sys.argv[4])
with open(sys.argv[1], "a") as f, open(sys.argv[2], "a") as w:
    for i in range(lo, hi):
        kw, st = kws[i % len(kws)]
        line = "2026-11-23T10:%02d:%02dZ %s volume line %06d pid=%d" \
            % (i // 60 % 60, i % 60, kw, i, 1000 + i % 97)
        f.write(line + "\n")
        w.write("%s\t%s\n" % (st, line))
PY
}

gen 0 $((N / 2))
# An atime behind the mtime: relatime would move it at the first read.
touch -a -d '2020-01-02 03:04:05' "$T/logs/vol.log"
atime=$(stat -c %X "$T/logs/vol.log")
start_logshipd "$T/logshipd.yaml"
i=$((N / 2))
while [ "$i" -lt "$N" ]; do
	gen "$i" $((i + 5000))
	i=$((i + 5000))
done
wait_count /api/v2/logs "$N" 120
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" --with-status --field service=volume ||
    fail "received != written"
assert_eq "$(ls_final_read)" "$N" "final read="
assert_eq "$(ls_dest_stat dd sent)" "$N" "dd sent="
assert_eq "$(stat -c %X "$T/logs/vol.log")" "$atime" "atime of the log"
log "ok ($(intake_stat 's["requests"]') requests)"
