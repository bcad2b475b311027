#!/bin/sh
# The package's life on a machine, with dpkg and no container of its own:
# install the previous build (where systemd runs, the unit is enabled and
# skipped for want of the key), configure it (the key, then an edit of the
# conffile that ships a file only adm may read to the bundled intake),
# start it (systemctl enable --now, where systemd runs), upgrade to this
# build (the edit stays without a question; a running logshipd is
# restarted), check the unit (systemd-analyze verify) and that every line
# written before and after the upgrade arrived exactly once (where no
# systemd runs, the unit's ExecStartPre= and ExecStart= run as its User=
# with its groups and UMask=), remove (configuration and state stay),
# purge: the list of files on the system must be the same as before the
# install.
#
#   tests/pkg/dpkg_sequence.sh PREV_DIR NEW_DIR VERSION
#
# PREV_DIR and NEW_DIR hold logshipd_*.deb and logshipd-dbgsym_*.deb of
# the previous build and of this one; VERSION is configure.ac's, which
# the installed logshipd -V must print. Needs root. It changes the
# machine: it purges any installed logshipd first and leaves the system
# user logshipd behind (as Debian keeps every system user). Run by
# scripts/package-check.sh, on its machine and in a systemd container.
. "$(dirname "$0")/../e2e/lib.sh"

[ $# -eq 3 ] || fail "usage: $0 PREV_DIR NEW_DIR VERSION"
PREV_DIR=$1
NEW_DIR=$2
VERSION=$3
[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i)"
LOGSHIPD=/usr/sbin/logshipd
UNIT=/lib/systemd/system/logshipd.service
CONF=/etc/logshipd/logshipd.yaml
KEY=/etc/logshipd/dd_api_key
STATE=/var/lib/logshipd
WANTS=/etc/systemd/system/multi-user.target.wants/logshipd.service
TESTLOGS=/var/log/logshipd-pkgcheck
export DEBIAN_FRONTEND=noninteractive

debs() {
	set -- "$1"/logshipd_*.deb "$1"/logshipd-dbgsym_*.deb
	for _d; do
		[ -f "$_d" ] || fail "no $_d"
	done
	echo "$@"
}
PREV_DEBS=$(debs "$PREV_DIR")
NEW_DEBS=$(debs "$NEW_DIR")
PREV_VERSION=$(dpkg-deb -f "$PREV_DIR"/logshipd_*.deb Version)
NEW_VERSION=$(dpkg-deb -f "$NEW_DIR"/logshipd_*.deb Version)
dpkg --compare-versions "$PREV_VERSION" lt "$NEW_VERSION" ||
    fail "previous build $PREV_VERSION is not older than $NEW_VERSION"

# On failure, do not leave the package (or the test's logs) behind.
pkg_cleanup() {
	set +e
	[ -z "$LS_PID" ] || kill -KILL "$LS_PID" 2>/dev/null
	if [ -n "$INSTALLED" ]; then
		dpkg -P logshipd logshipd-dbgsym >/dev/null 2>&1
	fi
	rm -rf "$TESTLOGS"
}
INSTALLED=
# shellcheck disable=SC2154 # _pkg_st is set in the trap itself
trap '_pkg_st=$?; pkg_cleanup; (exit "$_pkg_st"); cleanup' EXIT

# dpkg_run ARGS: dpkg with no terminal to ask on (a question fails it).
dpkg_run() {
	log "dpkg $*"
	dpkg "$@" </dev/null >>"$T/dpkg.log" 2>&1 || {
		tail -n 40 "$T/dpkg.log" >&2
		fail "dpkg $* failed"
	}
}

# snapshot FILE: every path (and its type) dpkg or a maintainer script
# could leave behind, without the package database and the caches.
snapshot() {
	find /etc /usr /var/lib /opt /srv -xdev \
	    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /usr/local \
	    -o -path /var/lib/docker -o -path /var/lib/containerd \
	    -o -name __pycache__ \) -prune -o -printf '%y %p\n' |
	    LC_ALL=C sort >"$1"
}

