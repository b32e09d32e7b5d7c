#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Crash consistency with many writes in flight across flushes (the write
# fast path, issue 12).  A pool whose metadata and data devices are
# dm-linear slices of ONE device under dm-log-writes runs vdisk-crash-io:
# 16 threads keep writes (4 KiB .. 1 MiB, block-aligned, plus 512-byte
# writes at any sector: read-modify-write) and discards in flight while
# flushes are issued every 6 completed operations (at most 12 complete per
# flush), each followed by a mark r<run>f<k> in the log.  Run 1 writes whole
# blocks only.  Run 1 writes vdisk 1; then vdisk 2 is created as
# a snapshot of vdisk 1 and run 2 writes both (copy-on-write of shared
# blocks on the fast path, discards of shared blocks).
#
# Then the log is replayed step by step (vdisk-log-replay --stepwise) onto a
# base device and, at every FLUSH/FUA entry, every mark and the last entry
# (a crash there), a copy of the base must: load as a pool, activate the
# vdisks that exist there, hold in every 512-byte sector what the last
# completed flush promised (vdisk-crash-io check: the operation on that
# sector completed last before the flush, or a later one, never an older one
# and never anything else) and pass vdisk-check after the pool is removed.
#
# FLUSHES per run (default 150) gives over 1000 replay points (about 1400:
# each of the workload's flushes and the pool's commits around it are
# several FLUSH/FUA entries; 250 gave 2295 at cd00fcb, 1224 s on a slow
# host, over the CI stock lane's budget by itself); MAX_POINTS > 0 checks
# only that many, evenly spread (every mark is kept).
#
# vdisk-timeout: 7200
# vdisk-cost: 714 3000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

FLUSHES=${FLUSHES:-150}
MAX_POINTS=${MAX_POINTS:-0}
MS=32768	# metadata slice: 16 MiB (the fast path's reserves need room)
DS=65536	# data slice: 32 MiB (the fast path needs >2048 free blocks)
VSZ=4M		# vdisk size: 1024 blocks of 4 KiB
W=$VDISK_TEST_TMP/crash-inflight.$$
mkdir -p "$W"
at_exit rm -rf "$W"

modprobe dm-log-writes
modprobe dm-vdisk
at_exit modprobe -r dm-vdisk
brd_setup 4 768M	# pages are allocated on write: the log takes ~300 MiB
O=/dev/ram0 L=/dev/ram1 B=/dev/ram2 S=/dev/ram3

mark() {
	dmsetup message crlw 0 mark "$1" || echo "mark $1 failed"
}

workload() {
	dm_create crlw "0 $(to_sectors 48M) log-writes $O $L" || return 1
	dm_create crmeta "0 $MS linear /dev/mapper/crlw 0" || return 1
	dm_create crdata "0 $DS linear /dev/mapper/crlw $MS" || return 1
	make_pool crpool /dev/mapper/crmeta /dev/mapper/crdata 8 0 || return 1
	pool_msg crpool create_vdisk 1 || return 1
	make_vdisk crv1 crpool 1 $VSZ || return 1
	flush_dev /dev/mapper/crv1
	mark ready
	vdisk-crash-io write --events "$W/ev1" --run 1 --flushes "$FLUSHES" --seed 1 --ops-per-flush 6 \
		--mix blocks --mark-dev crlw 1=/dev/mapper/crv1 > "$W/run1.out" || return 1
	vdisk_field crv1 fast_writes > "$W/fast1"
	dmsetup suspend crv1
	pool_msg crpool create_snap 2 1 || return 1
	dmsetup resume crv1
	make_vdisk crv2 crpool 2 $VSZ || return 1
	flush_dev /dev/mapper/crv2
	mark snap
	vdisk-crash-io write --events "$W/ev2" --run 2 --flushes "$FLUSHES" --seed 2 --ops-per-flush 6 \
		--mark-dev crlw 1=/dev/mapper/crv1 2=/dev/mapper/crv2 > "$W/run2.out" || return 1
	echo $(($(vdisk_field crv1 fast_writes) + $(vdisk_field crv2 fast_writes) -
		$(cat "$W/fast1"))) > "$W/fast2"
	mark end
	dm_remove crv2
	dm_remove crv1
	dm_remove crpool
	dm_remove crdata
	dm_remove crmeta
	dm_remove crlw
}

# The checked pool and its vdisks get fixed minors and our own device
# nodes, so that a replay point costs three dmsetup calls (create the pool,
# create the vdisks, remove all); TCG makes every process start expensive.
DM_MAJOR=$(awk '$2 == "device-mapper" { print $1 }' /proc/devices)
POOL_MINOR=200
for v in 1 2; do mknod "$W/ccv$v" b "$DM_MAJOR" $((POOL_MINOR + v)); done
at_exit dmsetup remove ccv2 ccv1 ccpool 2>/dev/null

