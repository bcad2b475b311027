#!/bin/sh
# Paths as Datadog Agent users write them (issue 15): "**" matches any
# number of directories, and a directory made later is watched at once
# (the scan interval here is a minute: its lines arrive in seconds);
# exclude_paths leaves matching files alone; a compressed rotation that
# the pattern does not name (app.log* and app.log.2.gz) is not read, and
# said once; every line carries filename:<base> and dirname:<dir> tags
# after the top-level tags and the source's own (file_tags: false: none).
# Every line arrives exactly once, with its tags.
. "$(dirname "$0")/lib.sh"

start_intake --api-key "$DD_API_KEY"
L=$T/logs
mkdir -p "$L/sub/deep" "$L/skip" "$T/rot" "$T/plain" "$T/state"
write_config "$T/logshipd.yaml" <<YAML
state_dir: $T/state
shutdown_timeout: 10s
scan_interval: 60s
poll_interval: 100ms
tags: ["team:core"]
sources:
  - name: tree
    paths: ["$L/**/*.log"]
    exclude_paths: ["$L/skip/*"]
    tags: ["env:test"]
  - name: rot
    paths: ["$T/rot/app.log*"]
  - name: plain
    paths: ["$T/plain/*.log"]
    file_tags: false
$(dd_dest)
    batch: { max_entries: 100, max_wait: 200ms }
YAML

# add FILE PREFIX N: N lines to FILE, and to want (unless the file is
# not to be read: then to the list of what must not arrive).
: >"$T/want"
: >"$T/never"
add() {
	gen_lines "$1" "$3" "$2"
	gen_lines "$4" "$3" "$2"
}
add "$L/a.log" tree-top 10 "$T/want"
add "$L/sub/b.log" tree-sub 10 "$T/want"
add "$L/sub/deep/c.log" tree-deep 10 "$T/want"
add "$L/skip/d.log" tree-skip 10 "$T/never"
add "$L/sub/notes.txt" tree-txt 10 "$T/never"
add "$T/rot/app.log" rot-live 10 "$T/want"
add "$T/rot/app.log.1" rot-one 10 "$T/want"
gen_lines "$T/rot/app.log.2" 10 rot-gz
gzip "$T/rot/app.log.2"
add "$T/plain/p.log" plain 10 "$T/want"

start_logshipd "$T/logshipd.yaml"
wait_count /api/v2/logs 60 30
# A directory made now, two levels down: watched as soon as it is made.
mkdir -p "$L/new/deeper"
add "$L/new/deeper/e.log" tree-new 10 "$T/want"
t0=$(now_ms)
wait_count /api/v2/logs 70 30
log "a file in a new directory arrived $(($(now_ms) - t0)) ms after it was written"
[ $(($(now_ms) - t0)) -lt $(($(scaled 20) * 1000)) ] ||
    fail "the new directory was seen only by the scan"
stop_logshipd TERM 20
assert_eq "$LS_STATUS" 0 "exit status"
check_exact "$T/want"
assert_eq "$(grep -c 'compressed (.gz), not read' "$T/logshipd.log")" 1 \
    "the compressed rotation said once"
intake entries --path /api/v2/logs | "$PYTHON3" -c '
import json, os, sys
L, T = sys.argv[1], sys.argv[2]
where = {"tree-top": (L, "a.log"), "tree-sub": (L + "/sub", "b.log"),
         "tree-deep": (L + "/sub/deep", "c.log"),
         "tree-new": (L + "/new/deeper", "e.log"),
         "rot-live": (T + "/rot", "app.log"), "rot-one": (T + "/rot", "app.log.1")}
n = 0
for line in sys.stdin:
    e = json.loads(line)
    prefix = e["message"].split()[2]
    tags = e.get("ddtags", "")
    if prefix == "plain":
        want = "team:core"
    else:
        d, f = where[prefix]
        own = "team:core,env:test" if prefix.startswith("tree") else "team:core"
        want = "%s,filename:%s,dirname:%s" % (own, f, d)
    if tags != want:
        sys.exit("%r: ddtags %r, want %r" % (e["message"], tags, want))
    n += 1
print("%d entries with their tags" % n)
' "$L" "$T" || fail "tags"
log "ok"
