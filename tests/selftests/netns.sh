#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Network namespaces joined by veth inside one VM, the set-up replication
# tests use: two linked namespaces reach each other, an unlinked one cannot.
#
# vdisk-timeout: 60
# vdisk-cost: 3 13
. "$(dirname "$0")/lib.sh"

tap_plan 5

modprobe veth
if netns_add vda && netns_add vdb && netns_add vdc; then
	tap_ok "three network namespaces"
else
	tap_fail "three network namespaces"
fi
tap_check "veth pair between vda and vdb" veth_link vda 10.200.0.1/24 vdb 10.200.0.2/24
tap_check "vda pings vdb over veth" in_ns vda ping -c 2 -W 2 10.200.0.2
tap_check "vdb pings vda over veth" in_ns vdb ping -c 2 -W 2 10.200.0.1
if in_ns vdc ping -c 1 -W 1 10.200.0.1 > /dev/null 2>&1; then
	tap_fail "an unlinked namespace cannot reach them"
else
	tap_ok "an unlinked namespace cannot reach them"
fi
tap_done
