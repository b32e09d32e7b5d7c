#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-selftests.sh --kernel stock|debug [--test NAME]... [options]
#
# Build the initramfs, boot VMs that run the selftests listed in
# tests/selftests/TESTS (or only the --test ones), and store each test's TAP
# as <results>/vm-<kernel>-<name>.tap, normalised by scripts/tap-run.sh (no
# plan, a short count or a non-zero exit without a "not ok" line is a
# failure).  <results>/vm-<kernel>-kernel-log.tap records whether any VM's
# console showed a kernel problem (BUG, WARNING, Oops, KASAN, lockdep, hung
# task, panic...) at any time during the run.
#
#   --test NAME       run only NAME (repeatable, or NAME,NAME)
#   --script PATH     run one guest script (path inside the VM) instead of
#                     the selftests, as test "<basename of PATH without .sh>"
#   --jobs N          VMs at once (default $VDISK_VM_JOBS, else 2): the tests
#                     are shared out by their declared cost (below)
#   --smp N           virtual CPUs of every VM (default $VDISK_VM_SMP, else
#                     1, and 2 for the VM that runs the "# vdisk-smp: 2" tests)
#   --budget SECONDS  the run's wall time must stay within SECONDS: checked
#                     before it starts (declared costs) and after it ends
#                     (measured), as <results>/vm-<kernel>-budget.tap
#   --results DIR     where the .tap files go (default build/results)
#   --name NAME       work directory build/vm/NAME/ (default
#                     selftests-<kernel>; if another run holds it, NAME-2, ...)
#   --mem SIZE        guest memory (default 2G)
#   --verbose         echo the consoles while the VMs run
#   --append/--net-listen/--net-connect/--mac ARG   passed to run-vm.sh
#                     (the network options imply --jobs 1)
#
# Work directory: the initramfs this run boots (a hard link to the one
# build-initramfs.sh made), vm1/, vm2/, ... with each VM's console.log,
# results.log and disks, and results/ (copied to --results at the end); a lock on build/vm/NAME.lock keeps a second run in
# the same checkout out of it.  <results>/vm-<kernel>-durations.txt gets
# each test's wall time, <results>/vm-<kernel>-schedule.txt which VM ran
# what, declared against measured.
#
# Cost: "# vdisk-cost: STOCK DEBUG" in a test's header, its measured wall
# seconds on each kernel (scripts/vm/update-costs.sh writes them).  The
# scheduler puts the tests that need several CPUs ("# vdisk-smp: N": real
# concurrency) on vm1, which gets N vCPUs, then gives each other test,
# costliest first, to the VM with the least declared work so far; each VM
# runs its tests in TESTS order.  Under TCG a 1-vCPU guest does the most
# work per host core (tests/README, "Parallel VMs").
#
# Disks: every "# vdisk-disks: SIZE..." header of a VM's tests adds up to
# one set of sparse virtio disks (disk N is as big as the largest SIZE any
# of its tests asks for at position N).  Time limit per VM: the sum of its
# tests' "# vdisk-timeout: SECONDS" (default 300 each) plus 120 s for boot.
#
# Exit status 0 only if every test passed, every test's output arrived,
# every VM finished in time, the kernel logs are clean and the budget held.
set -uo pipefail
. "$(dirname "$0")/common.sh"

# The body is a function, read whole before it runs: editing this script
# while a run is under way (bash reads scripts as it goes) cannot break it.
main() {

kernel=stock results='' name='' mem=2G verbose=0 script='' budget=''
jobs=${VDISK_VM_JOBS:-2} smp=${VDISK_VM_SMP:-}
tests=() vm_extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--test) IFS=, read -r -a names <<< "$2"; tests+=("${names[@]}"); shift 2 ;;
	--script) script=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--budget) budget=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	--net-listen|--net-connect) vm_extra+=("$1" "$2"); jobs=1; shift 2 ;;
	--append|--mac) vm_extra+=("$1" "$2"); shift 2 ;;
	-h|--help) sed -n '3,53s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
case "$jobs${smp:-1}${budget:-0}" in
*[!0-9]*) vm_die "--jobs, --smp and --budget take numbers" ;;
esac
[ "$jobs" -ge 1 ] && [ "${smp:-1}" -ge 1 ] || vm_die "--jobs and --smp must be at least 1"
vm_kernel_setup "$kernel"
results=${results:-$VM_BUILD/results}
# scripts/tap-run.sh writes to $BUILD/results: the directory must be so named.
[ "${results##*/}" = results ] || vm_die "--results must name a directory called 'results'"
prefix=vm-$kernel-
sdir=$VM_TOP/tests/selftests
mkdir -p "$results" "$VM_DIR"

