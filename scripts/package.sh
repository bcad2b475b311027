#!/bin/sh
# Builds the Debian package: logshipd_<version>_<arch>.deb and its
# logshipd-dbgsym_<version>_<arch>.deb, left in the current directory (or
# in LS_PKG_OUT). Installs the build dependencies that debian/control
# names with apt-get first, then runs "dpkg-buildpackage -us -uc -b" on a
# copy of the source tree (the files git knows, edited or not), so the
# tree itself stays unconfigured for the VPATH builds of scripts/test.sh.
# Runs as root, or through sudo, on Debian 12.
#   LS_SKIP_DEPS=1        do not apt-get install the build dependencies
#   LS_PKG_OUT=DIR        where the .deb files go (default: .)
#   LS_PKG_VERSION=V      build as version V instead of configure.ac's (both
#                         AC_INIT and debian/changelog of the copy say V):
#                         scripts/package-check.sh makes its "previous
#                         build" this way
#   DEB_BUILD_OPTIONS     as dpkg-buildpackage takes it; default
#                         "nocheck parallel=<cores>": make check is
#                         scripts/test.sh's job (set it to "" to run it here)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${LS_PKG_OUT:-.}" && cd "${LS_PKG_OUT:-.}" && pwd)
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# The build dependencies, by package name, from debian/control: each
# "name" of Build-Depends, without versions, alternatives after the first,
# or those only for the nocheck profile when it is set.
build_deps() {
	sed -n '/^Build-Depends:/,/^[^ ]/{s/^Build-Depends://;/^[A-Z]/d;p;}' \
	    "$top/debian/control" | tr ',' '\n' |
	    sed 's/|.*//;s/^ *//;s/ *$//' | grep -v '^$' |
	    while read -r name rest; do
		case "$rest" in
		*'<!nocheck>'*)
			case " ${DEB_BUILD_OPTIONS-nocheck} " in
			*' nocheck '*) continue ;;
			esac
			;;
		esac
		case $name in
		debhelper-compat) echo debhelper ;;
		*) echo "$name" ;;
		esac
	    done
}

if [ -z "${LS_SKIP_DEPS:-}" ]; then
	# shellcheck disable=SC2046
	$SUDO apt-get update >/dev/null
	# shellcheck disable=SC2046
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y \
	    --no-install-recommends dpkg-dev fakeroot $(build_deps)
fi

version=${LS_PKG_VERSION:-$(sed -n \
    's/^AC_INIT(\[logshipd\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")}
[ -n "$version" ] || { echo "package.sh: no version in configure.ac" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/logshipd-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Reachable by every user, as a tree in /work or /home is: make check's
# security tests run parts of themselves as a user of their own.
chmod 0755 "$work"
src=$work/logshipd-$version
mkdir "$src"
# The tree as git sees it: tracked files and new ones not ignored, without
# builds, generated files or earlier packages. Outside git (a tarball),
# all of it but the build directories.
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -co --exclude-standard -z |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null -T - -cf -) | tar -C "$src" -xf -
else
	(cd "$top" && tar --exclude='./build*' --exclude='./logshipd*.deb' -cf - .) |
	    tar -C "$src" -xf -
fi

if [ -n "${LS_PKG_VERSION:-}" ]; then
	sed -i "s/^AC_INIT(\[logshipd\], *\[[^]]*\]/AC_INIT([logshipd], [$version]/" \
	    "$src/configure.ac"
	{
		printf 'logshipd (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Built by scripts/package.sh as version %s.\n\n' "$version"
		printf ' -- %s  %s\n\n' \
		    "$(sed -n 's/^Maintainer: //p' "$src/debian/control")" \
		    "$(date -R)"
		cat "$src/debian/changelog"
	} >"$work/changelog"
	mv "$work/changelog" "$src/debian/changelog"
fi

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck parallel=$(nproc 2>/dev/null || echo 2)}"
echo "=== dpkg-buildpackage -us -uc -b (logshipd $version, DEB_BUILD_OPTIONS='$DEB_BUILD_OPTIONS')"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 80 "$work/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed" >&2
	exit 1
}
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
cp "$work/build.log" "$out/logshipd_${version}_build.log"
(cd "$out" && ls -1 logshipd*_"$version"_*.deb)
