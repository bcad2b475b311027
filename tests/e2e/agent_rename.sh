#!/bin/sh
# datadog_agent_confd and SIGHUP: an Agent entry's source is named by its
# place (nginx, nginx#2...), and a reload keeps a file with the source of
# its source's name. A file sorting first in nginx.d (a.yaml) gives the
# name nginx to its own entry, and conf.yaml's becomes nginx#2: the open
# web/access.log must go on with conf.yaml's entry (its mask rule, service
# web) from where it stopped, not with a.yaml's (no mask, service other).
# Before the fix its next line arrived unmasked, as service other.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
C=$T/confd
mkdir -p "$C/nginx.d" "$T/web" "$T/other" "$T/state"
cat >"$C/nginx.d/conf.yaml" <<YAML
logs:
  - type: file
    path: $T/web/*.log
    service: web
    start_position: beginning
    log_processing_rules:
      - type: mask_sequences
        name: secrets
        replace_placeholder: "secret=[masked]"
        pattern: secret=\S+
YAML
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
datadog_agent_confd: $C
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
YAML
echo "web 1 secret=hunter2" >"$T/web/access.log"
start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 1 30

cat >"$C/nginx.d/a.yaml" <<YAML
logs:
  - type: file
    path: $T/other/*.log
    service: other
    start_position: beginning
YAML
echo "other 1" >"$T/other/x.log"
kill -HUP "$LS_PID"
# other/x.log is read only by the new configuration: the reload is done.
wait_count /api/v2/logs 2 30
echo "web 2 secret=hunter3" >>"$T/web/access.log"
wait_count /api/v2/logs 3 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"

printf '%s\n' "web 1 secret=[masked]" "other 1" "web 2 secret=[masked]" \
    >"$T/want"
check_exact "$T/want" --path /api/v2/logs
intake entries --path /api/v2/logs | "$PYTHON3" -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    want = e["message"].split()[0]
    if e.get("service") != want:
        sys.exit("%r: service %r, want %r" % (e["message"], e.get("service"), want))
' || fail "a line with another source's service"
assert_eq "$(grep -c 'files of sources whose names now read other patterns' \
    "$T/logshipd.log")" 1 "the move logged once"
log "ok: web/access.log kept its entry's mask and service when its name went to another entry"
