# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The benchmark's workloads.  Sourced by vm-run.sh inside the VM after
# contenders.sh.  Workloads come in groups; a group runs on one freshly set
# up contender (c_start on zeroed devices), so its workloads are measured in
# the order a user would meet them (a fresh volume is written, then read,
# then snapshotted and overwritten).
#
# workload_table (also copied into the results for the report) says what
# each workload measures:
#   iops:DIR   fio IOPS (DIR read, write or rw = both added), latency of DIR
#              (rw: of the reads)
#   bw:DIR     fio bandwidth in MB/s, latency of DIR
#   ms, s, us  a time measured by the runner (lower is better)
#
# Every fio run is direct=1, libaio, one job at queue depth 1 unless the
# workload says otherwise.  Sizes come from the profile (vm-run.sh):
#   B_RAND   region of the 4K random workloads     B_SEQ   of the sequential ones
#   B_PAR    total of the 16 parallel volumes      B_RT    seconds of timed runs
#   B_SMALL  the "1 GiB mapped" size                B_BIG   the "8 GiB mapped" size
#   B_IDLE   seconds of idle latency before a delete
#   B_RECLAIM_MAX  seconds to wait for a delete's space to be reclaimed

# The runners (vm-run.sh, vm-profile.sh) set OUTD and FAILED=0 and use
# these too: a timestamped line in $OUTD/log.txt, and an error that fails
# the run without stopping it.
log() {
	echo "$(date +%T) $*" | tee -a "$OUTD/log.txt"
}

bench_error() {
	# shellcheck disable=SC2034  # the runner reads it
	FAILED=1
	log "ERROR: $*"
}

# name               group     measure    description
workload_table() {
	cat <<'EOF'
randwrite-fresh      rand      iops:write 4K random write to a fresh volume (every write allocates)
randread             rand      iops:read  4K random read of the data just written
randwrite-snap       rand      iops:write 4K random write right after a snapshot, every block written before (copy-on-write break; dm-linear: plain overwrite)
seqwrite-1m          seq       bw:write   1M sequential write to a fresh volume
seqread-1m           seq       bw:read    1M sequential read of written data
seqwrite-64k         seq       bw:write   64K sequential write to a fresh volume
seqread-64k          seq       bw:read    64K sequential read of written data
randrw-70-30         mixed     iops:rw    4K 70/30 random read/write, libaio iodepth 16, 4 jobs, on written data (latency: reads)
parallel-16          parallel  iops:write 16 fresh volumes written at once, 4K random write, one job each
randwrite-qd32       depth     iops:write 4K random write to a fresh volume, libaio iodepth 32
syncwrite-4k         depth     iops:write 4K random write to a fresh volume, fsync after every write (the database pattern)
snap-create-small    snap      ms         snapshot (suspend, create_snap, resume) of a volume with B_SMALL mapped
snap-create-big      snap      ms         snapshot of a volume with B_BIG mapped
activate             snap      ms         pool and 2 volumes activated with B_BIG mapped
delete-cmd           snap      ms         delete message of a snapshot mapping B_BIG alone
delete-reclaim       snap      s          from the delete until the pool status shows B_BIG free
delete-p99-idle      snap      us         p99 of 4K random reads (QD1) on another volume, before the delete
delete-p99-during    snap      us         the same from the delete until the space is reclaimed
EOF
}

# The groups, in run order.
workload_groups() {
	workload_table | awk '!seen[$2]++ { print $2 }'
}

# ---- helpers ----------------------------------------------------------------

# bench_fio WORKLOAD FIO-ARGS...: a measured fio run; its JSON is kept as
# raw/<backing>/<workload>/<contender>/r<rep>.json.  Fails (the suite is
# broken) when fio fails or writes no JSON.
bench_fio() {
	_wl=$1
	shift
	_dir=$RAW/$BACKING/$_wl/$C_NAME
	mkdir -p "$_dir"
	_json=$_dir/r$REP.json
	_t0=$(now_us)
	if ! fio --output-format=json --output="$_json" --direct=1 --ioengine=libaio \
		--group_reporting --randrepeat=0 --norandommap=0 "$@" > "$_dir/r$REP.err" 2>&1; then
		bench_error "fio $_wl on $C_NAME failed: $(head -c 400 "$_dir/r$REP.err")"
		return 1
	fi
	rm -f "$_dir/r$REP.err"
	log "  $_wl: $(( ($(now_us) - _t0) / 1000 )) ms"
	grep -q '"jobs"' "$_json" || { bench_error "fio $_wl on $C_NAME wrote no JSON"; return 1; }
}

