#!/usr/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM-side profiler (scripts/bench/bench.sh --profile): runs chosen workloads
# of workloads.sh on chosen contenders on the brd backing, once each, under
# `perf record -a -g -e cpu-clock` (TCG has no hardware PMU; cpu-clock is a
# timer-driven software event), and keeps a flat profile and a call-graph
# excerpt per run:
#   profile/<contender>-<workload>.txt  (CPU per task, flat profile, the
#   device-mapper/dm-vdisk/persistent-data symbols, callers of the top ones)
# written, like vm-run.sh's results, as a tar archive onto vdisk2.
#
# vdisk-timeout: 1500
. /vdisk/selftests/lib.sh
here=$(dirname "$0")
. "$here/contenders.sh"
. "$here/workloads.sh"

PROFILE_CONTENDERS="dm-vdisk dm-thin"
PROFILE_GROUPS="rand seq"
REP=1 B_RAND=64M B_SEQ=128M B_RT=3 BRD_SIZE=512M BACKING=brd

OUTD=/tmp/bench-out
RAW=$OUTD/raw
TMPD=$VDISK_TEST_TMP
rm -rf "$OUTD"
mkdir -p "$RAW" "$OUTD/profile"
FAILED=0

log() {
	echo "$(date +%T) $*" | tee -a "$OUTD/log.txt"
}

bench_error() {
	FAILED=1
	log "ERROR: $*"
}

metric() { :; }

command -v perf > /dev/null || { echo "bench: no perf in the VM" >&2; exit 2; }
echo 0 > /proc/sys/kernel/kptr_restrict
echo -1 > /proc/sys/kernel/perf_event_paranoid
OUTDISK=$(vm_disk 2) || exit 2
modprobe dm-thin-pool && modprobe dm-vdisk || exit 2

# bench_fio from workloads.sh, wrapped: every measured fio run is recorded.
eval "orig_$(declare -f bench_fio)"
bench_fio() {
	_p=$OUTD/profile/$C_NAME-$1
	perf record -a -g -e cpu-clock -F 2000 -o "$_p.data" -- sleep 3600 > /dev/null 2>&1 &
	_perf=$!
	sleep 1
	orig_bench_fio "$@"
	_rc=$?
	kill -INT "$_perf"
	wait "$_perf"
	{
		echo "# $C_NAME $1 (brd): perf record -a -g -e cpu-clock"
		echo "# CPU share per task (swapper = idle)"
		perf report -i "$_p.data" --stdio --no-children -g none --sort comm \
			--percent-limit 0.5 2> /dev/null | grep '%'
		echo "# flat profile by symbol"
		perf report -i "$_p.data" --stdio --no-children -g none --sort sym \
			--percent-limit 0.4 2> /dev/null | grep '%'
		echo "# device-mapper, dm-vdisk and persistent-data symbols"
		perf report -i "$_p.data" --stdio --no-children -g none --sort sym \
			--percent-limit 0 2> /dev/null | grep '%' |
			grep -E 'vdisk|vd_|bufio|thin|dm_|sm_|btree|bio_prison|crc32c' | head -n 30
		echo "# call graphs of the top symbols (callers)"
		perf report -i "$_p.data" --stdio --no-children -g caller,0.5,callee,function,percent \
			--sort sym --percent-limit 3 2> /dev/null | grep -v '^#' | grep -v '^$' | head -n 300
	} > "$_p.txt"
	rm -f "$_p.data"
	return $_rc
}

for c in $PROFILE_CONTENDERS; do
	for g in $PROFILE_GROUPS; do
		log "profile $c/$g"
		dmsetup remove_all > /dev/null 2>&1
		modprobe -r brd 2> /dev/null
		modprobe brd rd_nr=2 rd_size=$(( $(to_sectors "$BRD_SIZE") / 2 )) max_part=0 || exit 2
		c_start "$c" /dev/ram0 /dev/ram1 || { bench_error "cannot set up $c"; continue; }
		"group_$g" || bench_error "$g on $c failed"
		c_stop > /dev/null 2>&1
	done
done
dmsetup remove_all > /dev/null 2>&1
tar -c -f "$OUTDISK" -C "$OUTD" . || exit 2
sync
exit "$FAILED"
