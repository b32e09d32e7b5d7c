// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of vdiskctl's pure parts: size parsing and formatting, name
 * rules and the dm naming scheme, JSON escaping and the writer, latency
 * quantiles.  Built with ASan+UBSan against userspace/vdiskctl's sources.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tap.h"
#include "vdiskctl.h"

static int size_ok(const char *s, uint64_t want)
{
	const char *why;
	uint64_t v = 0;

	CHECK(vc_parse_size(s, &v, &why) == 0);
	CHECK(v == want);
	return 0;
}

static int size_bad(const char *s)
{
	const char *why = NULL;
	uint64_t v = 12345;

	CHECK(vc_parse_size(s, &v, &why) < 0);
	CHECK(why && *why);
	CHECK(v == 12345);
	return 0;
}

static int test_parse_size(void)
{
	CHECK(!size_ok("0", 0));
	CHECK(!size_ok("512", 512));
	CHECK(!size_ok("1K", 1024));
	CHECK(!size_ok("1k", 1024));
	CHECK(!size_ok("20G", 20ULL << 30));
	CHECK(!size_ok("20GiB", 20ULL << 30));
	CHECK(!size_ok("20GB", 20ULL << 30));
	CHECK(!size_ok("3T", 3ULL << 40));
	CHECK(!size_ok("1536M", 1536ULL << 20));
	CHECK(!size_ok("15E", 15ULL << 60));
	CHECK(!size_ok("18446744073709551615", UINT64_MAX));
	CHECK(!size_bad(""));
	CHECK(!size_bad("-1G"));
	CHECK(!size_bad("12Q"));
	CHECK(!size_bad("G"));
	CHECK(!size_bad("1.5G"));
	CHECK(!size_bad("1G2"));
	CHECK(!size_bad("1Gx"));
	CHECK(!size_bad(" 1G"));
	CHECK(!size_bad("16E"));
	CHECK(!size_bad("18446744073709551616"));
	CHECK(!size_bad("99999999999999999999999T"));
	CHECK(!size_bad("17179869184G"));	/* 2^64 bytes */
	return 0;
}

static int fmt_is(uint64_t v, const char *want)
{
	char buf[32];

	vc_format_size(v, buf, sizeof(buf));
	if (strcmp(buf, want)) {
		printf("# format %llu: got '%s', want '%s'\n", (unsigned long long)v, buf, want);
		return -1;
	}
	return 0;
}

static int test_format_size(void)
{
	CHECK(!fmt_is(0, "0B"));
	CHECK(!fmt_is(512, "512B"));
	CHECK(!fmt_is(1024, "1K"));
	CHECK(!fmt_is(1536, "1.5K"));
	CHECK(!fmt_is(20ULL << 30, "20G"));
	CHECK(!fmt_is((1ULL << 30) + (1ULL << 29), "1.5G"));
	CHECK(!fmt_is(1ULL << 40, "1T"));
	CHECK(!fmt_is(UINT64_MAX, "16.0E"));
	/* Round trip of every exact form. */
	{
		const char *s[] = { "1K", "4K", "64M", "20G", "3T", "7P" };
		unsigned int i;

		for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
			char buf[32];
			const char *why;
			uint64_t v;

			CHECK(vc_parse_size(s[i], &v, &why) == 0);
			CHECK(!strcmp(vc_format_size(v, buf, sizeof(buf)), s[i]));
		}
	}
	return 0;
}

