#!/bin/sh
# A client certificate (mTLS) and tls.server_name. Made here with openssl:
# a CA, a server certificate for the name intake.test (not for 127.0.0.1),
# and a client certificate, all from that CA. The fake intake serves TLS on
# 127.0.0.1 and requires a client certificate from the CA
# (--tls-client-ca). The destination's url is https://127.0.0.1:PORT with
# tls: { ca_file, server_name: intake.test }, so SNI and the certificate
# check use intake.test while the connection goes to 127.0.0.1.
#   1. Without cert_file: every handshake is refused, nothing arrives,
#      all N unsent.
#   2. With cert_file and key_file: all N arrive exactly once.
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: $TEST_NAME: no openssl to make a certificate (scripts/deps.sh installs it)" >&2
	exit 77
fi

# cert NAME CN EXT: a key and a certificate signed by the CA.
cert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" \
	    -keyout "$T/$1.key" -out "$T/$1.csr" >>"$T/openssl.log" 2>&1 &&
	    printf '%s\n' "$3" >"$T/$1.ext" &&
	    openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" \
	    -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/$1.ext" \
	    -out "$T/$1.pem" >>"$T/openssl.log" 2>&1 ||
	    fail "openssl could not make $1: $(cat "$T/openssl.log")"
}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=logshipd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" \
    -keyout "$T/ca.key" -out "$T/ca.pem" >"$T/openssl.log" 2>&1 ||
    fail "openssl could not make a CA: $(cat "$T/openssl.log")"
cert srv intake.test "subjectAltName=DNS:intake.test"
cert client logshipd "extendedKeyUsage=clientAuth"
chmod 640 "$T/client.key"

# The test's own intake client presents the client certificate too.
export INTAKE_CLIENT_CERT="$T/client.pem" INTAKE_CLIENT_KEY="$T/client.key"
start_intake --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" \
    --tls-client-ca "$T/ca.pem"
mkdir "$T/logs" "$T/state"

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
    url: https://127.0.0.1:$INTAKE_PORT/in
    timeout: 3s
    batch: { max_entries: 50, max_wait: 100ms }
    retry: { initial: 100ms, max: 500ms, probe: 200ms }
    tls:
      ca_file: $T/ca.pem
      server_name: intake.test
$1
YAML
}

tls_refused() {
	[ "$(intake_stat 's["tls_errors"]')" -ge "$1" ]
}

N=300
gen_lines "$T/logs/app.log" "$N" mtls

# 1. No client certificate.
config ""
start_logshipd "$T/logshipd.yaml"
wait_for 30 tls_refused 3
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
assert_eq "$(intake_stat 's["requests"]')" 0 "requests past the handshake"
assert_eq "$(ls_dest_stat out unsent)" "$N" "unsent without a client certificate"
refused=$(intake_stat 's["tls_errors"]')

# 2. The client certificate.
config "      cert_file: $T/client.pem
      key_file: $T/client.key"
start_logshipd "$T/logshipd.yaml"
wait_count /in "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/logs/app.log" --path /in
assert_eq "$(intake_stat 's["tls_errors"]')" "$refused" "handshakes refused with the certificate"
log "ok: $refused handshakes refused without a client certificate; with it, $N lines in $(intake_stat 's["requests"]') requests to 127.0.0.1 as intake.test, each exactly once"
