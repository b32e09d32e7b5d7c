#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Rig self-test: a test reports a failure; the kernel stays clean.
. /vdisk/selftests/lib.sh
tap_plan 2
tap_ok "a passing check"
tap_fail "a deliberately failing check"
tap_done
