// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: name rules.  A vdisk name follows the kernel's rule (see
 * VDISK_NAME_MAX in dm-vdisk-netlink.h): 1..63 bytes of [A-Za-z0-9_.+:-],
 * not starting with '-' or '.'.  A pool name is the pool's dm device name:
 * the same characters except '-', so that the vdisk device name
 * "POOL-NAME" splits at its first '-' unambiguously, and short enough that
 * POOL-NAME fits a dm name (DM_NAME_LEN, 128 bytes with the NUL).
 * Pure functions, unit-tested.
 */
#include <stdio.h>
#include <string.h>

#include "vdiskctl.h"

static int name_char_ok(char c, int dash_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' ||
	       c == ':' || (dash_ok && c == '-');
}

static const char *check_name(const char *s, int dash_ok)
{
	size_t n;

	if (!s || !*s)
		return "a name cannot be empty";
	n = strlen(s);
	if (n > VC_NAME_LEN_MAX)
		return "a name is at most 63 characters";
	if (s[0] == '-' || s[0] == '.')
		return "a name cannot start with '-' or '.'";
	for (; *s; s++)
		if (!name_char_ok(*s, dash_ok))
			return dash_ok ?
			       "a vdisk name may contain only letters, digits and _ . + : -" :
			       "a pool name may contain only letters, digits and _ . + : (no '-')";
	return NULL;
}

const char *vc_vdisk_name_invalid(const char *name)
{
	return check_name(name, 1);
}

const char *vc_pool_name_invalid(const char *name)
{
	return check_name(name, 0);
}

int vc_dm_vdisk_name(char *buf, size_t len, const char *pool, const char *vdisk)
{
	int n = snprintf(buf, len, "%s-%s", pool, vdisk);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int vc_split_dm_vdisk_name(const char *dm_name, char *pool, size_t plen,
			   char *vdisk, size_t vlen)
{
	const char *dash = strchr(dm_name, '-');
	size_t n;

	if (!dash || dash == dm_name || !dash[1])
		return -1;
	n = dash - dm_name;
	if (n >= plen || strlen(dash + 1) >= vlen)
		return -1;
	memcpy(pool, dm_name, n);
	pool[n] = 0;
	strcpy(vdisk, dash + 1);
	if (vc_pool_name_invalid(pool) || vc_vdisk_name_invalid(vdisk))
		return -1;
	return 0;
}
