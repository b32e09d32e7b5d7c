# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Helper library for dm-vdisk VM selftests (busybox sh inside the test VM).
# Source it first:   . "$(dirname "$0")/lib.sh"
# The API is documented in tests/selftests/README; summary:
#
#   TAP        tap_plan N, tap_ok DESC, tap_fail DESC, tap_check DESC CMD...,
#              tap_skip DESC REASON, tap_skip_all REASON, tap_diag MSG...,
#              tap_done (exit status: 0 only if all passed and count == plan)
#   cleanup    at_exit CMD... (run in reverse order when the test exits)
#   sizes      to_sectors SIZE (512-byte sectors of 4096, 1M, 2G, 100s)
#   disks      vm_disk N (the Nth virtio disk, /dev/vdX), dev_sectors DEV,
#              brd_setup COUNT SIZE, loop_create FILE SIZE, zero_dev DEV [SIZE]
#   data       fio_verify DEV [SIZE] [fio args...], fio_verify_only ...,
#              dev_sha256 DEV [OFFSET LEN], same_content A B [SIZE]
#   dmesg      dmesg_test (kernel log since this test began),
#              dmesg_mark, dmesg_since_mark (kernel log since the mark),
#              dmesg_problems (print BUG/WARNING/... lines; 0 if there are any)
#   dm         dm_create NAME TABLE, dm_remove NAME, dm_exists NAME,
#              make_pool NAME META DATA [BLOCK [LWM [FEATURES...]]],
#              make_vdisk NAME POOL ID SIZE [FEATURES...]
#   net        netns_add NS, veth_link NS1 ADDR1/LEN NS2 ADDR2/LEN,
#              in_ns NS CMD...

export DM_DISABLE_UDEV=1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VDISK_TEST_NAME=${VDISK_TEST_NAME:-$(basename "$0" .sh)}
VDISK_TEST_TMP=${VDISK_TEST_TMP:-/tmp}

# ---- TAP -------------------------------------------------------------------

_tap_n=0
_tap_failed=0
_tap_plan=

tap_plan() {
	_tap_plan=$1
	echo "TAP version 13"
	echo "1..$1"
}

tap_ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

tap_fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $*"
}

tap_skip() {	# DESC REASON
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

# Whole test not applicable here: a valid TAP stream with no results.
tap_skip_all() {
	echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit 0
}

tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# tap_check DESC CMD...: ok if CMD succeeds; otherwise not ok, and CMD's
# output (stdout and stderr) is shown as diagnostics.
tap_check() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		tap_ok "$_desc"
	else
		tap_fail "$_desc"
		tap_diag "command: $*"
		[ -n "$_out" ] && tap_diag "$_out"
	fi
	return 0
}

# Last call of every test.  Fails when fewer or more results than planned
# were printed (a test must not pass by stopping early).
tap_done() {
	if [ -n "$_tap_plan" ] && [ "$_tap_n" != "$_tap_plan" ]; then
		tap_diag "planned $_tap_plan results but printed $_tap_n"
		exit 1
	fi
	[ "$_tap_failed" = 0 ] && exit 0
	exit 1
}

# ---- cleanup ---------------------------------------------------------------

# Kept in a file so that helpers called in $(...) subshells register too.
_at_exit_file=$VDISK_TEST_TMP/.at_exit.$$
: > "$_at_exit_file"
# at_exit CMD...: run CMD when the test exits (last registered runs first).
# Arguments are joined with spaces, so keep them free of spaces and quotes.
at_exit() {
	echo "$*" >> "$_at_exit_file"
}
_run_at_exit() {
	_rc=$?
	if [ -f "$_at_exit_file" ]; then
		tac "$_at_exit_file" > "$_at_exit_file.run"
		rm -f "$_at_exit_file"
		while read -r _cmd; do
			eval "$_cmd" < /dev/null > /dev/null 2>&1
		done < "$_at_exit_file.run"
		rm -f "$_at_exit_file.run"
	fi
	exit $_rc
}
trap _run_at_exit EXIT
# Not in an interactive shell (vm-shell users source this file too).
case $- in
*i*) ;;
*) trap 'exit 130' INT TERM ;;
esac

# ---- sizes and disks -------------------------------------------------------

# to_sectors SIZE: 4096 (bytes), 64K, 256M, 2G, 1T, or 128s (sectors).
to_sectors() {
	case "$1" in
	*s) echo "${1%s}" ;;
	*K|*k) echo $(( ${1%?} * 2 )) ;;
	*M|*m) echo $(( ${1%?} * 2048 )) ;;
	*G|*g) echo $(( ${1%?} * 2097152 )) ;;
	*T|*t) echo $(( ${1%?} * 2147483648 )) ;;
	*) echo $(( $1 / 512 )) ;;
	esac
}

dev_sectors() {
	blockdev --getsz "$1"
}

