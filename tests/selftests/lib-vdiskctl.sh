# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Helpers for the vdiskctl selftests (source after lib.sh).
#
#   VDISK_CONF_DIR          exported: a private configuration directory
#   vc_setup POOL [POOL CREATE OPTIONS...]
#                           load dm-vdisk, two 64M RAM disks (/dev/ram0
#                           metadata, /dev/ram1 data) and
#                           `vdiskctl pool create POOL`;
#                           everything is removed when the test exits
#   vc_teardown POOL        remove POOL-* and POOL (dm), quietly
#   vc_json CMD...          `vdiskctl --json CMD...`; pipe it into jq -e, which
#                           fails on anything that is not JSON
#   vc_vdisk POOL NAME KEY  one key of vdisk NAME in `list --json`
#   vc_expect RC PATTERN CMD...   CMD exits RC and its stderr matches the
#                           grep -E PATTERN (prints what it got otherwise)
#   as_nobody CMD...        run CMD as uid/gid 65534 (busybox su)
#   vc_state                `list --json`, `dmsetup ls`, the config files:
#                           compare before and after to prove "nothing changed"

# Set here, not in vc_setup: that often runs in a tap_check subshell.
VDISK_CONF_DIR=$VDISK_TEST_TMP/vdisk-conf
export VDISK_CONF_DIR

vc_teardown() {
	for _d in $(dmsetup ls 2>/dev/null | awk '{ print $1 }' | grep "^$1-"); do
		dm_remove "$_d"
	done
	dm_remove "$1"
}

vc_setup() {
	_pool=$1
	shift
	modprobe dm-vdisk || { echo "modprobe dm-vdisk failed"; return 1; }
	at_exit modprobe -r dm-vdisk
	brd_setup 2 64M || return 1
	at_exit vc_teardown "$_pool"
	vdiskctl pool create "$_pool" --metadata /dev/ram0 --data /dev/ram1 "$@"
}

vc_json() {
	vdiskctl --json "$@"
}

vc_vdisk() {
	vdiskctl list "$1" --json | jq -r --arg n "$2" --arg k "$3" \
		'.vdisks[] | select(.name == $n) | .[$k]'
}

vc_expect() {
	_want=$1 _pat=$2
	shift 2
	_err=$("$@" 2>&1 >/dev/null)
	_rc=$?
	if [ "$_rc" != "$_want" ] || ! printf '%s\n' "$_err" | grep -qE -- "$_pat"; then
		echo "command: $*"
		echo "exit $_rc (want $_want), stderr: $_err"
		echo "(want a match for: $_pat)"
		return 1
	fi
}

# Busybox su needs the user in /etc/passwd (the VM's has root only).
as_nobody() {
	grep -q '^nobody:' /etc/passwd ||
		echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd
	grep -q '^nogroup:' /etc/group ||
		echo 'nogroup:x:65534:' >> /etc/group
	_cmd=
	for _a in "$@"; do
		_cmd="$_cmd '$_a'"
	done
	su -s /bin/sh nobody -c "cd / && VDISK_CONF_DIR='$VDISK_CONF_DIR' PATH='$PATH' exec $_cmd"
}

vc_state() {
	vdiskctl list --json
	dmsetup ls | sort
	dmsetup table | sort
	cat "$VDISK_CONF_DIR"/*.conf 2>/dev/null
}

