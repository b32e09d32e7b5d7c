#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-shell.sh [--kernel stock|debug] [--disk SIZE]... [--mem SIZE]
#
# Boot the test VM (same initramfs as the selftests) with a shell on this
# terminal, for debugging.  Disks: vdisk0..3 = 2G, 2G, 512M, 512M unless
# --disk is given (find them with `. /vdisk/selftests/lib.sh; vm_disk 0`).
# `exit` (or Ctrl-D) powers the VM off; Ctrl-A X kills qemu.  `make vm-shell`
# runs this.
set -uo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock mem=2G
disks=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--disk) disks+=(--disk "$2"); shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	-h|--help) sed -n '3,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
[ ${#disks[@]} -gt 0 ] || disks=(--disk 2G --disk 2G --disk 512M --disk 512M)
vm_kernel_setup "$kernel"
"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" >&2 || exit 2
echo "vm-shell: booting the $kernel kernel ($VM_KREL); Ctrl-A X kills qemu" >&2
exec "$VM_TOP/scripts/vm/run-vm.sh" --kernel "$kernel" --name shell --run shell \
	--mem "$mem" "${disks[@]}" --interactive
