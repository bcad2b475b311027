#!/bin/sh
# Run inside the systemd-nspawn container that scripts/package-check.sh
# boots (by a oneshot unit, once systemd is up): installs what
# dpkg_sequence.sh and the package need from the mirror, runs
# dpkg_sequence.sh with a running systemd, writes its exit status to
# /pkgtest/out/rc, and powers the container off.
#   /pkgtest/src   the source tree (read-only)
#   /pkgtest/debs  prev/ and new/, the .deb files
#   /pkgtest/out   rc and log
exec >/pkgtest/out/log 2>&1
set -x
rc=0
export DEBIAN_FRONTEND=noninteractive
version=$(cat /pkgtest/out/version)
# The package's dependencies, by installing it (unconfigured: its unit is
# skipped), then python3 and procps for the fake intake and lib.sh, and
# man-db, which systemd-analyze verify runs for the unit's Documentation=
# (a standard Debian 12 installation has it; minbase does not).
# dpkg_sequence.sh purges it again before its first snapshot.
apt-get update -q || rc=$?
[ $rc -ne 0 ] || apt-get install -y -q --no-install-recommends python3 procps man-db \
    /pkgtest/debs/new/logshipd_*.deb || rc=$?
if [ $rc -eq 0 ]; then
	set +x
	TMPDIR=/tmp sh /pkgtest/src/tests/pkg/dpkg_sequence.sh \
	    /pkgtest/debs/prev /pkgtest/debs/new "$version" || rc=$?
fi
echo "$rc" >/pkgtest/out/rc
systemctl poweroff --no-block
