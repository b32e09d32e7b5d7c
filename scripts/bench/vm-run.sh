#!/usr/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM-side benchmark runner (started by scripts/bench/bench.sh through the
# rig's vdisk.run=script).  For every backing, every workload group, every
# repetition and every contender - in an order that alternates between
# repetitions - it sets the contender up on freshly zeroed devices and runs
# the group (contenders.sh, workloads.sh).  Results go to /tmp/bench-out:
#   raw/<backing>/<workload>/<contender>/r<rep>.json   fio's JSON
#   metrics.tsv      times measured here: backing workload contender rep
#                    sample value n
#   workloads.tsv, contenders.tsv, info.txt, log.txt
# which is written as a tar archive onto the VM's third disk (vdisk2) for
# the host to unpack.  Kernel command line: vdisk.bench=smoke|full, and
# optionally vdisk.bench_groups=G,G and vdisk.bench_backings=B,B to run only
# those, vdisk.bench_reps=N for another number of repetitions.
#
# Exit status non-zero when the suite itself broke (a contender could not be
# set up, fio failed or wrote nothing); never because of a speed.
#
# vdisk-timeout: 4700
. /vdisk/selftests/lib.sh
here=$(dirname "$0")
. "$here/contenders.sh"
. "$here/workloads.sh"

profile=full only_groups='' only_backings='' only_reps=''
for w in $(cat /proc/cmdline); do
	case "$w" in
	vdisk.bench=*) profile=${w#vdisk.bench=} ;;
	vdisk.bench_groups=*) only_groups=${w#vdisk.bench_groups=} ;;
	vdisk.bench_backings=*) only_backings=${w#vdisk.bench_backings=} ;;
	vdisk.bench_reps=*) only_reps=${w#vdisk.bench_reps=} ;;
	esac
done

# Sizes (see workloads.sh).  The brd backing (CPU cost of the I/O path)
# runs every group but "snap", whose 8 GiB needs the file-backed disks; to
# keep a full run within ~40 minutes of TCG the file-backed disks run the
# random and sequential groups and "snap" (the smoke profile: only "snap").
case "$profile" in
smoke)
	REPS=1 B_RAND=8M B_SEQ=16M B_PAR=16M B_RT=1 B_SMALL=32M B_BIG=64M
	B_IDLE=1 B_RECLAIM_MAX=30 BRD_SIZE=128M
	;;
full)
	REPS=3 B_RAND=64M B_SEQ=128M B_PAR=64M B_RT=3 B_SMALL=1G B_BIG=8G
	B_IDLE=3 B_RECLAIM_MAX=300 BRD_SIZE=512M
	;;
*)
	echo "bench: unknown profile $profile" >&2
	exit 2
	;;
esac
[ -n "$only_reps" ] && REPS=$only_reps
BACKINGS="brd virtio"
[ -n "$only_backings" ] && BACKINGS=$(echo "$only_backings" | tr ',' ' ')
groups_for() {
	case "$1:$profile" in
	brd:*) workload_groups | grep -vx snap ;;
	virtio:smoke) echo snap ;;
	virtio:*) workload_groups | grep -vxE 'mixed|parallel' ;;
	esac | if [ -n "$only_groups" ]; then grep -xE "$(echo "$only_groups" | tr ',' '|')"; else cat; fi
}

OUTD=/tmp/bench-out
RAW=$OUTD/raw
TMPD=$VDISK_TEST_TMP
rm -rf "$OUTD"
mkdir -p "$RAW"
FAILED=0

# The results so far as a tar archive on the output disk: written after
# every group, so a run cut short still leaves what it measured.
save_results() {
	tar -c -f "$OUTDISK" -C "$OUTD" . || { echo "bench: cannot write the results" >&2; return 1; }
	sync
}

# metric WORKLOAD VALUE [SAMPLE [N]]: one measured time.
metric() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$BACKING" "$1" "$C_NAME" "$REP" "${3:-0}" "$2" \
		"${4:-1}" >> "$OUTD/metrics.tsv"
}

# Contender order for repetition N: rotated by N, reversed on even N, so
# each contender runs early and late, before and after each other one.
order() {
	contender_names | awk -v r="$1" '{ c[NR - 1] = $1 } END {
		n = NR
		for (i = 0; i < n; i++) {
			j = (i + r) % n
			if (r % 2 == 0) j = (n - 1 - i + r) % n
			print c[j]
		} }'
}

backing_reset() {
	dmsetup remove_all > /dev/null 2>&1
	case "$BACKING" in
	brd)
		modprobe -r brd 2> /dev/null
		modprobe brd rd_nr=2 rd_size=$(( $(to_sectors "$BRD_SIZE") / 2 )) max_part=0 ||
			{ bench_error "cannot load brd"; return 1; }
		META=/dev/ram0 DATA=/dev/ram1
		;;
	virtio)
		META=$(vm_disk 0) && DATA=$(vm_disk 1) || return 1
		# Give the space back to the host (sparse files), then make
		# sure the metadata superblocks read as zeros.
		blkdiscard "$DATA" > /dev/null 2>&1
		blkdiscard "$META" > /dev/null 2>&1
		dd if=/dev/zero of="$META" bs=1M count=1 oflag=direct status=none || return 1
		;;
	esac
	sync
	echo 3 > /proc/sys/vm/drop_caches
}

OUTDISK=$(vm_disk 2) || { echo "bench: no output disk" >&2; exit 2; }
modprobe dm-thin-pool && modprobe dm-vdisk || { echo "bench: modules missing" >&2; exit 2; }
contender_table > "$OUTD/contenders.tsv"
workload_table > "$OUTD/workloads.tsv"
{
	echo "profile $profile"
	echo "kernel $(uname -r)"
	echo "cpus $(nproc)"
	echo "mem_kib $(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
	echo "cpu $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "fio $(fio --version)"
	echo "reps $REPS"
	for v in B_RAND B_SEQ B_PAR B_RT B_SMALL B_BIG B_IDLE B_RECLAIM_MAX BRD_SIZE; do
		eval "echo \"size $v \$$v\""
	done
	echo "start $(date -u +%FT%TZ)"
} > "$OUTD/info.txt"
log "bench: profile $profile, $REPS repetitions, contenders: $(contender_names | tr '\n' ' ')"

for BACKING in $BACKINGS; do
	for group in $(groups_for "$BACKING"); do
		for REP in $(seq 1 "$REPS"); do
			for c in $(order "$REP"); do
				log "$BACKING/$group rep $REP: $c"
				backing_reset || { bench_error "backing $BACKING reset failed"; continue; }
				if ! c_start "$c" "$META" "$DATA"; then
					bench_error "cannot set up $c on $BACKING"
					continue
				fi
				"group_$group" || bench_error "$BACKING/$group on $c failed"
				t=$(now_us)
				c_stop > /dev/null 2>&1
				log "  stop: $(( ($(now_us) - t) / 1000 )) ms"
			done
		done
		save_results
	done
done
dmsetup remove_all > /dev/null 2>&1
modprobe -r brd 2> /dev/null
echo "end $(date -u +%FT%TZ)" >> "$OUTD/info.txt"
echo "failed $FAILED" >> "$OUTD/info.txt"
log "bench: done, failed=$FAILED"

save_results || exit 2
exit "$FAILED"
