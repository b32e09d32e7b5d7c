/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_SORT_H
#define KSHIM_LINUX_SORT_H
#include <stdlib.h>
#include <linux/types.h>

typedef int (*cmp_func_t)(const void *a, const void *b);
typedef void (*swap_func_t)(void *a, void *b, int size);

/* The kernel's sort(): not stable, O(n log n); @swap is ignored here. */
static inline void sort(void *base, size_t num, size_t size, cmp_func_t cmp,
			swap_func_t swap)
{
	(void)swap;
	if (num > 1)
		qsort(base, num, size, cmp);
}
#endif
