#!/bin/sh
# Builds the Debian package and checks it, the "package" leg of
# scripts/test.sh (and so of CI):
#   1. scripts/package.sh builds this tree (build-package/new) and the
#      "previous build" to upgrade from (build-package/prev): this tree
#      again as version <version>~prev1, unless LS_PKG_PREV names a
#      directory holding the .deb files of a real earlier build.
#   2. lintian: no error and no warning (overrides in debian/ say why).
#   3. piuparts, in a Debian chroot that debootstrap makes from the
#      machine's own Debian mirror (minbase plus systemd, as on every
#      Debian 12 machine that runs the unit): install and purge, then
#      install the previous build with apt, upgrade to this one, purge;
#      nothing may be left behind.
#   4. and 5. tests/pkg/dpkg_sequence.sh, with dpkg: install the
#      previous build, configure, upgrade (the edited conffile stays), run
#      the daemon as the unit does against the bundled intake, remove
#      (configuration and state stay), purge (the file list is as before).
#      It runs twice: in the piuparts chroot booted with systemd-nspawn,
#      where systemd runs (the unit is skipped without the key, started by
#      systemctl enable --now, restarted by the upgrade), then on this
#      machine, with or without a running systemd.
# Runs as root on Debian 12. Prints PASS:/FAIL: per check and
# "N passed, N failed"; the counts also go to
# build-package/test-suite.log.summary for scripts/test.sh.
#   LS_SKIP_DEPS=1      do not apt-get install anything
#   LS_PKG_PREV=DIR     the previous build's .deb files (default: built)
#   LS_PKG_PIUPARTS=0   skip piuparts (the dpkg sequence still runs)
#   LS_PKG_HOST=0       skip the dpkg sequence on this machine
#   LS_PKG_SYSTEMD=0    skip the dpkg sequence in a systemd container
#   LS_PKG_MIRROR=URL   the Debian mirror for debootstrap and piuparts
#                       (default: the first one apt is configured with)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build-package
passed=0
failed=0
t_start=$(date +%s)

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -z "${LS_SKIP_DEPS:-}" ]; then
	$SUDO apt-get update >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y \
	    --no-install-recommends lintian piuparts debootstrap systemd \
	    systemd-container python3 >/dev/null
fi

since() {
	echo "$(($(date +%s) - $1))s"
}

# result NAME STATUS SECONDS: counts a check.
result() {
	if [ "$2" -eq 0 ]; then
		echo "PASS: package/$1 ($3)"
		passed=$((passed + 1))
	else
		echo "FAIL: package/$1 ($3)"
		failed=$((failed + 1))
	fi
	echo "$( [ "$2" -eq 0 ] && echo PASS || echo FAIL): package/$1" >>"$out/results"
}

finish() {
	{
		cat "$out/results" 2>/dev/null
		echo "# PASS: $passed"
		echo "# FAIL: $failed"
	} >"$out/test-suite.log.summary"
	echo "package: $(since "$t_start") in all"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

rm -rf "$out/new" "$out/prev" "$out/repo" "$out/results"
mkdir -p "$out/new" "$out/prev"
version=$(sed -n 's/^AC_INIT(\[logshipd\], *\[\([^]]*\)\].*/\1/p' configure.ac)

# 1. Build.
t=$(date +%s)
echo "=== package: build $version"
st=0
LS_PKG_OUT=$out/new scripts/package.sh || st=$?
if [ $st -eq 0 ]; then
	if [ -n "${LS_PKG_PREV:-}" ]; then
		cp "$LS_PKG_PREV"/logshipd_*.deb "$LS_PKG_PREV"/logshipd-dbgsym_*.deb \
		    "$out/prev/" || st=$?
	else
		echo "=== package: build the previous build, $version~prev1"
		LS_SKIP_DEPS=1 LS_PKG_VERSION="$version~prev1" \
		    LS_PKG_OUT=$out/prev scripts/package.sh || st=$?
	fi
fi
result build $st "$(since "$t")"
[ $st -eq 0 ] || { finish; exit 1; }
new_debs=$(ls "$out"/new/logshipd_*.deb "$out"/new/logshipd-dbgsym_*.deb)

# 2. lintian.
t=$(date +%s)
echo "=== package: lintian"
st=0
# shellcheck disable=SC2086
lintian -I --fail-on error,warning $new_debs "$out"/new/logshipd_*.changes ||
    st=$?
result lintian $st "$(since "$t")"

# 3. piuparts.
mirror() {
	if [ -n "${LS_PKG_MIRROR:-}" ]; then
		echo "$LS_PKG_MIRROR"
		return
	fi
	# The first Debian mirror apt uses (deb822 or one-line sources).
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
	    /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		case $f in
		*.sources)
			awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
			;;
		*)
			awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:/) { if ($i !~ /security/) { print $i; exit } else break } }' "$f"
			;;
		esac
	done | head -n 1
}
if [ "${LS_PKG_PIUPARTS:-1}" = 0 ]; then
	echo "=== package: piuparts skipped (LS_PKG_PIUPARTS=0)"
elif [ "$(id -u)" -ne 0 ] || ! command -v piuparts >/dev/null ||
    ! command -v debootstrap >/dev/null; then
	echo "=== package: piuparts skipped: needs root, piuparts and debootstrap"
