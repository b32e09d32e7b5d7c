# SPDX-License-Identifier: GPL-2.0
# Objects of the persistent-data core that go into dm-vdisk.ko.  The same
# sources (minus the dm-bufio block manager) are built into userspace tools
# and tests by userspace/Makefile.
VD_PDATA_KERNEL_OBJS :=
