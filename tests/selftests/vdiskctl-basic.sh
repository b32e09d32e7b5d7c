#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vdiskctl end to end: pool create, create, snapshot, clone, group-snapshot,
# list (tree and JSON), resize, stats, check, remove, pool list/status,
# version; each checked by the state it produces (dm tables, data read back
# by checksum through snapshots and clones, JSON validated with jq).
#
# vdisk-timeout: 300
# vdisk-cost: 10 25
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"
. "$(dirname "$0")/lib-vdiskctl.sh"

tap_plan 25

tap_check "pool create" vc_setup p0 --block-size 64K
pool_table_ok() {
	set -- $(dmsetup table p0)
	[ "$3" = vdisk-pool ] && [ "$6" = 128 ] && [ "$7" = 0 ] && [ "$2" = "$(dev_sectors /dev/ram1)" ] &&
		grep -qx 'metadata=/dev/ram0' "$VDISK_CONF_DIR/p0.conf"
}
tap_check "pool table and configuration file" pool_table_ok
pool_list_ok() {
	vc_json pool list | jq -e '.pools[] | select(.name == "p0") |
		.active and .mode == "rw" and .block_size == 65536 and .data_free_blocks > 0' &&
		vdiskctl pool list | grep -qE '^p0 +rw '
}
tap_check "pool list (human and JSON)" pool_list_ok

