#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Faults injected with dm-flakey (and dm-dust where the kernel has it) under
# the data device and under the metadata device: write errors, read errors,
# dropped writes and intermittent (up/down interval) errors.  Data device
# faults fail only the bios that hit them (the pool stays rw, other I/O goes
# on, a failed first write maps nothing); metadata device faults switch the
# pool to ro/fail with one clear kernel log line; after reactivation on the
# healthy devices vdisk-check is clean and every write acknowledged before
# the last successful flush reads back.  A reload re-opens the metadata of a
# pool that went ro on a metadata error when no acknowledged write was lost
# and its vdisks are suspended, and refuses (stays ro, says why) otherwise.
#
# vdisk-timeout: 600
# vdisk-cost: 29 153
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 40

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe dm-flakey || tap_skip_all "dm-flakey not available"
brd_setup 2 64M || tap_diag "brd_setup failed"
S=$(dev_sectors /dev/ram0)

# em (metadata) and ed (data) are dm devices whose table we swap.
dm_create em "0 $S linear /dev/ram0 0" || tap_diag "em failed"
dm_create ed "0 $S linear /dev/ram1 0" || tap_diag "ed failed"
swap() {	# DEV RAM# linear | flakey UP DOWN [FEATURE] | dust
	_d=$1 _r=/dev/ram$2 _t=$3
	shift 3
	case "$_t" in
	linear) _tab="0 $S linear $_r 0" ;;
	flakey) _tab="0 $S flakey $_r 0 $1 $2${3:+ 1 $3}" ;;
	dust) _tab="0 $S dust $_r 0 16777216" ;;
	esac
	dmsetup reload "$_d" --table "$_tab" && dmsetup resume "$_d"
}
read_fails() {	# DEV OFFSET
	! dd if="$1" of=/dev/null bs=64k count=1 skip="$(($(to_sectors "$2") / 128))" \
		iflag=direct status=none 2>/dev/null
}
fails() {	# CMD...: CMD fails
	! "$@" 2>/dev/null
}
write64k() {	# DEV 64K-INDEX [SRC]
	dd if="${3:-/dev/urandom}" of="$1" bs=64k count=1 seek="$2" oflag=direct \
		status=none 2>/dev/null
}
# One clear line in the log since the mark (exactly one line matches).
logged_once() {	# ERE
	[ "$(dmesg_since_mark | grep -cE "$1")" = 1 ] || { dmesg_since_mark | tail -20; return 1; }
}
activate() {
	make_pool fp /dev/mapper/em /dev/mapper/ed 128 0 &&
		make_vdisk f1 fp 1 16M && make_vdisk f2 fp 2 16M
}
# Reload the pool with its own table, its vdisks suspended (left suspended).
reload_pool() {
	dmsetup suspend f1 && dmsetup suspend f2 &&
		dmsetup reload fp --table "$(dmsetup table fp)" && dmsetup resume fp
}
deactivate() {
	dm_remove f1; dm_remove f2; dm_remove fp
}

make_pool fp /dev/mapper/em /dev/mapper/ed 128 0 || tap_diag "pool failed"
pool_msg fp create_vdisk 1 && pool_msg fp create_vdisk 2 || tap_diag "create_vdisk failed"
make_vdisk f1 fp 1 16M && make_vdisk f2 fp 2 16M || tap_diag "vdisks failed"
dd if=/dev/urandom of=/dev/mapper/f1 bs=1M count=4 oflag=direct status=none
dd if=/dev/urandom of=/dev/mapper/f2 bs=1M count=4 oflag=direct status=none
flush_dev /dev/mapper/f1
sum1=$(dev_sha256 /dev/mapper/f1 0 4M)
sum2=$(dev_sha256 /dev/mapper/f2)

# ---- data device: write errors (flakey error_writes, always down) ----
dmesg_mark
swap ed 1 flakey 0 600 error_writes || tap_diag "flakey on ed failed"
tap_check "data error_writes: a first write fails" fails write64k /dev/mapper/f1 128
tap_check "data error_writes: an in-place overwrite fails" fails write64k /dev/mapper/f1 3
tap_check "data error_writes: reads of mapped data go on and match" \
	[ "$(dev_sha256 /dev/mapper/f2)" = "$sum2" ]
tap_check "data error_writes: the pool stays rw" mode_in fp rw
tap_check "data error_writes: the kernel log names the failed block" \
	logged_once "vdisk 1: data I/O for block 128 failed"
