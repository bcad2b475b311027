#!/bin/sh
# headers and basic_auth on an http destination, against a fake intake that
# requires them (--require-header: 401 without). The values come from a
# file, the environment, or the file itself, and never reach the log.
#   1. A bearer token from a file, wrong: every request is answered 401,
#      nothing is dropped (all N unsent at exit).
#   2. The file corrected: all N arrive exactly once.
#   3. basic_auth with password_env, and a literal header: another N lines
#      at an intake requiring both, each exactly once.
#   4. The token, or an API key, over http:// to a host not on loopback is
#      refused at load (exit 78, file:line:col) unless insecure: true.
. "$(dirname "$0")/lib.sh"

N=300
TOKEN=tok-$$-0123456789abcdef
mkdir "$T/logs" "$T/state"
printf 'Bearer wrong-%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"

# config FILE-GLOB [DESTINATION LINES]
config() {
	write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 2s
scan_interval: 200ms
poll_interval: 100ms
checkpoint_interval: 100ms
sources:
  - name: app
    paths: ["$T/logs/$1"]
destinations:
  - name: out
    type: http
    url: $INTAKE_URL/in
    timeout: 3s
    batch: { max_entries: 50, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
$2
YAML
}

start_intake --require-header "Authorization: Bearer $TOKEN"
config 'app.log' "    headers:
      Authorization: { file: $T/token }"
gen_lines "$T/logs/app.log" "$N" bearer

# 1. The wrong token: 401s, nothing dropped.
start_logshipd "$T/logshipd.yaml"
refused_at_least() {
	[ "$(intake_stat 's["by_status"].get("401", 0)')" -ge "$1" ]
}
wait_for 20 refused_at_least 3
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(intake count --path /in)" 0 "entries taken with the wrong token"
assert_eq "$(ls_dest_stat out unsent)" "$N" "unsent with the wrong token"
assert_eq "$(ls_dest_stat out dropped)" 0 "dropped with the wrong token"
refused=$(intake_stat 's["by_status"]["401"]')

# 2. The right token.
printf 'Bearer %s\n' "$TOKEN" >"$T/token"
start_logshipd "$T/logshipd.yaml"
wait_count /in "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log" --path /in
assert_eq "$(intake_stat 's["by_status"]["401"]')" "$refused" "401s with the right token"
log "bearer: $refused requests refused with the wrong token, then $N lines in $(intake_stat 's["by_status"]["200"]') requests"

# 3. basic_auth (password from the environment) and a literal header.
stop_intake
PW="pa ss-$$"
export LS_E2E_PW="$PW"
BASIC=$("$PYTHON3" -c 'import base64, sys; print(base64.b64encode(sys.argv[1].encode()).decode())' "user1:$PW")
start_intake --require-header "Authorization: Basic $BASIC" \
    --require-header "X-Scope-OrgID: tenant1"
config 'basic.log' "    headers: { X-Scope-OrgID: tenant1 }
    basic_auth: { user: user1, password_env: LS_E2E_PW }"
gen_lines "$T/logs/basic.log" "$N" basic
start_logshipd "$T/logshipd.yaml"
wait_count /in "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/basic.log" --path /in
assert_eq "$(intake_stat 's["by_status"].get("401", 0)')" 0 "401s with basic_auth"

# 4. Secrets in clear text to another host: the token over http:// to a
# host not on loopback (192.0.2.1, TEST-NET: -n sends nothing), and the API
# key the same way, are refused at load (exit 78, file:line:col) unless
# insecure: true, which warns.
cat >"$T/plain.yaml" <<YAML
state_dir: $T/state
$(app_source)
destinations:
  - name: out
    type: http
    url: http://192.0.2.1:8080/in
    headers: { Authorization: { file: $T/token } }
  - name: dd
    type: datadog
    url: http://192.0.2.1:8080/api/v2/logs
    api_key_env: DD_API_KEY
YAML
st=0
"$LOGSHIPD" -n -c "$T/plain.yaml" >"$T/plain.out" 2>&1 || st=$?
assert_eq "$st" 78 "exit status with secrets over http:// to another host"
l1=$(grep -n 'url: http://192.0.2.1:8080/in' "$T/plain.yaml" | cut -d: -f1)
l2=$(grep -n 'url: http://192.0.2.1:8080/api' "$T/plain.yaml" | cut -d: -f1)
grep -q "^$T/plain.yaml:$l1:10: destinations\[0\].url: http:// to a host not on loopback would send the secret headers in clear text: use https://, or set insecure: true\$" "$T/plain.out" ||
    fail "no refusal of the token in clear: $(cat "$T/plain.out")"
grep -q "^$T/plain.yaml:$l2:10: destinations\[1\].url: http:// to a host not on loopback would send the API key in clear text: use https://, or set insecure: true\$" "$T/plain.out" ||
    fail "no refusal of the key in clear: $(cat "$T/plain.out")"
sed 's/^\(    url: http:.*\)$/\1\n    insecure: true/' "$T/plain.yaml" >"$T/insecure.yaml"
"$LOGSHIPD" -n -c "$T/insecure.yaml" >"$T/insecure.out" 2>&1 ||
    fail "insecure: true still refused: $(cat "$T/insecure.out")"
grep -q "destinations\[1\] (dd): insecure: true: the API key goes in clear text over http:// to a host not on loopback" "$T/insecure.out" ||
    fail "no warning with insecure: true: $(cat "$T/insecure.out")"

if grep -F -e "$TOKEN" -e "$BASIC" -e "$PW" -e "$DD_API_KEY" "$T/logshipd.log" \
    "$T/plain.out" "$T/insecure.out"; then
	fail "a secret header is in the log"
fi
log "ok: bearer token from a file (wrong: held, right: $N lines), basic_auth + a literal header: $N lines, each exactly once"
