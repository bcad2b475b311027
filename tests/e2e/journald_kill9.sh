#!/bin/sh
# Crash safety of a journald source, as kill9.sh for files: 100,000
# entries, a slow intake, checkpoint_interval 100ms; logshipd is killed
# with SIGKILL three times as the intake's count passes thresholds, and
# restarted each time. Every entry arrives; the duplicates (entries shipped
# again after a crash: those in flight past the committed cursor) stay
# under kills * workers * max_entries * 3, and no entry arrives more than
# once per crash.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

N=100000
WORKERS=4
MAXE=1000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/journal" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 20s
checkpoint_interval: 100ms
sources:
  - name: jd
    type: journald
    directory: $T/journal
    default_severity: info
$(dd_dest)
    workers: $WORKERS
    max_connections: $WORKERS
    batch: { max_entries: $MAXE, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
journal_gen "$T/e" "$N" k9
journal_write "$T/journal" "$T/e"
cut -f 2 "$T/e.all" >"$T/want"
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 100}}'

start_logshipd "$T/logshipd.yaml"
kills=0
for th in 20000 45000 70000; do
	wait_count /api/v2/logs "$th" 60
	stop_logshipd KILL 10
	assert_eq "$LS_STATUS" 137 "exit status after SIGKILL"
	kills=$((kills + 1))
	[ -n "$(journal_cursor jd)" ] || fail "no cursor after kill $kills"
	log "kill $kills at $(intake count) received"
	start_logshipd "$T/logshipd.yaml"
done
wait_for 90 no_missing "$T/want"
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_counts "$T/want" || :
bound=$((kills * WORKERS * MAXE * 3))
log "written=$N received=$CK_RECEIVED duplicates=$CK_DUP (bound $bound," \
    "$kills kills) missing=$CK_MISSING unexpected=$CK_UNEXPECTED"
if [ "$CK_MISSING" -ne 0 ] || [ "$CK_UNEXPECTED" -ne 0 ]; then
	cat "$T/check.out" >&2
	fail "$CK_MISSING missing, $CK_UNEXPECTED unexpected"
fi
[ "$CK_DUP" -le "$bound" ] ||
    fail "$CK_DUP duplicates, more than $bound for $kills kills"
intake messages >"$T/got"
maxn=$(sort "$T/got" | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
[ "$maxn" -le $((kills + 1)) ] ||
    fail "an entry arrived $maxn times after $kills kills"
[ "$(grep -c 'journal jd: resuming after' "$T/logshipd.log")" -eq "$kills" ] ||
    fail "not every restart resumed after its cursor"
log "ok: written=$N received=$CK_RECEIVED duplicates=$CK_DUP"
