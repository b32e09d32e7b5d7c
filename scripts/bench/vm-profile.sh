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
# Group "delete" (dm-vdisk only): the "snap" group of workloads.sh at brd
# sizes (B_SMALL 256M, B_BIG 1G), recorded only from the delete message
# until the pool shows the space free, while a reader does 4K random reads
# on another volume: profile/dm-vdisk-delete.txt, plus where the tasks went
# off the CPU (sched:sched_switch with call graphs) in
# profile/dm-vdisk-delete-offcpu.txt and the reader's p99 idle vs during in
# profile/metrics.txt.  vdisk.bench_groups=G,G (bench.sh --groups) picks
# groups; default rand, seq and delete.
#
# vdisk-timeout: 1500
. /vdisk/selftests/lib.sh
here=$(dirname "$0")
. "$here/contenders.sh"
. "$here/workloads.sh"

PROFILE_CONTENDERS="dm-vdisk dm-thin"
PROFILE_GROUPS="rand seq delete"
for w in $(cat /proc/cmdline); do
	case "$w" in
	vdisk.bench_groups=*) PROFILE_GROUPS=$(echo "${w#vdisk.bench_groups=}" | tr , ' ') ;;
	esac
done
REP=1 B_RAND=64M B_SEQ=128M B_RT=3 BACKING=brd
B_SMALL=256M B_BIG=1G B_IDLE=3 B_RECLAIM_MAX=600

OUTD=/tmp/bench-out
RAW=$OUTD/raw
TMPD=$VDISK_TEST_TMP
rm -rf "$OUTD"
mkdir -p "$RAW" "$OUTD/profile"
FAILED=0

# The delete group's figures (name value [rep] [samples]).
metric() {
	log "metric $C_NAME $*"
	echo "$C_NAME $*" >> "$OUTD/profile/metrics.txt"
}

command -v perf > /dev/null || { echo "bench: no perf in the VM" >&2; exit 2; }
echo 0 > /proc/sys/kernel/kptr_restrict
echo -1 > /proc/sys/kernel/perf_event_paranoid
OUTDISK=$(vm_disk 2) || exit 2
modprobe dm-thin-pool && modprobe dm-vdisk || exit 2

# perf_report NAME TITLE: profile/NAME.txt from profile/NAME.data.
perf_report() {
	_d=$OUTD/profile/$1.data
	{
		echo "# $2: perf record -a -g -e cpu-clock"
		echo "# CPU share per task (swapper = idle)"
		perf report -i "$_d" --stdio --no-children -g none --sort comm \
			--percent-limit 0.5 2> /dev/null | grep '%'
		echo "# flat profile by symbol"
		perf report -i "$_d" --stdio --no-children -g none --sort sym \
			--percent-limit 0.4 2> /dev/null | grep '%'
		echo "# device-mapper, dm-vdisk and persistent-data symbols"
		perf report -i "$_d" --stdio --no-children -g none --sort sym \
			--percent-limit 0 2> /dev/null | grep '%' |
			grep -E 'vdisk|vd_|bufio|thin|dm_|sm_|btree|bio_prison|crc32c' | head -n 30
		if [ -n "${3:-}" ]; then
			echo "# inclusive (children) shares of the worker's phases"
			perf report -i "$_d" --stdio --children -g none --sort sym \
				--percent-limit 0 2> /dev/null | grep '%' |
				grep -E 'vdisk_pool_do_work|do_reclaim|vd_pool_reclaim|vdisk_pool_commit|process_deferred|process_read|worker_commit|vd_pool_lookup|rwsem_down|io_schedule|schedule$' | head -n 30
		fi
		echo "# call graphs of the top symbols (callers)"
		perf report -i "$_d" --stdio --no-children -g caller,0.5,callee,function,percent \
			--sort sym --percent-limit 3 2> /dev/null | grep -v '^#' | grep -v '^$' | head -n 300
	} > "$OUTD/profile/$1.txt"
	rm -f "$_d"
}

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
	perf_report "$C_NAME-$1" "$C_NAME $1 (brd)"
	return $_rc
}

# The snap group's delete window (workloads.sh): CPU profile, and a second
# recording of every context switch with its call graph (where the reader
# and the worker wait).
delete_hook() {
	_p=$OUTD/profile/$C_NAME-delete
	if [ "$1" = start ]; then
		perf record -a -g -e cpu-clock -F 2000 -o "$_p.data" -- sleep 3600 > /dev/null 2>&1 &
		_perf=$!
		perf record -a -g -e sched:sched_switch -o "$_p-offcpu.data" -- sleep 3600 > /dev/null 2>&1 &
		_perf2=$!
		sleep 1
		return 0
	fi
	kill -INT "$_perf" "$_perf2"
	wait "$_perf" "$_perf2"
}

# After group_snap: the reports (outside the measured window).
delete_report() {
	_p=$OUTD/profile/$C_NAME-delete
	perf_report "$C_NAME-delete" "$C_NAME delete of a snapshot mapping $B_BIG (brd), from the message until reclaimed, reader on another volume" phases
	{
		echo "# $C_NAME delete: perf record -a -g -e sched:sched_switch (each sample: a task leaving the CPU)"
		echo "# switches per task"
		perf report -i "$_p-offcpu.data" --stdio --no-children -g none --sort comm \
			--percent-limit 0.5 2> /dev/null | grep -E '%|Samples'
		# (perf report --comms drops the call graphs: filter by hand)
		perf report -i "$_p-offcpu.data" --stdio --no-children \
			-g caller,2,callee,function,percent --sort comm,sym 2> /dev/null |
			grep -v '^#' | grep -v '^$' > "$_p-offcpu.all"
		echo "# where fio (the reader) leaves the CPU (callers)"
		awk '/^ +[0-9.]+%/ { show = ($2 == "fio") } show' "$_p-offcpu.all" | head -n 80
		echo "# where the pool's worker leaves the CPU (callers)"
		awk '/^ +[0-9.]+%/ { show = ($2 ~ /^kworker.*vd/) } show' "$_p-offcpu.all" | head -n 80
	} > "$_p-offcpu.txt"
	rm -f "$_p-offcpu.data" "$_p-offcpu.all"
}

for c in $PROFILE_CONTENDERS; do
	for g in $PROFILE_GROUPS; do
		# dm-thin frees a deleted thin device inside the message.
		[ "$g" = delete ] && [ "$c" != dm-vdisk ] && continue
		log "profile $c/$g"
		BRD_SIZE=512M
		[ "$g" = delete ] && BRD_SIZE=1280M
		dmsetup remove_all > /dev/null 2>&1
		modprobe -r brd 2> /dev/null
		modprobe brd rd_nr=2 rd_size=$(( $(to_sectors "$BRD_SIZE") / 2 )) max_part=0 || exit 2
		c_start "$c" /dev/ram0 /dev/ram1 || { bench_error "cannot set up $c"; continue; }
		if [ "$g" = delete ]; then
			group_snap || bench_error "delete on $c failed"
			[ -f "$OUTD/profile/$c-delete.data" ] && delete_report
		else
			"group_$g" || bench_error "$g on $c failed"
		fi
		c_stop > /dev/null 2>&1
	done
done
dmsetup remove_all > /dev/null 2>&1
tar -c -f "$OUTDISK" -C "$OUTD" . || exit 2
sync
exit "$FAILED"
