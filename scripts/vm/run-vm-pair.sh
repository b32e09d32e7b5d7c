#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm-pair.sh --script-a PATH --script-b PATH [options]
#
# Boot two VMs joined by a qemu socket netdev (a private point-to-point
# Ethernet on 127.0.0.1:<free port>; nothing else is reachable), run one guest
# script in each, and wait for both.  VM "a" has eth0 = 10.99.0.1/24 and
# listens; VM "b" has 10.99.0.2/24 and connects.  Each script's TAP lands in
# <results>/vm-<kernel>-<script name>.tap as with run-selftests.sh.
#
#   --kernel stock|debug   (default stock)
#   --script-a, --script-b PATH   guest paths, e.g. /vdisk/selftests/rig/net-a.sh
#   --results DIR          default build/results
#   --mem SIZE             per VM (default 1G)
#   --smp N                per VM (default 1: two TCG guests share 2 cores)
#
# Exit status 0 only if both runs passed (see run-selftests.sh).
set -uo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock script_a='' script_b='' results='' mem=1G smp=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--script-a) script_a=$2; shift 2 ;;
	--script-b) script_b=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	-h|--help) sed -n '3,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
[ -n "$script_a" ] && [ -n "$script_b" ] || vm_die "need --script-a and --script-b"
vm_kernel_setup "$kernel"
results=${results:-$VM_BUILD/results}

# Build once up front so the two runs do not race to build it.
"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" >&2 || exit 2

# The two runs' outputs: this run's own directory (another pair run in the
# same checkout has its own).
mkdir -p "$VM_DIR"
outs=$(mktemp -d "$VM_DIR/pair-out.XXXXXX")
trap 'rm -rf "$outs"' EXIT

port_free() {
	! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}
port=
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 20000))
	if port_free "$p"; then port=$p; break; fi
done
[ -n "$port" ] || vm_die "no free TCP port found"

common=(--kernel "$kernel" --results "$results" --mem "$mem" --smp "$smp")
"$VM_TOP/scripts/vm/run-selftests.sh" "${common[@]}" --name pair-a --script "$script_a" \
	--net-listen "$port" --mac 52:54:00:99:00:01 --append vdisk.ip=10.99.0.1/24 \
	> "$outs/pair-a.out" 2>&1 &
pid_a=$!
# qemu opens the listening socket before the guest boots; start b after it.
for _ in $(seq 1 100); do
	port_free "$port" || break
	kill -0 "$pid_a" 2>/dev/null || break
	sleep 0.2
done
"$VM_TOP/scripts/vm/run-selftests.sh" "${common[@]}" --name pair-b --script "$script_b" \
	--net-connect "$port" --mac 52:54:00:99:00:02 --append vdisk.ip=10.99.0.2/24 \
	> "$outs/pair-b.out" 2>&1 &
pid_b=$!
wait "$pid_a"
rc_a=$?
wait "$pid_b"
rc_b=$?
for v in a b; do
	echo "# ==== VM $v"
	cat "$outs/pair-$v.out"
done
[ "$rc_a" = 0 ] && [ "$rc_b" = 0 ]