vdisk_table_ok() {	# DM SECTORS
	set -- "$1" "$2" $(dmsetup table "$1")
	[ "$5" = vdisk ] && [ "$4" = "$2" ] && [ "$7" = "$(vc_vdisk p0 "${1#p0-}" id)" ]
}
tap_check "create: a 64M vdisk with its dm device" vdiskctl create p0 vm1 --size 64M
tap_check "create: the table is '0 131072 vdisk <pool> <id>'" vdisk_table_ok p0-vm1 131072
dd if=/dev/urandom of=/dev/mapper/p0-vm1 bs=1M count=4 oflag=direct status=none
sum=$(dev_sha256 /dev/mapper/p0-vm1 0 4M)

snap_ok() {
	vc_json list p0 | jq -e '.vdisks[] | select(.name == "snap1") |
		.type == "snapshot" and .origin == "vm1" and (.active | not) and
		.device == null and .size == 67108864' &&
		! dm_exists p0-snap1 &&
		dmsetup info p0-vm1 | grep -q 'State: *ACTIVE'
}
tap_check "snapshot" vdiskctl snapshot p0 vm1 snap1
tap_check "snapshot: inactive, lineage in list --json, origin resumed" snap_ok
dd if=/dev/zero of=/dev/mapper/p0-vm1 bs=1M count=4 oflag=direct status=none
tap_check "clone of the snapshot" vdiskctl clone p0 snap1 c1
clone_ok() {
	[ "$(dev_sha256 /dev/mapper/p0-c1 0 4M)" = "$sum" ] &&
		[ "$(vc_vdisk p0 c1 type)" = clone ] && [ "$(vc_vdisk p0 c1 origin)" = snap1 ] &&
		vdisk_table_ok p0-c1 131072
}
tap_check "clone: reads the snapshot's data (checksum), vm1 was overwritten" clone_ok
tree_ok() {
	_t=$(vdiskctl list p0)
	printf '%s\n' "$_t" | grep -qE '^  vm1 ' &&
		printf '%s\n' "$_t" | grep -qE '^  `- snap1 ' &&
		printf '%s\n' "$_t" | grep -qE '^     `- c1 .* clone +/dev/mapper/p0-c1$' || {
		printf '%s\n' "$_t"
		return 1
	}
}
tap_check "list: lineage tree vm1 > snap1 > c1" tree_ok

grow_ok() {
	[ "$(blockdev --getsize64 /dev/mapper/p0-vm1)" = 134217728 ] &&
		[ "$(vc_vdisk p0 vm1 size)" = 134217728 ] && vdisk_table_ok p0-vm1 262144 &&
		[ "$(vc_vdisk p0 snap1 size)" = 100663296 ]
}
tap_check "resize: grow active vm1 (reload) and inactive snap1" \
	sh -c 'vdiskctl resize p0 vm1 --size 128M && vdiskctl resize p0 snap1 --size 96M'
tap_check "resize: new sizes in the table, the device and the metadata" grow_ok

group_ok() {
	vc_json list p0 | jq -e '[.vdisks[] | select(.name == "vm1:t1" or .name == "c1:t1") |
		.origin + ">" + .name] | sort == ["c1>c1:t1", "vm1>vm1:t1"]' > /dev/null &&
		dmsetup info p0-vm1 | grep -q 'State: *ACTIVE' &&
		dmsetup info p0-c1 | grep -q 'State: *ACTIVE'
}
tap_check "group-snapshot of vm1 and c1" vdiskctl group-snapshot p0 --tag t1 vm1 c1
tap_check "group-snapshot: VDISK:TAG snapshots, origins resumed" group_ok

dd if=/dev/mapper/p0-c1 of=/dev/null bs=4k count=100 iflag=direct status=none
stats_ok() {
	vc_json stats p0 c1 | jq -e '.interval == null and (.vdisks | length) == 1 and
		.vdisks[0].name == "c1" and .vdisks[0].reads >= 100 and
		.vdisks[0].read_p99_us > 0' > /dev/null &&
		vdiskctl stats | grep -qE '^p0/vm1 ' &&
		vc_json stats p0 --watch 1 --count 1 | jq -e '.interval > 0 and
		(.vdisks | map(.name) | sort) == ["c1", "vm1"] and
		(.vdisks[0] | has("read_iops") and has("write_bytes_per_sec"))' > /dev/null
}
tap_check "stats: totals, --watch rates (JSON), human" stats_ok

check_ok() {
	_o=$(vdiskctl check p0) && printf '%s\n' "$_o" | grep -q "metadata clean" &&
		! dmsetup status p0 | grep -q needs_check
}
tap_check "check: vdisk-check on a metadata snapshot of the live pool" check_ok
tap_check "check: the metadata snapshot was released (reserve works again)" \
	sh -c 'dmsetup message p0 0 reserve_metadata_snap && dmsetup message p0 0 release_metadata_snap'

busy_ok() {
	exec 3< /dev/mapper/p0-c1
	vc_expect 1 "in use.*open" vdiskctl remove p0 c1
	_rc=$?
	exec 3<&-
	[ "$_rc" = 0 ] && dm_exists p0-c1 && [ "$(vc_vdisk p0 c1 name)" = c1 ]
}
tap_check "remove: refused while the device is open, nothing changed" busy_ok
removed_ok() {
	! dm_exists p0-c1 && [ -z "$(vc_vdisk p0 c1 name)" ] &&
		[ "$(dev_sha256 /dev/mapper/p0-vm1 0 4M)" != "$sum" ] &&
		[ "$(vc_vdisk p0 c1:t1 origin)" = null ]
}
tap_check "remove c1" vdiskctl remove p0 c1
tap_check "remove: device and vdisk gone, its snapshot kept" removed_ok

status_ok() {
	_n=$(vdiskctl list p0 --json | jq '.vdisks | length')
	vc_json pool status p0 | jq -e --argjson n "$_n" '.vdisks == $n and .active_vdisks == 1 and
		.mode == "rw" and .metadata_device == "/dev/ram0" and .data_device == "/dev/ram1"' &&
		vdiskctl pool status p0 | grep -qE '^mode: +rw$'
}
tap_check "pool status (human and JSON)" status_ok
version_ok() {
	vc_json version | jq -e '.api_version == 1 and .kernel_api_version == 1 and
		(.module_version | type) == "string"' &&
		vdiskctl version | grep -q 'netlink API version 1$'
}
tap_check "version: both API versions" version_ok
tap_check "pool remove" vdiskctl pool remove p0
tap_check "pool remove: no dm device left, pool listed as inactive" sh -c \
	'! dmsetup ls | grep -q "^p0" && vdiskctl pool list --json |
	 jq -e ".pools[] | select(.name == \"p0\") | .active == false"'
tap_kernel_log_clean
tap_done