# fill DEV SIZE [OFFSET]: write SIZE bytes sequentially (not measured).
fill() {
	fio --name=fill --filename="$1" --direct=1 --ioengine=libaio --rw=write --bs=1M \
		--iodepth=8 --size="$2" --offset="${3:-0}" --output=/dev/null > /dev/null 2>&1 ||
		{ bench_error "fill of $1 ($2 at ${3:-0}) failed"; return 1; }
}

# Microseconds since the epoch.
now_us() {
	_t=$EPOCHREALTIME
	echo "${_t%.*}${_t#*.}"
}

# p99 in microseconds of the clat log lines of fio's log (epoch ms, ns)
# between FROM and TO (epoch ms).  Prints "- 0" when no I/O was there.
p99_window() {	# LOG FROM TO
	awk -F', *' -v a="$2" -v b="$3" '$1 >= a && $1 <= b { print $2 }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- 0"; exit }
			i = int(NR * 0.99); if (i < NR * 0.99) i++; if (i < 1) i = 1
			printf "%.1f %d\n", v[i] / 1000, NR }'
}

# Called with "start" right before the delete message and "stop" once the
# space is reclaimed; vm-profile.sh records perf in between.
delete_hook() { :; }

sync_dev() {
	dd if=/dev/null of="$1" conv=fsync,notrunc status=none
}

# ---- groups -----------------------------------------------------------------

group_rand() {
	c_vol 1 "$(to_sectors "$B_RAND")" || return 1
	v=$VOL
	bench_fio randwrite-fresh --name=rw --filename="$v" --rw=randwrite --bs=4k || return 1
	bench_fio randread --name=rr --filename="$v" --rw=randread --bs=4k \
		--time_based --runtime="$B_RT" || return 1
	if c_has_snap; then
		sync_dev "$v"
		c_snap 2 1 || { bench_error "snapshot on $C_NAME failed"; return 1; }
	fi
	bench_fio randwrite-snap --name=rws --filename="$v" --rw=randwrite --bs=4k
}

group_seq() {
	c_vol 1 "$(to_sectors "$B_SEQ")" || return 1
	v=$VOL
	bench_fio seqwrite-1m --name=sw --filename="$v" --rw=write --bs=1M || return 1
	bench_fio seqread-1m --name=sr --filename="$v" --rw=read --bs=1M \
		--time_based --runtime="$B_RT" || return 1
	c_vol 2 "$(to_sectors "$B_SEQ")" || return 1
	v=$VOL
	bench_fio seqwrite-64k --name=sw --filename="$v" --rw=write --bs=64k || return 1
	bench_fio seqread-64k --name=sr --filename="$v" --rw=read --bs=64k \
		--time_based --runtime="$B_RT"
}

group_mixed() {
	c_vol 1 "$(to_sectors "$B_RAND")" || return 1
	v=$VOL
	fill "$v" "$B_RAND" || return 1
	bench_fio randrw-70-30 --name=mix --filename="$v" --rw=randrw --rwmixread=70 --bs=4k \
		--iodepth=16 --numjobs=4 --time_based --runtime="$B_RT"
}

group_parallel() {
	_each=$(( $(to_sectors "$B_PAR") / 16 ))
	_args=
	for i in $(seq 1 16); do
		c_vol "$i" "$_each" || return 1
		v=$VOL
		_args="$_args --name=p$i --filename=$v"
	done
	# Global options first: fio applies them to every job after them.
	# shellcheck disable=SC2086
	bench_fio parallel-16 --rw=randwrite --bs=4k $_args
}

group_depth() {
	c_vol 1 "$(to_sectors "$B_RAND")" || return 1
	bench_fio randwrite-qd32 --name=rwq --filename="$VOL" --rw=randwrite --bs=4k \
		--iodepth=32 || return 1
	c_vol 2 "$(to_sectors "$B_RAND")" || return 1
	bench_fio syncwrite-4k --name=sync --filename="$VOL" --rw=randwrite --bs=4k \
		--fsync=1 --time_based --runtime="$B_RT"
}

# time_ms CMD...: run CMD, print its wall time in ms (fails with CMD).
time_ms() {
	_t0=$(now_us)
	"$@" > /dev/null || return 1
	_t1=$(now_us)
	echo "$(( (_t1 - _t0) / 1000 )).$(( (_t1 - _t0) % 1000 / 100 ))"
}