# check_point ENTRY MARK: the copy of the base (replayed through ENTRY,
# whose last mark is MARK) on S holds a consistent pool and what MARK
# promised.
check_point() {
	cp_rc=0
	dd if=$B of=$S bs=1M count=48 iflag=direct oflag=direct status=none || return 1
	if ! dmsetup create ccpool --major "$DM_MAJOR" --minor $POOL_MINOR --table \
		"0 $DS vdisk-pool /dev/mapper/ccmeta /dev/mapper/ccdata 8 0" 2> "$W/err"; then
		echo "entry $1: the pool does not load: $(cat "$W/err")"
		dmesg | tail -n 4
		return 1
	fi
	case $2 in
	ready)	ids=1 args="--events $W/ev1 --run 1 --flush 0" ;;
	r1f*)	ids=1 args="--events $W/ev1 --run 1 --flush ${2#r1f}" ;;
	snap)	ids="1 2" args="--events $W/ev2 --run 2 --flush 0" ;;
	r2f*|end) k=${2#r2f}
		[ "$2" = end ] && k=$FLUSHES
		ids="1 2" args="--events $W/ev2 --run 2 --flush $k" ;;
	*)	ids= ;;	# before "ready": only the pool is checked
	esac
	case $2 in
	snap|r2f*|end) args="$args --base $W/ev1 --base-run 1 --base-id 1" ;;
	esac
	devs= spec= names=
	for v in $ids; do
		spec="$spec${spec:+;}ccv$v,,$((POOL_MINOR + v)),rw,0 $(to_sectors $VSZ) vdisk $DM_MAJOR:$POOL_MINOR $v"
		devs="$devs $v=$W/ccv$v"
		names="ccv$v $names"
	done
	if [ -n "$spec" ] && ! dmsetup create --concise "$spec" 2> "$W/err"; then
		echo "entry $1: the vdisks ($ids) do not activate: $(cat "$W/err")"
		cp_rc=1
	elif [ -n "$devs" ]; then
		# shellcheck disable=SC2086
		if ! vdisk-crash-io check $args $devs; then
			echo "entry $1: content is not what $2 promised"
			cp_rc=1
		fi
	fi
	# shellcheck disable=SC2086
	if ! dmsetup remove $names ccpool 2> "$W/err"; then
		for n in $names ccpool; do dm_remove "$n"; done
		dm_exists ccpool && { echo "entry $1: the pool does not go away: $(cat "$W/err")"; cp_rc=1; }
	fi
	vdisk_check /dev/mapper/ccmeta || cp_rc=1
	return $cp_rc
}

# ---- run the workload, then pick the replay points -------------------------
workload > "$W/workload.out" 2>&1
wl_rc=$?
lw_ok=0
vdisk-log-replay --log $L --list > "$W/list" 2> "$W/list.err" && lw_ok=1
# points: "<entry> <last mark at or before it> <its flags and mark>", every
# FLUSH/FUA entry, every mark and the last entry.
awk -v max="$MAX_POINTS" '
	BEGIN { n = 0 }
	{ if ($4 == "MARK") m = $5
	  if ($4 == "MARK" || $4 ~ /FLUSH|FUA/) {
		e[n] = $1; mk[n] = m; ismark[n] = ($4 == "MARK"); what[n] = $4 " " $5; n++ }
	  last = $1; lastm = m; lastwhat = $4 " " $5 }
	END {
		if (n == 0 || e[n - 1] != last) {
			e[n] = last; mk[n] = lastm; ismark[n] = 1; what[n] = lastwhat; n++ }
		for (i = 0; i < n; i++)
			if (max <= 0 || n <= max || ismark[i] || int(i * max / n) != int((i - 1) * max / n))
				print e[i], (mk[i] == "" ? "-" : mk[i]), what[i]
	}' "$W/list" > "$W/points"
nf=$(awk '$4 ~ /FLUSH|FUA/' "$W/list" | wc -l)
np=$(wc -l < "$W/points")

tap_plan $((np + 7))
if [ "$wl_rc" = 0 ] && [ -z "$(grep -v operations "$W/workload.out")" ]; then
	tap_ok "workload on the logged pool ran cleanly: $(cat "$W/run1.out") then $(cat "$W/run2.out")"
else
	tap_fail "workload on the logged pool ran cleanly"
	tap_diag "$(cat "$W/workload.out")"
fi
if [ $lw_ok = 1 ] && grep -q " MARK r2f$FLUSHES\$" "$W/list" && grep -q " MARK end\$" "$W/list"; then
	tap_ok "log parses: $(wc -l < "$W/list") entries, $nf FLUSH/FUA, every mark"
