/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: kernel type names for the shared persistent-data code in userspace. */
#ifndef KSHIM_LINUX_TYPES_H
#define KSHIM_LINUX_TYPES_H

#include_next <linux/types.h>	/* __u8.. __le64 from the uapi headers */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef u64 sector_t;
typedef unsigned int gfp_t;

#endif
