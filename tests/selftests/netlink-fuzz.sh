#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Netlink fuzz: vdisk-nlfuzz sends thousands of random messages to the
# "vdisk" family (random commands, versions, flags, attribute types,
# lengths, nesting and padding, truncated messages, valid-looking commands
# with bogus or real pools, names and ids) while a vdisk of the pool is
# active.  Every message must be answered, the kernel log must stay clean,
# the pool must still work (data written before reads back, new vdisks can
# be made) and vdisk-check must find its metadata clean afterwards.
# NLFUZZ_SEED replays a run (the seed is printed), NLFUZZ_COUNT sets the
# number of messages.
#
# vdisk-timeout: 300
# vdisk-cost: 3 20
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v vdisk-nlfuzz > /dev/null || tap_skip_all "vdisk-nlfuzz not built"
tap_plan 7

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"
M=/dev/ram0
make_pool fz $M /dev/ram1 8 0 || tap_diag "pool failed"
for i in 1 2 3 4 5; do pool_msg fz create_vdisk $i; done
make_vdisk fz-1 fz 1 32M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/fz-1 bs=1M count=8 oflag=direct status=none
sum=$(dev_sha256 /dev/mapper/fz-1 0 8M)

seed=${NLFUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
if vdisk-nlfuzz fuzz --pool fz --seed "$seed" --count "${NLFUZZ_COUNT:-12000}" > "$VDISK_TEST_TMP/fuzz.log" 2>&1
then
	tap_ok "every fuzz message answered (seed $seed)"
else
	tap_fail "every fuzz message answered (seed $seed)"
fi
sed 's/^\([^#]\)/# \1/' "$VDISK_TEST_TMP/fuzz.log"

out=$(vdisk-nlfuzz req pool pool=fz)
tap_check "the pool is still rw" sh -c "echo '$out' | grep -q ' mode=0 '"
tap_check "the active vdisk's data reads back" test "$(dev_sha256 /dev/mapper/fz-1 0 8M)" = "$sum"
tap_check "a vdisk can still be created" pool_msg fz create_vdisk 100000
dm_remove fz-1
dm_remove fz
tap_check "pool and vdisk removed" sh -c '! dmsetup info fz > /dev/null 2>&1'
tap_check "vdisk-check: the metadata is clean" vdisk_check $M

if dmesg_problems; then tap_fail "kernel log clean"; else tap_ok "kernel log clean"; fi
tap_done
