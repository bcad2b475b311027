#!/bin/sh
# The daemon's own log cannot be forged through file names (issue 19, item
# 6). A local user who may write a watched log directory names a file
# "x<LF>FAKE injected: line<LF>.log", another with ANSI escapes, and makes
# a FIFO with both (which logshipd refuses, saying so even without -v).
# logshipd logs the names escaped (\n, \u001b), never as lines of their
# own or raw escapes; the regular files' lines still ship, exactly once.
. "$(dirname "$0")/lib.sh"
need_logshipd
attacker_user

start_intake
mkdir -p "$T/logs" "$T/state"
chown "$ATTACKER_UID:$ATTACKER_GID" "$T/logs"
app_config

NL='
'
ESC=$(printf '\033')
FORGED="x${NL}FAKE injected: line${NL}.log"
ANSI="red${ESC}[31mALERT${ESC}[0m${ESC}]0;title${ESC}\\.log"
FIFO="fifo${ESC}[2J${NL}FAKE fifo: line${NL}.log"
# The attacker writes the files (50 lines in each regular one) and the
# FIFO, with the system's sh: the test's python may be out of its reach.
# shellcheck disable=SC2086,SC2016
as_attacker /bin/sh -c '
	d=$1
	for f in "$2:forged" "$3:ansi"; do
		i=0
		while [ $i -lt 50 ]; do
			printf "2026-11-23T10:00:00Z INFO %s %03d\n" "${f##*:}" $i
			i=$((i + 1))
		done >"$d/${f%:*}"
	done
	mkfifo "$d/$4"' sh "$T/logs" "$FORGED" "$ANSI" "$FIFO" ||
    fail "the attacker could not write its files"
[ -f "$T/logs/$FORGED" ] || fail "the attacker could not create the file"
"$PYTHON3" - "$T/want" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for tag in ("forged", "ansi"):
        for i in range(50):
            f.write("2026-11-23T10:00:00Z INFO %s %03d\n" % (tag, i))
PY

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 100 30
check_exact "$T/want"
# The FIFO's refusal is logged once the scan has seen it (whatever the
# tailer's wording, the line names it; escaped or not, judged below).
wait_for 10 grep -qF 'FAKE fifo: line' "$T/logshipd.log"
stop_logshipd
assert_eq "$LS_STATUS" 0 "logshipd exit status"

# No line of the daemon's log begins with the forged text, none holds ESC.
if grep -n '^FAKE' "$T/logshipd.log" >&2; then
	fail "a forged line is in the daemon's log"
fi
if grep -q "$ESC" "$T/logshipd.log"; then
	grep -n "$ESC" "$T/logshipd.log" | cat -v >&2
	fail "a raw escape (ESC) is in the daemon's log"
fi
# And the names are there, escaped, on the lines that name them ("-v":
# each file followed is logged).
grep -qF 'x\nFAKE injected: line\n.log' "$T/logshipd.log" ||
    fail "no escaped forged name in the log"
grep -qF 'red\u001b[31mALERT\u001b[0m\u001b]0;title\u001b\.log' \
    "$T/logshipd.log" || fail "no escaped ANSI name in the log"
grep -qF 'fifo\u001b[2J\nFAKE fifo: line\n.log' "$T/logshipd.log" ||
    fail "no escaped FIFO name in the log"
log "ok: 100 lines shipped, names logged escaped"
