# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared host-side settings for the VM rig scripts (sourced, not run).
#
# vm_kernel_setup stock|debug sets:
#   VM_KERNEL   stock or debug
#   VM_KREL     kernel release the guest boots (uname -r)
#   VM_KIMAGE   path of the bzImage/vmlinuz qemu boots
#   VM_MODROOT  directory holding lib/modules/$VM_KREL (/ for stock)

VM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_BUILD=${BUILD:-$VM_TOP/build}
VM_DIR=$VM_BUILD/vm

vm_die() {
	echo "${0##*/}: $*" >&2
	exit 2
}

vm_kernel_setup() {
	VM_KERNEL=$1
	case "$VM_KERNEL" in
	stock)
		VM_KREL=$("$VM_TOP/scripts/kver.sh") || vm_die "cannot find the stock kernel release"
		VM_KIMAGE=/boot/vmlinuz-$VM_KREL
		VM_MODROOT=/
		;;
	debug)
		local kd=$VM_BUILD/kernel-debug
		[ -f "$kd/kernelrelease" ] ||
			vm_die "no debug kernel in $kd: run 'make debug-kernel' first"
		VM_KREL=$(cat "$kd/kernelrelease")
		VM_KIMAGE=$kd/bzImage
		VM_MODROOT=$kd/modules
		;;
	*)
		vm_die "--kernel must be stock or debug, not '$VM_KERNEL'"
		;;
	esac
	[ -r "$VM_KIMAGE" ] || vm_die "kernel image $VM_KIMAGE is missing or unreadable" \
		"(stock: 'make deps' installs linux-image-$VM_KREL)"
	[ -d "$VM_MODROOT/lib/modules/$VM_KREL" ] ||
		vm_die "no modules for $VM_KREL under $VM_MODROOT/lib/modules"
}

# vm_test_header FILE KEY: the value of a test's first "# KEY: ..." header
# line (vdisk-timeout, vdisk-disks, vdisk-smp, vdisk-cost), empty if none.
vm_test_header() {
	sed -n "s/^# $2: *//p" "$1" | head -n1
}

# Default initramfs path for a kernel flavour.
vm_initramfs_path() {
	echo "$VM_DIR/initramfs-$1.cpio"
}