if [ -n "$script" ]; then
	t=${script##*/}
	tests=("${t%.sh}")
	jobs=1
else
	if [ ${#tests[@]} -eq 0 ]; then
		mapfile -t tests < <(sed 's/#.*//; /^[[:space:]]*$/d; s/[[:space:]]//g' "$sdir/TESTS")
	fi
	for t in "${tests[@]}"; do
		[ -f "$sdir/$t.sh" ] || vm_die "no test tests/selftests/$t.sh"
	done
fi
[ "$jobs" -le ${#tests[@]} ] || jobs=${#tests[@]}

# ---- the work directory: ours alone while we run --------------------------
base=${name:-selftests-$kernel}
run_dir=
for i in $(seq 1 9); do
	cand=$base
	[ "$i" = 1 ] || cand=$base-$i
	exec 9> "$VM_DIR/$cand.lock"
	if flock -n 9; then
		run_dir=$VM_DIR/$cand
		break
	fi
	exec 9>&-
done
[ -n "$run_dir" ] || vm_die "build/vm/$base and $base-2..9 are all in use by other runs"
[ "$run_dir" = "$VM_DIR/$base" ] ||
	echo "run-selftests: $VM_DIR/$base is in use by another run: working in $run_dir" >&2
rm -rf "$run_dir"
mkdir -p "$run_dir"

# ---- per-test headers: timeout, disks, cost --------------------------------
to_sectors() {
	local v=$1 n
	n=${v%[KMGTkmgt]}
	case "$v" in
	*[Kk]) echo $((n * 2)) ;; *[Mm]) echo $((n * 2048)) ;;
	*[Gg]) echo $((n * 2097152)) ;; *[Tt]) echo $((n * 2147483648)) ;;
	*) echo $((n / 512)) ;;
	esac
}
declare -A cost timeout disks cpus
for t in "${tests[@]}"; do
	f=$sdir/$t.sh
	tl= c= d= n=
	if [ -f "$f" ]; then
		tl=$(vm_test_header "$f" vdisk-timeout | sed 's/[^0-9].*//')
		d=$(vm_test_header "$f" vdisk-disks)
		n=$(vm_test_header "$f" vdisk-smp | sed 's/[^0-9].*//')
		read -r cs cd _ <<< "$(vm_test_header "$f" vdisk-cost)"
		if [ "$kernel" = debug ]; then c=${cd:-}; else c=${cs:-}; fi
		case "$c" in *[!0-9]*) c= ;; esac	# "-": not measured yet
	fi
	timeout[$t]=${tl:-300}
	cpus[$t]=${n:-1}
	disks[$t]=$d
	# No declared cost yet: a quarter of the time limit, so it still counts.
	cost[$t]=${c:-$(( ${tl:-300} / 4 ))}
done

# ---- the schedule: SMP tests on vm1, then costliest first to the least loaded
declare -a load vm_tests vm_smp
for ((k = 0; k < jobs; k++)); do load[k]=0; vm_tests[k]=''; vm_smp[k]=1; done
declare -A vm_of
for t in "${tests[@]}"; do
	[ "${cpus[$t]}" -gt 1 ] || continue
	vm_of[$t]=0
	load[0]=$((load[0] + cost[$t]))
	[ "${cpus[$t]}" -gt "${vm_smp[0]}" ] && vm_smp[0]=${cpus[$t]}
done
order=$(for i in "${!tests[@]}"; do
	[ -n "${vm_of[${tests[i]}]:-}" ] || echo "${cost[${tests[i]}]} $i"
done | sort -k1,1nr -k2,2n)
while read -r c i; do
	[ -n "$c" ] || continue
	best=0
	for ((k = 1; k < jobs; k++)); do
		[ "${load[k]}" -lt "${load[best]}" ] && best=$k
	done
	load[best]=$((load[best] + c))
	vm_of[${tests[i]}]=$best
done <<< "$order"
if [ -n "$smp" ]; then
	for ((k = 0; k < jobs; k++)); do vm_smp[k]=$smp; done
fi
# Each VM's tests in the order given.
for t in "${tests[@]}"; do
	k=${vm_of[$t]}
	vm_tests[k]="${vm_tests[k]} $t"
done
# A VM left without tests (every test wanted vm1) is not booted.
j=0
for ((k = 0; k < jobs; k++)); do
	[ -n "${vm_tests[k]}" ] || continue
	vm_tests[j]=${vm_tests[k]} load[j]=${load[k]} vm_smp[j]=${vm_smp[k]}
	for t in ${vm_tests[k]}; do vm_of[$t]=$j; done
	j=$((j + 1))
