/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Same contract as the kernel's crc32c(): the raw CRC-32C (Castagnoli,
 * reflected) update of @crc over the buffer, without pre- or post-inversion.
 */
#ifndef KSHIM_LINUX_CRC32C_H
#define KSHIM_LINUX_CRC32C_H
#include <linux/types.h>

u32 crc32c(u32 crc, const void *address, unsigned int length);

#endif
