#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vdiskctl monitor sees the events of a scripted sequence, in order: vdisk
# created, snapshot created (with its origin), snapshot deleted, low water
# mark, pool mode change to out_of_data_space, vdisk deleted, space
# reclaimed.  --json lines are valid JSON with growing sequence numbers;
# the human form is one line per event.
#
# vdisk-timeout: 300
# vdisk-cost: 4 10
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"
. "$(dirname "$0")/lib-vdiskctl.sh"

tap_plan 7

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"
# An 8M data device: 128 blocks of 64K, low water at 64, fail when full.
dm_create vcdata "0 16384 linear /dev/ram1 0" || tap_diag "vcdata failed"
at_exit vc_teardown p0
vdiskctl pool create p0 --metadata /dev/ram0 --data /dev/mapper/vcdata --block-size 64K \
	--low-water-mark 64 --error-if-no-space > /dev/null || tap_diag "pool create failed"

EV=$VDISK_TEST_TMP/events.json
HU=$VDISK_TEST_TMP/events.txt
vdiskctl monitor --count 2 > "$HU" 2>&1 &
hpid=$!
vdiskctl monitor --json > "$EV" 2>&1 &
jpid=$!
at_exit kill "$jpid" "$hpid"
# The monitors subscribe asynchronously: make throw-away events until both
# have printed one (their events are left out of the checks below).
i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	vdiskctl create p0 "sync$i" --size 1M > /dev/null && vdiskctl remove p0 "sync$i" > /dev/null
	grep -q "\"sync$i\"" "$EV" && grep -q "name=sync" "$HU" && break
	sleep 0.2
done

vdiskctl create p0 vm1 --size 16M > /dev/null
vm1_id=$(vc_vdisk p0 vm1 id)
vdiskctl snapshot p0 vm1 s1 > /dev/null
vdiskctl remove p0 s1 > /dev/null
# 80 of 128 blocks: the free count falls through the mark (64).
dd if=/dev/urandom of=/dev/mapper/p0-vm1 bs=64k count=80 oflag=direct status=none
# Fill up: with error_if_no_space the write fails and the mode changes.
dd if=/dev/urandom of=/dev/mapper/p0-vm1 bs=64k count=100 seek=80 oflag=direct status=none \
	2> /dev/null
vdiskctl remove p0 vm1 > /dev/null
reclaimed() {
	jq -e -s 'map(.event) | (index(["vdisk_deleted"]) != null) and
		(.[rindex(["vdisk_deleted"]):] | index("space_reclaimed") != null)' "$EV"
}
wait_for "space reclaimed after the deletion" 20 reclaimed
kill "$jpid" 2> /dev/null

tap_check "every --json line is a JSON object" sh -c "jq -e -s 'length > 0 and all(type == \"object\")' '$EV'"
tap_check "sequence numbers grow by one" \
	jq -e -s '[.[].seq] as $s | [range(1; $s | length)] | all($s[.] == $s[. - 1] + 1)' "$EV"
events() {
	jq -c 'select(((.name // "") | startswith("sync")) | not) |
		select(.event != "space_reclaimed") | [.event, .name // .mode // ""]' "$EV" |
		head -n 6 | tr -d '\n'
}
want='["vdisk_created","vm1"]["vdisk_created","s1"]["vdisk_deleted","s1"]["low_water",""]'
want=$want'["pool_mode","out_of_data_space"]["vdisk_deleted","vm1"]'
in_order() {
	_got=$(events)
	[ "$_got" = "$want" ] || { echo "got:  $_got"; echo "want: $want"; cat "$EV"; return 1; }
}
tap_check "created, snapshot, deleted, low water, out of space, deleted: in order" in_order
tap_check "the snapshot event names its origin" \
	jq -e -s --argjson o "${vm1_id:-0}" 'any(.name == "s1" and .event == "vdisk_created" and .origin_id == $o)' "$EV"
tap_check "space_reclaimed follows the deletion, with a block count" \
	jq -e -s 'any(.event == "space_reclaimed" and .reclaimed_blocks > 0)' "$EV"
# The human monitor may subscribe in the middle of a throw-away create and
# remove (seen on the debug kernel: its first event was a vdisk_deleted), so
# its two lines are any two of those events, each in the human form.
human_ok() {
	wait "$hpid"
	[ "$(wc -l < "$HU")" = 2 ] &&
		[ "$(grep -cE '^[0-9]+ (vdisk_created|vdisk_deleted) pool=p0 name=sync[0-9]+ id=[0-9]+|^[0-9]+ space_reclaimed pool=p0 reclaimed_blocks=[0-9]+ data_free_blocks=[0-9]+' "$HU")" = 2 ] || {
		cat "$HU"
		return 1
	}
}
tap_check "human form: one line per event, --count 2 exits after two" human_ok
tap_kernel_log_clean
tap_done
