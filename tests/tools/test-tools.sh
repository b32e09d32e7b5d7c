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
# pyexpr EXPR: a Python expression over the JSON document d in $tmp/out.
pyexpr() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); print($1)"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

echo "TAP version 13"
echo "1..32"

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

# Names: a pool with named vdisks (built by mk-named-pool through the
# library, as the kernel would), shown by vdisk-dump and counted by vdisk-check.
top=$(cd "$(dirname "$0")/../.." && pwd)
named=$tmp/named.img
truncate -s 16M "$named"
check "mk-named-pool builds a pool with named vdisks" sh -c "
	cc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-I'$top/userspace/lib/kshim' -I'$top/include' -I'$top/userspace/lib' \
		-I'$top/drivers/md/vdisk/persistent-data' -o '$tmp/mk-named-pool' \
		'$top/tests/tools/mk-named-pool.c' '$bin/../lib/libvdisk-pdata.a' -lpthread &&
	'$bin/vdisk-format' '$named' --data-blocks 100 >/dev/null &&
	'$tmp/mk-named-pool' '$named'"
run 0 "$bin/vdisk-dump" --json "$named"
check "vdisk-dump --json: names of vdisks 1, 2, 3 (3 is an unnamed snapshot)" \
	[ "$(pyexpr "[[v['id'], v['name']] for v in d['vdisks']]")" = "[[1, 'web-01'], [2, 'db:main'], [3, None]]" ]
check "vdisk-dump --json: auto_activate only on vdisk 1" \
	[ "$(pyexpr "[v['auto_activate'] for v in d['vdisks']]")" = "[True, False, False]" ]
check "vdisk-dump --json: the name map feature is ro_compat bit 1" [ "$(json "['superblock']['ro_compat']")" = 2 ]
check "vdisk-dump --json: the name map root is shown" \
	[ "$(json "['references']['name_map']['block'] > 1")" = True ]
run 0 "$bin/vdisk-dump" "$named"
check "vdisk-dump text: vdisk 1 \"web-01\" with auto-activate" grep -q '^vdisk 1 "web-01": .*auto-activate' "$tmp/out"
check "vdisk-dump text: the deleted vdisk's name is gone" sh -c "! grep -q gone '$tmp/out'"
run 0 "$bin/vdisk-check" --json "$named"
check "vdisk-check --json: named pool clean, 3 vdisks, 2 named" \
	[ "$(json "['result']"),$(json "['vdisks']"),$(json "['named_vdisks']")" = "clean,3,2" ]
# Damage the name map's leaf: vdisk 2's entry becomes a copy of vdisk 1's,
# re-checksummed, so only the checker's name rules can catch it.
blk=$("$bin/vdisk-dump" --json "$named" | python3 -c "import json,sys; print(json.load(sys.stdin)['references']['name_map']['block'])")
python3 - "$named" "$blk" <<'PY'
import struct, sys, zlib
path, blk = sys.argv[1], int(sys.argv[2])
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff
with open(path, 'r+b') as f:
    f.seek(blk * 4096)
    b = bytearray(f.read(4096))
    nr, mx, vs = struct.unpack_from('<III', b, 28)
    vals = 48 + 8 * mx
    # second name := first name: a duplicate
    b[vals + 64: vals + 128] = b[vals: vals + 64]
    struct.pack_into('<I', b, 0, crc32c(bytes(b[4:])))
    f.seek(blk * 4096)
    f.write(b)
PY
run 1 "$bin/vdisk-check" "$named"
check "vdisk-check: a duplicated name in the name map is reported (exit 1)" grep -q "have the same name 'web-01'" "$tmp/out"

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
