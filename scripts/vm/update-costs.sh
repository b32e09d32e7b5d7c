#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# update-costs.sh [--kernel stock|debug] [DURATIONS]
# update-costs.sh --table
#
# Write the measured wall times of the last VM run into the tests' headers:
# "# vdisk-cost: STOCK DEBUG" (seconds; run-selftests.sh schedules and
# budgets by them).  DURATIONS is a durations file of run-selftests.sh
# ("SECONDS TEST" lines; default build/results/vm-<kernel>-durations.txt);
# only the column of that kernel changes, a test without a header gets one
# after its "# vdisk-timeout:" line (the other column "-" until measured).
# Run it after a full run on an otherwise idle machine, and commit the
# headers with the change that made a test slower or faster.  --table
# prints the per-test table of tests/README from the headers (TESTS order).
set -euo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock table=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--table) table=1; shift ;;
	-h|--help) sed -n '3,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) vm_die "unknown argument '$1'" ;;
	*) break ;;
	esac
done
if [ "$table" = 1 ]; then
	sdir=$VM_TOP/tests/selftests
	printf '  %-24s %7s %7s %5s  %s\n' test stock debug vCPU "CI debug lane"
	st=0 dt=0 lt=0
	while read -r line; do
		t=$(printf '%s' "$line" | sed 's/#.*//; s/[[:space:]]//g')
		[ -n "$t" ] || continue
		f=$sdir/$t.sh
		read -r s d _ <<< "$(vm_test_header "$f" vdisk-cost)"
		n=$(vm_test_header "$f" vdisk-smp)
		lane=yes
		case "$line" in *ci-debug:*skip*) lane=no ;; esac
		secs() { case "$1" in ''|*[!0-9]*) echo - ;; *) echo "$1 s" ;; esac; }
		printf '  %-24s %7s %7s %5s  %s\n' "$t" "$(secs "$s")" "$(secs "$d")" "${n:-1}" "$lane"
		case "$s" in ''|*[!0-9]*) ;; *) st=$((st + s)) ;; esac
		case "$d" in ''|*[!0-9]*) ;; *) dt=$((dt + d)); [ $lane = yes ] && lt=$((lt + d)) ;; esac
	done < "$sdir/TESTS"
	printf '  %-24s %7s %7s        (CI debug lane: %s s of test time)\n' total "$st s" "$dt s" "$lt"
	exit 0
fi
case "$kernel" in stock) col=1 ;; debug) col=2 ;; *) vm_die "--kernel stock|debug" ;; esac
durations=${1:-$VM_BUILD/results/vm-$kernel-durations.txt}
[ -f "$durations" ] || vm_die "no durations file $durations: run the VM selftests first"

n=0
while read -r secs t; do
	f=$VM_TOP/tests/selftests/$t.sh
	[ -f "$f" ] || continue
	# At least 1 s: a zero cost would schedule as free.
	[ "$secs" -ge 1 ] 2>/dev/null || secs=1
	old=$(vm_test_header "$f" vdisk-cost)
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