static int test_parse_u64(void)
{
	uint64_t v;

	CHECK(vc_parse_u64("0", &v) == 0 && v == 0);
	CHECK(vc_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK(vc_parse_u64("18446744073709551616", &v) == -ERANGE);
	CHECK(vc_parse_u64("", &v) == -EINVAL);
	CHECK(vc_parse_u64("-1", &v) == -EINVAL);
	CHECK(vc_parse_u64("1 ", &v) == -EINVAL);
	return 0;
}

static int test_names(void)
{
	char long_name[80], buf[VC_DM_NAME_MAX], p[VC_DM_NAME_MAX], v[VDISK_NAME_MAX];

	CHECK(!vc_vdisk_name_invalid("vm1"));
	CHECK(!vc_vdisk_name_invalid("vm-1_disk.0+a:b"));
	CHECK(!vc_vdisk_name_invalid("a"));
	CHECK(vc_vdisk_name_invalid(""));
	CHECK(vc_vdisk_name_invalid("-x"));
	CHECK(vc_vdisk_name_invalid(".x"));
	CHECK(vc_vdisk_name_invalid("a b"));
	CHECK(vc_vdisk_name_invalid("a/b"));
	CHECK(vc_vdisk_name_invalid("a@b"));
	CHECK(vc_vdisk_name_invalid("\xc3\xa9"));
	memset(long_name, 'a', 63);
	long_name[63] = 0;
	CHECK(!vc_vdisk_name_invalid(long_name));
	long_name[63] = 'a';
	long_name[64] = 0;
	CHECK(vc_vdisk_name_invalid(long_name));

	CHECK(!vc_pool_name_invalid("p0"));
	CHECK(!vc_pool_name_invalid("pool_a.b"));
	CHECK(vc_pool_name_invalid("p-0"));
	CHECK(vc_pool_name_invalid(""));
	CHECK(vc_pool_name_invalid(".p"));

	/* POOL-NAME splits back at the first '-' (pools have none). */
	CHECK(vc_dm_vdisk_name(buf, sizeof(buf), "p0", "vm-1") == 0);
	CHECK(!strcmp(buf, "p0-vm-1"));
	CHECK(vc_split_dm_vdisk_name(buf, p, sizeof(p), v, sizeof(v)) == 0);
	CHECK(!strcmp(p, "p0") && !strcmp(v, "vm-1"));
	CHECK(vc_split_dm_vdisk_name("p0", p, sizeof(p), v, sizeof(v)) < 0);
	CHECK(vc_split_dm_vdisk_name("-x", p, sizeof(p), v, sizeof(v)) < 0);
	CHECK(vc_split_dm_vdisk_name("p0-", p, sizeof(p), v, sizeof(v)) < 0);
	/* The longest pool and vdisk names still fit a dm name. */
	memset(long_name, 'a', 63);
	long_name[63] = 0;
	CHECK(vc_dm_vdisk_name(buf, sizeof(buf), long_name, long_name) == 0);
	CHECK(strlen(buf) == 127);
	return 0;
}

static char *capture(void (*fn)(FILE *f, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fn(f, arg);
	fclose(f);
	return buf;
}

static void escape_fn(FILE *f, void *arg)
{
	vc_json_escape(f, arg);
}

static int esc_is(const char *in, const char *want)
{
	char *got = capture(escape_fn, (void *)in);
	int ok = got && !strcmp(got, want);

	if (!ok)
		printf("# escape: got %s, want %s\n", got ? got : "(null)", want);
	free(got);
	return ok ? 0 : -1;
}

static int test_json_escape(void)
{
	CHECK(!esc_is("abc", "\"abc\""));
	CHECK(!esc_is("", "\"\""));
	CHECK(!esc_is("a\"b", "\"a\\\"b\""));
	CHECK(!esc_is("a\\b", "\"a\\\\b\""));
	CHECK(!esc_is("l1\nl2\t\r", "\"l1\\nl2\\t\\r\""));
	CHECK(!esc_is("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""));
	CHECK(!esc_is("\b\f", "\"\\b\\f\""));
	CHECK(!esc_is("caf\xc3\xa9", "\"caf\xc3\xa9\""));
	CHECK(!esc_is("</script>", "\"</script>\""));
	return 0;
}

static void doc_fn(FILE *f, void *arg)
{
	struct vc_json j;

	(void)arg;
	vc_json_init(&j, f);
	vc_json_obj_begin(&j, NULL);
	vc_json_str(&j, "name", "p\"0");
	vc_json_u64(&j, "n", 18446744073709551615ULL);
	vc_json_bool(&j, "t", 1);
	vc_json_null(&j, "z");
	vc_json_str(&j, "s", NULL);
	vc_json_arr_begin(&j, "a");
	vc_json_u64(&j, NULL, 1);
	vc_json_obj_begin(&j, NULL);
	vc_json_double(&j, "d", 1.5);
	vc_json_obj_end(&j);
	vc_json_arr_begin(&j, NULL);
	vc_json_arr_end(&j);
	vc_json_arr_end(&j);
	vc_json_obj_end(&j);
	/* A second document on its own line. */
	vc_json_obj_begin(&j, NULL);
	vc_json_obj_end(&j);
}

static int test_json_writer(void)
{
	char *got = capture(doc_fn, NULL);
	const char *want =
		"{\"name\":\"p\\\"0\",\"n\":18446744073709551615,\"t\":true,\"z\":null,"
		"\"s\":null,\"a\":[1,{\"d\":1.500},[]]}\n{}\n";
	int ok = got && !strcmp(got, want);

	if (!ok)
		printf("# got:  %s# want: %s", got ? got : "(null)\n", want);
	free(got);
	CHECK(ok);
	return 0;
}

static int test_quantile(void)
{
	uint64_t h[VDISK_LAT_BUCKETS] = { 0 };

	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.5) == 0);
	h[3] = 100;		/* [8, 16) us */
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.5) == 16);
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.99) == 16);
	h[10] = 1;		/* one slow I/O in [1024, 2048) us */
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.5) == 16);
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.99) == 16);
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 1.0) == 2048);
	h[10] = 2;		/* 2 of 102 > 1 %: p99 moves */
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.99) == 2048);
	memset(h, 0, sizeof(h));
	h[VDISK_LAT_BUCKETS - 1] = 5;
	CHECK(vc_hist_quantile(h, VDISK_LAT_BUCKETS, 0.5) == 1ULL << VDISK_LAT_BUCKETS);
	return 0;
}

int main(void)
{
	tap_plan(7);
	tap_ok(test_parse_size() == 0, "size parsing: units, limits, bad input");
	tap_ok(test_format_size() == 0, "size formatting and round trip");
	tap_ok(test_parse_u64() == 0, "plain numbers");
	tap_ok(test_names() == 0, "pool and vdisk names, dm naming scheme");
	tap_ok(test_json_escape() == 0, "JSON string escaping");
	tap_ok(test_json_writer() == 0, "JSON writer: nesting, commas, one document per line");
	tap_ok(test_quantile() == 0, "latency histogram quantiles");
	return tap_done();
}