done
jobs=$j
declared=0
for ((k = 0; k < jobs; k++)); do
	[ "${load[k]}" -gt "$declared" ] && declared=${load[k]}
done

"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" >&2 || exit 2
initramfs=$run_dir/initramfs.cpio
src_initramfs=$(vm_initramfs_path "$kernel")
ln -f "$src_initramfs" "$initramfs" 2>/dev/null || cp "$src_initramfs" "$initramfs" || exit 2
# make check-vm holds the checkout's build lock from its module build until
# here: what we boot is now ours, another run may rebuild.
if [ -n "${VDISK_BUILD_LOCK_FD:-}" ]; then
	flock -u "$VDISK_BUILD_LOCK_FD"
	eval "exec $VDISK_BUILD_LOCK_FD>&-"
fi

# Old results of the tests about to run must not survive a crashed run.
for t in "${tests[@]}"; do rm -f "$results/$prefix$t.tap"; done
rm -f "$results/${prefix}kernel-log.tap" "$results/${prefix}budget.tap"
# This run's files are written in its work directory and copied to
# $results at the end: a concurrent run of the same tests never mixes its
# TAP lines with ours while we read them back.
final_results=$results
results=$run_dir/results
mkdir -p "$results"

# ---- boot the VMs ----------------------------------------------------------
start=$(date +%s)
declare -a vm_pid vm_rc
for ((k = 0; k < jobs; k++)); do
	read -r -a mine <<< "${vm_tests[k]}"
	disk_sectors=()
	limit=120
	for t in "${mine[@]}"; do
		limit=$((limit + timeout[$t]))
		read -r -a sizes <<< "${disks[$t]}"
		for i in "${!sizes[@]}"; do
			s=$(to_sectors "${sizes[$i]}")
			[ "${disk_sectors[$i]:-0}" -lt "$s" ] && disk_sectors[$i]=$s
		done
	done
	disk_args=()
	for s in "${disk_sectors[@]}"; do disk_args+=(--disk "$((s * 512))"); done
	if [ -n "$script" ]; then
		run_args=(--run script --append "vdisk.script=$script")
	else
		run_args=(--run selftests --append "vdisk.tests=$(IFS=,; echo "${mine[*]}")")
	fi
	quiet=(--quiet)
	[ "$verbose" = 1 ] && quiet=()
	echo "run-selftests: vm$((k + 1)): ${mine[*]} on the $kernel kernel ($VM_KREL)," \
		"${vm_smp[k]} vCPU, declared ${load[k]} s, limit ${limit}s" >&2
	vm_cmd=("$VM_TOP/scripts/vm/run-vm.sh" --kernel "$kernel" --dir "$run_dir/vm$((k + 1))"
		--initramfs "$initramfs" --mem "$mem" --smp "${vm_smp[k]}" --timeout "$limit"
		"${disk_args[@]}" "${run_args[@]}" "${vm_extra[@]}" "${quiet[@]}")
	if [ "$jobs" = 1 ]; then
		"${vm_cmd[@]}" >&2	# one VM: its messages (and --verbose console) live
		vm_rc[k]=$?
	else
		"${vm_cmd[@]}" > "$run_dir/vm$((k + 1)).out" 2>&1 &
		vm_pid[k]=$!
	fi
done
status=0
for ((k = 0; k < jobs; k++)); do
	if [ "$jobs" != 1 ]; then
		wait "${vm_pid[k]}"
		vm_rc[k]=$?
		sed "s/^/vm$((k + 1)): /" "$run_dir/vm$((k + 1)).out" >&2
	fi
	[ "${vm_rc[k]}" = 0 ] || status=1
done
wall=$(( $(date +%s) - start ))

# ---- one TAP file per test, from each VM's results port --------------------
rlog=$(mktemp -d)
trap 'rm -rf "$rlog"' EXIT
for ((k = 0; k < jobs; k++)); do
	tr -d '\r' < "$run_dir/vm$((k + 1))/results.log" 2>/dev/null | awk -v dir="$rlog" '
		/^@@VDISK-TEST-BEGIN / { cur = $2; f = dir "/" cur ".out"; printf "" > f; next }
		/^@@VDISK-TEST-END / { if (cur != "") { sub(/.*rc=/, ""); print > (dir "/" cur ".rc") }
			cur = ""; next }
		/^@@VDISK-RUN-END/ { next }
		cur != "" { print >> f }'
done

for t in "${tests[@]}"; do
	o=$rlog/$t.out
	if [ ! -f "$o" ]; then
		msg="no output: vm$((vm_of[$t] + 1)) died or timed out before $t ran"
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
problems=
for ((k = 0; k < jobs; k++)); do
	c=$run_dir/vm$((k + 1))/console.log
	p=$("$VM_TOP/scripts/vm/scan-console.sh" "$c" 2>&1) ||
		problems+=$(printf '%s\n' "$p" | sed "s/^/vm$((k + 1)) /")$'\n'
