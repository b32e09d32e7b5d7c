# SPDX-License-Identifier: GPL-2.0
#
# dm-vdisk: top-level build.  `make help` lists the targets.
#
# Kernel:  the module is built with Kbuild against KDIR (default: the headers of
#          the kernel that Debian's linux-headers-amd64 points at, see
#          scripts/kver.sh).  KERNEL=debug builds and uses the debug kernel tree
#          made by scripts/kernel/debug-kernel.sh (a machine-wide cache) instead.
# Userspace: tools and unit tests build into $(BUILD).

KERNEL ?= stock
BUILD  ?= $(CURDIR)/build

ifeq ($(KERNEL),debug)
KDIR   ?= $(BUILD)/kernel-debug/linux
KVER   ?= $(shell cat $(BUILD)/kernel-debug/kernelrelease 2>/dev/null)
else ifeq ($(KERNEL),stock)
KVER   ?= $(shell scripts/kver.sh)
KDIR   ?= /lib/modules/$(KVER)/build
else
$(error KERNEL must be 'stock' or 'debug', not '$(KERNEL)')
endif

PREFIX ?= /usr/local
# Extra flags for Kbuild (W=1 warnings, C=2 sparse) are passed through.
KBUILD_ARGS := $(if $(W),W=$(W)) $(if $(C),C=$(C))

export KERNEL KDIR KVER BUILD

.PHONY: all module clean-module tools deps install uninstall lint check check-unit check-unit-core check-unit-vdiskctl \
	check-tools check-vm \
	check-fuzz soak fuzz demo vm-shell debug-kernel clean help bench bench-smoke

all: module tools

help:
	@echo "make deps          install build/test dependencies (apt, idempotent)"
	@echo "make               build dm-vdisk.ko and the userspace tools"
	@echo "make W=1           the same with the kernel's extra warnings"
	@echo "make check         W=1 build, checkpatch, sparse, unit tests, VM selftests"
	@echo "make check-unit    userspace unit tests only (ASan+UBSan)"
	@echo "make check-vm      VM selftests only, in parallel VMs; T=name runs one, JOBS=N SMP=N"
	@echo "make soak          long model/crash runs (OPS=1000000, random SEEDS)"
	@echo "make check KERNEL=debug   the same on the KASAN/lockdep debug kernel"
	@echo "make demo          boot the VM and walk through dm-vdisk"
	@echo "make bench         fio vs dm-linear and dm-thin in one VM (~80 min TCG): bench-results/"
	@echo "make bench-smoke   the same benchmark at tiny sizes (a few minutes; part of make check)"
	@echo "make vm-shell      boot the test VM with an interactive shell"
	@echo "make debug-kernel  build (or reuse) the cached debug kernel"
	@echo "make install       install dm-vdisk.ko and the tools on this host"

# Kbuild keeps its objects in the source tree, so switching between the stock
# and the debug kernel must not reuse objects built for the other one.
module:
	@test -d "$(KDIR)" || { echo "no kernel tree at '$(KDIR)': run 'make deps'" \
		"(or 'make debug-kernel' for KERNEL=debug)" >&2; exit 1; }
	@mkdir -p $(BUILD)
	@if [ "$$(cat $(BUILD)/.module-kdir 2>/dev/null)" != "$(KDIR)" ]; then \
		$(MAKE) --no-print-directory clean-module; \
		echo "$(KDIR)" > $(BUILD)/.module-kdir; fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) modules

# Not `make -C $(KDIR) M=$(CURDIR) clean`: its find walks the whole repo and
# deletes every *.ko/*.o under build/ too (the debug kernel's installed modules).
clean-module:
	find drivers tests/kmod -type f \( -name '*.[aios]' -o -name '*.ko' \
		-o -name '.*.cmd' -o -name '.*.d' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name 'modules.order' \) -delete
	rm -f Module.symvers modules.order .*.cmd