# vm_disk N: the block device of the VM's Nth disk (the rig names them by
# serial, vdisk0, vdisk1, ...; see "# vdisk-disks:" in the README).  Fails
# if the VM has no such disk.
vm_disk() {
	for _s in /sys/block/vd*/serial; do
		[ -f "$_s" ] || continue
		if [ "$(cat "$_s")" = "vdisk$1" ]; then
			_d=${_s%/serial}
			echo "/dev/${_d##*/}"
			return 0
		fi
	done
	echo "vm_disk: the VM has no disk vdisk$1" >&2
	return 1
}

# brd_setup COUNT SIZE: COUNT RAM disks /dev/ram0.. of SIZE each (they use
# guest memory).  Removed again when the test exits.
brd_setup() {
	modprobe -r brd 2>/dev/null
	modprobe brd rd_nr="$1" rd_size=$(( $(to_sectors "$2") / 2 )) max_part=0 || return 1
	at_exit modprobe -r brd
}

# loop_create FILE SIZE: a loop device over a new sparse file; prints it.
loop_create() {
	truncate -s "$2" "$1" || return 1
	_l=$(losetup -f --show "$1") || return 1
	at_exit losetup -d "$_l"
	echo "$_l"
}

# zero_dev DEV [SIZE]: zero the device (or its first SIZE).
zero_dev() {
	if [ -n "${2:-}" ]; then
		dd if=/dev/zero of="$1" bs=1M count=$(( $(to_sectors "$2") / 2048 )) \
			oflag=direct status=none
	else
		dd if=/dev/zero of="$1" bs=1M oflag=direct status=none 2>/dev/null
		return 0
	fi
}

# ---- data ------------------------------------------------------------------

# fio_verify DEV [SIZE] [FIO ARGS...]: write DEV (or its first SIZE) with
# crc32c-verified blocks and read everything back.  Succeeds only if fio
# exits 0 and reports no verify error; fio's output is printed on failure.
# Extra arguments override the defaults (e.g. --rw=randwrite --bs=64k).
fio_verify() {
	_dev=$1
	shift
	_size=
	case "${1:-}" in
	--*|"") ;;
	*) _size=$1; shift ;;
	esac
	_fio "$_dev" "$_size" --verify_only=0 "$@"
}

# fio_verify_only DEV [SIZE] [FIO ARGS...]: read back and check what an
# earlier fio_verify with the same SIZE and arguments wrote (for example
# after a pool was reloaded).
fio_verify_only() {
	_dev=$1
	shift
	_size=
	case "${1:-}" in
	--*|"") ;;
	*) _size=$1; shift ;;
	esac
	_fio "$_dev" "$_size" --verify_only=1 "$@"
}

_fio() {
	_dev=$1 _size=$2
	shift 2
	_log=$VDISK_TEST_TMP/fio.$$.log
	fio --name=verify --filename="$_dev" ${_size:+--size=$_size} \
		--ioengine=psync --direct=1 --rw=write --bs=4k \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randrepeat=1 --randseed=1234 --output-format=normal "$@" > "$_log" 2>&1
	_rc=$?
	if [ "$_rc" != 0 ] || grep -qiE 'verify: bad|bad magic|crc32c: verify failed|err= *[1-9]' "$_log"; then
		echo "fio on $_dev failed (exit $_rc):"
		cat "$_log"
		rm -f "$_log"
		return 1
	fi
	rm -f "$_log"
	return 0
}

# dev_sha256 DEV [OFFSET LEN]: sha256 of the device or of LEN bytes from
# OFFSET (sizes as for to_sectors).
dev_sha256() {
	if [ -n "${2:-}" ]; then
		dd if="$1" bs=64k iflag=skip_bytes,count_bytes,direct status=none \
			skip=$(( $(to_sectors "$2") * 512 )) count=$(( $(to_sectors "$3") * 512 )) |
			sha256sum | cut -d' ' -f1
	else
		dd if="$1" bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1
	fi
}

# same_content A B [SIZE]: A and B hold the same bytes (the first SIZE).
same_content() {
	if [ -n "${3:-}" ]; then
		[ "$(dev_sha256 "$1" 0 "$3")" = "$(dev_sha256 "$2" 0 "$3")" ]
	else
		cmp -s "$1" "$2"
	fi
}

# ---- kernel log ------------------------------------------------------------

# The kernel log since the rig's "vdisk-rig: test NAME begin" marker (the
# whole log when run by hand outside the rig).
dmesg_test() {
	dmesg | awk -v m="vdisk-rig: test $VDISK_TEST_NAME begin" '
		index($0, m) { n = 0; next }
		{ buf[n++] = $0 }
		END { for (i = 0; i < n; i++) print buf[i] }'
}

