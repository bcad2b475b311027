#!/bin/sh
# A local user who can write a watched log directory cannot make logshipd
# (reading as root) ship what that user cannot read (issue 19.1, 19.4):
# links planted there to the API key file, to a root:adm 0640 file, and to
# /proc/self/status and /proc/self/environ are not followed by default,
# each refusal logged once and counted; with follow_symlinks: true, a link
# to a file under the source's own directory is followed, and the rest are
# still refused (out of the directories, or on procfs). Only the real log
# lines arrive, each exactly once; a /proc file is never re-shipped.
. "$(dirname "$0")/lib.sh"

attacker_user
start_intake --api-key "$DD_API_KEY"
chmod 755 "$T"
mkdir -p "$T/logs" "$T/state" "$T/key"
printf 'SECRET-API-KEY-0123456789\n' >"$T/key/dd_api_key"
chmod 600 "$T/key/dd_api_key"
printf 'ADM-ONLY secret line\n' >"$T/adm-only.log"
chown root:adm "$T/adm-only.log"
chmod 640 "$T/adm-only.log"
# The application's directory is the attacker's.
chown "$ATTACKER_UID:$ATTACKER_GID" "$T/logs"
METRICS_PORT=$(free_port)

# config FOLLOW: source app on $T/logs/*.log (and its sub/ directory).
config() {
	write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
sources:
  - name: app
    paths: ["$T/logs/*.log"]
    follow_symlinks: $1
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML
}

# metric NAME: the value of an unlabelled counter at the status endpoint.
metric() {
	"$PYTHON3" - "http://127.0.0.1:$METRICS_PORT/metrics" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
for ln in body.splitlines():
    if ln.startswith(sys.argv[2] + " "):
        print(int(float(ln.split()[1])))
        break
else:
    print(-1)
PY
}
refused_at_least() {
	[ "$(metric logshipd_paths_refused_total)" -ge "$1" ]
}

as_attacker sh -c '
	cd "$1/logs" &&
	ln -s ../key/dd_api_key steal-key.log &&
	ln -s ../adm-only.log steal-adm.log &&
	ln -s /proc/self/status proc.log &&
	ln -s /proc/self/environ environ.log &&
	mkdir sub && echo "2026-11-23T10:00:00Z INFO linked line" >sub/real &&
	ln -s sub/real inside.log' sh "$T" || fail "the attacker could not plant links"
gen_lines "$T/logs/app.log" 100 app
cp "$T/logs/app.log" "$T/want"

# By default no link is followed.
config false
start_logshipd "$T/logshipd.yaml"
wait_for 30 refused_at_least 5
wait_count /api/v2/logs 100 30
# One more line, after at least one more scan and poll: a link read since
# would be in by now.
gen_lines "$T/logs/app.log" 1 marker
gen_lines "$T/want" 1 marker
wait_count /api/v2/logs 101 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
n=$(grep -c 'a symbolic link, not followed' "$T/logshipd.log")
assert_eq "$n" 5 "refusals logged (once each)"

# follow_symlinks: true follows inside.log (under $T/logs), not the rest.
intake control '{"clear": true}'
echo "2026-11-23T10:00:00Z INFO linked line" >"$T/want"
gen_lines "$T/logs/app.log" 1 second
gen_lines "$T/want" 1 second
config true
start_logshipd "$T/logshipd.yaml"
wait_for 30 refused_at_least 4
wait_count /api/v2/logs 2 30
gen_lines "$T/logs/app.log" 1 marker2
gen_lines "$T/want" 1 marker2
wait_count /api/v2/logs 3 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
ls_run_log | grep -q 'steal-key.log: a symbolic link out of the source' ||
    fail "the link to the key was not refused as out of the directories"
ls_run_log | grep -q 'proc.log: a symbolic link out of the source' ||
    fail "the link to /proc was not refused"
if grep -rq SECRET "$T/intake.log" || intake messages | grep -q 'SECRET\|ADM-ONLY\|DD_API_KEY'; then
	fail "a secret reached the intake"
fi
log "ok"
