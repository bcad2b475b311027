#!/bin/sh
# proxy and no_proxy per destination, through a real proxy on loopback
# (tests/fake-intake/proxy.py). The destination's url names a host that
# resolves nowhere (intake.invalid), which only the proxy maps to the fake
# intake: a line can only arrive through the proxy. Each leg sends N lines,
# and every one arrives exactly once; the proxy counts the requests it
# forwarded (HTTP) or the tunnels it opened (SOCKS5).
#   1. proxy: http://...  (forward proxy), with NO_PROXY=* and
#      no_proxy=* in the environment, which a configured proxy ignores;
#   2. proxy: socks5h://... (the proxy resolves the name);
#   3. no proxy key: libcurl's environment variable http_proxy is the
#      fallback;
#   4. no_proxy: [intake.invalid] bypasses the configured proxy: nothing
#      goes through it, so nothing can arrive (the host resolves nowhere).
. "$(dirname "$0")/lib.sh"

PROXY_PID=
trap 'st=$?; [ -z "$PROXY_PID" ] || kill -TERM "$PROXY_PID" 2>/dev/null; (exit $st); cleanup' EXIT

# Only what each leg sets.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

N=400
start_intake
"$PYTHON3" "$TOP_SRCDIR/tests/fake-intake/proxy.py" serve \
    --port-file "$T/proxy.port" \
    --map "intake.invalid:$INTAKE_PORT=127.0.0.1:$INTAKE_PORT" \
    2>>"$T/proxy.log" &
PROXY_PID=$!
wait_for 15 test -s "$T/proxy.port"
PROXY_PORT=$(cat "$T/proxy.port")
mkdir "$T/logs" "$T/state"

proxy_stat() {
	"$PYTHON3" "$TOP_SRCDIR/tests/fake-intake/proxy.py" stats \
	    --port-file "$T/proxy.port" | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# config [DESTINATION LINES]: an http destination (nothing secret) at
# intake.invalid, which only the proxy knows.
config() {
	write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 2s
scan_interval: 200ms
poll_interval: 100ms
checkpoint_interval: 100ms
$(app_source)
destinations:
  - name: out
    type: http
    url: http://intake.invalid:$INTAKE_PORT/in
    timeout: 3s
    batch: { max_entries: 50, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
$1
YAML
}

# leg TOTAL: starts logshipd, waits for TOTAL entries, stops it.
leg() {
	start_logshipd "$T/logshipd.yaml"
	wait_count /in "$1" 30
	stop_logshipd TERM 20
	assert_eq "$LS_STATUS" 0 "exit status"
	check_exact "$T/logs/app.log" --path /in
}

# 1. A forward HTTP proxy; the environment's no_proxy does not apply.
config "    proxy: http://127.0.0.1:$PROXY_PORT"
gen_lines "$T/logs/app.log" "$N" http
export NO_PROXY='*' no_proxy='*'
leg "$N"
unset NO_PROXY no_proxy
assert_eq "$(proxy_stat 's["kinds"].get("forward", 0)')" \
    "$(intake_stat 's["by_status"].get("200", 0)')" \
    "requests forwarded by the proxy vs. requests the intake took"
assert_eq "$(proxy_stat 's["targets"]["intake.invalid:'"$INTAKE_PORT"'"]')" \
    "$(intake_stat 's["requests"]')" "requests to intake.invalid"
log "leg 1: $N lines through the HTTP proxy in $(intake_stat 's["requests"]') requests"

# 2. SOCKS5, the name resolved by the proxy.
config "    proxy: socks5h://127.0.0.1:$PROXY_PORT"
gen_lines "$T/logs/app.log" "$N" socks
leg $((2 * N))
[ "$(proxy_stat 's["kinds"].get("socks5", 0)')" -ge 1 ] ||
    fail "no SOCKS5 tunnel was opened"
log "leg 2: $N more lines through $(proxy_stat 's["kinds"]["socks5"]') SOCKS5 tunnel(s)"

# 3. No proxy key: http_proxy from the environment.
config ""
gen_lines "$T/logs/app.log" "$N" env
before=$(proxy_stat 's["kinds"].get("forward", 0)')
export http_proxy="http://127.0.0.1:$PROXY_PORT"
leg $((3 * N))
unset http_proxy
after=$(proxy_stat 's["kinds"].get("forward", 0)')
[ "$after" -gt "$before" ] || fail "http_proxy from the environment was not used"
log "leg 3: $N more lines through http_proxy from the environment ($((after - before)) requests)"

# 4. no_proxy names the host: the proxy is bypassed, and the name resolves
# nowhere, so nothing is sent; the lines stay unsent.
config "    proxy: http://127.0.0.1:$PROXY_PORT
    no_proxy: [intake.invalid]"
gen_lines "$T/logs/app.log" 10 bypass
before=$(proxy_stat 's["requests"] + s["tunnels"]')
start_logshipd "$T/logshipd.yaml" -v
wait_for 20 grep -q "out: .*; retrying" "$T/logshipd.log"
stop_logshipd TERM 20
assert_eq "$(proxy_stat 's["requests"] + s["tunnels"]')" "$before" \
    "proxy use with no_proxy naming the host"
assert_eq "$(ls_dest_stat out unsent)" 10 "unsent with the proxy bypassed"
assert_eq "$(intake count --path /in)" $((3 * N)) "entries at the intake"
assert_eq "$(proxy_stat 's["refused"]')" 0 "targets the proxy refused"
log "ok: $((3 * N)) lines through an HTTP proxy, SOCKS5 and http_proxy, each exactly once; no_proxy bypasses"