# Snapshot latency (3 snapshots, each a metric sample named by its rep and
# index), then delete them again (not measured) and let the pool settle.
snap_latency() {	# WORKLOAD DEV FIRST-ID
	for k in 0 1 2; do
		sync_dev "$2"
		t=$(time_ms c_snap $(($3 + k)) 1) || { bench_error "snapshot on $C_NAME failed"; return 1; }
		metric "$1" "$t" "$k"
	done
}

group_snap() {
	_big=$(to_sectors "$B_BIG")
	c_vol 1 "$_big" || return 1
	v1=$VOL
	c_vol 2 "$(to_sectors 256M)" || return 1
	v2=$VOL
	fill "$v2" 64M || return 1
	if c_has_snap; then
		log "  fill $B_SMALL ($C_NAME)"
		fill "$v1" "$B_SMALL" || return 1
		snap_latency snap-create-small "$v1" 11 || return 1
		for k in 11 12 13; do c_delete $k || return 1; done
		log "  fill to $B_BIG ($C_NAME)"
		_small=$(( $(to_sectors "$B_SMALL") * 512 ))
		fill "$v1" $(( $(to_sectors "$B_BIG") * 512 - _small )) "$_small" || return 1
		snap_latency snap-create-big "$v1" 21 || return 1
		for k in 22 23; do c_delete $k || return 1; done
		sync_dev "$v1"
	fi
	c_stop || { bench_error "stopping $C_NAME failed"; return 1; }
	t=$(time_ms c_activate) || { bench_error "activating $C_NAME failed"; return 1; }
	metric activate "$t"
	c_has_snap || return 0

	# Delete the origin: snapshot 21 alone maps B_BIG, and its delete frees it.
	c_delete 1 || return 1
	sleep 2
	used0=$(c_used)
	want=$(( used0 - $(to_sectors "$B_BIG") * 512 * 98 / 100 ))
	lat=$TMPD/lat
	rm -f "$lat"_*
	fio --name=reader --filename="$v2" --direct=1 --ioengine=libaio --rw=randread \
		--bs=4k --size=64M --time_based --runtime=$((B_RECLAIM_MAX + 120)) \
		--write_lat_log="$lat" --log_avg_msec=0 --log_unix_epoch=1 \
		--output="$TMPD/reader.out" > /dev/null 2>&1 &
	fpid=$!
	sleep 0.5
	t_idle=$(( $(now_us) / 1000 ))
	sleep "$B_IDLE"
	delete_hook start
	td0=$(now_us)
	dmsetup message "$POOL" 0 delete 21 || { bench_error "delete on $C_NAME failed"; kill -INT $fpid; return 1; }
	td1=$(now_us)
	# Checked at least once: dm-thin's delete returns only when done.
	tr_end=
	while :; do
		if [ "$(c_used)" -le "$want" ]; then
			tr_end=$(now_us)
			break
		fi
		[ $(( ($(now_us) - td0) / 1000000 )) -lt "$B_RECLAIM_MAX" ] || break
		sleep 0.1
	done
	[ -n "$tr_end" ] || { log "  reclaim not finished after ${B_RECLAIM_MAX}s"; tr_end=$(now_us); }
	delete_hook stop
	sleep 0.2
	kill -INT "$fpid"
	wait "$fpid"
	[ -s "${lat}_clat.1.log" ] || { bench_error "no latency log from the reader"; return 1; }
	metric delete-cmd "$(( (td1 - td0) / 1000 )).$(( (td1 - td0) % 1000 / 100 ))"
	r=$(( tr_end - td0 ))
	metric delete-reclaim "$(( r / 1000000 )).$(printf %03d $(( r % 1000000 / 1000 )))"
	# At least one second of "during", so an instant delete is judged by
	# the I/O right after it too.
	d_end=$(( tr_end / 1000 ))
	[ $(( d_end - td0 / 1000 )) -ge 1000 ] || d_end=$(( td0 / 1000 + 1000 ))
	set -- $(p99_window "${lat}_clat.1.log" "$t_idle" $(( td0 / 1000 )))
	metric delete-p99-idle "$1" "" "$2"
	set -- $(p99_window "${lat}_clat.1.log" $(( td0 / 1000 )) "$d_end")
	metric delete-p99-during "$1" "" "$2"
	rm -f "$lat"_*
}