swap ed 1 linear || tap_diag "restoring ed failed"
tap_check "data error_writes: the failed first write mapped nothing" zeros64k /dev/mapper/f1 8M

# ---- data device: read errors (flakey without features errors all I/O) ----
swap ed 1 flakey 0 600 || tap_diag "flakey on ed failed"
tap_check "data errors: a read of mapped data fails" read_fails /dev/mapper/f2 1M
tap_check "data errors: a read of an unmapped block still returns zeros" \
	zeros64k /dev/mapper/f2 12M
tap_check "data errors: the pool stays rw" mode_in fp rw
swap ed 1 linear || tap_diag "restoring ed failed"
tap_check "data errors: the data reads back once the device is healthy" \
	[ "$(dev_sha256 /dev/mapper/f2)" = "$sum2" ]

# ---- data device: bad sectors (dm-dust, where the kernel has it) ----
if modprobe dm-dust 2>/dev/null; then
	swap ed 1 dust || tap_diag "dust on ed failed"
	# Every 16 MiB dust block of the data device is bad.
	i=0
	while [ $i -lt $((S / 32768)) ]; do
		dmsetup message ed 0 addbadblock $i > /dev/null 2>&1
		i=$((i + 1))
	done
	dmsetup message ed 0 enable
	tap_check "dm-dust: a read of a bad data sector fails" read_fails /dev/mapper/f2 2M
	tap_check "dm-dust: the pool stays rw" mode_in fp rw
	dmsetup message ed 0 disable
	swap ed 1 linear || tap_diag "restoring ed failed"
	tap_check "dm-dust: the data is intact afterwards" \
		[ "$(dev_sha256 /dev/mapper/f2)" = "$sum2" ]
else
	tap_skip "dm-dust: a read of a bad data sector fails" "dm-dust not in this kernel"
	tap_skip "dm-dust: the pool stays rw" "dm-dust not in this kernel"
	tap_skip "dm-dust: the data is intact afterwards" "dm-dust not in this kernel"
fi

# ---- data device: intermittent write errors (up 1 s, down 1 s) ----
# First writes to 48 new blocks: each either succeeds or fails as a whole.
swap ed 1 flakey 1 1 error_writes || tap_diag "flakey on ed failed"
T=$VDISK_TEST_TMP/faults
mkdir -p "$T"
ok=0 failed=0 i=0
while [ $i -lt 48 ]; do
	dd if=/dev/urandom of="$T/b$i" bs=64k count=1 status=none
	if write64k /dev/mapper/f2 $((128 + i)) "$T/b$i"; then
		ok=$((ok + 1))
	else
		rm -f "$T/b$i"
		failed=$((failed + 1))
	fi
	sleep 0.1	# spread the writes over several up/down intervals
	i=$((i + 1))
done
tap_diag "intermittent data errors: $ok writes succeeded, $failed failed"
swap ed 1 linear || tap_diag "restoring ed failed"
flush_dev /dev/mapper/f2
check_blocks() {	# each acked block holds its data, each failed one zeros
	_i=0
	while [ $_i -lt 48 ]; do
		if [ -f "$T/b$_i" ]; then
			[ "$(dev_sha256 /dev/mapper/f2 $((8192 + _i * 64))K 64K)" = \
			  "$(sha256sum < "$T/b$_i" | cut -d' ' -f1)" ] || return 1
		else
			zeros64k /dev/mapper/f2 $((8192 + _i * 64))K || return 1
		fi
		_i=$((_i + 1))
	done
}
tap_check "intermittent data errors: acked blocks hold their data, failed ones map nothing" \
	check_blocks
tap_check "intermittent data errors: the pool stays rw" mode_in fp rw
sum2=$(dev_sha256 /dev/mapper/f2)

# ---- metadata device: write errors ----
dd if=/dev/urandom of=/dev/mapper/f1 bs=1M count=4 seek=4 oflag=direct status=none
flush_dev /dev/mapper/f1
sum1=$(dev_sha256 /dev/mapper/f1)
dmesg_mark
swap em 0 flakey 0 600 error_writes || tap_diag "flakey on em failed"
dd if=/dev/urandom of=/dev/mapper/f1 bs=64k count=16 seek=192 oflag=direct status=none 2>/dev/null
tap_check "metadata error_writes: the flush fails" fails flush_dev /dev/mapper/f1
tap_check "metadata error_writes: the pool is ro or fail" mode_in fp ro fail
tap_check "metadata error_writes: one kernel log line says so" \
	logged_once "vdisk: pool .*switching to (ro|fail) mode"
