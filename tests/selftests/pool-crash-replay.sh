#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Crash consistency: a pool whose metadata and data devices are dm-linear
# slices of ONE device under dm-log-writes (so the log has one total order)
# runs a scripted workload (writes of known content, fsync'ed writes, a snapshot,
# a delete, a discard, flushes).  Then, for replay points in the log, the log
# is replayed onto a zeroed scratch device up to that entry (a crash there),
# and the pool must load, vdisk-check must be clean and every write
# acknowledged by a flush before that point must read back exactly; blocks
# written later read as either the acknowledged or a later content.
#
# Replay points: every mark (m<k> before and a<k> after the flushes of step
# k), the last entry, and at most MAX_FLUSH_POINTS of the FLUSH/FUA entries,
# evenly spread (all of them when there are fewer), to fit TCG.
# vdisk-log-replay replays discards as zeroes.
#
# vdisk-timeout: 1200
# vdisk-cost: 151 620
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

MAX_FLUSH_POINTS=${MAX_FLUSH_POINTS:-24}
MS=8192		# metadata slice: 4 MiB
DS=65536	# data slice: 32 MiB
VSZ=2M		# vdisk size: 512 blocks of 4 KiB
W=$VDISK_TEST_TMP/crash-replay.$$
mkdir -p "$W"
at_exit rm -rf "$W"
STEP=0
EXIST=

modprobe dm-log-writes
modprobe dm-vdisk
at_exit modprobe -r dm-vdisk
brd_setup 3 64M
O=/dev/ram0 L=/dev/ram1 S=/dev/ram2

# gen V B N R: N blocks of vdisk V from block B as written in round R: each
# 4 KiB block is its 16-byte tag "vVV bBBBBB rRRR\n" repeated.
gen() {
	awk -v v="$1" -v b="$2" -v n="$3" -v r="$4" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = sprintf("v%02d b%05d r%03d\n", v, b + i, r)
			while (length(s) < 4096) s = s s
			printf "%s", s
		} }'
}
# wr V B N R [fsync]: write N blocks to vdisk V (O_DIRECT; fsync: then a
# FLUSH, busybox dd has no dsync; the pool's commits make the FUA writes) and
# to its model; log each block in $W/writes as "step vdisk block round".
wr() {
	gen "$1" "$2" "$3" "$4" > "$W/chunk"
	dd if="$W/chunk" of="$W/model-v$1" bs=4096 seek="$2" conv=notrunc status=none
	dd if="$W/chunk" of="/dev/mapper/crv$1" bs=4096 seek="$2" conv=notrunc${5:+,$5} \
		oflag=direct status=none || echo "write v$1 $2+$3 failed"
	_b=$2
	while [ "$_b" -lt $(($2 + $3)) ]; do
		echo "$STEP $1 $_b $4" >> "$W/writes"
		_b=$((_b + 1))
	done
}
# disc V B N: discard N blocks (they read as zeros: round Z).
disc() {
	blkdiscard -o $(($2 * 4096)) -l $(($3 * 4096)) "/dev/mapper/crv$1" || echo "discard failed"
	dd if=/dev/zero of="$W/model-v$1" bs=4096 seek="$2" count="$3" conv=notrunc status=none
	_b=$2
	while [ "$_b" -lt $(($2 + $3)) ]; do
		echo "$STEP $1 $_b Z" >> "$W/writes"
		_b=$((_b + 1))
	done
}
mark() {
	dmsetup message crlw 0 mark "$1" || echo "mark $1 failed"
}
# ack: close step STEP: mark m<k>, flush every active vdisk, mark a<k>, and
# keep the acknowledged content of every vdisk as the manifest of a<k>.
ack() {
	mark "m$STEP"
	for _v in $EXIST; do
		flush_dev "/dev/mapper/crv$_v" || echo "flush v$_v failed"
	done
	mark "a$STEP"
	echo "$EXIST" > "$W/a$STEP.exist"
	for _v in $EXIST; do
		cp "$W/model-v$_v" "$W/a$STEP-v$_v.img"
	done
	STEP=$((STEP + 1))
}
new_vdisk() {	# V
	make_vdisk "crv$1" crpool "$1" $VSZ || echo "vdisk $1 activation failed"
	EXIST="$EXIST $1"
}

