/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_KERNEL_H
#define KSHIM_LINUX_KERNEL_H
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/printk.h>
#include <linux/bug.h>
#include <asm/byteorder.h>

#define min(a, b) ({ __typeof__(a) __a = (a); __typeof__(b) __b = (b); \
	__a < __b ? __a : __b; })
#define max(a, b) ({ __typeof__(a) __a = (a); __typeof__(b) __b = (b); \
	__a > __b ? __a : __b; })
#define min3(a, b, c) min(min(a, b), c)
#define min_t(t, a, b) min((t)(a), (t)(b))
#define max_t(t, a, b) max((t)(a), (t)(b))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define U32_MAX ((u32)~0U)
#define U64_MAX ((u64)~0ULL)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))
#define cond_resched() do { } while (0)

static inline u64 div_u64_rem(u64 n, u32 d, u32 *rem)
{
	*rem = (u32)(n % d);
	return n / d;
}

static inline u64 div_u64(u64 n, u32 d)
{
	return n / d;
}

#endif