status_is() {
	_s=$(dpkg-query -W -f='${Status}' logshipd 2>/dev/null || true)
	assert_eq "$_s" "$1" "dpkg status of logshipd"
}

if dpkg-query -W -f='${Status}' logshipd 2>/dev/null | grep -q installed; then
	log "purging the logshipd installed before ($(dpkg-query -W -f='${Version}' logshipd))"
	dpkg_run -P logshipd logshipd-dbgsym
fi
rm -rf "$TESTLOGS"
snapshot "$T/before"

# 1. Install the previous build.
INSTALLED=1
# shellcheck disable=SC2086
dpkg_run -i $PREV_DEBS
status_is "install ok installed"
assert_eq "$($LOGSHIPD -V)" "logshipd $(echo "$PREV_VERSION" | sed 's/-[^-]*$//')" \
    "logshipd -V of the previous build"
getent passwd logshipd >/dev/null || fail "no user logshipd"
getent group logshipd >/dev/null || fail "no group logshipd"
id -nG logshipd | tr ' ' '\n' | grep -qx adm || fail "logshipd is not in adm: $(id logshipd)"
assert_eq "$(getent passwd logshipd | cut -d: -f7)" /usr/sbin/nologin "logshipd's shell"
assert_eq "$(stat -c '%U:%G %a' "$STATE")" "logshipd:logshipd 700" "$STATE"
[ -L "$WANTS" ] || fail "the unit is not enabled ($WANTS)"
dpkg-query -W -f='${Conffiles}\n' logshipd | grep -q " $CONF " ||
    fail "$CONF is not a conffile: $(dpkg-query -W -f='${Conffiles}' logshipd)"
for f in "$LOGSHIPD" "$UNIT" "$CONF" /usr/share/man/man8/logshipd.8.gz \
    /usr/share/man/man5/logshipd.yaml.5.gz /usr/share/doc/logshipd/README.gz \
    /usr/share/doc/logshipd/changelog.gz /usr/share/doc/logshipd/copyright; do
	[ -f "$f" ] || fail "not installed: $f"
done
grep -qx "ConditionPathExists=$KEY" "$UNIT" ||
    fail "$UNIT does not wait for $KEY"
# Unconfigured (no key), the shipped configuration does not pass: the
# reason the unit is not started until the key is there.
_rc=0
$LOGSHIPD -n -c "$CONF" >"$T/n0.out" 2>&1 || _rc=$?
assert_eq "$_rc" 78 "logshipd -n without the key file"

# With a running systemd, the unconfigured unit was started and skipped.
if [ -d /run/systemd/system ]; then
	assert_eq "$(systemctl show -p ConditionResult --value logshipd)" no \
	    "the unit's condition at install (no key)"
	systemctl is-failed --quiet logshipd && fail "the unconfigured unit failed"
	log "systemd: enabled, and skipped without the key"
fi

# 2. Configure it as the README says: the key; the shipped configuration
# then passes logshipd -n (for root and for logshipd). Then the edit of
# the conffile: a configuration that ships a file only adm may read to the
# bundled intake.
printf '%s\n' "$DD_API_KEY" | install -m 0640 -o root -g logshipd /dev/stdin "$KEY"
$LOGSHIPD -n -c "$CONF" >"$T/n1.out" 2>&1 || {
	cat "$T/n1.out" >&2
	fail "logshipd -n on the shipped configuration"
}
setpriv --reuid=logshipd --regid=logshipd --init-groups \
    $LOGSHIPD -n -c "$CONF" >"$T/n2.out" 2>&1 || {
	cat "$T/n2.out" >&2
	fail "logshipd -n on the shipped configuration, as logshipd"
}
start_intake --api-key "$DD_API_KEY"
METRICS_PORT=$(free_port)
mkdir -m 0750 "$TESTLOGS"
chgrp adm "$TESTLOGS"
N=500
gen_lines "$TESTLOGS/app.log" $N before
chgrp adm "$TESTLOGS/app.log"
chmod 0640 "$TESTLOGS/app.log"
cat >"$CONF" <<YAML
# edited by dpkg_sequence.sh
shutdown_timeout: 10s
metrics: { listen: "127.0.0.1:$METRICS_PORT" }
sources:
  - name: pkgcheck
    paths: ["$TESTLOGS/*.log"]
