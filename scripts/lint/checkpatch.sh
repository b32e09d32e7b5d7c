#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict --no-tree over every kernel source of ours: the
# module (drivers/), the uapi headers (include/) and the test module.
# checkpatch comes from Debian's linux-source-6.1 (installed by make deps),
# extracted once into $BUILD/checkpatch.  Prints TAP (one line per file).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
cp_dir=$build/checkpatch
cp=$(find "$cp_dir" -name checkpatch.pl -path '*scripts*' 2>/dev/null | head -n1 || true)
if [ -z "$cp" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1 || true)
	[ -n "$tarball" ] || { echo "checkpatch.sh: no linux-source-6.1 tarball: run 'make deps'" >&2; exit 1; }
	mkdir -p "$cp_dir"
	tar -xf "$tarball" -C "$cp_dir" --wildcards '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	cp=$(find "$cp_dir" -name checkpatch.pl -path '*scripts*' | head -n1)
fi

cd "$top"
mapfile -t files < <(git ls-files -co --exclude-standard -- 'drivers/*.[ch]' 'include/*.h' 'tests/kmod/*.[ch]' | sort -u)
echo "TAP version 13"
echo "1..${#files[@]}"
n=0 bad=0
for f in "${files[@]}"; do
	n=$((n + 1))
	out=$(perl "$cp" --strict --no-tree --terse --show-types -f "$f" 2>&1 |
		grep -E ': (ERROR|WARNING|CHECK):' || true)
	if [ -z "$out" ]; then
		echo "ok $n - checkpatch $f"
	else
		echo "not ok $n - checkpatch $f"
		printf '%s\n' "$out" | sed 's/^/# /'
		bad=1
	fi
done
exit $bad
