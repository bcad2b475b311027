#!/bin/sh
# Installs, from Debian's packages, everything logshipd needs to build, run
# its demo and pass its tests. Runs as root, or through sudo.
set -eu
PKGS="build-essential autoconf automake autoconf-archive pkg-config
clang libclang-rt-dev
libcurl4-openssl-dev libjansson-dev libev-dev libyaml-dev zlib1g-dev check
python3 procps curl logrotate mandoc clang-format libsystemd-dev systemd
systemd-journal-remote
openssl
libmicrohttpd-dev python3-prometheus-client
libdeflate-dev libzstd-dev python3-zstandard
libpcre2-dev
debhelper dpkg-dev fakeroot lintian piuparts debootstrap systemd-container"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $PKGS
