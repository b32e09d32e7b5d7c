/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP (version 13) helpers for unit tests.
 *
 *	tap_plan(3);
 *	tap_ok(cond, "name %d", i);
 *	tap_skip("reason", "name");
 *	return tap_done();
 *
 * Inside a test function, CHECK(cond) logs the failed expression with its
 * location as a TAP comment and makes the function return -1.
 */
#ifndef VD_TAP_H
#define VD_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failed;

static inline void tap_plan(int n)
{
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3))) int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline void tap_skip(const char *why, const char *name)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_count, name, why);
	fflush(stdout);
}

static inline int tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#define CHECK(cond) do { \
	if (!(cond)) { \
		printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		fflush(stdout); \
		return -1; \
	} } while (0)

#define CHECK_R(expr) do { \
	int __r = (expr); \
	if (__r) { \
		printf("# %s:%d: %s returned %d\n", __FILE__, __LINE__, #expr, __r); \
		fflush(stdout); \
		return -1; \
	} } while (0)

#endif
