#!/bin/sh
# One destination down does not hold back another, per its on_full policy.
# "healthy": datadog on /api/v2/logs; "down": http (NDJSON) on /down, which
# the intake answers 503 until reset.
#
# A, on_full: drop_newest (down: max_buffer_bytes 1MiB, global 4MiB):
#   100k lines; healthy gets every one exactly once within 30 s while down
#   is down, and the checkpoint reaches the end of the file while down is
#   still down (a drop_newest destination is best effort: the checkpoint
#   does not wait for it). Down comes back: it sends what it held, and its
#   final line adds up: sent + dropped + unsent = 100k with dropped_full >
#   0; what /down received is exactly "sent" distinct lines of the file.
# B, on_full: block (the default), global max_buffer_bytes 1MiB: 20k lines;
#   while down is down reading is held back (healthy gets some lines, not
#   all; nothing is committed); down comes back: both get every line once.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY" --quiet

# config NAME GLOBAL_BUFFER DOWN_EXTRA
config() {
	mkdir "$T/logs-$1" "$T/state-$1"
	write_config "$T/$1.yaml" <<YAML
state_dir: $T/state-$1
shutdown_timeout: 10s
checkpoint_interval: 100ms
max_buffer_bytes: $2
scan_interval: 200ms
poll_interval: 100ms
sources:
  - name: app
    paths: ["$T/logs-$1/*.log"]
destinations:
  - name: healthy
    type: datadog
    url: $INTAKE_URL/api/v2/logs
    api_key_env: DD_API_KEY
    workers: 2
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
  - name: down
    type: http
    format: ndjson
    url: $INTAKE_URL/down
    workers: 2
    batch: { max_entries: 1000, max_wait: 200ms }
    retry: { initial: 100ms, max: 500ms }
$3
YAML
}

# ckpt_offset STATE_DIR: the committed offset of the (only) file, 0 when
# there is no checkpoint or no file in it yet.
ckpt_offset() {
	"$PYTHON3" - "$1/checkpoint.json" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        files = json.load(f)["files"]
except FileNotFoundError:
    files = []
print(files[0]["offset"] if files else 0)
PY
}

ckpt_at() {
	[ "$(ckpt_offset "$1")" -eq "$2" ]
}

down_503s_at_least() {
	[ "$(intake_stat 's["by_status"].get("503", 0)')" -ge "$1" ]
}

# -- A: drop_newest -----------------------------------------------------------
N=100000
config drop 4MiB "    on_full: drop_newest
    max_buffer_bytes: 1MiB"
gen_lines "$T/logs-drop/app.log" "$N" isoA
size=$(wc -c <"$T/logs-drop/app.log" | tr -d ' ')
intake control '{"path": "/down", "default": {"status": 503}}'
t0=$(now_ms)
start_logshipd "$T/drop.yaml"
wait_count /api/v2/logs "$N" 30
took=$(($(now_ms) - t0))
log "A: healthy got $N lines in $took ms with down down"
# Normal speed: alone, 100k lines take well under a second here; a healthy
# destination held back by the down one would take its retries' time.
[ "$took" -le $(($(scaled 10) * 1000)) ] ||
    fail "A: healthy took $took ms for $N lines while down was down"
check_exact "$T/logs-drop/app.log"
assert_eq "$(intake count --path /down)" 0 "entries accepted on /down while down"
down_503s_at_least 1 || fail "A: no 503 on /down: down never tried"
wait_for 30 ckpt_at "$T/state-drop" "$size"
log "A: checkpoint at the end of the file ($size bytes) with down still down"
down_503s_at_least 2 || fail "A: down gave up trying"

intake control '{"path": "/down", "reset": true}'
t1=$(now_ms)
down_sent_some() {
	[ "$(intake count --path /down)" -gt 0 ]
}
wait_for 30 down_sent_some
log "A: down back; its first lines arrived after $(($(now_ms) - t1)) ms"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "A: exit status"
check_exact "$T/logs-drop/app.log"
grep "destination down:" "$T/logshipd.log" | tail -n 1 >&2
sent=$(ls_dest_stat down sent)
dropped=$(ls_dest_stat down dropped)
unsent=$(ls_dest_stat down unsent)
full=$(ls_dest_stat down dropped_full)
if [ -z "$sent" ] || [ -z "$dropped" ] || [ -z "$unsent" ]; then
	fail "A: no complete 'destination down:' line"
fi
[ -n "$full" ] || fail "A: no dropped_full= on the 'destination down:' line"
[ "$full" -gt 0 ] || fail "A: down dropped_full=$full, want > 0"
[ "$dropped" -ge "$full" ] || fail "A: down dropped=$dropped < dropped_full=$full"
assert_eq $((sent + dropped + unsent)) "$N" "A: down sent+dropped+unsent"
assert_eq "$unsent" 0 "A: down unsent= once it is back"
assert_eq "$(ls_dest_stat healthy sent)" "$N" "A: healthy sent="
assert_eq "$(ls_dest_stat healthy dropped)" 0 "A: healthy dropped="
# /down got exactly "sent" distinct lines of the file.
intake messages --path /down >"$T/down.got"
"$PYTHON3" - "$T/logs-drop/app.log" "$T/down.got" "$sent" <<'PY' ||
import collections, sys
want = open(sys.argv[1]).read().split("\n")[:-1]
got = open(sys.argv[2]).read().split("\n")[:-1]
dup = [m for m, n in collections.Counter(got).items() if n > 1]
extra = set(got) - set(want)
if dup or extra or len(got) != int(sys.argv[3]):
    sys.exit("/down: %d received, sent=%s, %d duplicated, %d not in the file"
             % (len(got), sys.argv[3], len(dup), len(extra)))
prefix = set(got) == set(want[:len(got)])
print("/down: %d distinct lines of the file%s" %
      (len(got), ", its first ones" if prefix else ", not its first ones"))
PY
    fail "A: what /down received"
log "A: down sent=$sent dropped=$dropped (dropped_full=$full) unsent=$unsent"

# -- B: block -----------------------------------------------------------------
N=20000
intake control '{"clear": true, "reset": true}'
intake control '{"path": "/down", "default": {"status": 503}}'
config block 1MiB ""
gen_lines "$T/logs-block/app.log" "$N" isoB
size=$(wc -c <"$T/logs-block/app.log" | tr -d ' ')
start_logshipd "$T/block.yaml"
wait_count /api/v2/logs 1 30
wait_for 30 down_503s_at_least 5
got=$(intake count)
off=$(ckpt_offset "$T/state-block")
log "B: down down: healthy has $got of $N lines, checkpoint at $off"
[ "$got" -lt "$N" ] ||
    fail "B: healthy got all $N lines (~$((size / 1024)) KiB) with a 1MiB budget and down blocking"
assert_eq "$off" 0 "B: checkpoint while down has sent nothing"
intake control '{"path": "/down", "reset": true}'
wait_count /down "$N" 30
wait_count /api/v2/logs "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "B: exit status"
check_exact "$T/logs-block/app.log"
check_exact "$T/logs-block/app.log" --path /down
for d in healthy down; do
	assert_eq "$(ls_dest_stat $d sent)" "$N" "B: $d sent="
	assert_eq "$(ls_dest_stat $d dropped)" 0 "B: $d dropped="
	assert_eq "$(ls_dest_stat $d unsent)" 0 "B: $d unsent="
done
assert_eq "$(ckpt_offset "$T/state-block")" "$size" "B: checkpoint at exit"
log "ok"
