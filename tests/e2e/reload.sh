#!/bin/sh
# SIGHUP reloads the configuration while a writer appends 3000 lines/s:
#  1. a broken file: logged with file:line:column, the old configuration
#     keeps shipping;
#  2. a destination "b" and a source "extra" added: lines start arriving on
#     /b; "dd" is unchanged and keeps running;
#  3. "dd" changed (its batch size) and "b" removed: dd's new instance
#     takes over from the old one, b sends what it holds and retires;
#     lines of "extra" arrive on dd;
#  4. "extra" removed: lines appended to it afterwards are not shipped.
#  5. (a run of its own) multiline turned off while an entry is being
#     gathered: the entry is shipped, once, before the lines after it.
# In the end dd got every line of app.log and the first lines of extra
# exactly once: no reload lost or doubled one. /b got a run of consecutive
# app.log lines, each once (it was in the table from one barrier in the
# stream to the next).
. "$(dirname "$0")/lib.sh"

N=30000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/logs" "$T/logs2" "$T/state"

# config DD_MAX_ENTRIES WITH_B WITH_EXTRA
config() {
	{
		cat <<YAML
$(app_top)
$(app_source)
YAML
		[ "$3" = 1 ] && cat <<YAML
  - name: extra
    paths: ["$T/logs2/*.log"]
YAML
		cat <<YAML
$(dd_dest)
    batch: { max_entries: $1, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
		[ "$2" = 1 ] && cat <<YAML
  - name: b
    type: http
    format: ndjson
    url: $INTAKE_URL/b
    batch: { max_entries: 200, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
routes:
  - { severity: all, to: [dd, b] }
YAML
		:
	} >"$T/new.yaml"
	mv "$T/new.yaml" "$T/logshipd.yaml"
}

reloads() {
	ls_run_log | grep -c 'reloaded: [0-9]* sources' || :
}
reloaded() {
	[ "$(reloads)" -ge "$1" ]
}
failed_reload() {
	ls_run_log | grep -q 'reload failed: still running the previous'
}
hup() {
	kill -HUP "$LS_PID" || fail "logshipd is gone"
}

config 500 0 0
start_logshipd "$T/logshipd.yaml"
wait_for 10 ls_started
rot_writer "$T/logs/app.log" "$T/want" w "$N" 3000 0 0 - - \
    >"$T/writer.out" 2>"$T/writer.err" &
WRITER_PID=$!
# shellcheck disable=SC2154
trap '_st=$?; set +e; kill "$WRITER_PID" 2>/dev/null; (exit $_st); cleanup' EXIT
wait_count /api/v2/logs 2000 30

# 1. A broken file changes nothing.
printf 'sources:\n  - name: app\n    paths: [unclosed\n' >"$T/logshipd.yaml"
hup
wait_for 10 failed_reload
ls_run_log | grep -q "$T/logshipd.yaml:[0-9]*:[0-9]*: " ||
    fail "the reload's error does not name file:line:column"
n=$(intake count --path /api/v2/logs)
wait_count /api/v2/logs $((n + 3000)) 30
log "1: a broken file was refused; dd went on ($n -> $((n + 3000))+)"

# 2. b and extra added.
config 500 1 1
hup
wait_for 10 reloaded 1
wait_count /b 1000 30
ls_run_log | grep -q 'reloaded: 1 of 2 destinations kept running' ||
    fail "dd did not keep running through the reload that added b"
log "2: b added, lines arrive on /b"

# 3. dd changed, b removed.
config 300 0 1
hup
wait_for 10 reloaded 2
retired_b() {
	ls_run_log | grep -q 'b: retired, nothing left unsent'
}
wait_for 30 retired_b
gen_lines "$T/logs2/x.log" 100 extra
cp "$T/logs2/x.log" "$T/want-extra"
# The new source's lines are shipped before the next reload removes it.
extra_in() {
	[ "$(intake messages | grep -c ' INFO extra ')" -ge 100 ]
}
wait_for 30 extra_in
log "3: dd changed, b retired, extra shipped"

# 4. extra removed: what is appended to it afterwards is not shipped.
config 300 0 0
hup
wait_for 10 reloaded 3
gen_lines "$T/logs2/x.log" 50 late

_end=$(($(now_ms) + $(scaled 60) * 1000))
while alive "$WRITER_PID"; do
	[ "$(now_ms)" -lt "$_end" ] || fail "the writer did not finish"
	sleep 0.1 # ok-sleep: bounded poll
done
wait "$WRITER_PID" || fail "the writer failed: $(cat "$T/writer.err")"
WRITER_PID=
# A last line, after the late ones: once it is in, they had their chance.
echo "2026-11-23T10:00:00Z INFO marker after the removal" >>"$T/logs/app.log"
echo "2026-11-23T10:00:00Z INFO marker after the removal" >>"$T/want"
cat "$T/want" "$T/want-extra" >"$T/want-dd"
wait_count /api/v2/logs "$(wc -l <"$T/want-dd")" 60
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want-dd"
ls_run_log | grep -q 'dd: retiring' ||
    fail "dd's old instance did not retire after its change"

# /b: each line once, a run of consecutive lines of the file.
intake messages --path /b >"$T/b.got"
"$PYTHON3" - "$T/want" "$T/b.got" <<'PY' || fail "what /b received"
import sys
want = open(sys.argv[1]).read().split("\n")[:-1]
got = open(sys.argv[2]).read().split("\n")[:-1]
if len(set(got)) != len(got):
    sys.exit("/b: %d lines, %d distinct" % (len(got), len(set(got))))
at = {w: i for i, w in enumerate(want)}
if not got or any(g not in at for g in got):
    sys.exit("/b: %d lines, some not in the file" % len(got))
pos = sorted(at[g] for g in got)
if pos != list(range(pos[0], pos[0] + len(pos))):
    sys.exit("/b: not a run of consecutive lines")
print("/b: lines %d..%d of app.log, once each" % (pos[0], pos[-1]))
PY
log "ok: dd got $(wc -l <"$T/want-dd") lines once each through 4 reloads"

# 5. Multiline turned off while an entry is being gathered.
stop_intake
start_intake --api-key "$DD_API_KEY" --quiet
rm -rf "$T/logs" "$T/logs2" "$T/state"
mkdir "$T/logs" "$T/state"
app_config 100 "multiline: { start: '^[0-9]{4}-[0-9]{2}-[0-9]{2}', flush: 1h }"
start_logshipd "$T/logshipd.yaml"
wait_for 10 ls_started
printf '%s\n' "2026-11-23 10:00:00 ERROR entry A" "	at a.A(A.java:1)" \
    "2026-11-23 10:00:01 ERROR entry B" "	at b.B(B.java:2)" \
    >>"$T/logs/app.log"
wait_count /api/v2/logs 1 30
app_config 100
hup
wait_for 10 reloaded 1
echo "2026-11-23 10:00:02 INFO line C" >>"$T/logs/app.log"
wait_count /api/v2/logs 3 30
stop_logshipd TERM 30
assert_eq "$LS_STATUS" 0 "exit status (multiline off)"
intake entries | "$PYTHON3" -c '
import json, sys
got = [json.loads(l)["message"] for l in sys.stdin]
want = ["2026-11-23 10:00:00 ERROR entry A\n\tat a.A(A.java:1)",
        "2026-11-23 10:00:01 ERROR entry B\n\tat b.B(B.java:2)",
        "2026-11-23 10:00:02 INFO line C"]
if sorted(got) != sorted(want):
    sys.exit("multiline off: got %r" % got)' ||
    fail "multiline off: received != expected"
log "5: multiline turned off: the entry being gathered arrived once"
