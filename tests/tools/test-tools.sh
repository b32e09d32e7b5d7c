#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end tests of the userspace tools vdisk-format, vdisk-check and
# vdisk-dump on metadata image files: what each one writes, reports and
# refuses, checked by the state it leaves (file contents, JSON fields) and
# by exit status.  Prints TAP.  Usage: test-tools.sh [BINDIR]
set -u
bin=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
# run EXPECTED_STATUS CMD...: output in $tmp/out, status compared.
run() {
	local want=$1; shift
	"$@" >"$tmp/out" 2>&1
	local got=$?
	[ "$got" -eq "$want" ] || { echo "# '$*' exited $got, expected $want"; sed 's/^/#   /' "$tmp/out"; return 1; }
}
json() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); print(d$1)"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

echo "TAP version 13"
echo "1..23"

img=$tmp/meta.img
truncate -s 16M "$img"
check "vdisk-format formats a zeroed file" run 0 "$bin/vdisk-format" "$img" --data-blocks 1000
check "vdisk-check: the fresh pool is clean" run 0 "$bin/vdisk-check" "$img"
check "vdisk-check says 'clean'" grep -q '^clean' "$tmp/out"

check "vdisk-check --json is valid JSON" run 0 "$bin/vdisk-check" --json "$img"
check "vdisk-check --json: result clean" [ "$(json "['result']")" = clean ]
check "vdisk-check --json: 1000 data blocks, none used" \
	[ "$(json "['data_blocks']"),$(json "['data_used']")" = "1000,0" ]
check "vdisk-check --json: 4096 metadata blocks (16 MiB)" [ "$(json "['metadata_blocks']")" = 4096 ]

before=$(sum "$img")
check "vdisk-format refuses to overwrite a pool without --force" run 1 "$bin/vdisk-format" "$img" --data-blocks 5
check "... and says how to proceed" grep -q -- '--force' "$tmp/out"
check "... and leaves the metadata untouched" [ "$(sum "$img")" = "$before" ]
check "vdisk-format --force reformats (block size 64K, 77 blocks)" \
	run 0 "$bin/vdisk-format" "$img" --data-blocks 77 --block-size 64K --force
run 0 "$bin/vdisk-dump" --json "$img"
check "vdisk-dump --json: data block size 128 sectors, no vdisks" \
	[ "$(json "['superblock']['data_block_size']"),$(json "['vdisks']")" = "128,[]" ]
check "vdisk-dump --json: data space map of 77 blocks" \
	sh -c "python3 -c \"import json; d=json.load(open('$tmp/out')); print(d['data_space_map'])\" | grep -q \"'nr_blocks': 77\|'blocks': 77\""
check "vdisk-dump prints the superblock" sh -c "'$bin/vdisk-dump' '$img' | grep -q superblock"

for bad in 3 4097 2M 0 x; do
	check "vdisk-format refuses --block-size $bad" run 2 "$bin/vdisk-format" "$img" --data-blocks 10 --block-size "$bad" --force
done
check "vdisk-format refuses --data-blocks 99999999999999999999" \
	run 2 "$bin/vdisk-format" "$img" --data-blocks 99999999999999999999 --force

# One damaged superblock slot: the other one still opens the pool.
dd if=/dev/urandom of="$img" bs=1 count=64 seek=$((4096 + 100)) conv=notrunc 2>/dev/null
check "one torn superblock slot: vdisk-check still opens the pool (exit 0)" run 0 "$bin/vdisk-check" "$img"
# Both slots gone: damaged, exit 1, said clearly.
dd if=/dev/zero of="$img" bs=4096 count=2 conv=notrunc 2>/dev/null
check "both superblock slots destroyed: vdisk-check exits 1" run 1 "$bin/vdisk-check" "$img"
check "... and says DAMAGED" grep -q DAMAGED "$tmp/out"

exit $failed
