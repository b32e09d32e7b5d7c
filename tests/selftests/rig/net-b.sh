#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Two-VM check, connecting side (10.99.0.2): ping the other VM, then send it
# a line over TCP and read its answer.
. /vdisk/selftests/lib.sh
tap_plan 2
i=0
until ping -c 1 -W 1 10.99.0.1 > /dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -ge 60 ] && break
done
if [ "$i" -lt 60 ]; then
	tap_ok "ping 10.99.0.1 (the other VM)"
else
	tap_fail "ping 10.99.0.1 (the other VM)"
fi
# The other side may not be listening yet: retry.
i=0 got=
while [ "$i" -lt 60 ]; do
	got=$(echo "hello-from-b" | timeout 10 nc 10.99.0.1 7777 2>/dev/null)
	[ -n "$got" ] && break
	i=$((i + 1))
	sleep 1
done
if [ "$got" = "hello-from-a" ]; then
	tap_ok "TCP exchange with the other VM"
else
	tap_fail "TCP exchange with the other VM (got '$got')"
fi
tap_done
