#!/bin/sh
# The status endpoint stays up under one local user's slow connections
# (issue 19, item 5). An account made for the test (useradd, run under
# setpriv) holds 500 connections to the endpoint, each trickling one header
# byte a second and reconnecting when shut down: before, 32 such clients
# took every slot and /healthz timed out for the whole attack. Now a
# request must be whole within a deadline counted from accept, and one
# address's (or everyone's) oldest unanswered connection makes room for a
# new one. All come from 127.0.0.1, as the probe does: the per-address cap
# on loopback limits the attacker to a few slots it keeps losing, never
# the probe. /healthz answers each of 20 probes within a second (measured
# and printed), /metrics too, and lines written meanwhile ship exactly
# once.
. "$(dirname "$0")/lib.sh"
need_logshipd
attacker_user
ATK_PY=/usr/bin/python3
[ -x "$ATK_PY" ] || ATK_PY=$PYTHON3

METRICS_PORT=$(free_port)
start_intake
mkdir -p "$T/logs" "$T/state"
app_config 100 "" "metrics: { listen: \"127.0.0.1:$METRICS_PORT\" }"
start_logshipd "$T/logshipd.yaml"
wait_for 15 "$PYTHON3" -c '
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()' \
    "http://127.0.0.1:$METRICS_PORT/healthz"

# The attacker: N sockets, each sending a request's first bytes, then one
# more header byte every second; a socket the server shut down is opened
# again at its next tick. It writes "connects open shut" to its stats file.
cat >"$T/slow.py" <<'PY'
import os, select, socket, sys, time
port, n, stats = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = [None] * n
due = [time.monotonic() + i / n for i in range(n)]
connects = shut = 0

def opensock():
    global connects
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    connects += 1
    return s

last = 0
while True:
    now = time.monotonic()
    for i in range(n):
        if due[i] > now:
            continue
        due[i] = now + 1.0
        s = socks[i]
        try:
            if s is None:
                s = socks[i] = opensock()
                s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ")
            else:
                s.send(b"a")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            s.close()
            socks[i] = None
            shut += 1
    live = [s for s in socks if s is not None]
    if live:
        r, _, _ = select.select(live, [], [], 0.05)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                i = socks.index(s)
                s.close()
                socks[i] = None
                shut += 1
    else:
        time.sleep(0.05)
    if now - last > 0.2:
        last = now
        with open(stats + ".tmp", "w") as f:
            f.write("%d %d %d\n" % (connects, len(live), shut))
        os.rename(stats + ".tmp", stats)
PY
chmod 644 "$T/slow.py"
chmod 777 "$T" # the attacker writes its stats file here
# shellcheck disable=SC2086
as_attacker "$ATK_PY" "$T/slow.py" "$METRICS_PORT" 500 "$T/slow.stats" \
    2>"$T/slow.err" &
SLOW_PID=$!
trap '_atk_st=$?; set +e; kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null; userdel "$ATTACKER" 2>/dev/null; (exit $_atk_st); cleanup' EXIT

# slow_stat FIELD: 1 connects, 2 open now, 3 seen shut by the server.
slow_stat() {
	cut -d' ' -f"$1" "$T/slow.stats" 2>/dev/null || echo 0
}
# All its 500 sockets are connected (later, each one shut is opened
# again at its next tick).
slow_going() {
	[ "$(slow_stat 1)" -ge 500 ]
}
wait_for 20 slow_going
log "attacker: $(slow_stat 1) connects, $(slow_stat 2) open"

# 20 probes over more than two deadlines (5 s), lines written meanwhile.
cat >"$T/probe.py" <<'PY'
import sys, time, urllib.request
url, out = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
try:
    with urllib.request.urlopen(url, timeout=5) as r:
        body = r.read()
        st = r.status
except Exception as e:
    st, body = 0, str(e).encode()
ms = (time.monotonic() - t0) * 1000
with open(out, "a") as f:
    f.write("%d %.1f %s\n" % (st, ms, body[:40].decode(errors="replace").strip()))
PY
limit=$(($(scaled 1) * 1000))
# probe PATH: one probe, which must be a 200 within the limit.
probe() {
	"$PYTHON3" "$T/probe.py" "http://127.0.0.1:$METRICS_PORT$1" "$T/probes"
	tail -n 1 "$T/probes" | awk -v lim="$limit" '$1 != 200 || $2 >= lim { exit 1 }' ||
	    fail "$1: probe failed or slow (limit $limit ms): $(tail -n 1 "$T/probes")"
}
: >"$T/want"
: >"$T/probes"
i=0
while [ $i -lt 20 ]; do
	gen_lines "$T/logs/app.log" 50 "batch$i"
	gen_lines "$T/want" 50 "batch$i"
	probe /healthz
	alive "$SLOW_PID" || fail "the attacker died: $(cat "$T/slow.err")"
	# ok-sleep: the probes are spread over the attack, not a wait for a
	# condition
	sleep 0.6
	i=$((i + 1))
done
probe /metrics
log "attacker: $(slow_stat 1) connects, $(slow_stat 2) open, $(slow_stat 3) shut by the server"
worst=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$T/probes")
echo "status_slowloris: 21 probes under 500 slow connections: worst ${worst} ms (limit ${limit} ms)"
# The attacker was really holding connections, and losing them.
[ "$(slow_stat 3)" -gt 0 ] || fail "the server never shut an attacker's connection"

wait_count /api/v2/logs 1000 30
check_exact "$T/want"
kill "$SLOW_PID"
wait "$SLOW_PID" 2>/dev/null || :
stop_logshipd
assert_eq "$LS_STATUS" 0 "logshipd exit status"
log "ok"
