#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Two-VM check, listening side (10.99.0.1 on eth0): receive a line over TCP
# from the other VM and answer it.
. /vdisk/selftests/lib.sh
tap_plan 2
if ip -o addr show dev eth0 | grep -q '10\.99\.0\.1/'; then
	tap_ok "eth0 has 10.99.0.1"
else
	tap_fail "eth0 has 10.99.0.1"
	ip addr
fi
got=$(echo "hello-from-a" | timeout 120 nc -l -p 7777)
if [ "$got" = "hello-from-b" ]; then
	tap_ok "received 'hello-from-b' from the other VM"
else
	tap_fail "received 'hello-from-b' from the other VM (got '$got')"
fi
tap_done