done
if [ -z "$problems" ]; then
	printf 'TAP version 13\n1..1\nok 1 - kernel log clean\n' > "$klog"
else
	{
		echo "TAP version 13"
		echo "1..1"
		echo "not ok 1 - kernel log clean: $(printf '%s\n' "$problems" | head -n1)"
		printf '%s' "$problems" | head -n 40 | sed 's/^/# /'
		echo "# full console logs: $run_dir/vm*/console.log"
	} > "$klog"
	status=1
fi
# Boots retried before init (run-vm.sh): not a failure, but never silent.
for ((k = 0; k < jobs; k++)); do
	for b in "$run_dir/vm$((k + 1))"/console.boot*.log; do
		[ -f "$b" ] || continue
		echo "# vm$((k + 1)): a boot failed before init and was retried ($b): $(tr -d '\r' < "$b" | tail -n1)"
	done
done >> "$klog"
echo "# ---- kernel log"
cat "$klog"

# Each test's wall time (the guests' "end ... secs=N" console lines), for
# tests/README's table and the tests' cost headers.
durations=$results/${prefix}durations.txt
for ((k = 0; k < jobs; k++)); do
	tr -d '\r' < "$run_dir/vm$((k + 1))/console.log" 2>/dev/null |
		sed -n 's/.*@@VDISK-RIG: test \([^ ]*\) end rc=[0-9]* secs=\([0-9]*\).*/\2 \1/p'
done > "$durations"
declare -A took
while read -r s t; do took[$t]=$s; done < "$durations"
{
	echo "# $kernel kernel, $jobs VM(s), wall ${wall} s, declared ${declared} s"
	for ((k = 0; k < jobs; k++)); do
		m=0
		for t in ${vm_tests[k]}; do m=$((m + ${took[$t]:-0})); done
		echo "vm$((k + 1)) ${vm_smp[k]} vCPU, declared ${load[k]} s, tests took $m s:${vm_tests[k]}"
	done
	# A cost far from what the test took makes the schedule lopsided: say so.
	for t in "${tests[@]}"; do
		s=${took[$t]:-}
		[ -n "$s" ] || continue
		if [ "$s" -gt $((cost[$t] * 3 / 2 + 10)) ] || [ $((s * 3 / 2 + 10)) -lt "${cost[$t]}" ]; then
			echo "stale cost: $t declared ${cost[$t]} s, took $s s (# vdisk-cost:)"
		fi
	done
} > "$results/${prefix}schedule.txt"
sed 's/^/# /' "$results/${prefix}schedule.txt"

# ---- the budget ------------------------------------------------------------
if [ -n "$budget" ]; then
	costliest=$(for t in "${tests[@]}"; do echo "${took[$t]:-${cost[$t]}} $t"; done |
		sort -k1,1nr | head -n 5 | awk '{ printf "%s%s (%s s)", (NR > 1 ? ", " : ""), $2, $1 }')
	{
		echo "TAP version 13"
		echo "1..2"
		if [ "$declared" -le "$budget" ]; then
			echo "ok 1 - declared cost ${declared} s is within the budget of ${budget} s"
		else
			echo "not ok 1 - OVER BUDGET: declared cost ${declared} s > ${budget} s; costliest: $costliest"
		fi
		if [ "$wall" -le "$budget" ]; then
			echo "ok 2 - wall time ${wall} s is within the budget of ${budget} s"
		else
			echo "not ok 2 - OVER BUDGET: the run took ${wall} s > ${budget} s; costliest: $costliest"
		fi
	} > "$results/${prefix}budget.tap"
	echo "# ---- budget"
	cat "$results/${prefix}budget.tap"
	grep -q '^not ok' "$results/${prefix}budget.tap" && status=1
fi

cp -f "$results"/* "$final_results"/ || status=1

if [ "$status" != 0 ]; then
	for ((k = 0; k < jobs; k++)); do
		[ "${vm_rc[k]}" = 0 ] && continue
		out=$run_dir/vm$((k + 1))
		echo "run-selftests: vm$((k + 1)) FAILED (verdict ${vm_rc[k]}; console $out/console.log," \
			"test output $out/results.log)" >&2
		if [ "$verbose" = 0 ]; then
			echo "run-selftests: vm$((k + 1)): last console lines:" >&2
			tr -d '\r' < "$out/console.log" | tail -n 25 | sed 's/^/  | /' >&2
		fi
	done
fi
exit "$status"
}
main "$@"
