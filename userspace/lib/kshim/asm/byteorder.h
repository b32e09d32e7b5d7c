/* SPDX-License-Identifier: GPL-2.0 */
/* Unprefixed le/cpu conversions on top of the uapi __le*_to_cpu macros. */
#ifndef KSHIM_ASM_BYTEORDER_H
#define KSHIM_ASM_BYTEORDER_H
#include_next <asm/byteorder.h>

#define cpu_to_le16 __cpu_to_le16
#define cpu_to_le32 __cpu_to_le32
#define cpu_to_le64 __cpu_to_le64
#define le16_to_cpu __le16_to_cpu
#define le32_to_cpu __le32_to_cpu
#define le64_to_cpu __le64_to_cpu
#define le32_add_cpu(p, v) (*(p) = cpu_to_le32(le32_to_cpu(*(p)) + (v)))
#define le64_add_cpu(p, v) (*(p) = cpu_to_le64(le64_to_cpu(*(p)) + (v)))

#endif
