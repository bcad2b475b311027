#!/bin/sh
# Hostile input: invalid UTF-8, NUL bytes, control characters, a 5 MB line
# with max_line_bytes 256KiB. Every entry is valid JSON (the intake parses
# it), invalid bytes arrive as one U+FFFD each, the long lines are cut with
# the marker, and nothing is lost.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
mkdir "$T/logs" "$T/state"
app_config 100 'max_line_bytes: 256KiB'

# The log (raw bytes) and $T/want (what must arrive, one line each; the
# check reads invalid UTF-8 in it as one U+FFFD per byte).
"$PYTHON3" - "$T/logs/app.log" "$T/want" <<'PY'
import sys
MAX = 256 * 1024
lines, want = [], []
def same(b):
    lines.append(b)
    want.append(b)
def cut(b, keep=MAX):
    lines.append(b)
    want.append(b[:keep] + b" [logshipd: truncated %d bytes]" % (len(b) - keep))
for i in range(20):
    same(b"INFO plain line %d before" % i)
same(b"ERROR bad bytes \xff\xfe here")
same(b"ERROR lone continuation \x80\x80 bytes")
same(b"ERROR overlong \xc0\xaf slash")
same(b"ERROR surrogate \xed\xa0\x80 half")
same(b"ERROR beyond U+10FFFF \xf4\x90\x80\x80 end")
same(b"ERROR truncated sequence \xe2\x82 then text")
same(b"ERROR truncated at the end \xe2")
same(b"WARN nul \x00 in the \x00\x00 middle")
same(b"WARN controls \x01\x02\x1b[31mred\x1b[0m \x7f del \t tab \x0b\x0c ff")
same(b'WARN quote " backslash \\ slash / brace } bracket ]')
same("INFO valid utf-8 é ß 漢字 😀 \u2028 sep".encode())
same(b"INFO exactly max " + b"m" * (MAX - len(b"INFO exactly max ")))
cut(b"INFO one over max " + b"o" * (MAX + 1 - len(b"INFO one over max ")))
cut(b"INFO five megabytes " + b"".join(b"%09d " % i for i in range(500000)))
cut(b"INFO long with bad bytes \xff" + b"z" * (MAX * 2))
# A character that max_line_bytes would split is left out whole.
head = b"INFO cut in a character "
cut(head + b"c" * (MAX - 1 - len(head)) + "\u20ac".encode() + b"tail", MAX - 1)
for i in range(20):
    same(b"INFO plain line %d after" % i)
assert max(len(l) for l in lines) > 5000000
with open(sys.argv[1], "wb") as f:
    f.write(b"".join(l + b"\n" for l in lines))
with open(sys.argv[2], "wb") as f:
    f.write(b"".join(l + b"\n" for l in want))
PY
N=$(wc -l <"$T/want" | tr -d ' ')

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs "$N" 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
intake check --expect "$T/want" --show 20 || fail "received != expected"
assert_eq "$(intake_stat 'sorted(s["by_status"])')" "['202']" \
    "answers (a 400 means invalid JSON)"
# The JSON text itself: no lone surrogate escapes, no raw control bytes.
intake entries | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)["message"]
    try:
        m.encode("utf-8")
    except UnicodeEncodeError:
        sys.exit("a message holds a lone surrogate: %r" % m[:80])
' || fail "messages are not valid Unicode"
assert_eq "$(ls_final_read)" "$N" "final read="
log "ok"
