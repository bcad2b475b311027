#!/bin/sh
# Corrupt checkpoints. 1: checkpoint.json is garbage, checkpoint.json.prev
# current (two clean stop/starts made it so): logshipd says it falls back
# and resumes from .prev, shipping only the lines appended since, each once.
# 2: both corrupt (garbage, and a truncated .prev): it refuses to start,
# exit 1 quickly, naming the state dir. 3: both removed: it starts afresh
# and ships every line again (each exactly twice in all).
. "$(dirname "$0")/lib.sh"

N1=1000
N2=500
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
S=$T/state
write_config "$T/logshipd.yaml" <<YAML
state_dir: $S
shutdown_timeout: 10s
checkpoint_interval: 100ms
scan_interval: 200ms
poll_interval: 100ms
$(app_source)
$(dd_dest)
    batch: { max_entries: 200, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML

# valid_json FILE
valid_json() {
	"$PYTHON3" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1"
}

gen_lines "$T/logs/app.log" "$N1" first
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N1" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (ship)"
for i in 1 2; do
	start_logshipd "$T/logshipd.yaml"
	wait_for 15 ls_started
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status (clean restart $i)"
done
assert_eq "$(intake count)" "$N1" "entries after two clean restarts"
for f in checkpoint.json checkpoint.json.prev; do
	[ -s "$S/$f" ] || fail "no $f after clean restarts"
	valid_json "$S/$f" || fail "$f is not valid JSON after a clean stop"
done

# 1: checkpoint.json corrupt.
printf 'garbage \001\002 {"not": json' >"$S/checkpoint.json"
gen_lines "$T/logs/app.log" "$N2" second
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs $((N1 + N2)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (fallback to .prev)"
check_exact "$T/logs/app.log"
ls_run_log | grep -i 'checkpoint' | grep -q -i 'prev' ||
    fail "the log does not mention falling back to checkpoint.json.prev"
log "fallback: written=$((N1 + N2)) received=$CK_RECEIVED duplicates=$CK_DUP"

# 2: both corrupt.
printf 'garbage' >"$S/checkpoint.json"
head -c 20 "$S/checkpoint.json.prev" >"$T/half"
cp "$T/half" "$S/checkpoint.json.prev"
valid_json "$S/checkpoint.json.prev" 2>/dev/null &&
    fail "20 bytes of checkpoint.json.prev still parse"
start_logshipd "$T/logshipd.yaml"
wait_exit 10
assert_eq "$LS_STATUS" 1 "exit status with both checkpoints corrupt"
ls_run_log | grep -q "$S" ||
    fail "the refusal does not name the state dir $S"
assert_eq "$(intake count)" $((N1 + N2)) "entries after the refusal"
log "refused: $(ls_run_log | grep -F "$S" | tail -n 1)"

# 3: both removed: afresh.
rm "$S/checkpoint.json" "$S/checkpoint.json.prev"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs $((2 * (N1 + N2))) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (fresh)"
cat "$T/logs/app.log" "$T/logs/app.log" >"$T/twice"
check_exact "$T/twice"
log "ok: written=$((N1 + N2)) received=$CK_RECEIVED duplicates=$((N1 + N2))" \
    "(each line twice after the fresh start, as expected)"
