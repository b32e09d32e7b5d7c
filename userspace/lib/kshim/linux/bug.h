/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KSHIM_LINUX_BUG_H
#define KSHIM_LINUX_BUG_H
#include <stdio.h>
#include <stdlib.h>
#include <linux/compiler.h>

/* In userspace a WARN is a test failure: report it loudly and abort. */
#define WARN_ON(c) ({ int __c = !!(c); if (unlikely(__c)) { \
	fprintf(stderr, "WARNING at %s:%d: %s\n", __FILE__, __LINE__, #c); \
	abort(); } __c; })
#define WARN_ON_ONCE(c) WARN_ON(c)
#define BUILD_BUG_ON(c) _Static_assert(!(c), #c)

#endif
