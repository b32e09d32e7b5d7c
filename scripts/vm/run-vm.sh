#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh [options] -- boot one test VM under qemu and judge the run.
#
#   --kernel stock|debug   kernel to boot (default stock)
#   --initramfs FILE       default build/vm/initramfs-<kernel>.cpio (built by
#                          build-initramfs.sh; run-vm.sh does not build it)
#   --run WHAT             vdisk.run= for the guest: selftests, script, demo,
#                          shell, none (default none)
#   --append ARGS          more kernel command line
#   --disk SIZE            add a virtio disk backed by a fresh sparse file
#                          (repeatable; SIZE as for truncate: 1G, 256M)
#   --mem SIZE             guest memory (default 2G)
#   --smp N                virtual CPUs (default 2)
#   --timeout SECONDS      hard limit, qemu is killed after it (default 600)
#   --name NAME            files go to build/vm/NAME/ (default "vm")
#   --dir DIR              files go to DIR instead (run-selftests.sh gives
#                          each of its VMs its own)
#   --net-listen PORT      virtio-net on a qemu socket netdev, listening on
#   --net-connect PORT     127.0.0.1:PORT / connecting to it (two-VM tests)
#   --mac MAC              MAC address for that NIC
#   --interactive          console on this terminal (vm-shell), no log scan
#   --quiet                do not echo the console while it runs
#
# Environment: VDISK_ACCEL=tcg|kvm (default: probed once), VDISK_QEMU_CPU
# (qemu -cpu, default max), VDISK_BOOT_TIMEOUT (seconds for init to start
# before the boot is retried, default 150).
#
# Outputs in build/vm/NAME/: console.log (ttyS0: kernel log and the init's
# "@@VDISK-RIG:" markers), results.log (ttyS1: test output, see
# guest/run-tests.sh), disk<N>.img.
#
# Exit status: 0 the guest finished with rc=0 and the console is clean;
# 1 the guest reported a failure; 3 the console shows a kernel problem (the
# offending lines are printed; this wins over the guest's own verdict);
# 4 the guest never reached its end marker (crash, panic, timeout);
# 2 usage or setup error.
set -uo pipefail
. "$(dirname "$0")/common.sh"

# The body is a function, read whole before it runs: editing this script
# while a run is under way (bash reads scripts as it goes) cannot break it.
main() {

kernel=stock initramfs='' run=none append='' mem=2G smp=2 timeout=600 name=vm dir=''
net='' mac=52:54:00:12:34:56 interactive=0 quiet=0
disks=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--initramfs) initramfs=$2; shift 2 ;;
	--run) run=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--disk) disks+=("$2"); shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--net-listen) net="listen=127.0.0.1:$2"; shift 2 ;;
	--net-connect) net="connect=127.0.0.1:$2"; shift 2 ;;
	--mac) mac=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	--quiet) quiet=1; shift ;;
	-h|--help) sed -n '3,39s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
vm_kernel_setup "$kernel"
[ -n "$initramfs" ] || initramfs=$(vm_initramfs_path "$kernel")
[ -f "$initramfs" ] || vm_die "no initramfs $initramfs: run scripts/vm/build-initramfs.sh --kernel $kernel"

out=${dir:-$VM_DIR/$name}
mkdir -p "$out"
console=$out/console.log results=$out/results.log
rm -f "$console" "$results" "$out"/disk*.img

base=(qemu-system-x86_64 -cpu "${VDISK_QEMU_CPU:-max}" -smp "$smp" -m "$mem" -no-reboot
	-kernel "$VM_KIMAGE" -initrd "$initramfs"
	-display none -vga none -parallel none -nodefaults)

# KVM is used only when a real boot under it finished in time.  The verdict is
# cached; VDISK_ACCEL=tcg|kvm overrides it.
accel_file=$VM_DIR/accel
probe_accel() {
	[ -e /dev/kvm ] && [ -w /dev/kvm ] || { echo tcg; return; }
	local plog
	plog=$(mktemp)
	timeout -k 2 20 "${base[@]}" -accel kvm -append "console=ttyS0 panic=-1 vdisk.run=none" \
		-serial "file:$plog" -monitor none > /dev/null 2>&1
	if grep -q '@@VDISK-RIG: END' "$plog"; then echo kvm; else echo tcg; fi
	rm -f "$plog"
}
accel=${VDISK_ACCEL:-}
if [ -z "$accel" ]; then
	accel=$(cat "$accel_file" 2>/dev/null)
	if [ -z "$accel" ]; then
		echo "run-vm: probing KVM (once; the verdict is cached in $accel_file)" >&2
		accel=$(probe_accel)
		echo "$accel" > "$accel_file"
		echo "run-vm: using $accel" >&2
	fi
fi

