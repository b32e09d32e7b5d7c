#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The "vdisk" generic netlink family, spoken to directly (vdisk-nlfuzz req):
# the family and its version, refusal of other versions (EPROTONOSUPPORT
# naming both), EPERM for an unprivileged caller on every command and on the
# events group, strict attribute validation, pool and vdisk queries, a
# multi-part dump of 300 vdisks without duplicates, per-vdisk statistics
# (counters and latency histograms), and the events of a scripted sequence.
#
# vdisk-timeout: 240
# vdisk-cost: 6 19
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v vdisk-nlfuzz > /dev/null || tap_skip_all "vdisk-nlfuzz not built"
tap_plan 19

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 4 64M || tap_diag "brd_setup failed"
T=$VDISK_TEST_TMP
make_pool nb /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"

nl() { vdisk-nlfuzz "$@"; }
# expect_err ERRNO-NAME [TEXT] -- ARGS: the request fails with ERRNO-NAME
# and (if given) an extack message containing TEXT.
expect_err() {
	_e=$1 _t=
	shift
	[ "$1" != "--" ] && { _t=$1; shift; }
	shift
	_out=$(nl "$@" 2>&1) && { echo "succeeded: $*"; echo "$_out"; return 1; }
	echo "$_out" | grep -q "^error: $_e " || { echo "$*: expected $_e:"; echo "$_out"; return 1; }
	[ -z "$_t" ] && return 0
	echo "$_out" | grep "^error: " | grep -qF -- "$_t" ||
		{ echo "$*: no '$_t' in:"; echo "$_out"; return 1; }
}
# has OUTPUT WORD...: every WORD appears in OUTPUT.
has() {
	_o=$1
	shift
	for _w; do
		case " $_o " in
		*" $_w "*|*" $_w
"*) ;;
		*) echo "no '$_w' in: $_o"; return 1 ;;
		esac
	done
}

out=$(nl req info)
tap_check "GET_INFO: API version 1, replies carry version 1" has "$out" api_version=1 version=1

version_refused() {
	expect_err EPROTONOSUPPORT "request is vdisk API version 0, this module speaks version 1" \
		-- --version 0 req info &&
	expect_err EPROTONOSUPPORT "request is vdisk API version 2, this module speaks version 1" \
		-- --version 2 req pool pool=nb &&
	expect_err EPROTONOSUPPORT "version 10 or later" -- --version 200 req pool --dump
}
tap_check "other versions: EPROTONOSUPPORT naming both versions (doit and dump)" version_refused

unpriv_refused() {
	for _c in info "pool --dump" "pool pool=nb" "vdisk --dump" "new pool=nb name=x size=4096" \
		  "snap pool=nb snap=a:b" "del pool=nb id=1" "set pool=nb id=1 size=8192" \
		  "stats --dump" "msnap pool=nb op=reserve"; do
		# shellcheck disable=SC2086
		expect_err EPERM -- --unpriv req $_c || return 1
	done
	_out=$(nl --unpriv listen --count 1 --timeout 1 2>&1)
	echo "$_out" | grep -q "^error: EPERM" || { echo "listen: $_out"; return 1; }
}
tap_check "unprivileged: EPERM for every command and for the events group" unpriv_refused

strict() {
	expect_err EINVAL "Unknown attribute type" -- req pool pool=nb attr=200 &&
	expect_err EINVAL "Unsupported attribute" -- req pool pool=nb id=1 &&
	expect_err EINVAL -- req info pool=nb &&
	expect_err EOPNOTSUPP -- req 10 &&
	expect_err EOPNOTSUPP -- req 77 &&
	expect_err ERANGE "out of range" -- req vdisk pool=nb id=0xffffffffffffffff
}
tap_check "strict validation: unknown, unlisted and out-of-range attributes refused" strict

tap_check "unknown pool: ENODEV naming the attribute" \
	expect_err ENODEV "no vdisk-pool device has that name" -- req pool pool=nosuch
missing() {
	expect_err EINVAL "which pool" -- req pool &&
	expect_err EINVAL "which vdisk" -- req vdisk pool=nb &&
	expect_err EINVAL "name or its id, not both" -- req vdisk pool=nb id=1 name=a
}
tap_check "missing or conflicting attributes: clear messages" missing

out=$(nl req pool pool=nb)
tap_check "POOL_GET: mode rw, 4 KiB blocks, 16384 data blocks all free" \
	has "$out" pool=nb mode=0 block_size=4096 data_blocks=16384 data_free=16384

# 300 vdisks in 6 commits: vdisk 1 and snapshots of it, 60 per group message.
make_300() {
	pool_msg nb create_vdisk 1 || return 1
	_i=2
	while [ $_i -le 300 ]; do
		_pairs=
		_end=$((_i + 59))
		[ $_end -gt 300 ] && _end=300
		while [ $_i -le $_end ]; do
			_pairs="$_pairs $_i:1"
			_i=$((_i + 1))
		done
		# shellcheck disable=SC2086
		pool_msg nb create_group_snap $_pairs || return 1
	done
}
tap_check "300 vdisks created by messages" make_300

