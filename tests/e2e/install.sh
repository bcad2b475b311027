#!/bin/sh
# "make install DESTDIR=..." from the build tree puts the binary, the
# configuration, the systemd unit (with the configured paths) and both man
# pages where the configured directories say; "make uninstall" removes
# every file again. Runs under "make distcheck" too (VPATH build, read-only
# source tree): only the build tree and $T are written.
. "$(dirname "$0")/lib.sh"
need_logshipd

: "${LS_BUILDDIR:=$(dirname "$LOGSHIPD")}"
[ -f "$LS_BUILDDIR/Makefile" ] || fail "no Makefile in $LS_BUILDDIR"
ROOT=$T/root

# bmake ARGS: make in the build tree, as a fresh top-level make: the
# MAKEFLAGS of the "make check" around us (jobserver, -k, variables given on
# its command line) are not ours to inherit.
bmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$LS_BUILDDIR" "$@"
}

# The installation directories, as make expands them.
printf '%s\n' 'ls-print-dirs:' \
    '	@echo "sbindir=$(sbindir)"' \
    '	@echo "sysconfdir=$(sysconfdir)"' \
    '	@echo "mandir=$(mandir)"' \
    '	@echo "unitdir=$(systemdunitdir)"' >"$T/dirs.mk"
bmake -s -f Makefile -f "$T/dirs.mk" ls-print-dirs >"$T/dirs" ||
    fail "cannot ask make for the installation directories"
dir() {
	sed -n "s/^$1=//p" "$T/dirs"
}
SBINDIR=$(dir sbindir)
SYSCONFDIR=$(dir sysconfdir)
MANDIR=$(dir mandir)
UNITDIR=$(dir unitdir)
for d in "$SBINDIR" "$SYSCONFDIR" "$MANDIR" "$UNITDIR"; do
	case $d in
	/*) ;;
	*) fail "not an absolute directory: '$d' in $(cat "$T/dirs")" ;;
	esac
done

bmake install DESTDIR="$ROOT" >"$T/install.log" 2>&1 || {
	cat "$T/install.log" >&2
	fail "make install failed"
}

# has FILE: FILE was installed (under $ROOT).
has() {
	[ -f "$ROOT$1" ] || fail "not installed: $1 (installed: $(cd "$ROOT" &&
	    find . -type f | tr '\n' ' '))"
}
has "$SBINDIR/logshipd"
[ -x "$ROOT$SBINDIR/logshipd" ] || fail "$SBINDIR/logshipd is not executable"
has "$SYSCONFDIR/logshipd/logshipd.yaml"
has "$UNITDIR/logshipd.service"
has "$MANDIR/man8/logshipd.8"
has "$MANDIR/man5/logshipd.yaml.5"

# The binary runs, and the unit names the installed binary and config.
"$ROOT$SBINDIR/logshipd" -V >"$T/version" 2>&1 ||
    fail "the installed logshipd -V failed: $(cat "$T/version")"
grep -q '^logshipd [0-9]' "$T/version" || fail "-V printed: $(cat "$T/version")"
grep -qxF "ExecStart=$SBINDIR/logshipd -c $SYSCONFDIR/logshipd/logshipd.yaml" \
    "$ROOT$UNITDIR/logshipd.service" ||
    fail "the unit does not start $SBINDIR/logshipd with its config"
cmp -s "$TOP_SRCDIR/etc/logshipd.yaml" "$ROOT$SYSCONFDIR/logshipd/logshipd.yaml" ||
    fail "the installed logshipd.yaml differs from etc/logshipd.yaml"

bmake uninstall DESTDIR="$ROOT" >"$T/uninstall.log" 2>&1 || {
	cat "$T/uninstall.log" >&2
	fail "make uninstall failed"
}
left=$(cd "$ROOT" && find . ! -type d)
[ -z "$left" ] || fail "left after make uninstall: $left"
log "ok ($SBINDIR, $SYSCONFDIR, $UNITDIR, $MANDIR)"
