# journald_lib.sh: sourced after lib.sh by the tests of type: journald
# sources (tests/e2e/journald*.sh). They write their own journal files with
# systemd-journal-remote (Debian's systemd-journal-remote package) from the
# export format, and read them with directory:, so no journald is needed.
# Without systemd-journal-remote the test is skipped (exit 77).

JREMOTE=
for _f in /lib/systemd/systemd-journal-remote \
    /usr/lib/systemd/systemd-journal-remote; do
	if [ -x "$_f" ]; then
		JREMOTE=$_f
		break
	fi
done
if [ -z "$JREMOTE" ]; then
	echo "SKIP: $TEST_NAME: no systemd-journal-remote" >&2
	exit 77
fi
cat >"$T/probe.yaml" <<YAML
state_dir: $T
metrics: { listen: "" }
sources: [{ name: j, type: journald }]
destinations: [{ name: h, type: http, url: "http://127.0.0.1:1/" }]
YAML
if ! "$LOGSHIPD" -n -c "$T/probe.yaml" >/dev/null 2>&1; then
	echo "SKIP: $TEST_NAME: logshipd built without libsystemd" >&2
	exit 77
fi

# journal_gen EXPORT N PREFIX [UNITS [FIRST]]: N entries in the journal's
# export format into EXPORT, numbered from FIRST (1), each of one of UNITS
# (a space-separated list, "app.service" by default) for eight entries in
# turn, PRIORITY i % 8; and "STATUS<TAB>MESSAGE<TAB>UNIT" for each into EXPORT.all.
journal_gen() {
	"$PYTHON3" - "$@" <<'PY'
import sys, time
out, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
units = (sys.argv[4] if len(sys.argv) > 4 else "app.service").split()
first = int(sys.argv[5]) if len(sys.argv) > 5 else 1
names = ["emergency", "alert", "critical", "error", "warning", "notice",
         "info", "debug"]
now = int(time.time() * 1e6)
with open(out, "w") as f, open(out + ".all", "w") as a:
    for i in range(first, first + n):
        u = units[(i // 8) % len(units)]
        msg = "%s %07d the quick brown fox" % (prefix, i)
        f.write("__REALTIME_TIMESTAMP=%d\n_SYSTEMD_UNIT=%s\n"
                "SYSLOG_IDENTIFIER=%s\n_PID=%d\n_HOSTNAME=jhost\n"
                "PRIORITY=%d\nMESSAGE=%s\n\n"
                % (now + i, u, u.split(".")[0], 100 + len(u), i % 8, msg))
        a.write("%s\t%s\t%s\n" % (names[i % 8], msg, u))
PY
}

# journal_write DIR EXPORT: appends EXPORT's entries to DIR/x.journal (a
# second run appends to the same file).
journal_write() {
	"$JREMOTE" -o "$1/x.journal" - <"$2" 2>>"$T/jremote.log" ||
	    fail "systemd-journal-remote failed (see $T/jremote.log)"
}

# journal_want ALL UNIT_RE STATUS_RE: "STATUS<TAB>MESSAGE" of the lines of
# ALL whose unit and status match (awk regexps).
journal_want() {
	awk -F '\t' -v u="$2" -v s="$3" '$3 ~ u && $1 ~ s { print $1 "\t" $2 }' "$1"
}

# journal_cursor SOURCE: the cursor checkpoint.json holds for SOURCE.
journal_cursor() {
	"$PYTHON3" - "$T/state/checkpoint.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for j in d.get("journals", []):
    if j["source"] == sys.argv[2]:
        print(j["cursor"])
PY
}