# dmesg_mark; ...; dmesg_since_mark: the kernel log written after the mark
# (for "this command logged a clear error" checks).
_mark_n=0
dmesg_mark() {
	_mark_n=$((_mark_n + 1))
	echo "vdisk-test: $VDISK_TEST_NAME mark $_mark_n" > /dev/kmsg
}
dmesg_since_mark() {
	dmesg | awk -v m="vdisk-test: $VDISK_TEST_NAME mark $_mark_n" '
		index($0, m) { n = 0; next }
		{ buf[n++] = $0 }
		END { for (i = 0; i < n; i++) print buf[i] }'
}

VDISK_KERNEL_PROBLEMS='BUG:|WARNING:|Oops|general protection|KASAN|lockdep|possible circular locking|hung_task|blocked for more than|Kernel panic|UBSAN|soft lockup|rcu.*stall|kernel BUG at|Unable to handle'

# dmesg_problems: print this test's kernel problem lines; succeeds if there
# are any (use as: if dmesg_problems; then tap_fail ...).
dmesg_problems() {
	dmesg_test | grep -E "$VDISK_KERNEL_PROBLEMS"
}

# The usual last check of a test: "kernel log clean", failing (with the
# lines) if this test's kernel log shows a problem (dmesg_problems).
tap_kernel_log_clean() {
	if dmesg_problems; then
		tap_fail "kernel log clean"
	else
		tap_ok "kernel log clean"
	fi
}

# ---- device-mapper ---------------------------------------------------------

dm_exists() {
	dmsetup info "$1" > /dev/null 2>&1
}

# dm_create NAME TABLE: create and wait for /dev/mapper/NAME.  Removed when
# the test exits unless dm_remove'd earlier.
dm_create() {
	dmsetup create "$1" --table "$2" || return 1
	at_exit dm_remove "$1"
	dm_wait_node "$1"
}

# dm_wait_node NAME: wait up to 5 s for /dev/mapper/NAME (no udev in the VM).
dm_wait_node() {
	_i=0
	while [ ! -b "/dev/mapper/$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 50 ] && { echo "dm_wait_node: no /dev/mapper/$1" >&2; return 1; }
		dmsetup mknodes "$1" > /dev/null 2>&1
		sleep 0.1
	done
}

# dm_remove NAME [TRIES]: remove, retrying every 0.2 s (TRIES times,
# default 20) while the device is briefly busy.
dm_remove() {
	dm_exists "$1" || return 0
	_i=0
	until dmsetup remove "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt "${2:-20}" ] && { dmsetup remove "$1"; return 1; }
		sleep 0.2
	done
}

# make_pool NAME META DATA [BLOCK [LWM [FEATURE...]]]: a vdisk-pool over
# metadata device META and data device DATA; BLOCK is the data block size in
# sectors (default 128 = 64 KiB), LWM the low water mark in blocks (default
# 0).  FEATUREs are table words such as error_if_no_space or "ssd_tier DEV"
# (pass ssd_tier and DEV as two words); their count is added for you.
make_pool() {
	_name=$1 _meta=$2 _data=$3
	_bs=${4:-128} _lwm=${5:-0}
	[ $# -gt 5 ] && shift 5 || shift $#
	_feat=
	[ $# -gt 0 ] && _feat=" $# $*"
	dm_create "$_name" "0 $(dev_sectors "$_data") vdisk-pool $_meta $_data $_bs $_lwm$_feat"
}

# make_vdisk NAME POOL ID SIZE [FEATURE...]: vdisk number ID of pool POOL
# (a dm name or a device path), SIZE long (as for to_sectors).
make_vdisk() {
	_name=$1 _pool=$2 _id=$3 _size=$4
	shift 4
	case "$_pool" in
	/*) ;;
	*) _pool=/dev/mapper/$_pool ;;
	esac
	_feat=
	[ $# -gt 0 ] && _feat=" $# $*"
	dm_create "$_name" "0 $(to_sectors "$_size") vdisk $_pool $_id$_feat"
}

# ---- network namespaces ----------------------------------------------------
# Everything stays inside the guest: use private addresses (10.x) only.

netns_add() {
	ip netns add "$1" || return 1
	at_exit ip netns del "$1"
	ip -n "$1" link set lo up
}

# veth_link NS1 ADDR1/LEN NS2 ADDR2/LEN: a veth pair joining two namespaces.
veth_link() {
	_a=v$$a$_tap_n _b=v$$b$_tap_n
	ip link add "$_a" netns "$1" type veth peer name "$_b" netns "$3" || return 1
	ip -n "$1" addr add "$2" dev "$_a" && ip -n "$1" link set "$_a" up &&
		ip -n "$3" addr add "$4" dev "$_b" && ip -n "$3" link set "$_b" up
}

in_ns() {
	_ns=$1
	shift
	ip netns exec "$_ns" "$@"
}
