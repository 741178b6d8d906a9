#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# tests/devenv_path_test.sh SOURCE_ROOT
#
# tools/devenv works from a checkout at any path (issue 21): a copy of
# tools/devenv in a throwaway "checkout" under /tmp runs a command in the
# Debian 13 root, from that checkout's folder, and sees its files (the
# root's tmpfs on /tmp once hid them: "cd: can't cd to /tmp/...").  A
# checkout under /dev is refused with a message.  Takes about a second.
#
# Runs wherever tools/devenv can chroot: on the host, or inside the root
# itself (where meson tests run: devenv then runs nested), as root, when the
# root exists (FGSD_DEVENV_DIR, else SOURCE_ROOT/.cache/devenv) and is up to
# date with the script's package list (so this never installs anything).
# Exits 77 (skip) otherwise, saying why.
set -euo pipefail

SRC=$(cd "${1:?usage: devenv_path_test.sh SOURCE_ROOT}" && pwd -P)
DEVENV=$SRC/tools/devenv
DIR=${FGSD_DEVENV_DIR:-$SRC/.cache/devenv}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root (devenv's root needs chroot and mount)"
for c in unshare chroot mount mountpoint flock; do
    command -v "$c" >/dev/null || skip "no $c"
done
[ -d "$DIR/trixie" ] || skip "no devenv root in $DIR/trixie"
want=$(bash -c 'eval "$(sed -n "/^PACKAGES=(/,/^)/p" "$1")"; printf "%s\n" "${PACKAGES[@]}" | sort' \
    _ "$DEVENV")
[ "$(cat "$DIR/trixie/.fgsd-packages" 2>/dev/null)" = "$want" ] ||
    skip "the root in $DIR/trixie is not up to date with tools/devenv's packages"

tmp=$(mktemp -d /tmp/fgsd-devenv-path.XXXXXX)
shm=
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT
tmp=$(cd "$tmp" && pwd -P)

# A checkout under /tmp.
mkdir -p "$tmp/checkout/tools"
cp "$DEVENV" "$tmp/checkout/tools/devenv"
echo marker >"$tmp/checkout/marker.txt"
out=$(FGSD_DEVENV=root FGSD_DEVENV_DIR="$DIR" timeout 60 \
    "$tmp/checkout/tools/devenv" sh -c 'pwd; cat marker.txt' 2>&1) ||
    fail "devenv from $tmp/checkout exited $?: $out"
[ "$out" = "$tmp/checkout"$'\n'"marker" ] ||
    fail "devenv from $tmp/checkout printed '$out', wanted its path and 'marker'"
echo "ok 1 - a checkout under /tmp: $tmp/checkout"

# A checkout under /dev is refused, clearly.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    shm=$(mktemp -d /dev/shm/fgsd-devenv-path.XXXXXX)
    mkdir -p "$shm/tools"
    cp "$DEVENV" "$shm/tools/devenv"
    if out=$(FGSD_DEVENV=root FGSD_DEVENV_DIR="$DIR" timeout 60 "$shm/tools/devenv" true 2>&1); then
        fail "devenv from $shm succeeded"
    fi
    case "$out" in
        *"cannot run in the Debian 13 root from $shm"*) ;;
        *) fail "devenv from $shm: unclear refusal: $out" ;;
    esac
    echo "ok 2 - a checkout under /dev is refused: $out"
else
    echo "ok 2 # SKIP no writable /dev/shm"
fi
