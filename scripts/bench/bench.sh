#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--smoke|--profile] [--out DIR] [--kernel stock|debug]
#          [--groups G,G] [--backings B,B] [--reps N]
#
# The fio benchmark (`make bench`, `make bench-smoke`): boots ONE test VM that
# runs scripts/bench/vm-run.sh (every contender of contenders.sh on every
# workload of workloads.sh, alternating, repeated), unpacks what it wrote,
# and makes the report (report.py: CSV, markdown table, gnuplot chart).
#
#   --smoke   tiny sizes, one repetition (a few minutes): proves the suite
#             works; results go to build/bench-smoke/ unless --out is given
#   --profile perf profiles of dm-vdisk and dm-thin on the random and
#             sequential workloads, and of dm-vdisk reclaiming a deleted
#             snapshot with a reader on another volume (group "delete")
#             (vm-profile.sh) into build/bench-profile/
#   --out DIR results directory (default bench-results/<date>-<commit>/)
#   --groups, --backings, --reps   run only these workload groups (rand,
#             seq, mixed, parallel, snap; with --profile: rand, seq, delete)
#             or backings (brd, virtio), or another number of repetitions
#
# The VM gets the rig's initramfs plus a second cpio archive appended to it
# (the kernel unpacks both): /vdisk/bench (these scripts) and, when the host
# has it, perf with its libraries.  Disks: vdisk0 1 GiB (metadata), vdisk1
# (data: 11 GiB full, 512 MiB smoke), vdisk2 (the results, a tar archive).
#
# Exit status: 0 when the suite ran (whatever the speeds), non-zero when it
# broke (a contender or workload failed, the VM died, the report failed).
set -uo pipefail
. "$(dirname "$0")/../vm/common.sh"

kernel=stock smoke=0 out='' args="$*" subset=''
while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) smoke=1; shift ;;
	--profile) smoke=2; shift ;;
	--out) out=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--groups) subset="$subset vdisk.bench_groups=$2"; shift 2 ;;
	--backings) subset="$subset vdisk.bench_backings=$2"; shift 2 ;;
	--reps) subset="$subset vdisk.bench_reps=$2"; shift 2 ;;
	-h|--help) sed -n '3,29s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
vm_kernel_setup "$kernel"
commit=$(git -C "$VM_TOP" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git -C "$VM_TOP" diff --quiet HEAD 2>/dev/null || commit=$commit-dirty
if [ -z "$out" ]; then
	if [ "$smoke" = 1 ]; then
		out=$VM_BUILD/bench-smoke
	elif [ "$smoke" = 2 ]; then
		out=$VM_BUILD/bench-profile
	else
		out=$VM_TOP/bench-results/$(date -u +%Y-%m-%d)-$commit
	fi
fi
script=vm-run.sh
if [ "$smoke" = 1 ]; then
	profile=smoke mem=2G data=512M timeout=900
elif [ "$smoke" = 2 ]; then
	profile=profile mem=3G data=512M timeout=1500 script=vm-profile.sh
else
	profile=full mem=3G data=11G timeout=4800
fi

"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" >&2 || exit 2
base=$(vm_initramfs_path "$kernel")
initrd=$VM_DIR/initramfs-bench-$kernel.cpio

# ---- the bench overlay: a second cpio archive -------------------------------
stage=$(mktemp -d "$VM_DIR/bench-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
mkdir -p "$stage/vdisk/bench"
cp "$VM_TOP"/scripts/bench/*.sh "$stage/vdisk/bench/"
chmod 0755 "$stage/vdisk/bench/"*.sh
# perf (Debian's linux-perf for this kernel's series) for profiles in the
# VM; optional.
perf=$(command -v perf || true)
if [ -n "$perf" ]; then
	mkdir -p "$stage/usr/bin"
	cp -L "$perf" "$stage/usr/bin/perf"
	ldd "$perf" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
		mkdir -p "$stage$(dirname "$lib")"
		[ -e "$stage$lib" ] || cp -L "$lib" "$stage$lib"
	done
fi
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --quiet) > "$stage.cpio" || exit 2
cat "$base" "$stage.cpio" > "$initrd"
rm -f "$stage.cpio"

# ---- run ----------------------------------------------------------------------
echo "bench: $profile run on the $kernel kernel ($VM_KREL), results in $out" >&2
name=bench-$profile
[ -n "$subset" ] && name=$name-subset
quiet=(--quiet)
[ "$smoke" = 0 ] && quiet=()
"$VM_TOP/scripts/vm/run-vm.sh" --kernel "$kernel" --initramfs "$initrd" --name "$name" \
	--mem "$mem" --disk 1G --disk "$data" --disk 256M --timeout "$timeout" \
	--run script --append "vdisk.script=/vdisk/bench/$script vdisk.bench=$profile loglevel=5$subset" \
	"${quiet[@]}" > /dev/null
vm_rc=$?
vmdir=$VM_DIR/$name
tr -d '\r' < "$vmdir/results.log" | grep -v '^@@' | tail -n 30 >&2

rm -rf "$out"
mkdir -p "$out"
if ! tar -x -f "$vmdir/disk2.img" -C "$out" 2>/dev/null || [ ! -f "$out/log.txt" ]; then
	echo "bench: the VM wrote no results (VM exit $vm_rc; see $vmdir/console.log)" >&2
	exit 1
fi
rm -f "$vmdir"/disk*.img
if [ "$smoke" = 2 ]; then
	ls "$out"/profile/*.txt
	exit "$vm_rc"
fi
{
	echo "commit $commit"
	echo "command ${BENCH_COMMAND:-scripts/bench/bench.sh${args:+ $args}}"
	echo "host_cpus $(nproc)"
	echo "qemu $(qemu-system-x86_64 --version | head -n1)"
	echo "accel $(cat "$VM_DIR/accel" 2>/dev/null || echo tcg)"
} >> "$out/info.txt"
python3 "$VM_TOP/scripts/bench/report.py" "$out" || { echo "bench: report failed" >&2; exit 1; }
# fio's JSON, compressed, is what gets committed (raw/ is in .gitignore).
tar -cJf "$out/raw-fio-json.tar.xz" -C "$out" raw || exit 1
echo "bench: results in $out" >&2
[ "$vm_rc" = 0 ] || echo "bench: the VM run reported a failure (exit $vm_rc)" >&2
exit "$vm_rc"
