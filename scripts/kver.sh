#!/bin/sh
# Print the kernel release that dm-vdisk builds against and the VM rig boots:
# the one that Debian's linux-headers-amd64 metapackage currently points at.
# Never hard-coded: a newer Debian point release moves it, and `make deps`
# installs the matching linux-image-amd64 so the rig boots that same kernel.
set -eu
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null || true)
rel=$(printf '%s\n' "$dep" | tr ',' '\n' | sed -n 's/^ *linux-headers-\([^ ]*\).*/\1/p' | head -n1)
if [ -z "$rel" ]; then
	# Fallback for machines without the metapackage: newest headers tree.
	rel=$(ls -1 /lib/modules 2>/dev/null | sort -V | while read -r r; do
		[ -d "/lib/modules/$r/build" ] && echo "$r"; done | tail -n1)
fi
[ -n "$rel" ] || { echo "kver.sh: no linux-headers-amd64 installed; run 'make deps'" >&2; exit 1; }
echo "$rel"