tools:
	$(MAKE) -C userspace BUILD=$(BUILD)
	$(MAKE) -C tests/nlfuzz BUILD=$(BUILD)

deps:
	scripts/deps.sh

install: all
	install -D -m 0644 drivers/md/vdisk/dm-vdisk.ko \
		$(DESTDIR)/lib/modules/$(KVER)/updates/dm-vdisk.ko
	$(MAKE) -C userspace BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) install
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); \
		echo "installed: load it with 'modprobe dm-vdisk'"; fi

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/updates/dm-vdisk.ko
	$(MAKE) -C userspace BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) uninstall
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

# Style and static checks on our kernel sources (checkpatch --strict, sparse).
lint:
	scripts/lint/checkpatch.sh
	scripts/lint/sparse.sh

# Userspace tests: the metadata core's unit/model/crash/corruption tests,
# vdiskctl's pure parts and the tools' end-to-end test.
check-unit: check-unit-core check-unit-vdiskctl check-tools

check-unit-core:
	$(MAKE) -C tests/unit BUILD=$(BUILD) check

check-unit-vdiskctl:
	$(MAKE) -C tests/vdiskctl BUILD=$(BUILD) check

check-tools: tools
	scripts/tap-run.sh tools tests/tools/test-tools.sh $(BUILD)/bin

# Two check-vm runs in one checkout: Kbuild builds in the source tree, so the
# module and tools build and the initramfs that packs them are one critical
# section under $(BUILD)/.build.lock (fd 7, released by run-selftests.sh once
# its work directory holds its own link of the initramfs); the VM runs
# themselves go on in parallel, each in its own work directory.
check-vm:
	@mkdir -p $(BUILD)
	@exec 7>$(BUILD)/.build.lock && flock 7 && \
	$(MAKE) --no-print-directory module tools && \
	VDISK_BUILD_LOCK_FD=7 scripts/vm/run-selftests.sh --kernel $(KERNEL) $(if $(T),--test $(T)) \
		$(if $(JOBS),--jobs $(JOBS)) $(if $(SMP),--smp $(SMP))

# Long randomised model and crash runs: make soak [OPS=N] [SEEDS="a b"].
soak:
	$(MAKE) -C tests/unit BUILD=$(BUILD) soak $(if $(OPS),OPS=$(OPS)) $(if $(SEEDS),SEEDS="$(SEEDS)")

check-fuzz:
	$(MAKE) -C tests/fuzz BUILD=$(BUILD) check

fuzz:
	$(MAKE) -C tests/fuzz BUILD=$(BUILD) fuzz $(if $(SECONDS),SECONDS=$(SECONDS))

# The whole suite; every stage reports TAP into $(BUILD)/results and the last
# line is the aggregate "N passed, N failed, N skipped".
check:
	scripts/check.sh

demo: module tools
	scripts/vm/demo.sh --kernel $(KERNEL)

# fio side by side with dm-linear and dm-thin (scripts/bench/, one VM boot);
# results in bench-results/<date>-<commit>/, smoke results in build/bench-smoke/.
bench: module tools
	BENCH_COMMAND="make bench" scripts/bench/bench.sh --kernel $(KERNEL)

bench-smoke: module tools
	BENCH_COMMAND="make bench-smoke" scripts/bench/bench.sh --smoke --kernel $(KERNEL)

vm-shell: module tools
	scripts/vm/vm-shell.sh --kernel $(KERNEL)

debug-kernel:
	scripts/kernel/debug-kernel.sh

clean: clean-module
	$(MAKE) -C userspace BUILD=$(BUILD) clean
	$(MAKE) -C tests/unit BUILD=$(BUILD) clean
	$(MAKE) -C tests/vdiskctl BUILD=$(BUILD) clean
	rm -rf $(BUILD)/bin $(BUILD)/unit $(BUILD)/results $(BUILD)/vm $(BUILD)/.module-kdir
