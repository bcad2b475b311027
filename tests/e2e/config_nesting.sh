#!/bin/sh
# Configuration parsing is bounded in time (issue 19, item 7): a file of
# 128,000 nested "{a: " (500 KB) made libyaml's scanner quadratic, over a
# minute in "logshipd -n"; a reload parses on the main loop, so it stalled
# the daemon as long. Now nesting past 32 levels and files over 1 MiB are
# refused before the tree is built: exit 78 with FILE:LINE:COL, well under
# a second (measured and printed). A file just under the size cap, deep
# but within the depth cap, also answers in well under a second.
. "$(dirname "$0")/lib.sh"
need_logshipd

# timed_n NAME: runs logshipd -n on $T/NAME.yaml; sets RC and MS.
timed_n() {
	_t0=$(now_ms)
	RC=0
	"$LOGSHIPD" -n -c "$T/$1.yaml" >"$T/$1.out" 2>"$T/$1.err" || RC=$?
	MS=$(($(now_ms) - _t0))
	log "$1: $(wc -c <"$T/$1.yaml") bytes: exit $RC in ${MS} ms: $(head -c 200 "$T/$1.err")"
}

# within_1s: MS is under LS_TIMEOUT_SCALE seconds.
within_1s() {
	[ "$MS" -lt $(($(scaled 1) * 1000)) ] ||
	    fail "$1: took ${MS} ms (want < $(scaled 1) s)"
}

"$PYTHON3" - "$T" <<'PY'
import sys
t = sys.argv[1]
# The probe's file: 500 KB of "{a: ", never closed.
open(t + "/nest500k.yaml", "w").write("{a: " * (500 * 1024 // 4))
# Block sequences, one level per "- ".
open(t + "/blockseq.yaml", "w").write("- " * 40000 + "x\n")
# Just under 1 MiB: 32-level-deep (at the cap) flows, one after another,
# under one unknown key (one error, not one per item).
unit = "  - " + "[" * 30 + "1" + "]" * 30 + "\n"
body = "x:\n"
while len(body) + len(unit) < 1024 * 1024 - 64:
    body += unit
open(t + "/deep_ok.yaml", "w").write(body)
# Over 1 MiB of comments.
open(t + "/big.yaml", "w").write("# padding\n" * 110000 + "x: 1\n")
PY

timed_n nest500k
assert_eq "$RC" 78 "nest500k: exit status"
grep -qx "$T/nest500k.yaml:1:129: nested more than 32 levels deep" \
    "$T/nest500k.err" || fail "nest500k: want file:1:129: $(cat "$T/nest500k.err")"
within_1s nest500k
echo "config_nesting: 500 KB of nested '{a: ' refused in ${MS} ms"

timed_n blockseq
assert_eq "$RC" 78 "blockseq: exit status"
grep -qx "$T/blockseq.yaml:1:65: nested more than 32 levels deep" \
    "$T/blockseq.err" || fail "blockseq: want file:1:65: $(cat "$T/blockseq.err")"
within_1s blockseq

# At the depth cap, the schema's errors come out, nothing about nesting.
timed_n deep_ok
assert_eq "$RC" 78 "deep_ok: exit status"
grep -q nested "$T/deep_ok.err" && fail "deep_ok: refused for nesting"
grep -q "^$T/deep_ok.yaml:1:1: unknown key \"x\"" "$T/deep_ok.err" ||
    fail "deep_ok: want file:1:1: unknown key: $(head -c 300 "$T/deep_ok.err")"
within_1s deep_ok
echo "config_nesting: 1 MiB at the depth cap checked in ${MS} ms"

timed_n big
assert_eq "$RC" 78 "big: exit status"
grep -qx "$T/big.yaml:1:1: the file is larger than the limit of 1024 KiB" \
    "$T/big.err" || fail "big: $(cat "$T/big.err")"
within_1s big
log "ok"
