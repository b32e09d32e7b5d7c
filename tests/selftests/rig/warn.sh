#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Rig self-test: the kernel WARNs while the test itself reports success.
. /vdisk/selftests/lib.sh
tap_plan 2
modprobe dm-vdisk-rigtest trigger=warn
tap_ok "loaded dm-vdisk-rigtest trigger=warn"
modprobe -r dm-vdisk-rigtest
tap_ok "unloaded it"
tap_done
