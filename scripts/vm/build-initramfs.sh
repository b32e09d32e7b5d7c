#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh --kernel stock|debug [--out FILE] [--force]
#
# Build the test VM's initramfs (an uncompressed newc cpio):
#   /init                      scripts/vm/guest/init
#   /bin                       busybox-static and its applet links
#   /usr/..., /lib...          the host binaries the tests use, with the shared
#                              libraries ldd says they need
#   /usr/local/bin             every executable in build/bin (our tools)
#   /lib/modules/<release>     the closure of the kernel modules the tests need,
#                              our modules in extra/, depmod'ed
#   /vdisk/selftests, /vdisk/demo, /vdisk/rig
#                              tests/selftests, tests/demo, scripts/vm/guest
#
# The image is rebuilt only when one of its inputs (file list, sizes, mtimes,
# kernel release) changed; --force rebuilds anyway.
set -euo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock out='' force=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--force) force=1; shift ;;
	-h|--help) sed -n '3,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
vm_kernel_setup "$kernel"
[ -n "$out" ] || out=$(vm_initramfs_path "$kernel")
mkdir -p "$(dirname "$out")" "$VM_DIR"
# Two runs in one checkout build the same image one after the other (the
# second finds it up to date); a run boots its own hard link of it, so a
# rebuild never changes what a running VM boots.
exec 8> "$out.lock"
flock 8

# Host programs the guest needs.  Missing optional ones are reported, not fatal.
required_bins="dash bash dmsetup fio blockdev losetup mkfs.ext4 e2fsck debugfs dumpe2fs ip tc"
optional_bins="thin_check thin_dump thin_restore thin_repair thin_ls jq blkdiscard
	wipefs stress-ng"

# Kernel modules the tests need (by module name); absent or built-in ones are
# fine (dm-dust, for one, is not built by Debian).
modules="dm-mod dm-bufio dm-bio-prison dm-persistent-data dm-thin-pool
	dm-log-writes dm-flakey dm-dust dm-delay dm-zero dm-snapshot brd loop
	virtio_pci virtio_blk virtio_net veth ext4 crc32c_generic crc32c-intel
	libcrc32c crc16 lz4_compress lz4 zstd_compress zstd xxhash_generic
	sha256_generic sch_netem sch_tbf drbd"
our_modules="drivers/md/vdisk/dm-vdisk.ko tests/kmod/dm-vdisk-rigtest.ko tests/kmod/dm-vdisk-biotest.ko"

# ---- collect the file manifest: "SRC DEST" lines --------------------------
manifest=$(mktemp)
links=$(mktemp)
trap 'rm -f "$manifest" "$links"' EXIT

add_file() { printf '%s %s\n' "$1" "$2" >> "$manifest"; }

# A program and the shared libraries it loads.  Symlinked programs (thin_check
# -> pdata_tools, mkfs.ext4 -> mke2fs) keep their name as a link, because some
# dispatch on argv[0].
add_prog() {
	local src=$1 dest=$2 real
	real=$(readlink -f "$src")
	if [ "$real" != "$src" ]; then
		local rdest
		rdest=$(dirname "$dest")/$(basename "$real")
		add_file "$real" "$rdest"
		[ "$rdest" = "$dest" ] || printf '%s %s\n' "$(basename "$real")" "$dest" >> "$links"
	else
		add_file "$src" "$dest"
	fi
	if file -L "$src" | grep -q 'dynamically linked'; then
		ldd "$src" | awk '/=> \// { print $3 } /^\t\// { print $1 }' |
			while read -r lib; do add_file "$(readlink -f "$lib")" "$lib"; done
	fi
}

for b in $required_bins $optional_bins; do
	p=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$b" || true)
	if [ -z "$p" ]; then
		case " $required_bins " in
		*" $b "*) vm_die "required program '$b' not found: run 'make deps'" ;;
		esac
		echo "build-initramfs: note: optional program '$b' not installed" >&2
		continue
	fi
	add_prog "$p" "$p"
