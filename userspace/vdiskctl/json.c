// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: a small streaming JSON writer (one document per line, so that
 * `monitor --json` is one object per line and everything else pipes into
 * jq).  The writer tracks, per nesting level, whether a comma is due.
 * Pure output code, unit-tested.
 */
#include <stdio.h>

#include "vdiskctl.h"

void vc_json_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			/* Control characters and DEL escaped; bytes >= 0x80 pass
			 * through (names are ASCII; kernel strings are UTF-8).
			 */
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void vc_json_init(struct vc_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = 0;
}

/* Separator and key before a value at the current level. */
static void lead(struct vc_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = 1;
	if (key) {
		vc_json_escape(j->f, key);
		fputc(':', j->f);
	}
}

static void open(struct vc_json *j, const char *key, char c)
{
	lead(j, key);
	fputc(c, j->f);
	if (j->depth < VC_JSON_DEPTH - 1)
		j->depth++;
	j->need_comma[j->depth] = 0;
}

static void close_(struct vc_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0) {
		fputc('\n', j->f);
		fflush(j->f);
		j->need_comma[0] = 0;
	}
}

void vc_json_obj_begin(struct vc_json *j, const char *key)
{
	open(j, key, '{');
}

void vc_json_obj_end(struct vc_json *j)
{
	close_(j, '}');
}

void vc_json_arr_begin(struct vc_json *j, const char *key)
{
	open(j, key, '[');
}

void vc_json_arr_end(struct vc_json *j)
{
	close_(j, ']');
}

void vc_json_str(struct vc_json *j, const char *key, const char *val)
{
	lead(j, key);
	if (val)
		vc_json_escape(j->f, val);
	else
		fputs("null", j->f);
}

void vc_json_u64(struct vc_json *j, const char *key, uint64_t v)
{
	lead(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void vc_json_double(struct vc_json *j, const char *key, double v)
{
	lead(j, key);
	fprintf(j->f, "%.3f", v);
}

void vc_json_bool(struct vc_json *j, const char *key, int v)
{
	lead(j, key);
	fputs(v ? "true" : "false", j->f);
}

void vc_json_null(struct vc_json *j, const char *key)
{
	lead(j, key);
	fputs("null", j->f);
}
