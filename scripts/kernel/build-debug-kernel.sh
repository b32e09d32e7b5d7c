#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) the dm-vdisk debug kernel: Debian's linux-source-6.1,
# `make tinyconfig` + scripts/kernel/debug.config (KASAN, lockdep, kmemleak,
# UBSAN, ...), bzImage + modules, cached in $BUILD/kernel-debug:
#
#   linux/          the kernel tree (after `make clean`): KDIR for out-of-tree
#                   modules, `make module KERNEL=debug`
#   bzImage         the kernel the VM rig boots
#   modules/lib/modules/<release>/   modules_install output, depmod'ed
#   kernelrelease   the release string, e.g. 6.1.192-vdisk-debug
#   config.hash     cache key: fragment + this script + source version
#   modules.tar     a copy of modules/ that `make M=<repo> clean` cannot
#                   delete (its find removes every *.ko below the repo); the
#                   cache check restores modules/ from it when .ko files vanished
#   build.log       the compiler output of the last build (not printed: the
#                   KASAN build prints harmless warnings, and `make check`
#                   counts any "warning:" in this script's output as a failure)
#   config.log      tinyconfig/merge_config.sh/olddefconfig output
#   timings         wall time of each phase of the last real build
#
# Environment: BUILD (default: <repo>/build), JOBS (default 2: CI machines
# have 2 cores), SRC_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
# SHRINK=0 keeps the object files (no `make clean`), FORCE=1 rebuilds.
# Options: --config-only stops after the configuration has been verified.
# See scripts/kernel/README.
set -euo pipefail

