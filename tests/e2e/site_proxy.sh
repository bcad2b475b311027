#!/bin/sh
# site: builds the intake's url, and that url is what is used. Every site's
# url is shown by logshipd -n -v. Then a destination with site:
# datadoghq.eu and no url ships N lines through an HTTP proxy on loopback
# (tests/fake-intake/proxy.py), which maps the CONNECT target
# http-intake.logs.datadoghq.eu:443 (and nothing else) to the fake intake,
# serving TLS with a certificate for that name from a CA made here
# (tls.ca_file). Nothing leaves loopback: the proxy is configured (the
# environment's no_proxy does not apply to it) and refuses any other
# target. Every line arrives exactly once, in requests that carry
# DD-EVP-ORIGIN: logshipd and DD-EVP-ORIGIN-VERSION: <version>.
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: $TEST_NAME: no openssl to make a certificate (scripts/deps.sh installs it)" >&2
	exit 77
fi
PROXY_PID=
trap 'st=$?; [ -z "$PROXY_PID" ] || kill -TERM "$PROXY_PID" 2>/dev/null; (exit $st); cleanup' EXIT
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'
need_logshipd
mkdir "$T/logs" "$T/state"

# 1. Every site, by -n -v (no traffic at all).
for site in datadoghq.com us3.datadoghq.com us5.datadoghq.com \
    datadoghq.eu ap1.datadoghq.com ap2.datadoghq.com uk1.datadoghq.com \
    ddog-gov.com us2.ddog-gov.com; do
	write_config "$T/n.yaml" <<YAML
state_dir: $T/state
$(app_source)
destinations:
  - name: dd
    type: datadog
    site: $site
    api_key_env: DD_API_KEY
YAML
	"$LOGSHIPD" -n -v -c "$T/n.yaml" >"$T/n.out" 2>&1 ||
	    fail "logshipd -n with site: $site: $(cat "$T/n.out")"
	grep -qF "destinations[0] (dd): site $site: https://http-intake.logs.$site/api/v2/logs" "$T/n.out" ||
	    fail "site $site: $(cat "$T/n.out")"
done
# An unknown site: exit 78 at its file:line:col.
sed 's/site: .*/site: datadoghq.co/' "$T/n.yaml" >"$T/bad.yaml"
st=0
"$LOGSHIPD" -n -c "$T/bad.yaml" >"$T/bad.out" 2>&1 || st=$?
assert_eq "$st" 78 "exit status with an unknown site"
line=$(grep -n 'site:' "$T/bad.yaml" | cut -d: -f1)
grep -q "^$T/bad.yaml:$line:11: destinations\[0\].site: unknown Datadog site \"datadoghq.co\"" "$T/bad.out" ||
    fail "unknown site: $(cat "$T/bad.out")"

# 2. A CA, and a certificate for the EU intake's name.
HOST=http-intake.logs.datadoghq.eu
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=logshipd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" \
    -keyout "$T/ca.key" -out "$T/ca.pem" >"$T/openssl.log" 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$HOST" \
    -keyout "$T/srv.key" -out "$T/srv.csr" >>"$T/openssl.log" 2>&1 &&
    printf 'subjectAltName=DNS:%s\n' "$HOST" >"$T/srv.ext" &&
    openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -CAcreateserial -days 2 -extfile "$T/srv.ext" -out "$T/srv.pem" \
    >>"$T/openssl.log" 2>&1 ||
    fail "openssl could not make the certificates: $(cat "$T/openssl.log")"

start_intake --api-key "$DD_API_KEY" --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
"$PYTHON3" "$TOP_SRCDIR/tests/fake-intake/proxy.py" serve \
    --port-file "$T/proxy.port" --map "$HOST:443=127.0.0.1:$INTAKE_PORT" \
    2>>"$T/proxy.log" &
PROXY_PID=$!
wait_for 15 test -s "$T/proxy.port"
PROXY_PORT=$(cat "$T/proxy.port")

proxy_stat() {
	"$PYTHON3" "$TOP_SRCDIR/tests/fake-intake/proxy.py" stats \
	    --port-file "$T/proxy.port" | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

N=500
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
    site: datadoghq.eu
    api_key_env: DD_API_KEY
    proxy: http://127.0.0.1:$PROXY_PORT
    tls: { ca_file: $T/ca.pem }
    timeout: 3s
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
YAML
gen_lines "$T/logs/app.log" "$N" site
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log"
assert_eq "$(proxy_stat 's["refused"]')" 0 "targets the proxy refused"
assert_eq "$(proxy_stat 'sorted(s["targets"])')" "['$HOST:443']" "CONNECT targets"
assert_eq "$(proxy_stat 's["kinds"].get("forward", 0)')" 0 "plain requests through the proxy"
[ "$(proxy_stat 's["tunnels"]')" -ge 1 ] || fail "no tunnel"
VERSION=$("$LOGSHIPD" -V | sed 's/^logshipd //')
assert_eq "$(intake_stat 'sorted(set((r["headers"].get("DD-EVP-ORIGIN"), r["headers"].get("DD-EVP-ORIGIN-VERSION")) for r in s["requests_log"]))')" \
    "[('logshipd', '$VERSION')]" "DD-EVP-ORIGIN headers of every request"
assert_eq "$(intake_stat 's["by_status"]')" "{'202': $(intake_stat 's["requests"]')}" "answers"
if grep -F "$DD_API_KEY" "$T/logshipd.log" "$T/proxy.log"; then
	fail "the API key is in a log"
fi
log "ok: 9 sites' urls; $N lines via site: datadoghq.eu through CONNECT $HOST:443 ($(proxy_stat 's["tunnels"]') tunnel(s)), each exactly once, DD-EVP-ORIGIN logshipd $VERSION"
