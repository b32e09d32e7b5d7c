#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# update-costs.sh [--kernel stock|debug] [DURATIONS]
#
# Write the measured wall times of the last VM run into the tests' headers:
# "# vdisk-cost: STOCK DEBUG" (seconds; run-selftests.sh schedules and
# budgets by them).  DURATIONS is a durations file of run-selftests.sh
# ("SECONDS TEST" lines; default build/results/vm-<kernel>-durations.txt);
# only the column of that kernel changes, a test without a header gets one
# after its "# vdisk-timeout:" line (the other column "-" until measured).
# Run it after a full run on an otherwise idle machine, and commit the
# headers with the change that made a test slower or faster.
set -euo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	-h|--help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) vm_die "unknown argument '$1'" ;;
	*) break ;;
	esac
done
case "$kernel" in stock) col=1 ;; debug) col=2 ;; *) vm_die "--kernel stock|debug" ;; esac
durations=${1:-$VM_BUILD/results/vm-$kernel-durations.txt}
[ -f "$durations" ] || vm_die "no durations file $durations: run the VM selftests first"

n=0
while read -r secs t; do
	f=$VM_TOP/tests/selftests/$t.sh
	[ -f "$f" ] || continue
	# At least 1 s: a zero cost would schedule as free.
	[ "$secs" -ge 1 ] 2>/dev/null || secs=1
	old=$(sed -n 's/^# vdisk-cost: *//p' "$f" | head -n1)
	if [ -n "$old" ]; then
		read -r s d _ <<< "$old"
		if [ "$col" = 1 ]; then s=$secs; else d=$secs; fi
		sed -i "s/^# vdisk-cost: .*/# vdisk-cost: $s ${d:--}/" "$f"
	else
		if [ "$col" = 1 ]; then v="$secs -"; else v="- $secs"; fi
		grep -q '^# vdisk-timeout:' "$f" ||
			vm_die "$t has no '# vdisk-timeout:' line to put the cost after"
		sed -i "0,/^# vdisk-timeout:.*/s//&\n# vdisk-cost: $v/" "$f"
	fi
	n=$((n + 1))
done < "$durations"
echo "update-costs: $n tests' $kernel cost from $durations"
