# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The benchmark's contenders: what each one is and how it is set up on a
# backing (a metadata device and a data device).  Sourced by vm-run.sh inside
# the VM (after tests/selftests/lib.sh and lib-pool.sh).
#
# Adding a contender is one line in contender_table: a name, a kind and the
# kind's options.  A new kind (dedup, replication, DRBD) adds one set of
# <kind>_* functions below:
#
#   <kind>_start META DATA OPTS...   load the pool (if any) on fresh devices
#   <kind>_vol ID SECTORS            create volume ID, activate it as
#                                    /dev/mapper/bench-vID (c_vol sets VOL
#                                    to that path; not in a subshell, it
#                                    records the volume in C_VOLS)
#   <kind>_snap ID ORIGIN            snapshot ORIGIN (suspended around it);
#                                    return 2 if the kind has no snapshots
#   <kind>_delete ID                 deactivate (if active) and delete ID
#   <kind>_used                      bytes of the data device in use
#   <kind>_activate                  load the pool and every volume that was
#                                    active at the last <kind>_stop
#   <kind>_stop                      deactivate every volume and the pool
#
# The generic c_* wrappers below keep the list of active volumes
# (C_VOLS: "ID:SECTORS ...") so that stop/activate can bring them back.

# name            kind    options (kind-specific)
contender_table() {
	cat <<'EOF'
dm-linear         linear
dm-thin           thin    128
dm-thin-nozero    thin    128 skip_block_zeroing
dm-vdisk          vdisk   8
EOF
}

contender_names() {
	contender_table | awk '{ print $1 }'
}

# report.py takes its ratios against the contenders named dm-linear and
# dm-thin: keep those names.

POOL=bench-pool
POOL_DEV=/dev/mapper/$POOL

# ---- generic --------------------------------------------------------------

# c_start NAME META DATA: set contender NAME up on fresh devices.
c_start() {
	set -- "$1" "$2" "$3" $(contender_table | awk -v n="$1" '$1 == n { $1 = ""; print }')
	C_NAME=$1 C_META=$2 C_DATA=$3 C_KIND=${4:-}
	[ -n "$C_KIND" ] || { echo "bench: unknown contender $1" >&2; return 1; }
	shift 4
	C_OPTS="$*"
	C_VOLS=
	"${C_KIND}_start" "$C_META" "$C_DATA" $C_OPTS
}

# c_vol ID SECTORS: a new volume; VOL is its device.
c_vol() {
	"${C_KIND}_vol" "$1" "$2" || return 1
	C_VOLS="$C_VOLS $1:$2"
	VOL=/dev/mapper/bench-v$1
}

c_snap() { "${C_KIND}_snap" "$@"; }
c_used() { "${C_KIND}_used"; }

c_delete() {
	"${C_KIND}_delete" "$1" || return 1
	C_VOLS=$(echo "$C_VOLS" | tr ' ' '\n' | grep -v "^$1:" | tr '\n' ' ')
}

c_stop() { "${C_KIND}_stop"; }
c_activate() { "${C_KIND}_activate"; }

# Is snapshotting supported by the current contender?
c_has_snap() {
	[ "$C_KIND" != linear ]
}

# Create a dm device and wait for its node; the runner removes it itself.
bench_dm_create() {
	dmsetup create "$1" --table "$2" || return 1
	dm_wait_node "$1"
}

bench_dm_remove() {
	dm_remove "$1" 25
}

# Remove the active volume devices (not the volumes).
bench_remove_vols() {
	for _v in $C_VOLS; do
		bench_dm_remove "bench-v${_v%%:*}" || return 1
	done
}

# Used data bytes from a thin-pool or vdisk-pool status (same layout:
# "<used>/<total data blocks>" is the 6th word) and the block size.  The
# product is taken by the shell: busybox awk's %d stops at 2^31 - 1.
pool_used_bytes() {	# BLOCK_SECTORS
	_u=$(dmsetup status "$POOL" | awk '{ split($6, d, "/"); print d[1] }')
	[ -n "$_u" ] || return 1
	echo $(( _u * $1 * 512 ))
}

