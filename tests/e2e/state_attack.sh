#!/bin/sh
# A local attacker against the state directory (issue 19, items 2 and 3),
# as the probe did it: logshipd runs as root, and an unprivileged user (made
# here with useradd, run under setpriv) can write the state directory.
#  1. A state_dir that others may write is refused: exit 78, saying why and
#     how to fix it, before anything is read or written.
#  2. Allowed anyway (allow_insecure_state_dir: true), the attacker plants
#     checkpoint.json.tmp as a link to a root file, and as a dangling link,
#     before the start and again and again while logshipd runs: the root
#     file stays as it was, nothing is created where the dangling link
#     points, and every line arrives exactly once.
#  3. The attacker replaces checkpoint.json by a link to /dev/zero, then by
#     a FIFO: logshipd starts at once from checkpoint.json.prev (the status
#     endpoint answers), with its peak RSS bounded, and ships the new lines.
# Skipped (77) where users cannot be made (not root, no useradd/setpriv).
. "$(dirname "$0")/lib.sh"

attacker_user
ATK=$ATTACKER
# The state lives where the attacker can reach it: /tmp, not the build tree.
S=$(mktemp -d /tmp/logshipd-e2e-state.XXXXXX)
chmod 755 "$S"
# shellcheck disable=SC2154
trap '_st=$?; set +e; rm -rf "$S"; (exit $_st); cleanup' EXIT

mkdir "$T/logs" "$S/state"
chmod 0777 "$S/state" # the misconfiguration the attacker needs
echo "root's precious file" >"$S/victim"
chmod 0644 "$S/victim"
cp "$S/victim" "$T/victim.want"
METRICS_PORT=$(free_port)
start_intake --api-key "$DD_API_KEY"
# config [TOP_KEYS]
config() {
	write_config "$T/logshipd.yaml" <<YAML
state_dir: $S/state
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
shutdown_timeout: 10s
scan_interval: 200ms
poll_interval: 100ms
checkpoint_interval: 20ms
checkpoint_fsync_interval: 100ms
${1:-}
$(app_source)
$(dd_dest)
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms }
YAML
}

# plant_tmp: the attacker's links in place of the temporary file.
plant_tmp() {
	as_attacker sh -c 'ln -sfn "$1" "$2/checkpoint.json.tmp.$$" &&
	    mv -f "$2/checkpoint.json.tmp.$$" "$2/checkpoint.json.tmp"' \
	    sh "$1" "$S/state"
}

healthz() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/healthz" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2).read()
except Exception:
    sys.exit(1)
PY
}

# peak_rss_kb: logshipd's peak RSS (VmHWM), in kB.
peak_rss_kb() {
	sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$LS_PID/status"
}

victim_untouched() {
	cmp -s "$S/victim" "$T/victim.want" ||
	    fail "$1: the attacker's link target was written"
	[ ! -e "$S/created" ] && [ ! -L "$S/created" ] ||
	    fail "$1: a file was created where the dangling link points"
}

# 1. Refused by default.
config
plant_tmp "$S/victim"
start_logshipd "$T/logshipd.yaml"
wait_exit 10
assert_eq "$LS_STATUS" 78 "exit status with a world-writable state_dir"
ls_run_log | grep -q "may be written by group or others.*chmod 0700" ||
    fail "the refusal does not say why and how to fix it"
victim_untouched "refused"
log "1: an insecure state_dir is refused (exit 78)"

# 2. Allowed: the planted links are never written through.
config "allow_insecure_state_dir: true"
gen_lines "$T/logs/app.log" 2000 first
start_logshipd "$T/logshipd.yaml"
wait_for 10 healthz
# Planted again and again while checkpoints are written every 20 ms.
as_attacker sh -c 'i=0; while [ $i -lt 300 ]; do
	ln -sfn "$1" "$3/checkpoint.json.tmp" 2>/dev/null
	ln -sfn "$2" "$3/checkpoint.json.tmp" 2>/dev/null
	i=$((i + 1)); done' sh "$S/victim" "$S/created" "$S/state"
wait_count /api/v2/logs 2000 30
gen_lines "$T/logs/app.log" 1000 second
wait_count /api/v2/logs 3000 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
victim_untouched "allowed"
[ -f "$S/state/checkpoint.json" ] && [ ! -L "$S/state/checkpoint.json" ] ||
    fail "checkpoint.json is not a regular file"
assert_eq "$(stat -c '%u %a' "$S/state/checkpoint.json")" "0 600" \
    "checkpoint.json's owner and mode"
check_exact "$T/logs/app.log"
log "2: planted tmp links not followed; $CK_RECEIVED lines exactly once"

# A .prev is a durable generation: one short run may end before its first
# fsync (checkpoint_fsync_interval), leaving none. The checkpoint a start
# loads is durable, so the first write of a second run keeps it as .prev.
gen_lines "$T/logs/app.log" 100 again
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 3100 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status (restart)"

# 3. checkpoint.json planted as /dev/zero, then as a FIFO: .prev is used.
[ -f "$S/state/checkpoint.json.prev" ] || fail "no checkpoint.json.prev"
n=3100
for plant in zero fifo; do
	if [ "$plant" = zero ]; then
		as_attacker ln -sfn /dev/zero "$S/state/checkpoint.json"
	else
		as_attacker rm -f "$S/state/checkpoint.json"
		as_attacker mkfifo "$S/state/checkpoint.json"
	fi
	gen_lines "$T/logs/app.log" 500 "$plant"
	n=$((n + 500))
	start_logshipd "$T/logshipd.yaml"
	wait_for 10 healthz
	rss=$(peak_rss_kb)
	[ "$rss" -lt 204800 ] || fail "$plant: peak RSS ${rss} kB"
	ls_run_log | grep -q "checkpoint.json: .*not\|using the previous" ||
	    fail "$plant: the planted checkpoint.json was not refused"
	wait_count /api/v2/logs "$n" 30
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status ($plant)"
	log "3: checkpoint.json as $plant: started from .prev, peak RSS" \
	    "${rss} kB"
done
# Shipped again from .prev at worst: nothing lost, nothing unexpected.
check_counts "$T/logs/app.log" || :
[ "$CK_MISSING" -eq 0 ] && [ "$CK_UNEXPECTED" -eq 0 ] ||
    fail "$CK_MISSING missing, $CK_UNEXPECTED unexpected"
victim_untouched "end"
log "ok: received=$CK_RECEIVED duplicates=$CK_DUP (from .prev)"
