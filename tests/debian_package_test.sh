#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The Debian packages (issue 21): tools/deb-build makes them from the
# committed tree, tools/deb-install-test installs them into a fresh Debian 13
# root and runs the README's Script-Fu synthesis from the installed files,
# then removes them.  Skips (77) without root or without a Debian mirror.
set -euo pipefail
src=$1
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (debootstrap, chroot)"; exit 77; }
command -v dpkg-buildpackage >/dev/null || { echo "1..0 # SKIP dpkg-buildpackage missing"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$src/tools/deb-build" "$out" >&2
FGSD_DEB_SKIP_OFFLINE=1 "$src/tools/deb-install-test" "$out"