# Snapshot of an active origin, suspended around the message (as both
# targets' documentation asks).
pool_snap() {	# CREATE_MSG ID ORIGIN
	_dev=bench-v$3
	if dmsetup info "$_dev" > /dev/null 2>&1; then
		dmsetup suspend "$_dev" || return 1
		dmsetup message "$POOL" 0 "$1" "$2" "$3"
		_rc=$?
		dmsetup resume "$_dev" || return 1
		return $_rc
	fi
	dmsetup message "$POOL" 0 "$1" "$2" "$3"
}

# ---- dm-linear: consecutive slices of the data device ----------------------

linear_start() {
	L_NEXT=0
	L_OFFS=
}

linear_vol() {
	[ $((L_NEXT + $2)) -le "$(dev_sectors "$C_DATA")" ] ||
		{ echo "bench: data device too small for linear volume $1" >&2; return 1; }
	bench_dm_create "bench-v$1" "0 $2 linear $C_DATA $L_NEXT" || return 1
	L_OFFS="$L_OFFS $1:$L_NEXT"
	L_NEXT=$((L_NEXT + $2))
}

linear_snap() { return 2; }
linear_used() { echo "$((L_NEXT * 512))"; }
linear_delete() { bench_dm_remove "bench-v$1"; }
linear_stop() { bench_remove_vols; }

linear_activate() {
	for _v in $C_VOLS; do
		_id=${_v%%:*}
		_off=$(echo "$L_OFFS" | tr ' ' '\n' | sed -n "s/^$_id://p")
		bench_dm_create "bench-v$_id" "0 ${_v#*:} linear $C_DATA $_off" || return 1
	done
}

# ---- dm-thin ---------------------------------------------------------------
# Options: <chunk sectors> [feature...]

thin_table() {
	_feat=
	[ -n "$T_FEAT" ] && _feat=" $(echo "$T_FEAT" | wc -w) $T_FEAT"
	echo "0 $(dev_sectors "$C_DATA") thin-pool $C_META $C_DATA $T_CHUNK 0$_feat"
}

thin_start() {
	T_CHUNK=$3
	shift 3
	T_FEAT="$*"
	modprobe dm-thin-pool || return 1
	bench_dm_create "$POOL" "$(thin_table)"
}

thin_vol() {
	dmsetup message "$POOL" 0 create_thin "$1" || return 1
	bench_dm_create "bench-v$1" "0 $2 thin $POOL_DEV $1"
}

thin_snap() { pool_snap create_snap "$1" "$2"; }
thin_used() { pool_used_bytes "$T_CHUNK"; }

thin_delete() {
	bench_dm_remove "bench-v$1" && dmsetup message "$POOL" 0 delete "$1"
}

thin_stop() { bench_remove_vols && bench_dm_remove "$POOL"; }

thin_activate() {
	bench_dm_create "$POOL" "$(thin_table)" || return 1
	for _v in $C_VOLS; do
		bench_dm_create "bench-v${_v%%:*}" "0 ${_v#*:} thin $POOL_DEV ${_v%%:*}" || return 1
	done
}

# ---- dm-vdisk --------------------------------------------------------------
# Options: <data block sectors> [feature...]

vdisk_table() {
	_feat=
	[ -n "$V_FEAT" ] && _feat=" $(echo "$V_FEAT" | wc -w) $V_FEAT"
	echo "0 $(dev_sectors "$C_DATA") vdisk-pool $C_META $C_DATA $V_BLOCK 0$_feat"
}

vdisk_start() {
	V_BLOCK=$3
	shift 3
	V_FEAT="$*"
	modprobe dm-vdisk || return 1
	bench_dm_create "$POOL" "$(vdisk_table)"
}

vdisk_vol() {
	dmsetup message "$POOL" 0 create_vdisk "$1" || return 1
	bench_dm_create "bench-v$1" "0 $2 vdisk $POOL_DEV $1"
}

vdisk_snap() { pool_snap create_snap "$1" "$2"; }
vdisk_used() { pool_used_bytes "$V_BLOCK"; }

vdisk_delete() {
	bench_dm_remove "bench-v$1" && dmsetup message "$POOL" 0 delete "$1"
}

vdisk_stop() { bench_remove_vols && bench_dm_remove "$POOL"; }

vdisk_activate() {
	bench_dm_create "$POOL" "$(vdisk_table)" || return 1
	for _v in $C_VOLS; do
		bench_dm_create "bench-v${_v%%:*}" "0 ${_v#*:} vdisk $POOL_DEV ${_v%%:*}" || return 1
	done
}
