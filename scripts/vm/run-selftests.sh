#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-selftests.sh --kernel stock|debug [--test NAME]... [options]
#
# Build the initramfs, boot ONE VM that runs the selftests listed in
# tests/selftests/TESTS (or only the --test ones, in the order given), and
# store each test's TAP as <results>/vm-<kernel>-<name>.tap, normalised by
# scripts/tap-run.sh (no plan, a short count or a non-zero exit without a
# "not ok" line is a failure).  <results>/vm-<kernel>-kernel-log.tap records
# whether the console showed a kernel problem (BUG, WARNING, Oops, KASAN,
# lockdep, hung task, panic...) at any time during the run.
#
#   --test NAME       run only NAME (repeatable, or NAME,NAME)
#   --script PATH     run one guest script (path inside the VM) instead of
#                     the selftests, as test "<basename of PATH without .sh>"
#   --results DIR     where the .tap files go (default build/results)
#   --name NAME       VM name: logs in build/vm/NAME/ (default selftests-<kernel>)
#   --mem SIZE        guest memory (default 2G)
#   --verbose         echo the console while the VM runs
#   --smp/--append/--net-listen/--net-connect/--mac ARG   passed to run-vm.sh
#
# Disks: every "# vdisk-disks: SIZE..." header of the selected tests adds up
# to one set of sparse virtio disks (disk N is as big as the largest SIZE
# any test asks for at position N).  Time limit: the sum of the tests'
# "# vdisk-timeout: SECONDS" (default 300 each) plus 120 s for boot.
#
# Exit status 0 only if every test passed, every test's output arrived,
# the VM finished in time and the kernel log is clean.
set -uo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock results='' name='' mem=2G verbose=0 script=''
tests=() vm_extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--test) IFS=, read -r -a names <<< "$2"; tests+=("${names[@]}"); shift 2 ;;
	--script) script=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	--smp|--append|--net-listen|--net-connect|--mac) vm_extra+=("$1" "$2"); shift 2 ;;
	-h|--help) sed -n '3,30s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
vm_kernel_setup "$kernel"
results=${results:-$VM_BUILD/results}
# scripts/tap-run.sh writes to $BUILD/results: the directory must be so named.
[ "${results##*/}" = results ] || vm_die "--results must name a directory called 'results'"
name=${name:-selftests-$kernel}
prefix=vm-$kernel-
sdir=$VM_TOP/tests/selftests
mkdir -p "$results"

if [ -n "$script" ]; then
	t=${script##*/}
	tests=("${t%.sh}")
	run_args=(--run script --append "vdisk.script=$script")
else
	if [ ${#tests[@]} -eq 0 ]; then
		mapfile -t tests < <(sed 's/#.*//; /^[[:space:]]*$/d; s/[[:space:]]//g' "$sdir/TESTS")
	fi
	for t in "${tests[@]}"; do
		[ -f "$sdir/$t.sh" ] || vm_die "no test tests/selftests/$t.sh"
	done
	list=$(IFS=,; echo "${tests[*]}")
	run_args=(--run selftests --append "vdisk.tests=$list")
fi

# Disks and time limit from the tests' headers.
declare -a disk_sectors=()
limit=120
to_sectors() {
	local v=$1 n
	n=${v%[KMGTkmgt]}
	case "$v" in
	*[Kk]) echo $((n * 2)) ;; *[Mm]) echo $((n * 2048)) ;;
	*[Gg]) echo $((n * 2097152)) ;; *[Tt]) echo $((n * 2147483648)) ;;
	*) echo $((n / 512)) ;;
	esac
}
for t in "${tests[@]}"; do
	f=$sdir/$t.sh
	[ -f "$f" ] || { limit=$((limit + 300)); continue; }
	tl=$(sed -n 's/^# vdisk-timeout: *\([0-9][0-9]*\).*/\1/p' "$f" | head -n1)
	limit=$((limit + ${tl:-300}))
	read -r -a sizes <<< "$(sed -n 's/^# vdisk-disks: *//p' "$f" | head -n1)"
	for i in "${!sizes[@]}"; do
		s=$(to_sectors "${sizes[$i]}")
		[ "${disk_sectors[$i]:-0}" -lt "$s" ] && disk_sectors[$i]=$s
	done
