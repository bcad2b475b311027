#!/bin/sh
# The fake intake itself, without logshipd: the harness is proven on its own.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY" --max-bytes 200000
KEY="DD-API-KEY: $DD_API_KEY"
DD=/api/v2/logs

# post EXPECTED_STATUS [post args] < body
post() {
	_want=$1
	shift
	_got=$(intake post "$@") || true
	assert_eq "$_got" "$_want" "post $*"
}

# A gzip array is decoded and recorded in order; deflate and identity too.
printf '[{"message":"a1","status":"info"},{"message":"a2"},{"message":"a3"}]' |
    post 202 --gzip --header "$KEY"
printf '{"message":"b1"}' | post 202 --deflate --header "$KEY"
printf '[{"message":"c1"}]' | post 202 --header "$KEY"
assert_eq "$(intake count)" 5 "entries after 3 good posts"
assert_eq "$(intake messages | tr '\n' ' ')" "a1 a2 a3 b1 c1 " "order"
assert_eq "$(intake_stat '[r["encoding"] for r in s["requests_log"]]')" \
    "['gzip', 'deflate', 'identity']" "encodings logged"

# Wrong or missing key: 403, nothing recorded.
printf '[{"message":"x"}]' | post 403 --header "DD-API-KEY: nope"
printf '[{"message":"x"}]' | post 403

# Bad bodies: 400.
printf '[{"message":"x"},' | post 400 --header "$KEY"
printf '[{"msg":"x"}]' | post 400 --header "$KEY"
printf '[{"message":7}]' | post 400 --header "$KEY"
printf '[1]' | post 400 --header "$KEY"
printf 'not gzip' | post 400 --header "$KEY" --header "Content-Encoding: gzip"

# Limits: 1001 entries, and > max-bytes uncompressed (gzip makes it small
# on the wire): 413.
"$PYTHON3" -c 'import json; print(json.dumps([{"message": "m%d" % i} for i in range(1001)]))' |
    post 413 --header "$KEY"
"$PYTHON3" -c 'import json; print(json.dumps([{"message": "x" * 300000}]))' |
    post 413 --gzip --header "$KEY"
"$PYTHON3" -c 'import json; print(json.dumps([{"message": "m%d" % i} for i in range(1000)]))' |
    post 202 --gzip --header "$KEY"
assert_eq "$(intake count)" 1005 "entries after the limits"

# Scripted: 500 twice, then 202; the refused entries are kept apart.
intake control '{"path": "/api/v2/logs", "script": [{"status": 500, "times": 2}]}'
printf '[{"message":"s1"}]' | post "500
500
202" --header "$KEY" --repeat 3
assert_eq "$(intake count)" 1006 "scripted 500s record nothing"
assert_eq "$(intake count --rejected)" 2 "refused entries"

# 429 with Retry-After; a dropped connection; a delay; all one at a time.
intake control '{"path": "/api/v2/logs", "script": [{"status": 429, "retry_after": "3"}, {"drop": true}, {"delay_ms": 500}]}'
printf '[{"message":"r1"}]' | post "429 retry-after=3" --header "$KEY" \
    --show-retry-after
printf '[{"message":"r2"}]' | post "error RemoteDisconnected" --header "$KEY"
_t=$(printf '[{"message":"r3"}]' | intake post --header "$KEY" --time)
case $_t in
202\ 0.[5-9]* | 202\ [1-9]*) ;;
*) fail "delay_ms 500: got '$_t'" ;;
esac
assert_eq "$(intake messages | tail -n 1)" r3 "delayed then accepted"

# A default answer applies until reset.
intake control '{"path": "/api/v2/logs", "default": {"status": 503}}'
printf '[{"message":"d1"}]' | post "503
503" --header "$KEY" --repeat 2
intake control '{"reset": true}'
printf '[{"message":"d2"}]' | post 202 --header "$KEY"

# Keep-alive: several answers on one connection, and concurrency counted.
printf '[{"message":"k"}]' | post "202
202
202" --header "$KEY" --repeat 3
intake control '{"path": "/api/v2/logs", "default": {"delay_ms": 1000}}'
printf '[{"message":"p1"}]' | intake post --header "$KEY" >"$T/p1" &
p1=$!
printf '[{"message":"p2"}]' | intake post --header "$KEY" >"$T/p2" &
p2=$!
printf '[{"message":"p3"}]' | intake post --header "$KEY" >"$T/p3"
wait "$p1"
wait "$p2"
assert_eq "$(cat "$T/p1" "$T/p2" "$T/p3" | tr '\n' ' ')" "202 202 202 " \
    "parallel posts"
[ "$(intake_stat 's["max_concurrent"]')" -ge 2 ] ||
    fail "max_concurrent < 2 with 3 parallel slow requests"
intake control '{"reset": true}'
assert_eq "$(intake_stat '[k for k in ("t", "t_end", "path", "status", "entries", "encoding") if k not in s["requests_log"][0]]')" \
    "[]" "requests_log fields"

# Generic destination: NDJSON, or a JSON array; 200.
printf '{"message":"n1"}\n\n{"message":"n2"}\n' |
    post 200 --path /ingest --content-type application/x-ndjson
printf '[{"message":"n3"}]' | post 200 --path /ingest --gzip
printf '{"message":"n4"}\nnope\n' | post 400 --path /ingest \
    --content-type application/x-ndjson
assert_eq "$(intake messages --path /ingest | tr '\n' ' ')" "n1 n2 n3 " \
    "generic entries"

# check: exact multiset comparison.
printf 'n1\nn2\nn3\n' >"$T/want"
intake check --path /ingest --expect "$T/want" >"$T/out" ||
    fail "check of equal sets: $(cat "$T/out")"
printf 'n1\nn2\nn3\nn9\n' >"$T/want"
if intake check --path /ingest --expect "$T/want" >"$T/out"; then
	fail "check passed with a missing line"
fi
grep -q '^4 expected, 3 received, 1 missing, 0 duplicated, 0 unexpected$' \
    "$T/out" || fail "check summary: $(cat "$T/out")"
printf '{"message":"n1"}\n' | post 200 --path /ingest
printf 'n1\nn2\nn3\n' >"$T/want"
if intake check --path /ingest --expect "$T/want" >"$T/out"; then
	fail "check passed with a duplicate"
fi
grep -q '1 duplicated, 0 unexpected$' "$T/out" ||
    fail "check summary: $(cat "$T/out")"
printf 'info\ta1\n' >"$T/want"
intake check --expect "$T/want" --with-status --first 1 >"$T/out" &&
    fail "--first 1 vs 1000+ entries passed"
# Invalid UTF-8 in the expect file: one U+FFFD per bad byte.
printf 'x\342\202y\377\n' >"$T/want"
printf '{"message":"x\\ufffd\\ufffdy\\ufffd"}\n' | post 200 --path /bad
intake check --path /bad --expect "$T/want" >"$T/out" ||
    fail "per-byte U+FFFD: $(cat "$T/out")"

# SIGTERM: a clean exit.
stop_intake
log "ok"
