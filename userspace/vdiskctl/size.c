// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: sizes in and out.  Binary units (K = 1024) with an optional
 * "iB"/"B" tail; plain numbers are bytes.  Pure functions, unit-tested.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vdiskctl.h"

static const char units[] = "KMGTPE";

int vc_parse_size(const char *s, uint64_t *bytes, const char **why)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	*why = NULL;
	if (!s || !*s) {
		*why = "empty size";
		return -EINVAL;
	}
	if (*p == '-') {
		*why = "a size cannot be negative";
		return -EINVAL;
	}
	if (!isdigit((unsigned char)*p)) {
		*why = "a size is a number with an optional K, M, G or T suffix";
		return -EINVAL;
	}
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10) {
			*why = "size too large";
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (*p == '.') {
		*why = "fractions are not supported: use a smaller unit (1536M, not 1.5G)";
		return -EINVAL;
	}
	if (*p) {
		const char *u = strchr(units, toupper((unsigned char)*p));

		if (!u) {
			*why = "unknown unit: use K, M, G or T (powers of 1024)";
			return -EINVAL;
		}
		mult = 1ULL << (10 * (u - units + 1));
		p++;
		if (p[0] == 'i' && p[1] == 'B')
			p += 2;
		else if (p[0] == 'B')
			p++;
		if (*p) {
			*why = "trailing characters after the unit";
			return -EINVAL;
		}
	}
	if (v && mult > UINT64_MAX / v) {
		*why = "size too large";
		return -ERANGE;
	}
	*bytes = v * mult;
	return 0;
}

char *vc_format_size(uint64_t bytes, char *buf, size_t len)
{
	int i = -1;
	uint64_t unit = 1;

	while (i + 1 < (int)sizeof(units) - 1 && bytes >= (unit << 10)) {
		unit <<= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else if (bytes % unit == 0)
		snprintf(buf, len, "%llu%c", (unsigned long long)(bytes / unit), units[i]);
	else
		snprintf(buf, len, "%.1f%c", (double)bytes / (double)unit, units[i]);
	return buf;
}

int vc_parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		d = *s - '0';
		if (r > (UINT64_MAX - d) / 10)
			return -ERANGE;
		r = r * 10 + d;
	}
	*v = r;
	return 0;
}