done
disk_args=()
for s in "${disk_sectors[@]}"; do
	disk_args+=(--disk "$((s * 512))")
done

"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" >&2 || exit 2

# Old results of the tests about to run must not survive a crashed run.
for t in "${tests[@]}"; do rm -f "$results/$prefix$t.tap"; done
rm -f "$results/${prefix}kernel-log.tap"

echo "run-selftests: ${tests[*]} on the $kernel kernel ($VM_KREL), limit ${limit}s" >&2
quiet=(--quiet)
[ "$verbose" = 1 ] && quiet=()
"$VM_TOP/scripts/vm/run-vm.sh" --kernel "$kernel" --name "$name" --mem "$mem" \
	--timeout "$limit" "${disk_args[@]}" "${run_args[@]}" "${vm_extra[@]}" "${quiet[@]}"
vm_rc=$?
out=$VM_DIR/$name
console=$out/console.log
status=0
[ "$vm_rc" = 0 ] || status=1

# Split the results port into one TAP stream per test.
rlog=$(mktemp -d)
trap 'rm -rf "$rlog"' EXIT
tr -d '\r' < "$out/results.log" 2>/dev/null | awk -v dir="$rlog" '
	/^@@VDISK-TEST-BEGIN / { cur = $2; f = dir "/" cur ".out"; printf "" > f; next }
	/^@@VDISK-TEST-END / { if (cur != "") { sub(/.*rc=/, ""); print > (dir "/" cur ".rc") }
		cur = ""; next }
	/^@@VDISK-RUN-END/ { next }
	cur != "" { print >> f }'

for t in "${tests[@]}"; do
	o=$rlog/$t.out
	if [ ! -f "$o" ]; then
		msg="no output: the VM died or timed out before $t ran"
		BUILD=${results%/results} "$VM_TOP/scripts/tap-run.sh" "$prefix$t" \
			sh -c 'echo "1..1"; echo "not ok 1 - $1"; exit 1' sh "$msg" > /dev/null
	elif [ ! -f "$rlog/$t.rc" ]; then
		BUILD=${results%/results} "$VM_TOP/scripts/tap-run.sh" "$prefix$t" \
			sh -c 'cat "$1"; echo "not ok - $2: output cut short, the VM died during it"; exit 1' \
			sh "$o" "$t" > /dev/null
	else
		BUILD=${results%/results} "$VM_TOP/scripts/tap-run.sh" "$prefix$t" \
			sh -c 'cat "$1"; exit "$2"' sh "$o" "$(cat "$rlog/$t.rc")" > /dev/null
	fi
	[ -f "$results/$prefix$t.tap" ] || vm_die "tap-run.sh wrote no $results/$prefix$t.tap"
	echo "# ---- $t"
	cat "$results/$prefix$t.tap"
	grep -qE '^not ok\b' "$results/$prefix$t.tap" && status=1
done

# The console scan is its own result line: it fails even when every test
# printed "ok".
klog=$results/${prefix}kernel-log.tap
if problems=$("$VM_TOP/scripts/vm/scan-console.sh" "$console" 2>&1); then
	printf 'TAP version 13\n1..1\nok 1 - kernel log clean\n' > "$klog"
else
	{
		echo "TAP version 13"
		echo "1..1"
		echo "not ok 1 - kernel log clean: $(printf '%s\n' "$problems" | head -n1)"
		printf '%s\n' "$problems" | head -n 40 | sed 's/^/# /'
		echo "# full console log: $console"
	} > "$klog"
	status=1
fi
echo "# ---- kernel log"
cat "$klog"

# Each test's wall time (the guest's "end ... secs=N" console lines), for
# tests/README's table: <results>/vm-<kernel>-durations.txt.
tr -d '\r' < "$console" | sed -n 's/.*@@VDISK-RIG: test \([^ ]*\) end rc=[0-9]* secs=\([0-9]*\).*/\2 \1/p' \
	> "$results/${prefix}durations.txt"

if [ "$status" != 0 ]; then
	echo "run-selftests: FAILED (VM verdict $vm_rc; console $console, test output $out/results.log)" >&2
	if [ "$verbose" = 0 ]; then
		echo "run-selftests: last console lines:" >&2
		tr -d '\r' < "$console" | tail -n 25 | sed 's/^/  | /' >&2
	fi
fi
exit "$status"
