#!/bin/sh
# TLS with a certificate logshipd has no reason to trust: the fake intake
# serves HTTPS with a self-signed certificate made here by openssl. Without
# ca_file logshipd fails closed: nothing reaches the intake (every
# handshake is refused), it retries and logs the certificate problem, and
# its log never holds the API key. Restarted with ca_file naming that
# certificate, it delivers every line exactly once. insecure: true turns
# the check off, and says so at start. The key file is group-readable here;
# made readable by everyone, it is warned about (file and mode named), and
# with strict_permissions: true refused (exit 78, file:line:col).
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: $TEST_NAME: no openssl to make a certificate (scripts/deps.sh installs it)" >&2
	exit 77
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" \
    -out "$T/cert.pem" >"$T/openssl.log" 2>&1 ||
    fail "openssl could not make a certificate: $(cat "$T/openssl.log")"

N=300
start_intake --api-key "$DD_API_KEY" --tls-cert "$T/cert.pem" \
    --tls-key "$T/key.pem"
mkdir "$T/logs" "$T/state"
printf '%s\n' "$DD_API_KEY" >"$T/dd_api_key"
chmod 640 "$T/dd_api_key"

# config [EXTRA DESTINATION LINES]
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
    url: https://127.0.0.1:$INTAKE_PORT/api/v2/logs
    api_key_file: $T/dd_api_key
    workers: 2
    timeout: 3s
    batch: { max_entries: 100, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
$1
YAML
}

tls_refused() {
	[ "$(intake_stat 's["tls_errors"]')" -ge "$1" ]
}

# 1. Untrusted: fails closed.
config ""
gen_lines "$T/logs/app.log" "$N" tls
start_logshipd "$T/logshipd.yaml" -v
wait_for 30 tls_refused 3
wait_for 10 sh -c "grep -Eq 'dd: .*(certificate|SSL).*; retrying' '$T/logshipd.log'"
alive "$LS_PID" || fail "logshipd died"
ls_run_log | grep -E 'dd: .*(certificate|SSL).*; retrying' | head -n 1 >&2
assert_eq "$(intake_stat 's["requests"]')" 0 "requests past the handshake"
ls_run_log | grep -q 'insecure' && fail "a warning about insecure without it"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(ls_dest_stat dd sent)" 0 "dd sent= with an untrusted certificate"
assert_eq "$(ls_dest_stat dd unsent)" "$N" "dd unsent= with an untrusted certificate"

# 2. ca_file: that certificate is trusted, and everything arrives.
config "    ca_file: $T/cert.pem"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log"

# 3. insecure: true delivers too, and warns at start.
config "    insecure: true"
gen_lines "$T/logs/app.log" "$N" insecure
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs $((2 * N)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log"
ls_run_log | grep -q 'destinations\[0\] (dd): insecure: true: TLS certificates are not verified' ||
    fail "no warning at start with insecure: true"

if grep -F "$DD_API_KEY" "$T/logshipd.log"; then
	fail "the API key is in the log"
fi

# 4. The key file's mode: readable by everyone is warned about, or with
# strict_permissions refused; the key itself is never shown.
config ""
chmod 644 "$T/dd_api_key"
"$LOGSHIPD" -n -c "$T/logshipd.yaml" >"$T/n.out" 2>&1 ||
    fail "logshipd -n with a world-readable key file: $(cat "$T/n.out")"
grep -q "destinations\[0\].api_key_file: $T/dd_api_key is readable by everyone (mode 0644)" "$T/n.out" ||
    fail "no warning about the key file's mode: $(cat "$T/n.out")"
{
	echo "strict_permissions: true"
	cat "$T/logshipd.yaml"
} >"$T/strict.yaml"
st=0
"$LOGSHIPD" -n -c "$T/strict.yaml" >"$T/strict.out" 2>&1 || st=$?
assert_eq "$st" 78 "exit status with strict_permissions and mode 0644"
line=$(grep -n 'api_key_file:' "$T/strict.yaml" | cut -d: -f1)
grep -q "^$T/strict.yaml:$line:19: destinations\[0\].api_key_file: $T/dd_api_key is readable by everyone (mode 0644), and strict_permissions is on" "$T/strict.out" ||
    fail "strict_permissions: $(cat "$T/strict.out")"
chmod 640 "$T/dd_api_key"
"$LOGSHIPD" -n -c "$T/strict.yaml" >"$T/strict.out" 2>&1 ||
    fail "strict_permissions refuses a group-readable key file: $(cat "$T/strict.out")"
if grep -F "$DD_API_KEY" "$T/n.out" "$T/strict.out"; then
	fail "the API key is in -n's output"
fi
log "ok: untrusted certificate refused and retried, then $N lines via ca_file and $N via insecure (warned); key file modes checked"
