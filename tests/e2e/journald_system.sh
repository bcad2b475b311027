#!/bin/sh
# The system journal (no directory:): lines logged through systemd-cat
# with a unique identifier arrive, with their priorities. Skipped (77)
# where no journald runs, or this user cannot read the journal (journalctl
# does not show what systemd-cat logged).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/journald_lib.sh"

command -v systemd-cat >/dev/null 2>&1 && command -v journalctl >/dev/null 2>&1 || {
	echo "SKIP: $TEST_NAME: no systemd-cat or journalctl" >&2
	exit 77
}
ident=logshipd-e2e-$$-$(now_ms)
echo "probe" | systemd-cat -t "$ident-probe" 2>/dev/null || {
	echo "SKIP: $TEST_NAME: systemd-cat cannot log (no journald)" >&2
	exit 77
}
probe_seen() {
	journalctl -q -o cat -t "$ident-probe" 2>/dev/null | grep -qx probe
}
_end=$(($(now_ms) + 5000))
until probe_seen; do
	[ "$(now_ms)" -lt "$_end" ] || {
		echo "SKIP: $TEST_NAME: the journal cannot be read here" >&2
		exit 77
	}
	sleep 0.1 # ok-sleep: bounded poll
done

start_intake
mkdir "$T/state"
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
sources:
  - name: sys
    type: journald
    start_at: end
    matches: ["SYSLOG_IDENTIFIER=$ident"]
destinations:
  - name: h
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 200ms }
YAML
start_logshipd "$T/logshipd.yaml"
wait_for 10 ls_started
for i in 1 2 3 4 5; do
	echo "system journal line $i" | systemd-cat -t "$ident" -p err
	echo "system journal info $i" | systemd-cat -t "$ident" -p info
done
wait_count /ingest 10 20
stop_logshipd TERM 20
printf 'error\tsystem journal line %s\n' 1 2 3 4 5 >"$T/want"
printf 'info\tsystem journal info %s\n' 1 2 3 4 5 >>"$T/want"
check_exact "$T/want" --path /ingest --with-status
log "ok"
