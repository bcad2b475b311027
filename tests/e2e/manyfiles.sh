#!/bin/sh
# 10,000 files under one glob, 2 lines each, max_open_files at its default
# (8192, fewer than the files): all 20,000 lines arrive exactly once, and
# logshipd's thread count stays small (< 20) all along: no thread per file.
. "$(dirname "$0")/lib.sh"

NF=10000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms
sources:
  - name: many
    paths: ["$T/logs/*.log"]
$(dd_dest)
    workers: 2
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
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
log "ok: written=$W received=$CK_RECEIVED duplicates=$CK_DUP" \
    "files=$NF max_threads=$maxthr"
