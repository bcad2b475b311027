#!/bin/sh
# The generated systemd unit passes "systemd-analyze verify" with nothing
# to say about it: no error, and no warning either, since systemd only
# warns about a misspelt key or a bad value and then ignores the line,
# which would silently drop a hardening setting. A copy broken on purpose
# must be caught the same way, so the check is known to bite. Skipped (77)
# without systemd-analyze. Works without a running systemd (containers).
. "$(dirname "$0")/lib.sh"
need_logshipd

command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: $TEST_NAME: no systemd-analyze" >&2
	exit 77
}
: "${LS_BUILDDIR:=$(dirname "$LOGSHIPD")}"
UNIT=$LS_BUILDDIR/systemd/logshipd.service
[ -f "$UNIT" ] || fail "no generated unit at $UNIT (make all builds it)"

# Every @dir@ was substituted, and the settings the daemon relies on are
# there.
if grep -n '@[a-z_]*@' "$UNIT"; then
	fail "unsubstituted @dir@ in $UNIT"
fi
for want in Type=notify NotifyAccess=main WatchdogSec=30s \
    'ExecReload=/bin/kill -HUP $MAINPID' StateDirectory=logshipd \
    User=logshipd SupplementaryGroups=adm ProtectSystem=strict \
    CapabilityBoundingSet= SystemCallFilter=@system-service; do
	grep -qxF "$want" "$UNIT" || fail "$UNIT lacks '$want'"
done
# The drain must fit in the stop timeout: TimeoutStopSec (seconds) above
# the default shutdown_timeout of the example configuration.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s*$/\1/p' "$UNIT")
drain=$(sed -n 's/^shutdown_timeout: *\([0-9]*\)s$/\1/p' \
    "$TOP_SRCDIR/etc/logshipd.yaml")
[ -n "$stop" ] && [ -n "$drain" ] && [ "$stop" -gt "$drain" ] ||
    fail "TimeoutStopSec='$stop' is not above shutdown_timeout='$drain'"

# verify checks that the ExecStart binaries exist and that the man pages
# of Documentation= open. The unit names the installed binary, which is
# not there before "make install": a copy in $T names the built one
# instead. The pages come from the source tree, laid out as man(1) wants.
mkdir -p "$T/unit" "$T/man/man5" "$T/man/man8" "$T/bad"
cp "$TOP_SRCDIR/man/logshipd.8" "$T/man/man8/"
cp "$TOP_SRCDIR/man/logshipd.yaml.5" "$T/man/man5/"
sbin=$(sed -n 's|^ExecStart=\(.*\)/logshipd .*|\1|p' "$UNIT")
[ -n "$sbin" ] || fail "no ExecStart=.../logshipd in $UNIT"
sed "s|$sbin/logshipd|$LOGSHIPD|g" "$UNIT" >"$T/unit/logshipd.service"

# verify_unit FILE: verify exits 0 and says nothing about logshipd.
verify_unit() {
	_rc=0
	MANPATH=$T/man SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER= \
	    systemd-analyze verify "$1" >"$T/verify.out" 2>&1 || _rc=$?
	[ "$_rc" -eq 0 ] && ! grep -q logshipd "$T/verify.out"
}

verify_unit "$T/unit/logshipd.service" || {
	cat "$T/verify.out" >&2
	fail "systemd-analyze verify: $(cat "$T/verify.out")"
}

# The check bites: a misspelt hardening key, a bad value, a missing binary.
for mut in 's/^NoNewPrivileges=/NoNewPrivilege=/' \
    's/^WatchdogSec=.*/WatchdogSec=thirty/' \
    "s|^ExecStart=$LOGSHIPD|ExecStart=$T/nonexistent|"; do
	sed "$mut" "$T/unit/logshipd.service" >"$T/bad/logshipd.service"
	! cmp -s "$T/unit/logshipd.service" "$T/bad/logshipd.service" ||
	    fail "mutation '$mut' changed nothing"
	if verify_unit "$T/bad/logshipd.service"; then
		fail "a broken unit passed ($mut)"
	fi
done
log "ok"