done
if [ -d "$VM_BUILD/bin" ]; then
	for t in "$VM_BUILD"/bin/*; do
		[ -f "$t" ] && [ -x "$t" ] && add_prog "$t" "/usr/local/bin/$(basename "$t")"
	done
fi

moddir=$VM_MODROOT/lib/modules/$VM_KREL
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -f "$moddir/$f" ] && add_file "$moddir/$f" "/lib/modules/$VM_KREL/$f"
done
# Our modules declare their own dependencies (modinfo depends=...).
extra_deps=
for m in $our_modules; do
	[ -f "$VM_TOP/$m" ] || continue
	extra_deps="$extra_deps $(modinfo -F depends "$VM_TOP/$m" | tr ',' ' ')"
done
for m in $modules $extra_deps; do
	if ! deps=$(modprobe -d "$VM_MODROOT" -S "$VM_KREL" --show-depends "$m" 2>/dev/null); then
		echo "build-initramfs: note: module $m not available for $VM_KREL" >&2
		continue
	fi
	printf '%s\n' "$deps" | awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		add_file "$ko" "/lib/modules/$VM_KREL/${ko#"$moddir"/}"
	done
done
for m in $our_modules; do
	ko=$VM_TOP/$m
	if [ ! -f "$ko" ]; then
		echo "build-initramfs: note: $m not built yet ('make module')" >&2
		continue
	fi
	magic=$(modinfo -F vermagic "$ko" | awk '{ print $1 }')
	[ "$magic" = "$VM_KREL" ] ||
		vm_die "$m was built for $magic, not $VM_KREL: run 'make module KERNEL=$kernel'"
	add_file "$ko" "/lib/modules/$VM_KREL/extra/$(basename "$ko")"
done

add_file /bin/busybox /bin/busybox
add_file "$VM_TOP/scripts/vm/guest/init" /init
for d in tests/selftests tests/demo scripts/vm/guest; do
	[ -d "$VM_TOP/$d" ] || continue
	case $d in
	tests/selftests) dest=/vdisk/selftests ;;
	tests/demo) dest=/vdisk/demo ;;
	*) dest=/vdisk/rig ;;
	esac
	(cd "$VM_TOP/$d" && find . -type f ! -name '*~' -print) | sort |
		while read -r f; do add_file "$VM_TOP/$d/${f#./}" "$dest/${f#./}"; done
done

sort -u -o "$manifest" "$manifest"

# ---- up to date? ----------------------------------------------------------
stamp=$({
	echo "$VM_KREL"
	cat "$links"
	while read -r src dest; do
		stat -c "%n %s %Y $dest" "$src"
	done < "$manifest"
	cat "$0" "$VM_TOP/scripts/vm/common.sh"
} | sha256sum | cut -d' ' -f1)
if [ "$force" = 0 ] && [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "build-initramfs: $out is up to date"
	exit 0
fi

# ---- stage and pack -------------------------------------------------------
stage=$(mktemp -d "$VM_DIR/stage.XXXXXX")
trap 'rm -f "$manifest" "$links"; rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib,lib64,etc,root} \
	"$stage"/{proc,sys,dev,run,tmp,mnt,var} "$stage/lib/modules/$VM_KREL/extra"
# mktemp -d made the root 0700: let unprivileged test users (vdiskctl's
# permission tests run commands as uid 65534) reach /bin and /usr.
chmod 0755 "$stage"
chmod 1777 "$stage/tmp"
ln -s ../run "$stage/var/run"
ln -s ../tmp "$stage/var/tmp"
while read -r src dest; do
	mkdir -p "$stage$(dirname "$dest")"
	cp -L --preserve=mode "$src" "$stage$dest"
done < "$manifest"
while read -r target dest; do
	ln -sf "$target" "$stage$dest"
done < "$links"

# /bin/sh is dash, not busybox: Debian's busybox shell runs its own applets
# in preference to $PATH, so scripts would get busybox's "ip", "losetup" and
# "blockdev" instead of the real ones.
ln -s /usr/bin/dash "$stage/bin/sh"
# busybox applets, unless a real program of that name is already there.
for a in $(/bin/busybox --list); do
	for d in bin sbin usr/bin usr/sbin usr/local/bin; do
		[ -e "$stage/$d/$a" ] && continue 2
	done
	ln -s busybox "$stage/bin/$a"
done

printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
printf 'root:x:0:\n' > "$stage/etc/group"
ln -s /proc/mounts "$stage/etc/mtab"
printf '127.0.0.1 localhost\n' > "$stage/etc/hosts"
chmod 0755 "$stage/init"
find "$stage/vdisk" -name '*.sh' -exec chmod 0755 {} +

depmod -b "$stage" "$VM_KREL"

tmp_out=$out.tmp.$$
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --quiet) > "$tmp_out"
mv "$tmp_out" "$out"
echo "$stamp" > "$out.stamp"
echo "build-initramfs: wrote $out ($(du -h "$out" | cut -f1), kernel $VM_KREL)"
