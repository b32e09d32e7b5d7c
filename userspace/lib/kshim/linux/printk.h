/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pr_err/pr_warn go to stderr; pr_info/pr_debug are silent unless
 * kshim_verbose is set (tests keep TAP output clean).
 */
#ifndef KSHIM_LINUX_PRINTK_H
#define KSHIM_LINUX_PRINTK_H
#include <stdio.h>

extern int kshim_verbose;
/* Incremented by every pr_err/pr_warn: tests assert errors were reported. */
extern unsigned long kshim_nr_errors;

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

#define pr_err(fmt, ...) do { kshim_nr_errors++; if (kshim_verbose >= 0) \
	fprintf(stderr, "# err: " pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_warn(fmt, ...) do { kshim_nr_errors++; if (kshim_verbose >= 0) \
	fprintf(stderr, "# warn: " pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_info(fmt, ...) do { if (kshim_verbose > 0) \
	fprintf(stderr, "# " pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_debug(fmt, ...) do { if (kshim_verbose > 1) \
	fprintf(stderr, "# " pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_err_ratelimited pr_err
#define pr_warn_ratelimited pr_warn

#endif
