#!/bin/sh
# datadog_agent_confd (issue 15): the Datadog Agent's conf.d read as it is.
#  - web.d/conf.yaml: one file entry with an exclude rule (health checks)
#    and a mask rule (card numbers), tags as a comma string, start_position
#    beginning: its lines arrive masked, the excluded ones never;
#  - api.d/conf.yaml: a tcp entry, listed by -n as skipped (file:line:col)
#    and logged once at start, and a file entry without start_position
#    (the Agent's default, end): a file there before the start is not
#    read, one made later is read whole; a route names the source "api";
#  - a SIGHUP after a new extra.d/conf.yaml is dropped in reads it: its
#    source ships its file.
# Each entry carries its source's service, ddsource and tags; the intake
# holds exactly the expected lines, once.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
C=$T/confd
mkdir -p "$C/web.d" "$C/api.d" "$T/web" "$T/api" "$T/extra" "$T/state"
cat >"$C/web.d/conf.yaml" <<YAML
init_config:
instances:
  - nginx_status_url: http://127.0.0.1:1/status
logs:
  - type: file
    path: $T/web/*.log
    service: web
    source: nginx
    tags: "env:test, team:web"
    start_position: beginning
    log_processing_rules:
      - type: exclude_at_match
        name: no_health
        pattern: GET /health\b
      - type: mask_sequences
        name: cards
        replace_placeholder: "[card ending \$1]"
        pattern: \b(?:\d{4}[- ]?){3}(\d{4})\b
YAML
cat >"$C/api.d/conf.yaml" <<YAML
logs:
  - type: tcp
    port: 10518
    service: api
  - type: file
    path: $T/api/*.log
    service: api
    source: python
    tags: [tier:back]
YAML
write_config "$T/logshipd.yaml" <<YAML
$(app_top)
checkpoint_interval: 100ms
datadog_agent_confd: $C
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
  - name: alerts
    type: http
    format: ndjson
    url: $INTAKE_URL/ingest
    batch: { max_entries: 100, max_wait: 200ms }
routes:
  - { source: [api], severity: all, to: [alerts] }
  - { severity: all, to: [dd] }
YAML

"$LOGSHIPD" -n -c "$T/logshipd.yaml" 2>"$T/n.out" ||
    fail "-n refused the configuration: $(cat "$T/n.out")"
assert_eq "$(cat "$T/n.out")" "$C/api.d/conf.yaml:2:5: logs[0] (type tcp) skipped: logshipd listens on no port: it reads files
configuration OK" "-n output"

"$PYTHON3" - "$T" <<'PY'
import sys
t = sys.argv[1]
with open(t + "/web/access.log", "w") as f, open(t + "/want.web", "w") as w:
    for i in range(200):
        if i % 5 == 0:
            f.write("GET /health 200 web %d\n" % i)
        elif i % 7 == 0:
            f.write("web %d paid 4111-2222-3333-%04d ok\n" % (i, i))
            w.write("web %d paid [card ending %04d] ok\n" % (i, i))
        else:
            f.write("web %d GET /page\n" % i)
            w.write("web %d GET /page\n" % i)
with open(t + "/api/old.log", "w") as f:
    for i in range(50):
        f.write("api old %d, before the start: not read\n" % i)
with open(t + "/want.api", "w") as w:
    for i in range(60):
        w.write("api %d\n" % i)
with open(t + "/want.extra", "w") as w:
    for i in range(40):
        w.write("extra %d\n" % i)
PY
web=$(wc -l <"$T/want.web")
start_logshipd "$T/logshipd.yaml"
# The web lines arriving show the start's scan is done: api/old.log was
# found then, at its end.
wait_count /api/v2/logs "$web" 30
cp "$T/want.api" "$T/api/new.log"
wait_count /ingest 60 30
wait_count /api/v2/logs $((web + 60)) 30

# A new integration's file, then SIGHUP.
cp "$T/want.extra" "$T/extra/x.log"
mkdir "$C/extra.d"
cat >"$C/extra.d/conf.yaml" <<YAML
logs:
  - type: file
    path: $T/extra/*.log
    service: extra
    start_position: beginning
YAML
kill -HUP "$LS_PID"
wait_count /api/v2/logs $((web + 100)) 30
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"

cat "$T/want.web" "$T/want.api" "$T/want.extra" >"$T/want.all"
check_exact "$T/want.all" --path /api/v2/logs
check_exact "$T/want.api" --path /ingest
intake entries --path /api/v2/logs | "$PYTHON3" -c '
import json, sys
T = sys.argv[1]
want = {
    "web": ("web", "nginx", "env:test,team:web,filename:access.log,dirname:%s/web" % T),
    "api": ("api", "python", "tier:back,filename:new.log,dirname:%s/api" % T),
    "extra": ("extra", None, "filename:x.log,dirname:%s/extra" % T),
}
n = 0
for line in sys.stdin:
    e = json.loads(line)
    got = (e.get("service"), e.get("ddsource"), e.get("ddtags"))
    w = want[e["message"].split()[0]]
    if got != w:
        sys.exit("%r: service, ddsource, ddtags %r, want %r" % (e["message"], got, w))
    n += 1
print("%d entries with their service, ddsource and tags" % n)
' "$T" || fail "labels"
assert_eq "$(grep -c 'logs\[0\] (type tcp) skipped' "$T/logshipd.log")" 2 \
    "the skipped entry logged once at the start and once at the reload"
log "ok: $web web lines masked and filtered, 60 api lines to both, 40 extra after a reload; old.log not read"
