#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install with apt exactly what dm-vdisk needs to build and test, idempotently.
# When everything is already there it only checks and returns (no apt-get
# update).  The VM rig boots the very kernel whose headers build the module:
# linux-headers-amd64 and linux-image-amd64 are installed together and then
# checked to point at the same release.
set -euo pipefail

packages=(
	# Kernel build and the kernel the VM boots (same release).
	linux-headers-amd64 linux-image-amd64 kmod
	# checkpatch.pl, kselftest headers and the debug-kernel lane's source.
	linux-source-6.1 sparse
	# Debug kernel build.
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils zstd
	# VM rig.
	qemu-system-x86 busybox-static iproute2
	# Tools that run inside the VM tests.
	dmsetup fio e2fsprogs thin-provisioning-tools
	# Userspace libraries (vdiskctl) and unit tests / fuzzing.
	libnl-3-dev libnl-genl-3-dev libdevmapper-dev pkg-config clang libclang-rt-14-dev
	# Scripts: JSON checks, charts for benchmarks.
	jq python3 gnuplot-nox
)

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
		"${missing[@]}"
else
	echo "deps: all ${#packages[@]} packages already installed"
fi

# The headers and the image metapackages must name the same kernel release.
rel=$("$(dirname "$0")/kver.sh")
if [ ! -d "/lib/modules/$rel/build" ] || [ ! -f "/boot/vmlinuz-$rel" ] ||
   [ ! -d "/lib/modules/$rel/kernel" ]; then
	echo "deps: kernel $rel is incomplete (need /boot/vmlinuz-$rel, its modules and headers);" \
		"installing linux-image-$rel linux-headers-$rel" >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
		"linux-image-$rel" "linux-headers-$rel"
fi
# The VM reads the kernel image as an ordinary file.
[ -r "/boot/vmlinuz-$rel" ] || $sudo chmod a+r "/boot/vmlinuz-$rel"
echo "deps: kernel $rel (headers, image and modules present)"
