#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reload torture (issue 18): while fio writes and verifies (crc32c) two
# "victim" vdisks, a seeded random sequence of operator steps runs on the
# other vdisks and on the pool: vdisk reloads to another length, then resume
# or `dmsetup clear`; suspend/resume (plain and --noflush); a table mapping
# one vdisk id twice; a vdisk id already active elsewhere; a second pool on
# the same metadata or data device; a pool reload naming another data or
# metadata device; the pool's table replaced by an error table and back;
# `dmsetup remove --force` of a vdisk (and of the pool, which its vdisks hold
# open: it gets an error table); snapshots of the victims; reloads of the
# victims to other lengths (above their fio region).  Every
# refused step must fail with a kernel log line saying why and change
# nothing; the victims' fio must verify; at the end every vdisk's data
# checks out, the pool is rw, vdisk-check is clean and a reactivation finds
# all the data.  Seed: $1, else $VDISK_SEED, else 18 (printed as "# seed N";
# in the VM: scripts/vm/run-selftests.sh --test pool-reload-torture
# --append VDISK_SEED=N, the kernel hands it to init's environment).
#
# vdisk-timeout: 300
# vdisk-cost: 75 88
# vdisk-smp: 2
# vdisk-disks: 64M 512M
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

SEED=${1:-${VDISK_SEED:-18}}
MAX_STEPS=60		# operator steps at most ...
MAX_SECS=45		# ... and for about this long (at least one of each kind)

