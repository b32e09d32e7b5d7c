#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug kernel from a machine-wide cache: build-debug-kernel.sh's outputs
# live in $VDISK_KERNEL_CACHE/<key>/kernel-debug (default cache:
# /var/cache/dm-vdisk/kernel-debug), and $BUILD/kernel-debug is a symlink to
# them.  <key> is the sha256 of what the build depends on: the source
# package version and tarball, debug.config and build-debug-kernel.sh (the
# same inputs as its own config.hash, which it checks again with the
# outputs).  So a fresh clone on a machine that built this kernel once,
# CI's included, never builds it again; a changed fragment or source builds
# a new entry beside the old one.  Entries are ~1.5 GB: remove old ones by
# hand.  A build directory of the old layout (a real $BUILD/kernel-debug
# with the same key) is moved into the cache instead of being rebuilt.
# Arguments go to build-debug-kernel.sh.  If the cache cannot be created
# (not root), $BUILD/kernel-debug is used as before.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
SRC_TARBALL=${SRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
CACHE=${VDISK_KERNEL_CACHE:-/var/cache/dm-vdisk/kernel-debug}
link=$BUILD/kernel-debug

# The same key as build-debug-kernel.sh's config.hash.
[ -f "$SRC_TARBALL" ] || exec "$HERE/build-debug-kernel.sh" "$@"	# it names the package
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo none)
src_version="linux-source-6.1 $pkgver $(stat -c '%s %Y' "$SRC_TARBALL")"
key=$( { echo "$src_version"; cat "$HERE/debug.config" "$HERE/build-debug-kernel.sh"; } |
	sha256sum | cut -d' ' -f1)
entry=$CACHE/$key

mkdir -p "$BUILD"
if ! mkdir -p "$entry" 2>/dev/null || [ ! -w "$entry" ]; then
	echo "debug-kernel: cannot use the cache $CACHE: building in $link"
	[ -L "$link" ] && rm -f "$link"
	exec "$HERE/build-debug-kernel.sh" "$@"
fi
# One setup at a time (the build itself locks its own directory).
exec 8>"$entry/.setup.lock"
flock 8
if [ -d "$link" ] && [ ! -L "$link" ]; then
	if [ ! -e "$entry/kernel-debug" ] &&
	   [ "$(cat "$link/config.hash" 2>/dev/null)" = "$key" ]; then
		echo "debug-kernel: moving the build in $link into the cache $entry"
		mv "$link" "$entry/kernel-debug"
	else
		echo "debug-kernel: removing the stale build directory $link"
		rm -rf "$link"
	fi
fi
ln -sfn "$entry/kernel-debug" "$link"
flock -u 8
BUILD=$entry exec "$HERE/build-debug-kernel.sh" "$@"