nl req vdisk --dump pool=nb > "$T/dump" 2>&1
dump_ok() {
	_n=$(grep -c '^msg ' "$T/dump")
	_u=$(grep '^msg ' "$T/dump" | sed 's/.* id=\([0-9]*\).*/\1/' | sort -n | uniq | wc -l)
	_parts=$(sed -n 's/^parts=\([0-9]*\) .*/\1/p' "$T/dump")
	[ "$_n" = 300 ] && [ "$_u" = 300 ] && [ "$_parts" -gt 1 ] ||
		{ echo "messages $_n, unique ids $_u, parts $_parts"; tail -3 "$T/dump"; return 1; }
}
tap_check "VDISK_GET dump: 300 vdisks, each once, in several parts" dump_ok
nl req vdisk --dump > "$T/dump" 2>&1
tap_check "VDISK_GET dump of every pool: the same 300" dump_ok

make_vdisk nb-v7 nb 7 16M || tap_diag "vdisk 7 failed"
out=$(nl req vdisk pool=nb id=7)
tap_check "VDISK_GET of an active snapshot: lineage, SNAPSHOT and ACTIVE flags, dm name, size" \
	has "$out" id=7 origin=1 flags=3 dm_name=nb-v7 size=16777216
out=$(nl req vdisk pool=nb id=8)
tap_check "VDISK_GET of an inactive snapshot: no ACTIVE flag, no device" has "$out" id=8 origin=1 flags=1
tap_check "VDISK_GET of a missing id: ENOENT" \
	expect_err ENOENT "no vdisk with that id" -- req vdisk pool=nb id=4000

dd if=/dev/urandom of=/dev/mapper/nb-v7 bs=4096 count=4 oflag=direct status=none
dd if=/dev/mapper/nb-v7 of=/dev/null bs=4096 count=3 iflag=direct status=none
flush_dev /dev/mapper/nb-v7
out=$(nl req stats --dump pool=nb id=7)
tap_check "STATS_GET: counters and histograms of the I/O done" \
	has "$out" id=7 reads=3 writes=4 read_bytes=12288 write_bytes=16384 flushes=1 \
	in_flight=0 read_lat=3 write_lat=4
tap_check "STATS_GET of an inactive vdisk: ENODEV" \
	expect_err ENODEV "not active" -- req stats --dump pool=nb id=8
out=$(nl req stats --dump)
tap_check "STATS_GET dump: only the active vdisk" test "$(echo "$out" | grep -c '^msg ')" = 1

# Events: a second pool that runs out of space on purpose.
# Expected: created, low water, mode out_of_data_space, deleted, space
# reclaimed, mode rw (once the reclaimed blocks are committed).
nl listen --count 6 --timeout 20 > "$T/events" 2>&1 &
lpid=$!
wait_for "listener ready" 10 grep -q ready "$T/events"
dm_create evdata "0 $(to_sectors 8M) linear /dev/ram3 0" || tap_diag "evdata failed"
make_pool ev /dev/ram2 /dev/mapper/evdata 8 1024 error_if_no_space || tap_diag "pool ev failed"
pool_msg ev create_vdisk 1
make_vdisk ev-1 ev 1 16M
dd if=/dev/zero of=/dev/mapper/ev-1 bs=1M count=9 oflag=direct status=none 2>/dev/null
dm_remove ev-1
pool_msg ev delete 1
wait $lpid
evs=$(grep '^event ' "$T/events")
events_ok() {
	# In this order (the mode change back to rw may come anywhere after).
	_got=$(echo "$evs" | grep -v "mode=0" | sed 's/.* pool=ev event=\([a-z_]*\) .*/\1/' | tr '\n' ' ')
	[ "$_got" = "vdisk_created low_water pool_mode vdisk_deleted space_reclaimed " ] ||
		{ echo "events in order: $_got"; cat "$T/events"; return 1; }
	echo "$evs" | grep -q "event=pool_mode .* mode=1 mode_reason=error_if_no_space" &&
	echo "$evs" | grep -q "event=pool_mode .* mode=0 " || { cat "$T/events"; return 1; }
}
tap_check "events in order: created, low water, mode change, deleted, space reclaimed" events_ok
seq_ok() {
	echo "$evs" | sed 's/.* seq=\([0-9]*\).*/\1/' | awk 'NR > 1 && $1 <= p { exit 1 } { p = $1 }' ||
		{ cat "$T/events"; return 1; }
	echo "$evs" | grep "space_reclaimed" | grep -q "reclaimed=2048" || { cat "$T/events"; return 1; }
}
tap_check "events: sequence numbers increase; 2048 blocks reclaimed" seq_ok

if dmesg_problems; then tap_fail "kernel log clean"; else tap_ok "kernel log clean"; fi
tap_done
