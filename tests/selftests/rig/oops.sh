#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Rig self-test: the kernel oopses (NULL dereference in a kworker) while the
# test itself reports success.  The module cannot be unloaded afterwards.
. /vdisk/selftests/lib.sh
tap_plan 2
modprobe dm-vdisk-rigtest trigger=oops
tap_ok "loaded dm-vdisk-rigtest trigger=oops"
# Give the work item time to run (on a PANIC_ON_OOPS kernel the VM dies here).
sleep 2
tap_ok "still running"
tap_done
