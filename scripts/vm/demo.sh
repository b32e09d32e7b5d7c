#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh [--kernel stock|debug]: boot the test VM and run the dm-vdisk
# walk-through (tests/demo/demo.sh) on its console.  `make demo` runs this.
# Fails if a step fails or the kernel logs a problem.
set -uo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	-h|--help) sed -n '3,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
vm_kernel_setup "$kernel"
"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" >&2 || exit 2
echo "demo: booting the $kernel kernel ($VM_KREL) in qemu; this takes a few seconds..."
# loglevel=5: boot chatter stays quiet, warnings still reach the console.
"$VM_TOP/scripts/vm/run-vm.sh" --kernel "$kernel" --name demo --run demo \
	--append loglevel=5 --disk 256M --disk 4G --timeout 300
rc=$?
case $rc in
0) echo "demo: done (console log: $VM_DIR/demo/console.log)" ;;
*) echo "demo: FAILED (exit $rc; console log: $VM_DIR/demo/console.log)" >&2 ;;
esac
exit "$rc"