destinations:
  - name: dd
    type: datadog
    url: $INTAKE_URL/api/v2/logs
    api_key_file: $KEY
    batch: { max_entries: 100, max_wait: 200ms }
routes:
  - severity: all
    to: [dd]
YAML
cp "$CONF" "$T/conf.edited"

# mainpid: the unit's main pid (0: not running).
mainpid() {
	systemctl show -p MainPID --value logshipd
}
if [ -d /run/systemd/system ]; then
	log "systemctl enable --now logshipd (the previous build)"
	systemctl enable --now logshipd || {
		systemctl status logshipd >&2 || true
		fail "systemctl enable --now logshipd"
	}
	wait_count /api/v2/logs $N 60
	PID0=$(mainpid)
	[ "$PID0" -gt 0 ] || fail "logshipd is not running after systemctl start"
fi

# 3. Upgrade to this build: the edited conffile stays, without a question
# (dpkg_run has no terminal), and nothing is put beside it. A running
# logshipd is restarted, once, after the new files are in place.
# shellcheck disable=SC2086
dpkg_run -i $NEW_DEBS
status_is "install ok installed"
assert_eq "$(dpkg-query -W -f='${Version}' logshipd)" "$NEW_VERSION" "installed version"
assert_eq "$($LOGSHIPD -V)" "logshipd $VERSION" "logshipd -V (configure.ac's AC_INIT)"
cmp -s "$CONF" "$T/conf.edited" || fail "the upgrade changed the edited $CONF"
if ls /etc/logshipd/*.dpkg-* 2>/dev/null; then
	fail "the upgrade left files beside the conffile"
fi
[ -f "$KEY" ] || fail "the upgrade lost $KEY"
assert_eq "$(stat -c '%U:%G %a' "$STATE")" "logshipd:logshipd 700" "$STATE after the upgrade"
if [ -d /run/systemd/system ]; then
	systemctl is-active --quiet logshipd || fail "logshipd is not running after the upgrade"
	PID1=$(mainpid)
	[ "$PID1" -gt 0 ] && [ "$PID1" != "$PID0" ] ||
	    fail "the upgrade did not restart logshipd (pid $PID0, then $PID1)"
	log "systemd: the upgrade restarted logshipd (pid $PID0, then $PID1)"
else
	# No systemd to show it: what the maintainer scripts say.
	grep -q '_dh_action=restart' /var/lib/dpkg/info/logshipd.postinst ||
	    fail "the postinst does not restart logshipd on upgrade"
	prerm=/var/lib/dpkg/info/logshipd.prerm
	if grep -q 'deb-systemd-invoke stop' "$prerm" &&
	    ! grep -qF '[ "$1" = remove ]' "$prerm"; then
		fail "the prerm stops logshipd on upgrade too"
	fi
fi

# 4. The installed unit verifies clean (its man pages open, with man).
if command -v systemd-analyze >/dev/null 2>&1; then
	_rc=0
	_man=
	command -v man >/dev/null 2>&1 || {
		_man=--man=no
		log "no man(1): systemd-analyze verify --man=no"
	}
	SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER='' systemd-analyze verify $_man "$UNIT" \
	    >"$T/verify.out" 2>&1 || _rc=$?
	if [ "$_rc" -ne 0 ] || grep -q logshipd "$T/verify.out"; then
		cat "$T/verify.out" >&2
		fail "systemd-analyze verify $UNIT"
	fi
	log "systemd-analyze verify: clean"
else
	log "no systemd-analyze: unit not verified"
fi

# 5. The daemon of this build, run as the unit runs it, ships the lines
# written after the upgrade too: every line exactly once. With a running
# systemd, the unit restarted by the upgrade; otherwise the unit's
# ExecStartPre= and ExecStart= lines, run as its User= with its groups
# (setpriv --init-groups: logshipd and adm) and UMask=.
gen_lines "$TESTLOGS/app.log" $N after
if [ -d /run/systemd/system ]; then
	wait_count /api/v2/logs $((2 * N)) 60
	$LOGSHIPD status >"$T/status.out" 2>&1 || {
		cat "$T/status.out" >&2
		fail "logshipd status"
	}
	systemctl stop logshipd
	systemctl is-failed --quiet logshipd && fail "logshipd failed"
else
	pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
	start=$(sed -n 's/^ExecStart=//p' "$UNIT")
	user=$(sed -n 's/^User=//p' "$UNIT")
	umask_=$(sed -n 's/^UMask=//p' "$UNIT")
	[ -n "$pre" ] && [ -n "$start" ] && [ -n "$user" ] || fail "cannot read $UNIT"
	log "no systemd running: as $user (umask $umask_): $pre; $start"
	# shellcheck disable=SC2086
	(umask "$umask_" && setpriv --reuid="$user" --regid="$user" --init-groups \
	    $pre) >"$T/pre.out" 2>&1 || {
		cat "$T/pre.out" >&2
		fail "ExecStartPre: $pre"
	}
	# shellcheck disable=SC2086
	(umask "$umask_" && exec setpriv --reuid="$user" --regid="$user" \
	    --init-groups $start) >>"$T/logshipd.log" 2>&1 &
	LS_PID=$!
	wait_count /api/v2/logs $((2 * N)) 60
	$LOGSHIPD status >"$T/status.out" 2>&1 || {
		cat "$T/status.out" >&2
		fail "logshipd status"
	}
	stop_logshipd TERM 30
	assert_eq "$LS_STATUS" 0 "logshipd exit status"
fi
assert_eq "$(intake count --path /api/v2/logs)" $((2 * N)) "entries at the intake"
intake messages --path /api/v2/logs | sort -u | wc -l | tr -d ' ' >"$T/uniq"
assert_eq "$(cat "$T/uniq")" $((2 * N)) "distinct messages at the intake"
stop_intake
log "shipped $((2 * N)) lines as the unit runs it, status: $(head -n 1 "$T/status.out")"
[ -f "$STATE/checkpoint.json" ] || fail "no checkpoint in $STATE"
assert_eq "$(stat -c %U "$STATE/checkpoint.json")" logshipd "owner of the checkpoint"

# 6. Remove: the configuration (edited), the key and the state stay.
dpkg_run -r logshipd logshipd-dbgsym
status_is "deinstall ok config-files"
[ ! -e "$LOGSHIPD" ] || fail "remove left $LOGSHIPD"
[ ! -e "$UNIT" ] || fail "remove left $UNIT"
cmp -s "$CONF" "$T/conf.edited" || fail "remove did not keep the edited $CONF"
[ -f "$KEY" ] || fail "remove did not keep $KEY"
[ -f "$STATE/checkpoint.json" ] || fail "remove did not keep $STATE/checkpoint.json"

# 7. Purge: all of it goes, and the file list is the one from before.
dpkg_run -P logshipd logshipd-dbgsym
INSTALLED=
case $(dpkg-query -W -f='${Status}' logshipd 2>/dev/null || true) in
*installed | *config-files) fail "logshipd is still known to dpkg after the purge" ;;
esac
for p in /etc/logshipd "$STATE" "$WANTS"; do
	[ ! -e "$p" ] && [ ! -L "$p" ] || fail "purge left $p"
done
rm -rf "$TESTLOGS"
snapshot "$T/after"
if ! diff -u "$T/before" "$T/after" >"$T/snapshot.diff"; then
	cat "$T/snapshot.diff" >&2
	fail "the files after the purge are not those from before the install"
fi
log "ok: install $PREV_VERSION, upgrade to $NEW_VERSION, run, remove, purge: nothing left ($(wc -l <"$T/before") paths compared)"