tap_plan 22
echo "# seed $SEED"

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
T=$VDISK_TEST_TMP/torture
mkdir -p "$T"
rm -f "$T"/*
DISK0=$(vm_disk 0) DISK1=$(vm_disk 1)

# ---- random numbers: a 31-bit LCG, state in _rs (no $RANDOM in dash) ----
_rs=$((SEED % 2147483648))
rnd() {	# N: R = a number in [0, N)
	_rs=$(( (_rs * 1103515245 + 12345) % 2147483648 ))
	R=$(( (_rs / 65536) % $1 ))
}

# ---- bookkeeping: one counter and one failure file per kind of step ----
step=0
count() { eval "n_$1=\$((\${n_$1:-0} + 1))"; }
nruns() { eval "echo \${n_$1:-0}"; }
note_fail() {	# KIND MESSAGE...
	tk=$1
	shift
	echo "step $step: $*" >> "$T/fail.$tk"
	tap_diag "step $step ($tk): $*"
	return 1
}
report() {	# KIND DESCRIPTION
	if [ -s "$T/fail.$1" ]; then
		tap_fail "$2 ($(nruns "$1") steps)"
		tap_diag "$(head -c 3000 "$T/fail.$1")"
	elif [ "$(nruns "$1")" = 0 ]; then
		tap_fail "$2 (never ran)"
	else
		tap_ok "$2 ($(nruns "$1") steps)"
	fi
}
# refused KIND ERE WHAT CMD...: CMD fails and the kernel log since the mark
# has a line matching ERE.
refused() {
	tk=$1 tre=$2 twhat=$3
	shift 3
	dmesg_mark
	if to=$("$@" 2>&1); then
		note_fail "$tk" "$twhat: accepted ($*)"
		return 1
	fi
	dmesg_since_mark | grep -qE "$tre" ||
		note_fail "$tk" "$twhat: failed, but no kernel log line matches '$tre': $(dmesg_since_mark | tail -4 | tr '\n' '|')"
}
# A table of several lines (dmsetup reads it from stdin).
create_lines() {	# NAME LINES (printf %b escapes)
	printf '%b' "$2" | dmsetup create "$1"
}
load_lines() {
	printf '%b' "$2" | dmsetup load "$1"
}

# ---- devices: dm-linear over the VM disks (64 KiB data blocks) ----
S16M=32768
dm_create rtm "0 $S16M linear $DISK0 0" || tap_diag "rtm failed"
dm_create rtm2 "0 $S16M linear $DISK0 $S16M" || tap_diag "rtm2 failed"
dm_create rtd "0 524288 linear $DISK1 0" || tap_diag "rtd failed"
dm_create rtd2 "0 131072 linear $DISK1 524288" || tap_diag "rtd2 failed"
zero_dev /dev/mapper/rtm
zero_dev /dev/mapper/rtm2
P=/dev/mapper/rtp

AIO="--ioengine=libaio --iodepth=4"
VICTIMS="1 2"		# ids 1 and 2: rv1, rv2 (16M, fio on their first 4M)
OTHERS="3 4 5"		# ids 3..5: ro3..ro5 (1M..4M, checked against images)
SPARE=9			# created, never active
setup() {
	make_pool rtp /dev/mapper/rtm /dev/mapper/rtd 128 0 || return 1
	for ti in $VICTIMS $OTHERS $SPARE; do
		pool_msg rtp create_vdisk $ti || return 1
	done
	for ti in $VICTIMS; do
		make_vdisk rv$ti rtp $ti 16M || return 1
	done
	for ti in $OTHERS; do
		dd if=/dev/urandom of="$T/img$ti" bs=1M count=2 status=none &&
			truncate -s 4M "$T/img$ti" &&
			make_vdisk ro$ti rtp $ti 2M &&
			dd if="$T/img$ti" of=/dev/mapper/ro$ti bs=1M count=2 oflag=direct \
				status=none || return 1
	done
}
tap_check "pool, 2 victim and 3 other vdisks set up" setup
for ti in $OTHERS; do eval "size_$ti=2097152"; done	# (setup ran in a subshell)
for ti in $VICTIMS; do eval "vsize_$ti=16777216"; done

# ---- the victims: fio write+verify rounds until $T/stop exists ----
victim_loop() {	# ID
	tv=$1 tr=0
	VDISK_TEST_TMP=$T/vic$tv	# fio_verify's log file is per shell PID
	mkdir -p "$VDISK_TEST_TMP"
	while [ ! -e "$T/stop" ] && [ $tr -lt 200 ]; do
		if fio_verify /dev/mapper/rv$tv 4M $AIO --rw=randwrite --bs=4k \
			--randseed=$((SEED * 1000 + tv * 200 + tr + 1)) > "$T/vic$tv.out" 2>&1; then
			echo $tr > "$T/vic$tv.last"
		else
			{ echo "victim $tv round $tr:"; cat "$T/vic$tv.out"; } > "$T/vic$tv.fail"
			return 1
		fi
		tr=$((tr + 1))
	done
}
# shellcheck disable=SC2086
victim_args() {	# ID ROUND: the fio arguments of that round
	echo "4M $AIO --rw=randwrite --bs=4k --randseed=$((SEED * 1000 + $1 * 200 + $2 + 1))"
}
for v in $VICTIMS; do
	{ victim_loop $v; touch "$T/vic$v.done"; } &
	eval "vpid_$v=$!"
done

# ---- checks of the other vdisks against their images ----
img_sum() {	# FILE BYTES
	dd if="$1" bs=64k count=$(($2 / 65536)) status=none | sha256sum | cut -d' ' -f1
}
other_ok() {	# ID: size, content and highest mapped sector as the model says
	ti=$1
	eval "tsz=\$size_$ti"
	tgot=$(dev_sectors /dev/mapper/ro$ti)
	[ "$tgot" = $((tsz / 512)) ] || { echo "ro$ti: $tgot sectors, expected $((tsz / 512))"; return 1; }
	[ "$(dev_sha256 /dev/mapper/ro$ti 0 "$tsz")" = "$(img_sum "$T/img$ti" "$tsz")" ] ||
		{ echo "ro$ti: content differs from its image ($tsz bytes)"; return 1; }
	thi=$(dmsetup status ro$ti | awk '{ print $7 }')
	[ "$thi" = - ] || [ "$thi" -le $((tsz / 512)) ] ||
		{ echo "ro$ti: highest mapped sector $thi past the end $((tsz / 512))"; return 1; }
}
check_other() {	# KIND ID
	to=$(other_ok "$2") || note_fail "$1" "$to"
}
check_all_others() {	# KIND
	count "$1"
	for tj in $OTHERS; do check_other "$1" $tj; done
}
write_chunk() {	# ID 64K-INDEX: new random data there, in the vdisk and its image
	dd if=/dev/urandom of="$T/chunk" bs=64k count=1 status=none &&
		dd if="$T/chunk" of=/dev/mapper/ro$1 bs=64k seek="$2" oflag=direct \
			conv=notrunc status=none &&
		dd if="$T/chunk" of="$T/img$1" bs=64k seek="$2" conv=notrunc status=none
}
no_inactive() {	# DEV: no inactive table left behind
	! dmsetup info "$1" | grep -q INACTIVE
}
pick_other() { rnd 3; K=$((R + 3)); }

# ---- the operator steps ----
op_resize() {	# reload an other vdisk to a new length, write, resume or clear
	count resize
	pick_other
	eval "tcur=\$size_$K"
	rnd 3
	tnew=$(( (R + 1) * 1048576 ))
	[ "$tnew" -ge "$tcur" ] && tnew=$((tnew + 1048576))	# another size
	dmsetup reload ro$K --table "0 $((tnew / 512)) vdisk $P $K" ||
		{ note_fail resize "reload ro$K to $tnew bytes failed"; return; }
	# V1: the live table keeps its whole length and data until the resume.
	rnd $((tcur / 65536))
	write_chunk $K $R || note_fail resize "write to ro$K (block $R) with a reload pending failed"
	check_other resize $K
	rnd 3
	if [ $R = 0 ]; then
		dmsetup clear ro$K || note_fail resize "dmsetup clear ro$K failed"
		tap_diag "step $step (+$(($(date +%s) - start))s): ro$K reload $tcur -> $tnew, clear"
	else
		dmsetup resume ro$K || { note_fail resize "resume ro$K failed"; return; }
		if [ "$tnew" -lt "$tcur" ]; then
			# The blocks past the new end were unmapped at the resume.
			dd if=/dev/zero of="$T/img$K" bs=64k seek=$((tnew / 65536)) \
				count=$(((4194304 - tnew) / 65536)) conv=notrunc status=none
		fi
		eval "size_$K=$tnew"
		tap_diag "step $step (+$(($(date +%s) - start))s): ro$K reload $tcur -> $tnew, resume"
	fi
	no_inactive ro$K || note_fail resize "ro$K has an inactive table left"
	check_other resize $K
}
op_suspend() {	# suspend/resume an other vdisk, a victim or the pool
	count suspend
	rnd 2
	tnf=
	[ $R = 1 ] && tnf=--noflush
	rnd 3
	case $R in
	0) pick_other; td=ro$K ;;
	1) rnd 2; td=rv$((R + 1)) ;;
	2) td=rtp ;;
	esac
	tap_diag "step $step (+$(($(date +%s) - start))s): suspend $tnf $td"
	dmsetup suspend $tnf $td || note_fail suspend "suspend $tnf $td failed"
	rnd 5
	sleep 0.$R
	dmsetup resume $td || note_fail suspend "resume $td failed"
	[ "$td" = "ro$K" ] && check_other suspend $K
}
op_dup() {	# a table with one vdisk id twice; an id active elsewhere
	count dup
	pick_other
	eval "tsz=\$size_$K"
	thalf=$((tsz / 1024))
	rnd 3
	case $R in
	0)	tap_diag "step $step (+$(($(date +%s) - start))s): create with vdisk $SPARE twice"
		refused dup "mapped twice" "create with vdisk $SPARE twice" \
			create_lines rtdup "0 8192 vdisk $P $SPARE\n8192 8192 vdisk $P $SPARE\n"
		dm_exists rtdup && { note_fail dup "rtdup exists after a refused create"; dm_remove rtdup; } ;;
	1)	tap_diag "step $step (+$(($(date +%s) - start))s): load ro$K with vdisk $K twice"
		ttab=$(dmsetup table ro$K)
		refused dup "mapped twice" "load ro$K with vdisk $K twice" \
			load_lines ro$K "0 $thalf vdisk $P $K\n$thalf $thalf vdisk $P $K\n"
		[ "$(dmsetup table ro$K)" = "$ttab" ] || note_fail dup "ro$K's live table changed"
		no_inactive ro$K || { note_fail dup "ro$K has an inactive table"; dmsetup clear ro$K; }
		rnd $((tsz / 65536))
		write_chunk $K $R || note_fail dup "write to ro$K after the refused load failed"
		check_other dup $K ;;
	2)	rnd 2
		tid=1
		[ $R = 1 ] && tid=$K
		tap_diag "step $step (+$(($(date +%s) - start))s): create with vdisk $tid, active elsewhere"
		refused dup "already active on another device" "create with active vdisk $tid" \
			dmsetup create rtdup --table "0 8192 vdisk $P $tid"
		dm_exists rtdup && { note_fail dup "rtdup exists after a refused create"; dm_remove rtdup; } ;;
	esac
}
op_pool2() {	# a second pool on the live pool's metadata or data device
	count pool2
	rnd 2
	if [ $R = 0 ]; then
		tt="0 131072 vdisk-pool /dev/mapper/rtm /dev/mapper/rtd2 128 0" tw="metadata"
	else
		tt="0 524288 vdisk-pool /dev/mapper/rtm2 /dev/mapper/rtd 128 0" tw="data"
	fi
	tap_diag "step $step (+$(($(date +%s) - start))s): second pool on the $tw device"
	refused pool2 "already used by pool" "second pool on the $tw device" \
		dmsetup create rtp2 --table "$tt"
	dm_exists rtp2 && { note_fail pool2 "rtp2 exists after a refused create"; dm_remove rtp2; }
	mode_in rtp rw > /dev/null || note_fail pool2 "pool not rw: $(dmsetup status rtp)"
}
op_reload_other() {	# reload the pool naming another data/metadata device
	count reloaddev
	ttab=$(dmsetup table rtp)
	rnd 2
	if [ $R = 0 ]; then
		tap_diag "step $step (+$(($(date +%s) - start))s): reload the pool with another data device"
		refused reloaddev "cannot change the data device" "pool reload with another data device" \
			dmsetup load rtp --table "0 131072 vdisk-pool /dev/mapper/rtm /dev/mapper/rtd2 128 0"
	else
		tap_diag "step $step (+$(($(date +%s) - start))s): reload the pool with another metadata device"
		refused reloaddev "cannot change the metadata device" \
			"pool reload with another metadata device" \
			dmsetup load rtp --table "0 524288 vdisk-pool /dev/mapper/rtm2 /dev/mapper/rtd 128 0"
	fi
	[ "$(dmsetup table rtp)" = "$ttab" ] || note_fail reloaddev "the pool's live table changed"
	no_inactive rtp || { note_fail reloaddev "the pool has an inactive table"; dmsetup clear rtp; }
	mode_in rtp rw > /dev/null || note_fail reloaddev "pool not rw: $(dmsetup status rtp)"
}
op_error() {	# the pool's table replaced by an error table, then back
	count error
	ttab=$(dmsetup table rtp)
	rnd 2
	if [ $R = 0 ]; then
		tap_diag "step $step (+$(($(date +%s) - start))s): pool error table and back"
		{ dmsetup load rtp --table "0 524288 error" && dmsetup resume rtp; } ||
			{ note_fail error "loading an error table into the pool failed"; return; }
	else
		# The vdisks hold the pool open: the table becomes an error
		# table and the removal fails (device busy).
		tap_diag "step $step (+$(($(date +%s) - start))s): remove --force of the pool and back"
		if dmsetup remove --force rtp > /dev/null 2>&1; then
			note_fail error "remove --force removed the pool under its vdisks"
			return
		fi
		dmsetup table rtp | grep -q " error" ||
			{ note_fail error "remove --force left: $(dmsetup table rtp)"; return; }
	fi
	# P4: the pool object holds its devices; its vdisks go on.
	if dmsetup remove rtd 2>/dev/null; then
		note_fail error "the data device rtd could be removed under the pool"
	fi
	if dmsetup remove rtm 2>/dev/null; then
		note_fail error "the metadata device rtm could be removed under the pool"
	fi
	pick_other
	eval "tsz=\$size_$K"
	rnd $((tsz / 65536))
	write_chunk $K $R || note_fail error "write to ro$K under the error table failed"
	check_other error $K
	rnd 10
	sleep 0.$R
	{ dmsetup load rtp --table "$ttab" && dmsetup resume rtp; } ||
		note_fail error "loading the vdisk-pool table back failed: $(dmesg_test | tail -3 | tr '\n' '|')"
	mode_in rtp rw > /dev/null || note_fail error "pool not rw after the error table: $(dmsetup status rtp)"
	check_other error $K
}
op_rmforce() {	# dmsetup remove --force of an other vdisk, activated again
	count rmforce
	pick_other
	eval "tsz=\$size_$K"
	rnd 2
	if [ $R = 1 ]; then
		tap_diag "step $step (+$(($(date +%s) - start))s): remove --force ro$K (held open)"
		exec 7< /dev/mapper/ro$K
		dmsetup remove --force ro$K > /dev/null 2>&1
		exec 7<&-
	else
		tap_diag "step $step (+$(($(date +%s) - start))s): remove --force ro$K"
		dmsetup remove --force ro$K > /dev/null 2>&1 ||
			note_fail rmforce "remove --force ro$K (not open) failed"
	fi
	dm_remove ro$K || note_fail rmforce "ro$K cannot be removed"
	dm_create ro$K "0 $((tsz / 512)) vdisk $P $K" ||
		{ note_fail rmforce "ro$K does not activate again"; return; }
	check_other rmforce $K
}
op_vresize() {	# reload a victim to another length (above its fio region) under load
	count vresize
	rnd 2
	tv=$((R + 1))
	eval "tcur=\$vsize_$tv"
	rnd 4
	tnew=$(( (R + 2) * 4194304 ))	# 8M..20M
	[ "$tnew" = "$tcur" ] && tnew=$((tnew + 4194304))
	dmsetup reload rv$tv --table "0 $((tnew / 512)) vdisk $P $tv" ||
		{ note_fail vresize "reload rv$tv to $tnew bytes failed"; return; }
	[ "$(dev_sectors /dev/mapper/rv$tv)" = $((tcur / 512)) ] ||
		note_fail vresize "rv$tv changed size with a reload pending"
	rnd 3
	if [ $R = 0 ]; then
		tap_diag "step $step (+$(($(date +%s) - start))s): rv$tv reload $tcur -> $tnew, clear"
		dmsetup clear rv$tv || note_fail vresize "dmsetup clear rv$tv failed"
	else
		tap_diag "step $step (+$(($(date +%s) - start))s): rv$tv reload $tcur -> $tnew, resume"
		dmsetup resume rv$tv || { note_fail vresize "resume rv$tv failed"; return; }
		eval "vsize_$tv=$tnew"
		tcur=$tnew
	fi
	[ "$(dev_sectors /dev/mapper/rv$tv)" = $((tcur / 512)) ] ||
		note_fail vresize "rv$tv: $(dev_sectors /dev/mapper/rv$tv) sectors, expected $((tcur / 512))"
	thi=$(dmsetup status rv$tv | awk '{ print $7 }')
	[ "$thi" = - ] || [ "$thi" -le $((tcur / 512)) ] ||
		note_fail vresize "rv$tv: highest mapped sector $thi past the end $((tcur / 512))"
	no_inactive rv$tv || note_fail vresize "rv$tv has an inactive table left"
}
nsnap=0
op_snap() {	# snapshot a victim (suspended), write and verify the snapshot
	count snap
	rnd 2
	tv=$((R + 1))
	if [ $nsnap -ge 3 ]; then	# bounded: then only suspend/resume the victim
		dmsetup suspend rv$tv && dmsetup resume rv$tv ||
			note_fail snap "suspend/resume rv$tv failed"
		return
	fi
	ts=$((20 + nsnap))
	tap_diag "step $step (+$(($(date +%s) - start))s): create_snap $ts $tv"
	dmsetup suspend rv$tv || note_fail snap "suspend rv$tv failed"
	pool_msg rtp create_snap $ts $tv || note_fail snap "create_snap $ts $tv failed"
	dmsetup resume rv$tv || note_fail snap "resume rv$tv failed"
	nsnap=$((nsnap + 1))
	make_vdisk rs$ts rtp $ts 16M || { note_fail snap "snapshot $ts does not activate"; return; }
	# shellcheck disable=SC2086
	to=$(fio_verify /dev/mapper/rs$ts 2M $AIO --rw=randwrite --bs=4k --randseed=$ts) ||
		note_fail snap "fio on snapshot $ts: $to"
	SNAPS="${SNAPS:-} $ts"
}
op_pool_reload() {	# reload the pool with its own table (another low water mark)
	count poolreload
	rnd 64
	tap_diag "step $step (+$(($(date +%s) - start))s): pool reload, low water mark $R"
	{ dmsetup reload rtp --table "0 524288 vdisk-pool /dev/mapper/rtm /dev/mapper/rtd 128 $R" &&
		dmsetup resume rtp; } || note_fail poolreload "pool reload failed"
	mode_in rtp rw > /dev/null || note_fail poolreload "pool not rw: $(dmsetup status rtp)"
}

run_op() {
	case $1 in
	0) op_resize ;;
	1) op_suspend ;;
	2) op_dup ;;
	3) op_pool2 ;;
	4) op_reload_other ;;
	5) op_error ;;
	6) op_rmforce ;;
	7) op_snap ;;
	8) op_pool_reload ;;
	9) op_vresize ;;
	esac
}

start=$(date +%s)
# The first 10 steps: each kind once, in a seeded order; then weighted
# random (reloads and suspends twice as often).
ORDER="0 1 2 3 4 5 6 7 8 9"
first=
n=10
while [ $n -gt 0 ]; do
	rnd $n
	i=0 rest=
	for o in $ORDER; do
		if [ $i = "$R" ]; then first="$first $o"; else rest="$rest $o"; fi
		i=$((i + 1))
	done
	ORDER=$rest n=$((n - 1))
done
# The other vdisks are checked every 5 steps, in both phases: on a slow
# (debug) kernel the first phase alone can use up MAX_SECS.
for o in $first; do
	step=$((step + 1))
	run_op "$o"
	[ $((step % 5)) = 0 ] && check_all_others others
done
while [ $step -lt $MAX_STEPS ] && [ $(($(date +%s) - start)) -lt $MAX_SECS ]; do
	step=$((step + 1))
	rnd 13
	case $R in
	10) R=0 ;;
	11) R=1 ;;
	12) R=9 ;;
	esac
	run_op $R
	[ $((step % 5)) = 0 ] && check_all_others others
	for v in $VICTIMS; do
		[ -e "$T/vic$v.fail" ] && break 2	# no point going on
	done
done
tap_diag "$step steps in $(($(date +%s) - start)) s"

report resize "vdisk reloads to another length (resume or clear): live table intact, size and data as expected"
report suspend "suspend/resume (plain, --noflush) of vdisks and the pool"
report dup "refused: one vdisk id twice in a table (mapped twice), an id active elsewhere"
report pool2 "refused: a second pool on the live pool's metadata or data device"
report reloaddev "refused: a pool reload naming another data or metadata device"
report error "the pool's table replaced by an error table and back: vdisks go on, devices held"
report rmforce "dmsetup remove --force of a vdisk, activated again with its data"
report snap "snapshots of the victims while fio runs; fio verify on the snapshots"
report poolreload "pool reloads with its own devices"
report vresize "victim reloads to another length under fio (resume or clear)"

# ---- the end: stop the victims, check everything ----
touch "$T/stop"
victims_done() {
	for tv in $VICTIMS; do
		[ -e "$T/vic$tv.done" ] || return 1
	done
}
if wait_for "victims' last fio round" 120 victims_done; then
	for v in $VICTIMS; do eval "wait \$vpid_$v"; done
else
	tap_diag "a victim's fio is still running"
fi
victims_passed() {
	for tv in $VICTIMS; do
		if [ -e "$T/vic$tv.fail" ]; then
			head -c 4000 "$T/vic$tv.fail"
			return 1
		fi
		[ -e "$T/vic$tv.last" ] || { echo "victim $tv finished no fio round"; return 1; }
	done
}
tap_check "victims: every fio write+verify round passed" victims_passed
for v in $VICTIMS; do
	[ -e "$T/vic$v.last" ] && tap_diag "victim $v: $(($(cat "$T/vic$v.last") + 1)) rounds verified"
done
# shellcheck disable=SC2046
victims_verify() {
	for tv in $VICTIMS; do
		[ -e "$T/vic$tv.last" ] || { echo "victim $tv: no round to check"; return 1; }
		fio_verify_only /dev/mapper/rv$tv $(victim_args $tv "$(cat "$T/vic$tv.last")") ||
			return 1
	done
}
tap_check "victims: the last round's data verifies (fio verify_only)" victims_verify
others_ok() {
	for tj in $OTHERS; do other_ok $tj || return 1; done
}
tap_check "other vdisks: size, data and mapped range as the model says" others_ok
report others "other vdisks intact during the run (all checked every 5 steps)"
# shellcheck disable=SC2086
snaps_verify() {
	for ts in ${SNAPS:-}; do
		fio_verify_only /dev/mapper/rs$ts 2M $AIO --rw=randwrite --bs=4k --randseed=$ts ||
			return 1
	done
}
tap_check "snapshots: their data verifies (${SNAPS:-none})" snaps_verify
tap_check "the pool is rw" mode_in rtp rw
flush_all() {
	for td in $VICTIMS; do flush_dev /dev/mapper/rv$td || return 1; done
	for td in $OTHERS; do flush_dev /dev/mapper/ro$td || return 1; done
}
tap_check "a flush of every vdisk succeeds" flush_all

deactivate() {
	for ts in ${SNAPS:-}; do dm_remove rs$ts || return 1; done
	for td in $VICTIMS; do dm_remove rv$td || return 1; done
	for td in $OTHERS; do dm_remove ro$td || return 1; done
	dm_remove rtp
}
tap_check "deactivation" deactivate
tap_check "vdisk-check clean after deactivation" vdisk_check /dev/mapper/rtm
reactivate() {
	make_pool rtp /dev/mapper/rtm /dev/mapper/rtd 128 0 || return 1
	for td in $VICTIMS; do
		eval "tsz=\$vsize_$td"
		make_vdisk rv$td rtp $td $((tsz / 512))s || return 1
	done
	for td in $OTHERS; do
		eval "tsz=\$size_$td"
		make_vdisk ro$td rtp $td $((tsz / 512))s || return 1
	done
	for ts in ${SNAPS:-}; do make_vdisk rs$ts rtp $ts 16M || return 1; done
	victims_verify && others_ok && snaps_verify && mode_in rtp rw
}
tap_check "reactivated: every vdisk's data checks out, the pool is rw" reactivate
deactivate > /dev/null 2>&1

tap_kernel_log_clean
tap_done
