#!/bin/sh
# Broken configurations: "logshipd -n" exits 78 and prints one
# "FILE:LINE:COL: message" line for every error, on the right lines (each
# config marks them with "# ERR"). A valid config passes -n with 0.
. "$(dirname "$0")/lib.sh"
need_logshipd

# check_bad NAME [env args]: runs logshipd -n on $T/NAME.yaml under env.
check_bad() {
	_f=$T/$1.yaml
	shift
	_rc=0
	env "$@" "$LOGSHIPD" -n -c "$_f" >"$T/out" 2>"$T/err" || _rc=$?
	assert_eq "$_rc" 78 "$(basename "$_f"): exit status"
	grep -n '# ERR' "$_f" | cut -d: -f1 >"$T/want-lines"
	[ -s "$T/want-lines" ] || fail "$_f marks no error line"
	# Every marked line is reported, and nothing but file:line:col lines.
	while read -r _l; do
		grep -q "^$_f:$_l:[1-9][0-9]*: ." "$T/err" ||
		    fail "$(basename "$_f"): no '$_f:$_l:COL: message' in: $(cat "$T/err")"
	done <"$T/want-lines"
	_other=$(grep -v "^$_f:[1-9][0-9]*:[1-9][0-9]*: ." "$T/err" || true)
	[ -z "$_other" ] || fail "$(basename "$_f"): stray stderr: $_other"
	_nl=$(cut -d: -f2 "$T/err" | sort -u | grep -vxFf "$T/want-lines" || true)
	[ -z "$_nl" ] || fail "$(basename "$_f"): errors on unmarked lines" \
	    "$(echo $_nl): $(cat "$T/err")"
	log "$(basename "$_f"): $(tr '\n' '|' <"$T/err")"
}

conf_head() {
	cat <<YAML
state_dir: $T/state
shutdown_timeout: 10s
sources:
  - name: app
    paths: ["$T/logs/*.log"]
YAML
}

# An unknown key, with its column (1-based) checked too.
{ conf_head; cat <<'YAML'; } >"$T/unknown-key.yaml"
    frobnicate: yes  # ERR
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: DD_API_KEY
YAML
check_bad unknown-key
grep -q "^$T/unknown-key.yaml:6:5: " "$T/err" ||
    fail "unknown key: want column 5: $(cat "$T/err")"

# Bad durations and sizes, top level and nested: every one reported.
{ conf_head; cat <<'YAML'; } >"$T/bad-duration.yaml"
scan_interval: 200 parsecs  # ERR
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: DD_API_KEY
    batch: { max_entries: 100, max_wait: soon }  # ERR
    retry: { initial: -1s, max: 1s }  # ERR
YAML
check_bad bad-duration

# A route to a destination that does not exist.
{ conf_head; cat <<'YAML'; } >"$T/unknown-dest.yaml"
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: DD_API_KEY
routes:
  - { severity: [error], to: [dd] }
  - { severity: [info],
      to: [dd, nowhere] }  # ERR
YAML
check_bad unknown-dest

# A Datadog destination without any API key; then one whose variable is
# not set.
{ conf_head; cat <<'YAML'; } >"$T/no-key.yaml"
destinations:
  - name: dd  # ERR
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
YAML
check_bad no-key -u DD_API_KEY
{ conf_head; cat <<'YAML'; } >"$T/unset-key.yaml"
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: LOGSHIPD_E2E_UNSET_VARIABLE  # ERR
YAML
check_bad unset-key -u LOGSHIPD_E2E_UNSET_VARIABLE

# YAML syntax errors: a mapping value where none may be, a tab.
{ conf_head; cat <<'YAML'; } >"$T/syntax.yaml"
    service: a: b  # ERR
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: DD_API_KEY
YAML
check_bad syntax
{ conf_head; printf '\tservice: x  # ERR\n'; } >"$T/tab.yaml"
check_bad tab

# Several kinds at once: all reported in one run.
{ conf_head; cat <<'YAML'; } >"$T/several.yaml"
    bogus_source_key: 1  # ERR
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: DD_API_KEY
    timeout: 10 fortnights  # ERR
    compression: lz77  # ERR
routes:
  - { severity: [error], to: [ghost] }  # ERR
YAML
check_bad several

# A valid config passes.
{ conf_head; cat <<'YAML'; } >"$T/valid.yaml"
    service: app
    tags: ["env:test"]
    max_line_bytes: 256KiB
destinations:
  - name: dd
    type: datadog
    url: http://127.0.0.1:9/api/v2/logs
    api_key_env: DD_API_KEY
    batch: { max_entries: 1000, max_bytes: 4MiB, max_wait: 1s }
    retry: { initial: 100ms, max: 30s }
  - name: h
    type: http
    format: ndjson
    compression: none
    url: http://127.0.0.1:9/ingest
routes:
  - { severity: [emergency, alert, critical, error], to: [dd, h] }
  - { severity: all, to: [dd] }
YAML
_rc=0
"$LOGSHIPD" -n -c "$T/valid.yaml" 2>"$T/err" || _rc=$?
assert_eq "$_rc" 0 "valid config: exit status ($(cat "$T/err"))"
log "ok"
