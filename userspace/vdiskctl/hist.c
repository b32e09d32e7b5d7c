// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: quantiles of the kernel's log2 latency histograms (bucket i
 * counts I/Os of [2^i, 2^(i+1)) microseconds).  Pure, unit-tested.
 */
#include "vdiskctl.h"

uint64_t vc_hist_quantile(const uint64_t *hist, unsigned int n, double q)
{
	uint64_t total = 0, seen = 0, want;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += hist[i];
	if (!total)
		return 0;
	/* The rank of the quantile, 1-based, at least 1. */
	want = (uint64_t)(q * (double)total + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < n; i++) {
		seen += hist[i];
		if (seen >= want)
			break;
	}
	if (i >= n)
		i = n - 1;
	/* Bucket i holds [2^i, 2^(i+1)) us: report its upper edge. */
	return i >= 63 ? UINT64_MAX : 1ULL << (i + 1);
}