else
	tap_fail "log parses and holds every mark"
	tap_diag "$(cat "$W/list.err")"
fi
# Both runs exercise the fast path (fast-path bios; a write cut into runs
# counts once per run).  How much of the load takes it under 16 writers is
# a performance question (Documentation/performance.md), not this test's.
fast1=$(cat "$W/fast1" 2>/dev/null) fast2=$(cat "$W/fast2" 2>/dev/null)
ops1=$(awk '{ print $1 }' "$W/run1.out" 2>/dev/null)
ops2=$(awk '{ print $1 }' "$W/run2.out" 2>/dev/null)
if [ "${fast1:-0}" -ge 50 ] && [ "${fast2:-0}" -ge 50 ]; then
	tap_ok "both runs took the fast path (fast-path bios: $fast1 for $ops1 operations, $fast2 for $ops2)"
else
	tap_fail "both runs took the fast path (fast-path bios: ${fast1:-?} for ${ops1:-?} operations, ${fast2:-?} for ${ops2:-?})"
fi

if [ "$MAX_POINTS" -le 0 ] && [ "$np" -lt 1000 ]; then
	tap_fail "at least 1000 replay points ($np)"
else
	tap_ok "replay points: $np (every FLUSH/FUA entry of $nf, every mark, the last entry; MAX_POINTS=$MAX_POINTS)"
fi

dm_create ccmeta "0 $MS linear $S 0"
dm_create ccdata "0 $DS linear $S $MS"
zero_dev $B 48M
mkfifo "$W/to-replay" "$W/from-replay"
vdisk-log-replay --log $L --replay $B --stepwise < "$W/to-replay" > "$W/from-replay" 2> "$W/replay.err" &
exec 3> "$W/to-replay" 4< "$W/from-replay"
npass=0
start=$(date +%s)
while read -r e m what; do
	desc="replay to entry $e ($what), promised: $m"
	echo "$e" >&3
	if ! read -r got <&4 || [ "$got" != "$e" ]; then
		tap_fail "$desc"
		tap_diag "vdisk-log-replay stopped: $(cat "$W/replay.err")"
		continue
	fi
	if out=$(check_point "$e" "$m" 2>&1); then
		tap_ok "$desc"
		npass=$((npass + 1))
	else
		tap_fail "$desc"
		tap_diag "$out"
	fi
done < "$W/points"
exec 3>&- 4<&-
wait
tap_diag "$npass of $np replay points consistent in $(($(date +%s) - start)) s"

# Self-check: the checker fails.  The end state (on the base now) checked
# against run 1's early promise must be caught: run 2 overwrote vdisk 1 with
# run-2 tags, which run 1's history does not know.  And the state at mark
# r1f2 against the promise of r1f<FLUSHES>: older writes.
dd if=$B of=$S bs=1M count=48 iflag=direct oflag=direct status=none
make_pool ccpool /dev/mapper/ccmeta /dev/mapper/ccdata 8 0
make_vdisk ccv1 ccpool 1 $VSZ
if vdisk-crash-io check --events "$W/ev1" --run 1 --flush 2 1=/dev/mapper/ccv1 > "$W/self" 2>&1; then
	tap_fail "self-check: the end state checked against run 1's promise is caught"
else
	tap_check "self-check: the end state checked against run 1's promise is caught" \
		grep -q "bad sectors" "$W/self"
fi
dm_remove ccv1
dm_remove ccpool
r1f2=$(awk '$4 == "MARK" && $5 == "r1f2" { print $1 }' "$W/list")
zero_dev $B 48M
if [ -n "$r1f2" ] && vdisk-log-replay --log $L --replay $B --to-entry "$r1f2" &&
   dd if=$B of=$S bs=1M count=48 iflag=direct oflag=direct status=none &&
   make_pool ccpool /dev/mapper/ccmeta /dev/mapper/ccdata 8 0 &&
   make_vdisk ccv1 ccpool 1 $VSZ &&
   ! vdisk-crash-io check --events "$W/ev1" --run 1 --flush "$FLUSHES" 1=/dev/mapper/ccv1 \
	> "$W/self" 2>&1 && grep -q "bad sectors" "$W/self"; then
	tap_ok "self-check: the state at r1f2 checked against r1f$FLUSHES's promise is caught"
else
	tap_fail "self-check: the state at r1f2 checked against r1f$FLUSHES's promise is caught"
	tap_diag "$(cat "$W/self" 2>/dev/null)"
fi
dm_remove ccv1
dm_remove ccpool

if dmesg_problems; then tap_fail "kernel log clean"; else tap_ok "kernel log clean"; fi
tap_done
