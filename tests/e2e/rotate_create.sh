#!/bin/sh
# Rotation by rename + create with Debian's real logrotate ("create",
# "rotate 5"), run every few thousand lines while three writers append at
# ~2k lines/s each: one reopening its log before every line, one every 100
# lines, one never (it keeps writing into the renamed file, which logshipd
# must follow through its descriptor). Every line arrives exactly once.
. "$(dirname "$0")/lib.sh"

LOGROTATE=/usr/sbin/logrotate
if [ ! -x "$LOGROTATE" ]; then
	echo "SKIP: $TEST_NAME: no $LOGROTATE (Debian package logrotate)" >&2
	exit 77
fi

N=20000
RATE=2000
start_intake --api-key "$DD_API_KEY" --quiet
mkdir "$T/state"
# mode dirs: reopen1 (every line), reopen100, keep (never reopens).
for m in reopen1 reopen100 keep; do
	mkdir "$T/$m"
	cat >"$T/lr-$m.conf" <<LR
$T/$m/app.log {
    create
    rotate 5
    missingok
}
LR
done
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
sources:
  - name: reopen1
    paths: ["$T/reopen1/*.log"]
  - name: reopen100
    paths: ["$T/reopen100/*.log"]
  - name: keep
    paths: ["$T/keep/*.log"]
$(dd_dest)
    workers: 2
    batch: { max_entries: 500, max_wait: 200ms }
    retry: { initial: 100ms, max: 1s }
YAML

for m in reopen1 reopen100 keep; do
	: >"$T/$m/app.log"
done
start_logshipd "$T/logshipd.yaml"
wait_for 15 ls_started

# A writer that never reopens must not see its file deleted by "rotate 5":
# at most 5 rotations there (every 4000 lines); 13 for the others.
rot_writer "$T/reopen1/app.log" "$T/want-reopen1" r1 "$N" "$RATE" 1 1500 \
    "$T/lr-reopen1.conf" "$T/lr-reopen1.state" >"$T/rot-reopen1" &
w1=$!
rot_writer "$T/reopen100/app.log" "$T/want-reopen100" r100 "$N" "$RATE" \
    100 1500 "$T/lr-reopen100.conf" "$T/lr-reopen100.state" \
    >"$T/rot-reopen100" &
w2=$!
rot_writer "$T/keep/app.log" "$T/want-keep" keep "$N" "$RATE" 0 4000 \
    "$T/lr-keep.conf" "$T/lr-keep.state" >"$T/rot-keep" &
w3=$!
for w in $w1 $w2 $w3; do
	wait "$w" || fail "a writer failed (exit $?)"
done
rot="$(cat "$T/rot-reopen1")/$(cat "$T/rot-reopen100")/$(cat "$T/rot-keep")"
ls "$T/reopen1/app.log.5" "$T/keep/app.log.4" >/dev/null ||
    fail "logrotate did not rotate as planned"
cat "$T/want-reopen1" "$T/want-reopen100" "$T/want-keep" >"$T/want"
W=$(wc -l <"$T/want")
assert_eq "$W" $((3 * N)) "lines written"

wait_count /api/v2/logs "$W" 60
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
assert_eq "$(ls_dest_stat dd sent)" "$W" "dd sent="
log "ok: written=$W received=$CK_RECEIVED duplicates=$CK_DUP" \
    "(rotations reopen1/reopen100/keep: $rot)"