tap_check "metadata error_writes: reads go on" [ "$(dev_sha256 /dev/mapper/f2)" = "$sum2" ]
swap em 0 linear || tap_diag "restoring em failed"
dmesg_mark
reload_pool
tap_check "metadata error_writes: a reload keeps the pool ro (acknowledged writes were lost)" \
	sh -c "[ \"\$(dmsetup status fp | awk '{ print \$7 }')\" != rw ]"
tap_check "metadata error_writes: the kernel log says why" \
	logged_once "reload: staying (ro|fail): the rollback lost acknowledged writes"
dmsetup resume f1; dmsetup resume f2
deactivate
tap_check "metadata error_writes: vdisk-check clean on the healthy device" \
	vdisk_check /dev/mapper/em
activate || tap_diag "reactivation failed"
both_intact() {
	[ "$(dev_sha256 /dev/mapper/f1)" = "$sum1" ] && [ "$(dev_sha256 /dev/mapper/f2)" = "$sum2" ]
}
tap_check "metadata error_writes: everything flushed before reads back" both_intact
tap_check "metadata error_writes: the pool is rw after reactivation" mode_in fp rw

# ---- metadata device: dropped writes (the device lies) ----
dd if=/dev/urandom of=/dev/mapper/f1 bs=1M count=4 seek=8 oflag=direct status=none
flush_dev /dev/mapper/f1
sum1=$(dev_sha256 /dev/mapper/f1 0 12M)
swap em 0 flakey 0 600 drop_writes || tap_diag "flakey on em failed"
dd if=/dev/urandom of=/dev/mapper/f1 bs=1M count=4 seek=12 oflag=direct status=none
pool_msg fp create_vdisk 3
flush_dev /dev/mapper/f1
tap_check "metadata drop_writes: the pool stays up (it cannot tell)" mode_in fp rw
deactivate
swap em 0 linear || tap_diag "restoring em failed"
tap_check "metadata drop_writes: vdisk-check clean on the healthy device" \
	vdisk_check /dev/mapper/em
activate || tap_diag "reactivation failed"
tap_check "metadata drop_writes: the last commit that reached the device reads back" \
	[ "$(dev_sha256 /dev/mapper/f1 0 12M)" = "$sum1" ]
tap_check "metadata drop_writes: changes after it are gone, consistently" \
	fails dmsetup message fp 0 delete 3

# ---- metadata device: read errors (a cold pool, all metadata I/O fails) ----
sum1=$(dev_sha256 /dev/mapper/f1)
deactivate
activate || tap_diag "reactivation failed"
dmesg_mark
swap em 0 flakey 0 600 || tap_diag "flakey on em failed"
tap_check "metadata errors: a read needing a lookup fails" read_fails /dev/mapper/f1 0
tap_check "metadata errors: the pool is ro or fail" mode_in fp ro fail
tap_check "metadata errors: one kernel log line says so" \
	logged_once "vdisk: pool .*switching to (ro|fail) mode"
swap em 0 linear || tap_diag "restoring em failed"
dmesg_mark
dmsetup reload fp --table "$(dmsetup table fp)" && dmsetup resume fp
tap_check "metadata errors: a reload with active vdisks keeps the pool ro" mode_in fp ro fail
tap_check "metadata errors: the kernel log says why" \
	logged_once "reload: staying (ro|fail): suspend every vdisk"
dmesg_mark
reload_pool
tap_check "metadata errors: a reload with the vdisks suspended re-opens the metadata: rw" \
	mode_in fp rw
tap_check "metadata errors: the kernel log says so" \
	logged_once "reload: metadata re-opened at its last commit: switching to rw mode"
dmsetup resume f1; dmsetup resume f2
tap_check "metadata errors: everything flushed reads back after the reload" \
	[ "$(dev_sha256 /dev/mapper/f1)" = "$sum1" ]
tap_check "metadata errors: writes and flushes work again" \
	sh -c "dd if=/dev/urandom of=/dev/mapper/f1 bs=64k count=8 seek=16 oflag=direct status=none && dd if=/dev/null of=/dev/mapper/f1 conv=fsync,notrunc status=none"
sum1=$(dev_sha256 /dev/mapper/f1)
deactivate
tap_check "metadata errors: vdisk-check clean on the healthy device" vdisk_check /dev/mapper/em
activate || tap_diag "reactivation failed"
tap_check "metadata errors: everything flushed reads back" \
	[ "$(dev_sha256 /dev/mapper/f1)" = "$sum1" ]
deactivate

tap_kernel_log_clean
tap_done
