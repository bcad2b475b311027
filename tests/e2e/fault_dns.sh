#!/bin/sh
# The destination's host does not resolve (a name under .invalid, which
# never does: RFC 6761; no network is needed, the resolver fails at once or
# times out, either way a failed request). logshipd keeps running, retries
# and logs the failure, and sends nothing anywhere; stopped, it reports the
# lines as unsent, and its checkpoint does not pass them. Restarted with
# the url fixed, it delivers every line exactly once.
. "$(dirname "$0")/lib.sh"

N=500
# Bound the resolver's own waits, whatever /etc/resolv.conf says.
RES_OPTIONS="timeout:1 attempts:1"
export RES_OPTIONS
start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"

# config URL
config() {
	write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 2s
scan_interval: 200ms
poll_interval: 100ms
checkpoint_interval: 100ms
$(app_source)
destinations:
  - name: dd
    type: datadog
    url: $1
    api_key_env: DD_API_KEY
    # A test key, to a name that resolves nowhere: http:// is allowed.
    insecure: true
    workers: 2
    timeout: 3s
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
YAML
}

retries_logged() {
	[ "$(ls_run_log | grep -cE 'dd: .*resolv.*; retrying')" -ge "$1" ]
}

config "http://logshipd-e2e.invalid:$INTAKE_PORT/api/v2/logs"
gen_lines "$T/logs/app.log" "$N" dns
start_logshipd "$T/logshipd.yaml" -v
wait_for 30 retries_logged 3
alive "$LS_PID" || fail "logshipd died"
ls_run_log | grep -E 'dd: .*resolv.*; retrying' | head -n 1 >&2
assert_eq "$(intake_stat 's["requests"]')" 0 "requests that reached the intake"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(ls_dest_stat dd sent)" 0 "dd sent= while unresolvable"
assert_eq "$(ls_dest_stat dd unsent)" "$N" "dd unsent= while unresolvable"

config "$INTAKE_URL/api/v2/logs"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log"
log "ok: unresolvable host retried and logged, then $N lines once each"