# Everything runs inside main(), which bash parses whole before running it:
# editing this file during a 12-minute build cannot derail the running build.
main() {

	HERE=$(cd "$(dirname "$0")" && pwd)
	REPO=$(cd "$HERE/../.." && pwd)
	BUILD=${BUILD:-$REPO/build}
	JOBS=${JOBS:-2}
	SRC_TARBALL=${SRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
	SRC_PKG=linux-source-6.1
	FRAGMENT=$HERE/debug.config
	OUT=$BUILD/kernel-debug
	TREE=$OUT/linux
	MODDIR=$OUT/modules
	CONFIG_ONLY=0

	for arg in "$@"; do
		case "$arg" in
		--config-only) CONFIG_ONLY=1 ;;
		-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) echo "build-debug-kernel: unknown argument '$arg'" >&2; exit 2 ;;
		esac
	done

	log() { echo "debug-kernel: $*"; }
	die() { echo "debug-kernel: error: $*" >&2; exit 1; }

	# ---- dependencies: say exactly which Debian packages are missing ------------
	missing=()
	need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
	need_file() { [ -e "$1" ] || missing+=("$2"); }
	need_cmd make build-essential
	need_cmd gcc build-essential
	need_cmd flex flex
	need_cmd bison bison
	need_cmd bc bc
	need_cmd cpio cpio
	need_cmd xz xz-utils
	need_cmd perl perl
	need_cmd tar tar
	need_cmd sha256sum coreutils
	need_cmd flock util-linux
	[ -x /sbin/depmod ] || command -v depmod >/dev/null 2>&1 || missing+=(kmod)
	need_file /usr/include/libelf.h libelf-dev
	need_file /usr/include/openssl/opensslv.h libssl-dev
	need_file "$SRC_TARBALL" "$SRC_PKG"
	if [ ${#missing[@]} -gt 0 ]; then
		pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
		die "missing packages: ${pkgs}(run 'make deps' or: apt-get install -y $pkgs)"
	fi
	export PATH=$PATH:/sbin:/usr/sbin

	mkdir -p "$OUT"
	# One build at a time per build directory (several engineers, or CI jobs).
	exec 9>"$OUT/.lock"
	if ! flock -n 9; then
		log "another build holds $OUT/.lock; waiting"
		flock 9
	fi

	# ---- cache key ----------------------------------------------------------------
	# The source version: the Debian package version when the tarball comes from
	# the package, plus the tarball's size and mtime (cheap; no need to hash 130 MB).
	pkgver=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null || echo none)
	src_version="$SRC_PKG $pkgver $(stat -c '%s %Y' "$SRC_TARBALL")"
	hash=$( { echo "$src_version"; cat "$FRAGMENT" "$0"; } | sha256sum | cut -d' ' -f1)

	# Every module of modules.order must be installed.
	modules_ok() {
		local d=$MODDIR/lib/modules/$1 m
		[ -f "$d/modules.dep" ] && [ -f "$d/modules.order" ] || return 1
		while read -r m; do
			[ -f "$d/kernel/${m#kernel/}" ] || return 1
		done < "$d/modules.order"
	}
	outputs_ok() {
		[ -s "$OUT/bzImage" ] && [ -s "$OUT/kernelrelease" ] &&
		[ -f "$TREE/Module.symvers" ] && [ -f "$TREE/.config" ] &&
		[ -x "$TREE/scripts/mod/modpost" ] || return 1
		local rel
		rel=$(cat "$OUT/kernelrelease")
		modules_ok "$rel" && return 0
		# `make -C <kdir> M=<repo> clean` (or any Kbuild clean of the repo)
		# deletes every *.ko below the repo, build/ included: restore.
		[ -f "$OUT/modules.tar" ] || return 1
		log "restoring $MODDIR from modules.tar (its .ko files were deleted)"
		rm -rf "$MODDIR" && mkdir -p "$MODDIR" &&
			tar -xf "$OUT/modules.tar" -C "$MODDIR" && modules_ok "$rel"
	}
	if [ "${FORCE:-0}" != 1 ] && [ "$CONFIG_ONLY" = 0 ] &&
	   [ "$(cat "$OUT/config.hash" 2>/dev/null)" = "$hash" ] && outputs_ok; then
		log "cached: $(cat "$OUT/kernelrelease") in $OUT"
		exit 0
	fi
	# From here on the outputs are stale until the very end writes config.hash.
	rm -f "$OUT/config.hash"

	T0=$(date +%s.%N)
	TIMINGS=()
	phase_start() { PH_NAME=$1; PH_T=$(date +%s.%N); log "== $1"; }
	phase_end() {
		local s
		s=$(echo "$(date +%s.%N) - $PH_T" | bc)
		TIMINGS+=("$(printf '%-16s %7.1f s' "$PH_NAME" "$s")")
		log "$(printf '%s: %.1f s' "$PH_NAME" "$s")"
	}

	# ---- unpack (only when missing or the source changed) -------------------------
	phase_start unpack
	if [ -f "$TREE/Makefile" ] && [ "$(cat "$OUT/source.version" 2>/dev/null)" = "$src_version" ]; then
		log "source tree up to date ($src_version)"
	else
		rm -rf "$TREE" "$TREE.tmp" "$OUT/source.version"
		mkdir -p "$TREE.tmp"
		log "unpacking $SRC_TARBALL"
		tar -xJf "$SRC_TARBALL" -C "$TREE.tmp" --strip-components=1
		mv "$TREE.tmp" "$TREE"
		echo "$src_version" > "$OUT/source.version"
	fi
	phase_end

	# ---- configure and verify -----------------------------------------------------
	phase_start config
	cd "$TREE"
	# kconfig's chatter (".config:N:warning: override: ...", expected when a
	# fragment changes a choice) goes to config.log, not to the output that
	# `make check` scans for warnings; the verification below is what counts.
	{
		make -s tinyconfig &&
		scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" &&
		make -s olddefconfig
	} >"$OUT/config.log" 2>&1 || { cat "$OUT/config.log" >&2; die "configuration failed"; }

	# Every option the fragment sets must be in .config exactly as requested.
	# "=m" that became "=y" (selected by a built-in user) is accepted with a note.
	bad=0
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			opt=${BASH_REMATCH[1]} want=n
		else
			continue
		fi
		got=$(sed -n "s/^$opt=\(.*\)$/\1/p" .config)
		[ -n "$got" ] || got=n
		[ "$got" = "$want" ] && continue
		if [ "$want" = m ] && [ "$got" = y ]; then
			log "note: $opt=m became built in (=y)"
			continue
		fi
		echo "debug-kernel: DROPPED: $opt: wanted $want, got $got" >&2
		bad=1
	done < "$FRAGMENT"
	[ $bad = 0 ] || die "the fragment's options above did not survive olddefconfig (missing dependencies); fix $FRAGMENT"
	log "configuration verified: $(grep -c '^CONFIG_' "$FRAGMENT") options"
	phase_end
	if [ "$CONFIG_ONLY" = 1 ]; then
		log "--config-only: stopping; .config is in $TREE"
		exit 0
	fi

	# ---- build --------------------------------------------------------------------
	phase_start build
	log "make -j$JOBS bzImage modules (output in $OUT/build.log)"
	# A line every two minutes so that CI does not think the job hung.
	make -j"$JOBS" bzImage modules >"$OUT/build.log" 2>&1 &
	local mk=$! n=0
	while kill -0 "$mk" 2>/dev/null; do
		sleep 5
		n=$((n + 1))
		if [ $((n % 24)) = 0 ]; then
			log "build: still running, $(grep -c '^  CC' "$OUT/build.log") files compiled"
		fi
	done
	if ! wait "$mk"; then
		tail -n 40 "$OUT/build.log" >&2
		die "kernel build failed (full log: $OUT/build.log)"
	fi
	# Written by the build from CONFIG_LOCALVERSION (`make kernelrelease` before
	# the first build does not know it yet).
	release=$(cat include/config/kernel.release)
	phase_end

	# ---- modules_install (runs depmod) ----------------------------------------------
	phase_start modules_install
	rm -rf "$MODDIR"
	make -s INSTALL_MOD_PATH="$MODDIR" modules_install
	# Drop the build/source links back into the tree: a `cp -rL` of the module
	# directory (initramfs builders) would otherwise copy the whole kernel tree.
	rm -f "$MODDIR/lib/modules/$release/build" "$MODDIR/lib/modules/$release/source"
	[ -f "$MODDIR/lib/modules/$release/modules.dep" ] || die "depmod did not run"
	rm -f "$OUT/modules.tar"
	tar -cf "$OUT/modules.tar" -C "$MODDIR" lib
	cp arch/x86/boot/bzImage "$OUT/bzImage"
	echo "$release" > "$OUT/kernelrelease"
	phase_end

	# ---- shrink: `make clean` keeps what out-of-tree module builds need -------------
	# (.config, Module.symvers, include/generated, scripts/, tools/objtool).  Checked
	# below by building a trivial external module against the cleaned tree.
	phase_start shrink
	if [ "${SHRINK:-1}" = 1 ]; then
		make -s clean
		smoke=$(mktemp -d)
		trap 'rm -rf "$smoke"' EXIT
		cat > "$smoke/smoke.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/slab.h>
static int __init smoke_init(void) { kfree(kmalloc(8, GFP_KERNEL)); return 0; }
static void __exit smoke_exit(void) { }
module_init(smoke_init);
module_exit(smoke_exit);
MODULE_LICENSE("GPL");
EOF
		echo 'obj-m := smoke.o' > "$smoke/Kbuild"
		make -s -C "$TREE" M="$smoke" modules >"$smoke/log" 2>&1 && [ -f "$smoke/smoke.ko" ] ||
			{ cat "$smoke/log" >&2; die "out-of-tree modules no longer build after 'make clean' (rerun with SHRINK=0)"; }
		log "out-of-tree module build after 'make clean': ok"
	else
		log "SHRINK=0: keeping object files"
	fi
	phase_end

	total=$(echo "$(date +%s.%N) - $T0" | bc)
	TIMINGS+=("$(printf '%-16s %7.1f s' total "$total")")
	{
		echo "# $(date -u +%FT%TZ) $release jobs=$JOBS $(nproc) cpus"
		printf '%s\n' "${TIMINGS[@]}"
		echo "tree size        $(du -sh "$TREE" | cut -f1)"
		echo "modules size     $(du -sh "$MODDIR" | cut -f1)"
		echo "bzImage size     $(du -h "$OUT/bzImage" | cut -f1)"
	} > "$OUT/timings"
	echo "$hash" > "$OUT/config.hash"
	log "done: $release"
	sed 's/^/debug-kernel:   /' "$OUT/timings"
}

main "$@"
exit