workload() {
	dm_create crlw "0 $(dev_sectors $O) log-writes $O $L" || return 1
	dm_create crmeta "0 $MS linear /dev/mapper/crlw 0" || return 1
	dm_create crdata "0 $DS linear /dev/mapper/crlw $MS" || return 1
	make_pool crpool /dev/mapper/crmeta /dev/mapper/crdata 8 0 || return 1
	: > "$W/writes"
	: > "$W/deleted"
	# 0: an empty vdisk
	pool_msg crpool create_vdisk 1
	truncate -s $VSZ "$W/model-v1"
	new_vdisk 1
	ack
	# 1: first writes
	wr 1 0 32 1
	ack
	# 2: overwrites, some written with fsync
	wr 1 16 32 2
	wr 1 300 8 2 fsync
	ack
	# 3: snapshot, copy-on-write on both sides
	dmsetup suspend crv1
	pool_msg crpool create_snap 2 1
	dmsetup resume crv1
	cp "$W/model-v1" "$W/model-v2"
	new_vdisk 2
	wr 1 0 16 3
	wr 2 40 16 3
	ack
	# 4: a third vdisk
	pool_msg crpool create_vdisk 3
	truncate -s $VSZ "$W/model-v3"
	new_vdisk 3
	wr 3 0 32 4
	wr 1 100 16 4
	ack
	# 5: discard (blocks 20..27 are shared with the snapshot)
	disc 1 20 8
	wr 2 100 16 5
	ack
	# 6: delete vdisk 3, writes with fsync
	dm_remove crv3
	pool_msg crpool delete 3
	echo "$STEP 3" >> "$W/deleted"
	EXIST=" 1 2"
	wr 1 200 32 6 fsync
	ack
	# 7: writes never flushed by the workload
	wr 1 0 8 7
	wr 2 0 8 7
	mark end-of-writes
	dm_remove crv2
	dm_remove crv1
	dm_remove crpool
	dm_remove crdata
	dm_remove crmeta
	dm_remove crlw
}

# check_vdisk K V: vdisk V (active as ccv<V>) holds the manifest a<K>,
# except blocks that hold the content of a write made after step K.
check_vdisk() {
	cmp -l "/dev/mapper/ccv$2" "$W/a$1-v$2.img" 2>&1 |
		awk '/^ *[0-9]/ { b = int(($1 - 1) / 4096); if (!(b in seen)) print b; seen[b] = 1 }
		     !/^ *[0-9]/ { print "cmp: " $0 > "/dev/stderr" }' > "$W/diff"
	_bad=0
	while read -r _b; do
		dd if="/dev/mapper/ccv$2" of="$W/got" bs=4096 skip="$_b" count=1 \
			iflag=direct status=none
		_ok=0
		for _r in $(awk -v k="$1" -v v="$2" -v b="$_b" \
				'$1 > k && $2 == v && $3 == b { print $4 }' "$W/writes"); do
			if [ "$_r" = Z ]; then
				cmp -s "$W/got" "$W/zero4k" && _ok=1
			else
				gen "$2" "$_b" 1 "$_r" | cmp -s - "$W/got" && _ok=1
			fi
		done
		if [ $_ok = 0 ]; then
			_bad=$((_bad + 1))
			[ $_bad -le 5 ] && echo "vdisk $2 block $_b: not the content acknowledged at a$1 nor a later write; reads '$(head -c 15 "$W/got")', expected '$(dd if="$W/a$1-v$2.img" bs=4096 skip="$_b" count=1 status=none | head -c 15)'"
		fi
	done < "$W/diff"
	[ $_bad = 0 ] && return 0
	echo "vdisk $2: $_bad bad blocks"
	return 1
}

# replay_check ENTRY K: crash at log entry ENTRY; check against manifest a<K>
# (K empty: before a0, only the pool's consistency is checked).
# (Its own variable names: lib helpers such as vdisk_check set _rc.)
replay_check() {
	_e=$1 _k=$2 rp_rc=0
	zero_dev $S 36M
	blockdev --flushbufs $S
	vdisk-log-replay --log $L --replay $S --to-entry "$_e" || return 1
	dm_create ccmeta "0 $MS linear $S 0" || return 1
	dm_create ccdata "0 $DS linear $S $MS" || return 1
	if ! make_pool ccpool /dev/mapper/ccmeta /dev/mapper/ccdata 8 0; then
		echo "entry $_e: the pool does not load"
		dm_remove ccdata
		dm_remove ccmeta
		return 1
	fi
	if [ -n "$_k" ]; then
		for _v in $(cat "$W/a$_k.exist"); do
			_later=$(awk -v k="$_k" -v v="$_v" '$1 > k && $2 == v' "$W/deleted")
			if ! make_vdisk "ccv$_v" ccpool "$_v" $VSZ 2>"$W/err"; then
				[ -n "$_later" ] && continue
				echo "entry $_e: vdisk $_v (exists at a$_k) does not activate: $(cat "$W/err")"
				rp_rc=1
				continue
			fi
			check_vdisk "$_k" "$_v" || rp_rc=1
			dm_remove "ccv$_v"
		done
		for _v in $(awk -v k="$_k" '$1 <= k { print $2 }' "$W/deleted"); do
			if make_vdisk "ccv$_v" ccpool "$_v" $VSZ 2>/dev/null; then
				echo "entry $_e: vdisk $_v, deleted before a$_k, still exists"
				dm_remove "ccv$_v"
				rp_rc=1
			fi
		done
	fi
	dm_remove ccpool || rp_rc=1
	vdisk_check /dev/mapper/ccmeta || rp_rc=1
	dm_remove ccdata
	dm_remove ccmeta
	return $rp_rc
}

