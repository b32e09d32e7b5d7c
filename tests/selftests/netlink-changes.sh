#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Metadata changes through the "vdisk" generic netlink family (vdisk-nlfuzz
# req): VDISK_NEW, SNAPSHOT (several at one instant), VDISK_SET (grow,
# rename, flags), VDISK_DEL and METADATA_SNAP, each checked by the state it
# leaves: names resolve, snapshot content is the origin's at that instant,
# refused requests (bad or taken names, shrinking, an active vdisk, a
# missing origin among good ones, a read-only pool) change nothing, names
# survive a pool reload, and vdisk-check finds the metadata clean.
#
# vdisk-timeout: 240
# vdisk-cost: 6 41
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v vdisk-nlfuzz > /dev/null || tap_skip_all "vdisk-nlfuzz not built"
tap_plan 24

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"
M=/dev/ram0 D=/dev/ram1
make_pool nc $M $D 8 0 || tap_diag "pool failed"

nl() { vdisk-nlfuzz "$@"; }
expect_err() {	# ERRNO-NAME [TEXT] -- ARGS
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
has() {	# OUTPUT WORD...
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
count_vdisks() { nl req vdisk --dump pool=nc | grep -c '^msg '; }
field() {	# OUTPUT KEY: the value of KEY in the first message
	echo "$1" | grep -m1 '^msg ' | tr ' ' '\n' | sed -n "s/^$2=//p"
}

out=$(nl req new pool=nc name=web size=$((16 << 20)))
tap_check "VDISK_NEW: the reply names the new vdisk" has "$out" name=web size=16777216 flags=0
web=$(field "$out" id)
tap_check "VDISK_NEW of a taken name: EEXIST, nothing added" \
	sh -c "$(command -v vdisk-nlfuzz) req new pool=nc name=web size=4096 | grep -q 'another vdisk of this pool has that name' && test \$($(command -v vdisk-nlfuzz) req vdisk --dump pool=nc | grep -c '^msg ') = 1"
bad_new() {
	expect_err EINVAL "invalid vdisk name" -- req new pool=nc name=-x size=4096 &&
	expect_err EINVAL "invalid vdisk name" -- req new pool=nc name=a/b size=4096 &&
	expect_err EINVAL -- req new pool=nc name=$(printf '%070d' 0) size=4096 &&
	expect_err EINVAL "invalid vdisk size" -- req new pool=nc name=x size=1000 &&
	expect_err EINVAL "invalid vdisk size" -- req new pool=nc name=x size=0 &&
	expect_err EINVAL "only VDISK_F_AUTO_ACTIVATE" -- req new pool=nc name=x size=4096 flags=2 &&
	expect_err EEXIST "id is taken" -- req new pool=nc name=x size=4096 id="$web" &&
	test "$(count_vdisks)" = 1
}
tap_check "VDISK_NEW refusals (names, sizes, flags, ids): nothing added" bad_new
out=$(nl req new pool=nc name=db size=$((8 << 20)) flags=4 id=77)
tap_check "VDISK_NEW with an id and AUTO_ACTIVATE" has "$out" name=db id=77 flags=4
out=$(nl req vdisk pool=nc name=db)
tap_check "VDISK_GET by name" has "$out" id=77 name=db size=8388608

make_vdisk nc-web nc "$web" 16M || tap_diag "activating web failed"
dd if=/dev/urandom of=/dev/mapper/nc-web bs=1M count=4 oflag=direct status=none
before=$(dev_sha256 /dev/mapper/nc-web)
dmsetup suspend nc-web
out=$(nl req snap pool=nc snap=web:web-s1 snap=db:db-s1)
dmsetup resume nc-web
snaps_ok() {
	[ "$(echo "$out" | grep -c '^msg ')" = 2 ] || { echo "$out"; return 1; }
	echo "$out" | grep '^msg 0' | grep -q "name=web-s1 .*origin=$web .*flags=1" &&
	echo "$out" | grep '^msg 1' | grep -q "name=db-s1 .*origin=77 .*flags=1" ||
		{ echo "$out"; return 1; }
}
tap_check "SNAPSHOT of two vdisks at once: one reply each, in order" snaps_ok
dd if=/dev/urandom of=/dev/mapper/nc-web bs=1M count=1 seek=1 oflag=direct status=none
s1=$(field "$(nl req vdisk pool=nc name=web-s1)" id)
make_vdisk nc-s1 nc "$s1" 16M || tap_diag "activating web-s1 failed"
tap_check "the snapshot holds the origin's data of that instant" \
	test "$(dev_sha256 /dev/mapper/nc-s1)" = "$before"
dm_remove nc-s1
tap_check "SNAPSHOT with one missing origin: ENOENT, nothing created" sh -c "
	$(command -v vdisk-nlfuzz) req snap pool=nc snap=web:ok1 snap=nosuch:ok2 | grep -q 'no vdisk of that name to snapshot' &&
	test \$($(command -v vdisk-nlfuzz) req vdisk --dump pool=nc | grep -c '^msg ') = 4"
tap_check "SNAPSHOT with a name twice: EINVAL" \
	expect_err EINVAL "same name" -- req snap pool=nc snap=web:x1 snap=db:x1
tap_check "SNAPSHOT to a taken name: EEXIST" \
	expect_err EEXIST "has that name" -- req snap pool=nc snap=web:db

tap_check "VDISK_SET shrinking: refused" \
	expect_err EINVAL "shrinking a vdisk is refused" -- req set pool=nc name=web size=4096
out=$(nl req set pool=nc name=web size=$((32 << 20)) newname=web2 flags=4)
tap_check "VDISK_SET: grow, rename and flags in one request" \
	has "$out" name=web2 size=33554432 flags=6
tap_check "the old name is gone" expect_err ENOENT -- req vdisk pool=nc name=web
tap_check "VDISK_SET to a taken name: EEXIST" \
	expect_err EEXIST -- req set pool=nc name=web2 newname=db
tap_check "VDISK_DEL of an active vdisk: EBUSY" \
	expect_err EBUSY "remove that device first" -- req del pool=nc name=web2
dm_remove nc-web
del_ok() {
	nl req del pool=nc name=web2 > /dev/null &&
	expect_err ENOENT -- req vdisk pool=nc name=web2 &&
	test "$(count_vdisks)" = 3
}
tap_check "VDISK_DEL by name" del_ok

out=$(nl req msnap pool=nc op=reserve)
tap_check "METADATA_SNAP reserve: the held block" sh -c "echo '$out' | grep -q ' metadata_snap=[1-9]'"
tap_check "METADATA_SNAP reserve twice: EBUSY" \
	expect_err EBUSY "already held" -- req msnap pool=nc op=reserve
tap_check "METADATA_SNAP release" sh -c "$(command -v vdisk-nlfuzz) req msnap pool=nc op=release | grep -q ' metadata_snap=0'"
tap_check "METADATA_SNAP release of none: EINVAL" \
	expect_err EINVAL "no metadata snapshot" -- req msnap pool=nc op=release

dm_remove nc
make_pool nc $M $D 8 0 || tap_diag "pool reload failed"
out=$(nl req vdisk pool=nc name=web-s1)
tap_check "names survive a pool reload" has "$out" name=web-s1 id="$s1"
dm_remove nc
make_pool ncro $M $D 8 0 read_only || tap_diag "read-only pool failed"
tap_check "a read-only pool refuses changes: EROFS" \
	expect_err EROFS "read-only" -- req new pool=ncro name=x size=4096
dm_remove ncro
tap_check "vdisk-check: the metadata is clean" vdisk_check $M

if dmesg_problems; then tap_fail "kernel log clean"; else tap_ok "kernel log clean"; fi
tap_done
