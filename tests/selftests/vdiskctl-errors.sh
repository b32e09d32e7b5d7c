#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vdiskctl refuses bad input with a clear message and the right exit status
# (2 usage, 1 error) and changes nothing (list --json, dm devices and tables,
# configuration files compared before and after): unknown pools and
# vdisks, duplicate names, bad sizes, bad names, missing devices.  An
# unprivileged caller (uid 65534) gets "permission denied: run as root" and
# exit 1 from every state-changing command, and nothing changes either.
#
# vdisk-timeout: 300
# vdisk-cost: 6 26
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"
. "$(dirname "$0")/lib-vdiskctl.sh"

tap_plan 9

vc_setup p0 || tap_diag "pool create failed"
vdiskctl create p0 vm1 --size 16M > /dev/null && vdiskctl snapshot p0 vm1 s1 > /dev/null ||
	tap_diag "setup failed"
before=$(vc_state)
unchanged() {
	_now=$(vc_state)
	[ "$_now" = "$before" ] || {
		printf 'state changed; before:\n%s\nafter:\n%s\n' "$before" "$_now"
		return 1
	}
}
# Run every case, report all failures, then check the state.
cases() {
	_fail=0
	while read -r _rc _pat _cmd; do
		[ -n "$_rc" ] || continue
		# shellcheck disable=SC2086
		eval "set -- $_cmd"
		vc_expect "$_rc" "$_pat" "$@" || _fail=1
	done
	[ "$_fail" = 0 ] && unchanged
}

tap_check "bad sizes: 0, 12Q, -1G, 1.5G, huge, missing" cases <<'EOF2'
2 cannot.be.empty vdiskctl create p0 x --size 0
2 unknown.unit vdiskctl create p0 x --size 12Q
2 negative vdiskctl create p0 x --size -1G
2 fractions vdiskctl create p0 x --size 1.5G
2 too.large vdiskctl create p0 x --size 99999999999T
2 at.most vdiskctl create p0 x --size 8E
2 multiple.of.512 vdiskctl create p0 x --size 1000
2 --size.is.required vdiskctl create p0 x
2 bad.size vdiskctl resize p0 vm1 --size 0
2 block-size vdiskctl pool create p1 --metadata /dev/ram0 --data /dev/ram1 --block-size 3K
EOF2

tap_check "bad names and usage" cases <<'EOF2'
2 bad.vdisk.name vdiskctl create p0 "a b" --size 1M
2 bad.vdisk.name vdiskctl create p0 .x --size 1M
2 bad.vdisk.name vdiskctl snapshot p0 vm1 a/b
2 bad.pool.name vdiskctl pool create p-1 --metadata /dev/ram0 --data /dev/ram1
2 unknown.command vdiskctl frobnicate
2 unknown.option vdiskctl list --frob
2 expected vdiskctl create p0
2 --tag.is.required vdiskctl group-snapshot p0 vm1
2 given.twice vdiskctl group-snapshot p0 --tag t vm1 vm1
EOF2

tap_check "unknown pool or vdisk" cases <<'EOF2'
1 nope vdiskctl create nope x --size 1M
1 ghost vdiskctl snapshot p0 ghost s2
1 ghost vdiskctl clone p0 ghost c2
1 ghost vdiskctl resize p0 ghost --size 1G
1 ghost vdiskctl remove p0 ghost
1 ghost vdiskctl group-snapshot p0 --tag t vm1 ghost
1 nope vdiskctl pool status nope
1 no.active.pool.'nope' vdiskctl pool remove nope
1 not.configured vdiskctl pool activate nope
1 nope vdiskctl check nope
1 . vdiskctl list nope
EOF2

tap_check "duplicates, shrinking, devices in use or missing" cases <<'EOF2'
1 vm1 vdiskctl create p0 vm1 --size 1M
1 s1 vdiskctl snapshot p0 vm1 s1
1 s1 vdiskctl clone p0 vm1 s1
1 already.exists vdiskctl pool create p0 --metadata /dev/ram0 --data /dev/ram1
1 shrinking vdiskctl resize p0 vm1 --size 8M
1 /dev/nonexistent vdiskctl pool create p1 --metadata /dev/nonexistent --data /dev/ram1
1 not.a.block.device vdiskctl pool create p1 --metadata /etc/passwd --data /dev/ram1
1 must.differ vdiskctl pool create p1 --metadata /dev/ram1 --data /dev/ram1
1 dm-vdisk.metadata vdiskctl pool create p1 --metadata /dev/ram0 --data /dev/ram1
EOF2

tap_check "unprivileged: every state-changing command refused" cases <<'EOF2'
1 permission.denied:.run.as.root as_nobody vdiskctl pool create p1 --metadata /dev/ram0 --data /dev/ram1
1 permission.denied:.run.as.root as_nobody vdiskctl pool activate p0
1 permission.denied:.run.as.root as_nobody vdiskctl pool remove p0
1 permission.denied:.run.as.root as_nobody vdiskctl create p0 x --size 1M
1 permission.denied:.run.as.root as_nobody vdiskctl snapshot p0 vm1 s2
1 permission.denied:.run.as.root as_nobody vdiskctl clone p0 s1 c2
1 permission.denied:.run.as.root as_nobody vdiskctl group-snapshot p0 --tag t vm1
1 permission.denied:.run.as.root as_nobody vdiskctl resize p0 vm1 --size 32M
1 permission.denied:.run.as.root as_nobody vdiskctl remove p0 s1
1 permission.denied:.run.as.root as_nobody vdiskctl check p0
EOF2
tap_check "unprivileged: queries refused too (documented)" cases <<'EOF2'
1 permission.denied as_nobody vdiskctl list
1 permission.denied as_nobody vdiskctl pool status p0
EOF2
tap_check "unprivileged --help still works" as_nobody vdiskctl create --help
tap_check "the pool is still usable afterwards" sh -c \
	'vdiskctl create p0 vm2 --size 1M && vdiskctl remove p0 vm2'
tap_kernel_log_clean
tap_done
