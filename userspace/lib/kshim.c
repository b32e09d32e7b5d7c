// SPDX-License-Identifier: GPL-2.0
/* kshim runtime: crc32c, get_random_bytes and the printk knobs. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <linux/crc32c.h>
#include <linux/printk.h>
#include <linux/random.h>

int kshim_verbose;
unsigned long kshim_nr_errors;

/* Reflected Castagnoli polynomial. */
#define CRC32C_POLY 0x82f63b78U

static u32 crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_init(void)
{
	unsigned int i, j;

	for (i = 0; i < 256; i++) {
		u32 c = i;

		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc32c_table[j][i] = (crc32c_table[j - 1][i] >> 8) ^
				crc32c_table[0][crc32c_table[j - 1][i] & 0xff];
	crc32c_ready = 1;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <string.h>

__attribute__((target("sse4.2")))
static u32 crc32c_hw(u32 crc, const unsigned char *p, unsigned int len)
{
	unsigned long long c = crc;

	while (len >= 8) {
		unsigned long long v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((u32)c, *p++);
	return (u32)c;
}

static int have_sse42(void)
{
	static int cached = -1;
	unsigned int a, b, c, d;

	if (cached < 0)
		cached = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
	return cached;
}
#endif

static u32 crc32c_sw(u32 crc, const unsigned char *p, unsigned int len)
{
	if (!crc32c_ready)
		crc32c_init();
	while (len >= 8) {
		u32 lo = crc ^ ((u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24);

		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^
		      crc32c_table[1][p[6]] ^ crc32c_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

/* Exposed for the unit test that compares both implementations. */
u32 kshim_crc32c_sw(u32 crc, const void *address, unsigned int length);
u32 kshim_crc32c_sw(u32 crc, const void *address, unsigned int length)
{
	return crc32c_sw(crc, address, length);
}

u32 crc32c(u32 crc, const void *address, unsigned int length)
{
#if defined(__x86_64__)
	if (have_sse42())
		return crc32c_hw(crc, address, length);
#endif
	return crc32c_sw(crc, address, length);
}

/*
 * Like the kernel's: never fails.  getrandom(2) blocks only until the pool
 * is initialised at boot; a kernel without it (ENOSYS, before 3.17) is not
 * supported, and an unexpected error aborts rather than hand out
 * predictable bytes (pool UUIDs must differ).
 */
void get_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("kshim: getrandom failed (errno %d)\n", errno);
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}
