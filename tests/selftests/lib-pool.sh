# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Helpers for the vdisk-pool / vdisk selftests (source after lib.sh).
#
#   pool_msg POOL WORDS...      dmsetup message POOL 0 WORDS...
#   pool_field POOL NAME        one pool status field: tid, meta_used,
#                               meta_total, data_used, data_total, mode,
#                               reason, needs_check, meta_low_water
#   vdisk_field VDISK NAME      one vdisk status field: mapped, exclusive,
#                               shared, reads, writes, discards, flushes
#   wait_for DESC SECONDS CMD...    retry CMD every 0.2 s until it succeeds
#   vdisk_check DEV             build/bin's vdisk-check on an inactive
#                               metadata device (prints its report on failure)
#   flush_dev DEV               fsync the block device: a FLUSH bio reaches it
#   counts_are VDISK MAPPED EXCLUSIVE SHARED    the vdisk status says so
#   zero_range FILE OFFSET LEN  zero bytes of an expected image (multiples of 512)
#   same_as DEV FILE            cmp, naming the two on a difference
#   mode_in POOL MODE...        the pool's mode is one of these (else prints
#                               its status)
#   zeros64k DEV OFFSET         the 64 KiB at OFFSET read as zeros

pool_msg() {
	_p=$1
	shift
	dmsetup message "$_p" 0 "$@"
}

pool_field() {
	dmsetup status "$1" | awk -v f="$2" '
		{ split($5, m, "/"); split($6, d, "/")
		  v["tid"] = $4; v["meta_used"] = m[1]; v["meta_total"] = m[2]
		  v["data_used"] = d[1]; v["data_total"] = d[2]
		  v["mode"] = $7; v["reason"] = $8; v["needs_check"] = $(NF - 1)
		  v["meta_low_water"] = $NF
		  print v[f] }'
}

vdisk_field() {
	dmsetup status "$1" | awk -v f="$2" '
		{ v["mapped"] = $4; v["exclusive"] = $5; v["shared"] = $6
		  v["reads"] = $8; v["writes"] = $9
		  v["discards"] = $12; v["flushes"] = $13; v["fast_writes"] = $14
		  print v[f] }'
}

wait_for() {
	_desc=$1 _secs=$2
	shift 2
	_i=0
	while ! "$@" > /dev/null 2>&1; do
		_i=$((_i + 1))
		if [ "$_i" -gt $((_secs * 5)) ]; then
			echo "timed out waiting for: $_desc"
			return 1
		fi
		sleep 0.2
	done
}

vdisk_check() {
	_out=$(vdisk-check "$1" 2>&1)
	_rc=$?
	[ "$_rc" = 0 ] && return 0
	echo "vdisk-check $1 exited $_rc:"
	echo "$_out"
	return 1
}

flush_dev() {
	dd if=/dev/null of="$1" conv=fsync,notrunc status=none
}

counts_are() {
	[ "$(vdisk_field "$1" mapped) $(vdisk_field "$1" exclusive) $(vdisk_field "$1" shared)" = \
	  "$2 $3 $4" ]
}

zero_range() {
	dd if=/dev/zero of="$1" bs=512 seek=$(($2 / 512)) count=$(($3 / 512)) \
		conv=notrunc status=none
}

same_as() {
	cmp "$1" "$2" || { echo "$1 differs from $2"; return 1; }
}

mode_in() {
	_pool=$1 _m=$(pool_field "$1" mode)
	shift
	for _w in "$@"; do [ "$_m" = "$_w" ] && return 0; done
	dmsetup status "$_pool"
	return 1
}

zeros64k() {
	[ "$(dev_sha256 "$1" "$2" 64K)" = \
	  "$(dd if=/dev/zero bs=64k count=1 status=none | sha256sum | cut -d' ' -f1)" ]
}
