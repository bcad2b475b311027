#!/bin/sh
# The demo: installs what is needed, builds logshipd, and runs it against
# the bundled fake intake, shipping generated sample logs of mixed
# severities, with a live one-line summary. Ctrl-C drains and prints the
# final counts.
#   LS_SKIP_DEPS=1     do not apt-get install the dependencies first
#   DEMO_SECONDS=N     stop by itself after N seconds
#   DEMO_RATE=N        sample lines per second (default 500)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -n "${LS_SKIP_DEPS:-}" ] || scripts/deps.sh
if [ ! -x build/logshipd ] || [ -n "$(find src -newer build/logshipd | head -n 1)" ]; then
	echo "=== building logshipd"
	[ -f configure ] || autoreconf -fi >/dev/null
	mkdir -p build
	[ -f build/Makefile ] || (cd build && ../configure >/dev/null)
	make -C build -j"$(nproc 2>/dev/null || echo 2)" logshipd >/dev/null
fi

dir=$(mktemp -d /tmp/logshipd-demo.XXXXXX)
gen_pid=
intake_pid=
cleanup() {
	[ -z "$gen_pid" ] || kill "$gen_pid" 2>/dev/null || true
	[ -z "$intake_pid" ] || kill "$intake_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap '' INT # Ctrl-C is for logshipd: it drains, then the demo ends.

python3 tests/fake-intake/intake.py serve --port-file "$dir/port" \
    --api-key demo-key --quiet &
intake_pid=$!
i=0
while [ ! -s "$dir/port" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "the fake intake did not start" >&2; exit 1; }
	sleep 0.1 # ok-sleep: bounded wait for the intake's port file
done
url="http://127.0.0.1:$(cat "$dir/port")"
sed -e "s|@DIR@|$dir|g" -e "s|@URL@|$url|g" etc/demo.yaml >"$dir/logshipd.yaml"
python3 scripts/gen-logs.py --dir "$dir/logs" --rate "${DEMO_RATE:-500}" &
gen_pid=$!

echo "=== logshipd shipping $dir/logs/*.log to $url (Ctrl-C to stop)"
DD_API_KEY=demo-key build/logshipd -d -c "$dir/logshipd.yaml" -s 1 &
ls_pid=$!
if [ -n "${DEMO_SECONDS:-}" ]; then
	(sleep "$DEMO_SECONDS"; kill -TERM "$ls_pid" 2>/dev/null) & # ok-sleep: demo length
fi
status=0
wait "$ls_pid" || status=$?
# wait returns early when a signal arrives; wait for the drain to finish.
while kill -0 "$ls_pid" 2>/dev/null; do wait "$ls_pid" || status=$?; done
kill "$gen_pid" 2>/dev/null || true
echo "=== the intake received:"
python3 tests/fake-intake/intake.py stats --port-file "$dir/port" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for path, n in sorted(s["entries"].items()):
    print("  %-14s %8d entries" % (path, n))
print("  %d requests, answers %s" % (s["requests"], s["by_status"]))'
exit $status