else
	t=$(date +%s)
	suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	url=$(mirror)
	echo "=== package: piuparts ($suite from the configured mirror)"
	st=0
	# The chroot: minbase and systemd (which the package's sysusers.d and
	# tmpfiles.d need, and every Debian 12 machine running the unit has).
	# Kept in build-package/chroot for a day to spare reruns the download.
	chroot=$out/chroot
	if [ ! -f "$chroot.ok" ] || [ -n "$(find "$chroot.ok" -mmin +1440)" ]; then
		rm -rf "$chroot" "$chroot.ok"
		debootstrap --variant=minbase --include=systemd "$suite" \
		    "$chroot" "$url" >"$out/debootstrap.log" 2>&1 || st=$?
		if [ $st -ne 0 ]; then
			tail -n 30 "$out/debootstrap.log"
			echo "debootstrap failed: see $out/debootstrap.log"
		else
			touch "$chroot.ok"
			echo "debootstrap: $(since "$t")"
		fi
	fi
	if [ $st -eq 0 ]; then
		# The previous build as an apt repository the chroot sees, so that
		# piuparts' upgrade test installs it first with apt.
		mkdir -p "$out/repo"
		cp "$out"/prev/*.deb "$out/repo/"
		(cd "$out/repo" && dpkg-scanpackages . /dev/null >Packages 2>/dev/null)
		# shellcheck disable=SC2086
		piuparts -d "$suite" -m "$url" -e "$chroot" \
		    --bindmount "$out/repo" \
		    --extra-repo "deb [trusted=yes] file://$out/repo ./" \
		    $new_debs >"$out/piuparts.log" 2>&1 || st=$?
		grep -E '(INFO|ERROR|WARN): (PASS|FAIL|piuparts run)' "$out/piuparts.log" | cut -c1-160 || true
		if [ $st -ne 0 ]; then
			grep -A 15 'ERROR: ' "$out/piuparts.log" | head -n 60
			echo "piuparts failed: see $out/piuparts.log"
		elif ! grep -q 'PASS: Installation, upgrade and purging tests' \
		    "$out/piuparts.log"; then
			echo "piuparts did not run the upgrade from $(ls "$out"/prev/logshipd_*.deb)"
			st=1
		fi
	fi
	result piuparts $st "$(since "$t")"
fi

# 4. The same dpkg sequence (5. below), in a container that boots systemd (the
# piuparts chroot, copied, under systemd-nspawn): systemctl starts the
# unit, the upgrade restarts it. Skipped where no container boots.
if [ "${LS_PKG_SYSTEMD:-1}" = 0 ]; then
	echo "=== package: systemd container skipped (LS_PKG_SYSTEMD=0)"
elif ! command -v systemd-nspawn >/dev/null || [ ! -f "$out/chroot.ok" ]; then
	echo "=== package: systemd container skipped: needs systemd-nspawn (systemd-container) and the piuparts chroot"
else
	t=$(date +%s)
	echo "=== package: dpkg sequence in a container running systemd"
	ns=$out/nspawn
	rm -rf "$ns" "$out/nspawn-out"
	cp -a "$out/chroot" "$ns"
	mkdir -p "$ns/pkgtest/src" "$ns/pkgtest/debs/prev" "$ns/pkgtest/debs/new" \
	    "$ns/pkgtest/out" "$out/nspawn-out"
	echo "$version" >"$out/nspawn-out/version"
	cat >"$ns/etc/systemd/system/pkgtest.service" <<'UNIT'
[Unit]
Description=logshipd package test (tests/pkg/container_run.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /pkgtest/src/tests/pkg/container_run.sh
TimeoutStartSec=240
# Powers off however it ended (container_run.sh does too, when it ends).
ExecStopPost=/bin/systemctl poweroff --no-block
[Install]
WantedBy=multi-user.target
UNIT
	mkdir -p "$ns/etc/systemd/system/multi-user.target.wants"
	ln -s /etc/systemd/system/pkgtest.service \
	    "$ns/etc/systemd/system/multi-user.target.wants/pkgtest.service"
	st=0
	timeout 300 systemd-nspawn -D "$ns" --register=no --keep-unit \
	    --bind-ro="$top:/pkgtest/src" --bind-ro="$out/prev:/pkgtest/debs/prev" \
	    --bind-ro="$out/new:/pkgtest/debs/new" \
	    --bind="$out/nspawn-out:/pkgtest/out" -b \
	    </dev/null >"$out/nspawn.log" 2>&1 || st=$?
	if [ -f "$out/nspawn-out/rc" ]; then
		st=$(cat "$out/nspawn-out/rc")
		grep -E '^(dpkg_sequence|FAIL)' "$out/nspawn-out/log" || true
		[ "$st" -eq 0 ] || tail -n 60 "$out/nspawn-out/log"
		result systemd-container "$st" "$(since "$t")"
	elif [ ! -s "$out/nspawn-out/log" ]; then
		tail -n 20 "$out/nspawn.log"
		echo "=== package: systemd container skipped: it did not boot (systemd-nspawn exited $st; see $out/nspawn.log)"
	else
		tail -n 60 "$out/nspawn-out/log"
		result systemd-container 1 "$(since "$t")"
	fi
	rm -rf "$ns"
fi

# 5. The dpkg sequence on this machine.
if [ "${LS_PKG_HOST:-1}" = 0 ]; then
	echo "=== package: dpkg sequence skipped (LS_PKG_HOST=0)"
else
	t=$(date +%s)
	echo "=== package: dpkg sequence on this machine"
	st=0
	TMPDIR=$out tests/pkg/dpkg_sequence.sh "$out/prev" "$out/new" "$version" || st=$?
	result dpkg-sequence $st "$(since "$t")"
fi
finish
