#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scan-console.sh LOG
#
# Look for kernel problems in a VM console log.  Prints one line per offending
# log line, "<test>: <line>" where <test> is the selftest that was running
# (from the rig's "vdisk-rig: test NAME begin" kernel-log markers, "boot"
# before the first one), and exits 1 if anything was found, 0 if the log is
# clean.  Tests' own output never reaches the console (it goes to the results
# port), so a match here always comes from the kernel or from init.
set -u
log=$1
[ -f "$log" ] || { echo "scan-console: no log $log" >&2; exit 2; }

# Extended regexps, matched case-sensitively anywhere in a line.
patterns='BUG:|WARNING:|Oops|general protection|KASAN|lockdep|possible circular locking'
patterns+='|hung_task|blocked for more than|Kernel panic|UBSAN|soft lockup|rcu: INFO:.*stall'
patterns+='|kernel BUG at|Unable to handle|unreferenced object|stack-protector'
# Debug-kernel boot banners that contain a pattern but report nothing wrong.
benign='KASAN: (initialized|enabled)|KernelAddressSanitizer initialized'
benign+='|lockdep: (fixing up|enabled)|Lock dependency validator|RCU lockdep checking is enabled'

tr -d '\r' < "$log" | awk -v pat="$patterns" -v ok="$benign" '
	/vdisk-rig: test [^ ]+ begin/ {
		for (i = 1; i <= NF; i++) if ($i == "test") { cur = $(i + 1); break }
	}
	/vdisk-rig: test [^ ]+ end/ { cur = "" }
	$0 ~ pat && $0 !~ ok {
		found = 1
		print (cur == "" ? "(no test running)" : cur) ": " $0
	}
	END { exit found }'
