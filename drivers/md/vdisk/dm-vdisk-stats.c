// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vdisk I/O statistics, for the vdisk status line and the netlink
 * STATS_GET dump: reads, writes, bytes, discards, flushes, bios in flight
 * and a log2 latency histogram (microseconds) per direction.
 *
 * Everything is per-cpu and changed only with this_cpu_*() operations: the
 * bio path takes no lock and no atomic.  Readers sum every CPU's slot
 * without locking, so a sum may miss a bio being counted at that instant;
 * each u64 is read whole on 64-bit machines.
 *
 * In flight: map() adds one on the CPU that maps the bio, the completion
 * takes one away on the CPU that completes it, so one CPU's slot may be
 * negative; only the sum means anything.
 *
 * Latency: from map() to the completion as the target sees it (end_io
 * returning DM_ENDIO_DONE; a FUA write held for a commit counts until it is
 * released).  Reads and writes with data only; discards, write-zeroes and
 * empty flushes are counted but not timed.
 */
#include "dm-vdisk.h"

#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/percpu.h>

int vdisk_stats_alloc(struct vdisk *vd)
{
	vd->stats = alloc_percpu(struct vdisk_stats_cpu);
	return vd->stats ? 0 : -ENOMEM;
}

void vdisk_stats_free(struct vdisk *vd)
{
	free_percpu(vd->stats);
	vd->stats = NULL;
}

/* Which histogram a bio belongs to: 0 read, 1 write, -1 not timed. */
static int vdisk_stats_dir(struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		return 0;
	case REQ_OP_WRITE:
		return bio->bi_iter.bi_size ? 1 : -1;
	default:
		return -1;
	}
}

void vdisk_stats_bio_start(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_stats_cpu __percpu *s = vd->stats;

	if (bio->bi_opf & REQ_PREFLUSH)
		this_cpu_inc(s->flushes);
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		this_cpu_inc(s->reads);
		this_cpu_add(s->read_bytes, bio->bi_iter.bi_size);
		break;
	case REQ_OP_WRITE:
		if (bio->bi_iter.bi_size) {
			this_cpu_inc(s->writes);
			this_cpu_add(s->write_bytes, bio->bi_iter.bi_size);
		}
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		this_cpu_inc(s->discards);
		break;
	default:
		break;
	}
	this_cpu_inc(s->in_flight);
	if (vdisk_stats_dir(bio) >= 0)
		vdisk_bio_data(bio)->start_ns = ktime_get_ns();
}

void vdisk_stats_bio_killed(struct vdisk *vd, struct bio *bio)
{
	this_cpu_dec(vd->stats->in_flight);
}

void vdisk_stats_bio_done(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_stats_cpu __percpu *s = vd->stats;
	int dir = vdisk_stats_dir(bio);
	u64 us;
	unsigned int b;

	this_cpu_dec(s->in_flight);
	if (dir < 0)
		return;
	us = div_u64(ktime_get_ns() - vdisk_bio_data(bio)->start_ns, NSEC_PER_USEC);
	/* Bucket i holds [2^i, 2^(i+1)) us; 0 also < 1 us, the last the rest. */
	b = us ? min_t(unsigned int, ilog2(us), VDISK_LAT_BUCKETS - 1) : 0;
	this_cpu_inc(s->lat[dir][b]);
}

void vdisk_stats_sum(struct vdisk *vd, struct vdisk_stats_sum *sum, bool lat)
{
	long in_flight = 0;
	unsigned int d, b;
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct vdisk_stats_cpu *c = per_cpu_ptr(vd->stats, cpu);

		sum->reads += c->reads;
		sum->writes += c->writes;
		sum->read_bytes += c->read_bytes;
		sum->write_bytes += c->write_bytes;
		sum->discards += c->discards;
		sum->flushes += c->flushes;
		sum->fast_writes += c->fast_writes;
		in_flight += READ_ONCE(c->in_flight);
		if (!lat)
			continue;
		for (d = 0; d < 2; d++)
			for (b = 0; b < VDISK_LAT_BUCKETS; b++)
				sum->lat[d][b] += c->lat[d][b];
	}
	/* Racing with a completion on another CPU may show -1 for a moment. */
	sum->in_flight = in_flight > 0 ? in_flight : 0;
}