args=("${base[@]}" -accel "$accel")
i=0
for size in "${disks[@]}"; do
	img=$out/disk$i.img
	truncate -s "$size" "$img" || vm_die "bad disk size '$size'"
	# serial= names the disk inside the guest (/sys/block/vdX/serial), so
	# tests find "vdisk0" wherever the kernel enumerated it.
	args+=(-drive "file=$img,if=none,id=d$i,format=raw,cache=unsafe,discard=unmap"
		-device "virtio-blk-pci,drive=d$i,serial=vdisk$i")
	i=$((i + 1))
done
if [ -n "$net" ]; then
	args+=(-netdev "socket,id=n0,$net" -device "virtio-net-pci,netdev=n0,mac=$mac")
fi
cmdline="console=ttyS0 panic=-1 printk.time=1 vdisk.run=$run$append"
# Under TCG a guest CPU runs tens of times slower than hardware and stops
# whenever the host deschedules its thread, so the stall detectors' hardware
# timeouts (RCU 21 s, soft lockup 20 s) fire on a busy host with nothing
# wrong in the guest (seen: an RCU stall while the debug kernel booted).  A
# real stall still reports, later: RCU after 120 s, soft lockup after 60 s.
[ "$accel" = tcg ] && cmdline+=" rcupdate.rcu_cpu_stall_timeout=120 watchdog_thresh=30"
args+=(-append "$cmdline")

if [ "$interactive" = 1 ]; then
	# Console and qemu monitor on this terminal (Ctrl-A X quits); test output
	# port to a file as usual.
	args+=(-serial mon:stdio -serial "file:$results")
	"${args[@]}"
	exit $?
fi

args+=(-serial "file:$console" -serial "file:$results" -monitor none)
: > "$console"
if [ "$quiet" = 0 ]; then
	tail -n +1 -F "$console" 2>/dev/null &
	tail_pid=$!
fi
# A boot that fails before init starts is booted again (at most 3 tries):
# none of our code has run then (init loads our module later), and under
# TCG on a loaded host the debug kernel sometimes hangs in early boot
# ("Running RCU-tasks wait API self tests", timers never fire) or takes an
# interrupt before its descriptors are ready (KASAN wild-memory-access in
# handle_edge_irq): measured 4 of 28 boots with both host cores busy.  Each
# failed try is kept as console.boot<N>.log and named on stderr;
# run-selftests.sh reports the retries in the kernel-log result.
boot_limit=${VDISK_BOOT_TIMEOUT:-150}
rm -f "$out"/console.boot*.log
attempt=1
while :; do
	: > "$console"
	: > "$results"
	timeout -k 5 "$timeout" "${args[@]}" < /dev/null &
	qpid=$!
	why=
	waited=0
	while :; do
		if grep -qa '@@VDISK-RIG: BEGIN' "$console"; then
			tr -d '\r' < "$console" | sed '/@@VDISK-RIG: BEGIN/q' > "$out/console.preinit"
			pre=$("$VM_TOP/scripts/vm/scan-console.sh" "$out/console.preinit") ||
				why="kernel problem before init: $(printf '%s\n' "$pre" | head -n1)"
			rm -f "$out/console.preinit"
			break
		fi
		if ! kill -0 "$qpid" 2>/dev/null; then
			why="qemu exited before init"
			break
		fi
		if [ "$waited" -ge $((boot_limit * 2)) ]; then
			why="init not started after ${boot_limit}s; last line: $(tr -d '\r' < "$console" | tail -n1)"
			break
		fi
		sleep 0.5
		waited=$((waited + 1))
	done
	if [ -n "$why" ] && [ "$attempt" -lt 3 ]; then
		kill "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
		cp "$console" "$out/console.boot$attempt.log"
		echo "run-vm: BOOT RETRY: try $attempt failed before init ($why): booting again" >&2
		attempt=$((attempt + 1))
		continue
	fi
	wait "$qpid"
	qrc=$?
	break
done
if [ "$quiet" = 0 ]; then
	sleep 0.2
	kill "$tail_pid" 2>/dev/null
	wait "$tail_pid" 2>/dev/null
fi

verdict=0
end=$(tr -d '\r' < "$console" | sed -n 's/.*@@VDISK-RIG: END rc=\([0-9]*\).*/\1/p' | tail -n1)
if problems=$("$VM_TOP/scripts/vm/scan-console.sh" "$console"); then
	:
else
	echo "run-vm: KERNEL PROBLEM in $console:" >&2
	printf '%s\n' "$problems" | head -n 20 | sed 's/^/run-vm:   /' >&2
	verdict=3
fi
if [ -z "$end" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "run-vm: TIMEOUT: guest still running after ${timeout}s, killed" >&2
	else
		echo "run-vm: guest died before its end marker (qemu exit $qrc)" >&2
	fi
	[ "$verdict" = 0 ] && verdict=4
elif [ "$end" != 0 ] && [ "$verdict" = 0 ]; then
	echo "run-vm: guest reported failure (rc=$end)" >&2
	verdict=1
fi
exit "$verdict"
}
main "$@"
