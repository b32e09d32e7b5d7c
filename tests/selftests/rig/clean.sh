#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Rig self-test: a clean run, which the rig must let pass.
. /vdisk/selftests/lib.sh
tap_plan 3
tap_check "load dm-vdisk-rigtest trigger=none" modprobe dm-vdisk-rigtest trigger=none
tap_check "unload it" modprobe -r dm-vdisk-rigtest
if dmesg_problems; then
	tap_fail "kernel log clean"
else
	tap_ok "kernel log clean"
fi
tap_done