# ---- run the workload, then pick the replay points -------------------------
dd if=/dev/zero of="$W/zero4k" bs=4096 count=1 status=none
workload > "$W/workload.out" 2>&1
wl_rc=$?
wl_out=$(cat "$W/workload.out")
lw_ok=0
vdisk-log-replay --log $L --list > "$W/list" 2> "$W/list.err" && lw_ok=1
idx_of() {	# mark name -> entry index
	awk -v m="$1" '$4 == "MARK" && $5 == m { print $1; exit }' "$W/list"
}
: > "$W/points"
if [ $lw_ok = 1 ]; then
	awk '$4 == "MARK" { print $1 }' "$W/list" >> "$W/points"
	awk '$4 ~ /FLUSH|FUA/ { print $1 }' "$W/list" > "$W/flushes"
	nf=$(wc -l < "$W/flushes")
	awk -v n="$nf" -v m="$MAX_FLUSH_POINTS" \
		'n <= m || int((NR - 1) * m / n) != int((NR - 2) * m / n) { print }' \
		"$W/flushes" >> "$W/points"
	tail -n 1 "$W/list" | cut -d' ' -f1 >> "$W/points"
	sort -n -u "$W/points" -o "$W/points"
fi
np=$(wc -l < "$W/points")

tap_plan $((np + 5))
if [ "$wl_rc" = 0 ] && [ -z "$wl_out" ]; then
	tap_ok "workload on the logged pool ran cleanly"
else
	tap_fail "workload on the logged pool ran cleanly"
	tap_diag "$wl_out"
fi
if [ $lw_ok = 1 ] && [ -n "$(idx_of a$((STEP - 1)))" ] && [ -n "$(idx_of end-of-writes)" ]; then
	tap_ok "log parses: $(wc -l < "$W/list") entries, $nf FLUSH/FUA"
else
	tap_fail "log parses and holds every mark"
	tap_diag "$(cat "$W/list.err")"
fi
tap_diag "replay points: $np (every mark, the last entry, $MAX_FLUSH_POINTS of $nf FLUSH/FUA entries at most)"

# The a<k> mark in force at entry E: the last one at or before E.
ack_at() {
	_k= _i=0
	while [ $_i -lt $STEP ]; do
		_x=$(idx_of "a$_i")
		[ -n "$_x" ] && [ "$_x" -le "$1" ] && _k=$_i
		_i=$((_i + 1))
	done
	echo "$_k"
}
npass=0
start=$(date +%s)
while read -r e; do
	k=$(ack_at "$e")
	desc="replay to entry $e ($(awk -v e="$e" '$1 == e { print $4, $5 }' "$W/list")), acknowledged through a${k:-none}"
	if out=$(replay_check "$e" "$k" 2>&1); then
		tap_ok "$desc"
		npass=$((npass + 1))
	else
		tap_fail "$desc"
		tap_diag "$out"
	fi
done < "$W/points"
tap_diag "$npass of $np replay points consistent in $(($(date +%s) - start)) s"

# Self-checks: the checker and the parser can fail.
a0=$(idx_of a0)
if [ -n "$a0" ] && out=$(replay_check "$a0" 1 2>&1); then
	tap_fail "self-check: state at a0 checked against manifest a1 is caught"
elif [ -n "$a0" ] && echo "$out" | grep -q "bad blocks"; then
	tap_ok "self-check: state at a0 checked against manifest a1 is caught"
else
	tap_fail "self-check: state at a0 checked against manifest a1 is caught"
	tap_diag "$out"
fi
dd if=/dev/urandom of=$S bs=4096 count=4 status=none
if vdisk-log-replay --log $S --list > /dev/null 2> "$W/err"; then
	tap_fail "self-check: a log with a bad magic is refused"
else
	tap_check "self-check: a log with a bad magic is refused" grep -q "bad magic" "$W/err"
fi

if dmesg_problems; then tap_fail "kernel log clean"; else tap_ok "kernel log clean"; fi
tap_done
