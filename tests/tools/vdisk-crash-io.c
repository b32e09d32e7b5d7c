// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk-crash-io: the workload and the checker of the in-flight crash test
 * (tests/selftests/pool-crash-inflight.sh).
 *
 *   vdisk-crash-io write --events FILE --run R --flushes N [--threads T]
 *                  [--ops-per-flush M] [--seed S] [--mix all|blocks]
 *                  [--mark-dev NAME] ID=DEV...
 *   vdisk-crash-io check --events FILE --run R --flush K
 *                  [--base FILE --base-run R0 --base-id ID] ID=DEV...
 *
 * write: T threads (default 16) keep O_DIRECT writes and discards in flight
 * on the devices (each named by a small number ID) while the main thread
 * flushes every device N times, each time once M more operations completed
 * (default 8); a writer waits before it starts an operation while 2 x M
 * completed since the last flush, which bounds the data per flush (and the
 * log) while writes stay in flight across every flush.  Before flush k it logs "F k", after the flushes of every
 * device returned it sends the message "mark r<R>f<k>" to the
 * device-mapper device --mark-dev (a dm-log-writes target), so a replay of
 * that log from its mark r<R>f<k> on has everything the workload promised at
 * flush k.
 *
 * Operations (pick()): block-aligned writes of 1..256 blocks of 4 KiB (most
 * of them short), writes of 1..15 sectors at any sector (read-modify-write
 * in the pool), block-aligned discards of 1..64 blocks; --mix blocks: the
 * block-aligned writes only (the pool's fast path).  Every 512-byte sector
 * written is self-describing: a header (magic, run, device ID, sector,
 * operation number) and bytes derived from the header, so a checker can
 * tell exactly which write a sector holds.  Operations on one 4 KiB block
 * never overlap in time (a block is claimed for the whole operation), so
 * the operations touching a sector are totally ordered by their number.
 *
 * The events file lists, in the order they happened (one mutex):
 *   O <seq> <id> <first sector> <sectors> W|D    operation submitted
 *   C <seq>                                      operation completed
 *   F <k>                                        flush k submitted
 *
 * check: reads every sector of the devices and checks it against the
 * promise at flush K: a sector holds the operation on it that completed
 * last before "F K" or any later operation on it (a write's content, zeroes
 * for a discard), never an earlier one, never anything else.  Before the
 * first such operation a sector holds its initial content: zeroes, or with
 * --base the final content of device --base-id of the earlier run described
 * by --base (a snapshot taken after that run).  K = 0 promises nothing
 * beyond the initial content.  Exit status: 0 all sectors good, 1 bad
 * sectors (the first ones are printed), 2 usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define SECTOR		512
#define BLOCK		4096
#define SPB		(BLOCK / SECTOR)
#define MAX_BLOCKS	256
#define MAX_DEVS	8
#define TAG_MAGIC	0x76636f72u	/* "vcor" */

struct tag {			/* at the start of every sector written */
	uint32_t magic;
	uint32_t run;
	uint32_t id;
	uint32_t pad;
	uint64_t sector;
	uint64_t seq;
};

struct dev {
	unsigned int id;
	const char *path;
	int fd;
	uint64_t sectors;
	unsigned char *busy;	/* per 4 KiB block, under lock */
};

struct op {
	unsigned int dev;	/* index in devs[] */
	uint64_t sector, nr;
	char type;		/* 'W' or 'D' */
};

static struct dev devs[MAX_DEVS];
static unsigned int nr_devs;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("vdisk-crash-io: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The content of one sector written by operation seq of run on device id. */
static void fill_sector(unsigned char *p, uint32_t run, uint32_t id, uint64_t sector,
			uint64_t seq)
{
	struct tag t = { TAG_MAGIC, run, id, 0, sector, seq };
	uint64_t s = seq * 0x100000001b3ULL ^ sector ^ ((uint64_t)id << 56) ^
		     ((uint64_t)run << 48);

	memcpy(p, &t, sizeof(t));
	for (size_t i = sizeof(t); i < SECTOR; i += 8) {
		uint64_t v = splitmix(&s);

		memcpy(p + i, &v, 8);
	}
}

static void open_devs(char **args, int n, int flags)
{
	for (int i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		struct dev *d = &devs[nr_devs];
		uint64_t bytes;

		if (nr_devs == MAX_DEVS || !eq || eq == args[i])
			die("bad device argument '%s' (ID=DEV, at most %d)", args[i], MAX_DEVS);
		d->id = (unsigned int)strtoul(args[i], NULL, 10);
		d->path = eq + 1;
		d->fd = open(d->path, flags | O_DIRECT);
		if (d->fd < 0)
			die("open %s: %s", d->path, strerror(errno));
		if (ioctl(d->fd, BLKGETSIZE64, &bytes))
			die("size of %s: %s", d->path, strerror(errno));
		if (!bytes || bytes % BLOCK)
			die("%s: size %" PRIu64 " is not a multiple of 4 KiB", d->path, bytes);
		d->sectors = bytes / SECTOR;
		d->busy = calloc(bytes / BLOCK, 1);
		if (!d->busy)
			die("out of memory");
		nr_devs++;
	}
	if (!nr_devs)
		die("no devices");
}

/* ---- write ---------------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress = PTHREAD_COND_INITIALIZER;
static FILE *events;
static uint64_t next_seq = 1, completed, flushed_at;
static unsigned int per_flush = 8;
static unsigned int run, stop, blocks_only;
static int failed;

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(events, fmt, ap);
	va_end(ap);
}

/*
 * One operation, r of 100: 0-54 a write of 1..8 blocks, 55-69 of 9..32,
 * 70-75 of 33..64, 76-77 of 65..256 (--mix blocks stops here), 78-93 a
 * write of 1..15 sectors at any sector, 94-99 a discard of 1..64 blocks.
 */
static void pick(uint64_t *rng, struct op *op)
{
	unsigned int r = splitmix(rng) % (blocks_only ? 78 : 100);
	const struct dev *d;
	uint64_t blocks, n;

	op->dev = splitmix(rng) % nr_devs;
	d = &devs[op->dev];
	blocks = d->sectors / SPB;
	op->type = r >= 94 ? 'D' : 'W';
	if (r >= 78 && r < 94) {
		op->nr = 1 + splitmix(rng) % 15;
		op->sector = splitmix(rng) % (d->sectors - op->nr + 1);
		return;
	}
	n = r < 55 ? 1 + splitmix(rng) % 8 :
	    r < 70 ? 9 + splitmix(rng) % 24 :
	    r < 76 ? 33 + splitmix(rng) % 32 :
	    r < 78 ? 65 + splitmix(rng) % (MAX_BLOCKS - 64) : 1 + splitmix(rng) % 64;
	if (n > blocks)
		n = blocks;
	op->sector = splitmix(rng) % (blocks - n + 1) * SPB;
	op->nr = n * SPB;
}

/* Under lock: marks the 4 KiB blocks op touches busy (or free again). */
static void set_busy(const struct op *op, int busy)
{
	struct dev *d = &devs[op->dev];

	for (uint64_t b = op->sector / SPB; b <= (op->sector + op->nr - 1) / SPB; b++)
		d->busy[b] = busy;
}

/* Under lock: claims the blocks op touches, or returns 0 if one is busy. */
static int claim(const struct op *op)
{
	const struct dev *d = &devs[op->dev];

	for (uint64_t b = op->sector / SPB; b <= (op->sector + op->nr - 1) / SPB; b++)
		if (d->busy[b])
			return 0;
	set_busy(op, 1);
	return 1;
}

static int do_op(const struct op *op, uint64_t seq, unsigned char *buf)
{
	struct dev *d = &devs[op->dev];
	uint64_t range[2] = { op->sector * SECTOR, op->nr * SECTOR };
	size_t len = op->nr * SECTOR, done = 0;

	if (op->type == 'D') {
		if (ioctl(d->fd, BLKDISCARD, range)) {
			fprintf(stderr, "vdisk-crash-io: discard %s %" PRIu64 "+%" PRIu64 ": %s\n",
				d->path, op->sector, op->nr, strerror(errno));
			return -1;
		}
		return 0;
	}
	for (uint64_t i = 0; i < op->nr; i++)
		fill_sector(buf + i * SECTOR, run, d->id, op->sector + i, seq);
	while (done < len) {
		ssize_t n = pwrite(d->fd, buf + done, len - done,
				   (off_t)(op->sector * SECTOR + done));

		if (n <= 0) {
			fprintf(stderr, "vdisk-crash-io: write %s %" PRIu64 "+%" PRIu64 ": %s\n",
				d->path, op->sector, op->nr, n ? strerror(errno) : "short write");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static void *writer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	unsigned char *buf;
	struct op op;

	if (posix_memalign((void **)&buf, BLOCK, MAX_BLOCKS * BLOCK))
		die("out of memory");
	for (;;) {
		uint64_t seq;

		pthread_mutex_lock(&lock);
		/* At most 2 x M operations complete per flush: bounds the log. */
		while (!stop && !failed && completed >= flushed_at + 2 * per_flush)
			pthread_cond_wait(&progress, &lock);
		for (;;) {
			if (stop || failed) {
				pthread_mutex_unlock(&lock);
				free(buf);
				return NULL;
			}
			pick(&rng, &op);
			if (claim(&op))
				break;
		}
		seq = next_seq++;
		event("O %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %c\n", seq, devs[op.dev].id,
		      op.sector, op.nr, op.type);
		pthread_mutex_unlock(&lock);

		int err = do_op(&op, seq, buf);

		pthread_mutex_lock(&lock);
		if (err)
			failed = 1;
		else
			event("C %" PRIu64 "\n", seq);
		set_busy(&op, 0);
		completed++;
		pthread_cond_broadcast(&progress);
		pthread_mutex_unlock(&lock);
	}
}

static int send_mark(const char *dev, unsigned int k)
{
	struct dm_task *t = dm_task_create(DM_DEVICE_TARGET_MSG);
	char msg[32];
	int ok;

	snprintf(msg, sizeof(msg), "mark r%uf%u", run, k);
	ok = t && dm_task_set_name(t, dev) && dm_task_set_sector(t, 0) &&
	     dm_task_set_message(t, msg) && dm_task_run(t);
	if (t)
		dm_task_destroy(t);
	if (!ok)
		fprintf(stderr, "vdisk-crash-io: message '%s' to %s failed\n", msg, dev);
	return ok ? 0 : -1;
}

static int cmd_write(const char *events_path, unsigned int flushes, unsigned int threads,
		     uint64_t seed, const char *mark_dev)
{
	pthread_t tid[64];

	events = fopen(events_path, "w");
	if (!events)
		die("open %s: %s", events_path, strerror(errno));
	for (unsigned int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, writer,
				   (void *)(uintptr_t)(seed * 1000003 + i + 1)))
			die("pthread_create failed");
	for (unsigned int k = 1; k <= flushes && !failed; k++) {
		pthread_mutex_lock(&lock);
		while (completed < flushed_at + per_flush && !failed)
			pthread_cond_wait(&progress, &lock);
		flushed_at = completed;
		pthread_cond_broadcast(&progress);
		event("F %u\n", k);
		pthread_mutex_unlock(&lock);
		for (unsigned int d = 0; d < nr_devs; d++)
			if (fdatasync(devs[d].fd)) {
				fprintf(stderr, "vdisk-crash-io: flush %s: %s\n", devs[d].path,
					strerror(errno));
				failed = 1;
			}
		if (mark_dev && !failed && send_mark(mark_dev, k))
			failed = 1;
	}
	pthread_mutex_lock(&lock);
	stop = 1;
	pthread_cond_broadcast(&progress);
	pthread_mutex_unlock(&lock);
	for (unsigned int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	for (unsigned int d = 0; d < nr_devs; d++)
		if (fdatasync(devs[d].fd))
			failed = 1;
	if (fclose(events))
		die("write %s: %s", events_path, strerror(errno));
	printf("%" PRIu64 " operations, %u flushes\n", next_seq - 1, flushes);
	return failed ? 2 : 0;
}

/* ---- check ---------------------------------------------------------------- */

/* One run's events, reduced to what a check needs. */
struct history {
	struct op *ops;		/* by seq; ops[0] unused */
	uint64_t nr_ops;
	unsigned int ids[MAX_DEVS];
	uint64_t *req[MAX_DEVS];	/* per sector: last op completed (0: none) */
	uint64_t *discard[MAX_DEVS];	/* per sector: last discard submitted */
	uint64_t sectors[MAX_DEVS];
	unsigned int nr;
};

static int hist_dev(struct history *h, unsigned int id, uint64_t sectors)
{
	for (unsigned int i = 0; i < h->nr; i++)
		if (h->ids[i] == id)
			return (int)i;
	if (h->nr == MAX_DEVS)
		die("too many devices in the events");
	h->ids[h->nr] = id;
	h->sectors[h->nr] = sectors;
	h->req[h->nr] = calloc(sectors, sizeof(uint64_t));
	h->discard[h->nr] = calloc(sectors, sizeof(uint64_t));
	if (!h->req[h->nr] || !h->discard[h->nr])
		die("out of memory");
	return (int)h->nr++;
}

/*
 * Reads an events file; h->req counts the completions before "F upto"
 * (upto 0: none, UPTO_END: all).  size_of() gives the size of a device ID.
 */
#define UPTO_END	(-1L)
#define NOT_CHECKED	((unsigned int)-1)
static void load_history(struct history *h, const char *path, long upto,
			 uint64_t (*size_of)(unsigned int id))
{
	FILE *f = fopen(path, "r");
	char line[128];
	uint64_t cap = 0;
	int found = !upto;

	if (!f)
		die("open %s: %s", path, strerror(errno));
	memset(h, 0, sizeof(*h));
	while (fgets(line, sizeof(line), f)) {
		uint64_t seq, sector, nr;
		unsigned int id, k;
		char type;

		if (sscanf(line, "O %" SCNu64 " %u %" SCNu64 " %" SCNu64 " %c",
			   &seq, &id, &sector, &nr, &type) == 5) {
			uint64_t size = size_of(id);
			int d = size ? hist_dev(h, id, size) : -1;	/* -1: not checked */

			if (seq != h->nr_ops + 1 || !nr || (size && sector + nr > size) ||
			    (type != 'W' && type != 'D'))
				die("%s: bad operation '%s'", path, line);
			if (seq >= cap) {
				cap = cap ? cap * 2 : 4096;
				h->ops = realloc(h->ops, cap * sizeof(*h->ops));
				if (!h->ops)
					die("out of memory");
			}
			h->ops[seq] = (struct op){ (unsigned int)d, sector, nr, type };
			h->nr_ops = seq;
			if (type == 'D' && d >= 0)
				for (uint64_t s = sector; s < sector + nr; s++)
					h->discard[d][s] = seq;
		} else if (sscanf(line, "C %" SCNu64, &seq) == 1) {
			const struct op *op;

			if (!seq || seq > h->nr_ops)
				die("%s: completion of an unknown operation '%s'", path, line);
			if (found && upto != UPTO_END)
				continue;
			op = &h->ops[seq];
			if (op->dev == NOT_CHECKED)
				continue;
			for (uint64_t s = op->sector; s < op->sector + op->nr; s++)
				h->req[op->dev][s] = seq;
		} else if (sscanf(line, "F %u", &k) == 1) {
			if ((long)k == upto)
				found = 1;
		} else {
			die("%s: bad line '%s'", path, line);
		}
	}
	fclose(f);
	if (!found && upto != UPTO_END)
		die("%s: no flush %ld", path, upto);
}

static uint64_t dev_size_of(unsigned int id)
{
	for (unsigned int i = 0; i < nr_devs; i++)
		if (devs[i].id == id)
			return devs[i].sectors;
	return 0;	/* not checked */
}

static uint64_t base_sectors;
static uint64_t base_size_of(unsigned int id __attribute__((unused)))
{
	return base_sectors;
}

static int all_zero(const unsigned char *p)
{
	for (int i = 0; i < SECTOR; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Why sector s of device index d (content p) breaks the promise, or NULL. */
static const char *judge(const struct history *h, int hd, const struct history *base, int bd,
			 unsigned int base_run, const unsigned char *p, uint64_t s)
{
	static unsigned char want[SECTOR];
	uint64_t req = hd < 0 ? 0 : h->req[hd][s];
	uint64_t last_discard = hd < 0 ? 0 : h->discard[hd][s];
	uint64_t base_seq = bd < 0 ? 0 : base->req[bd][s];
	int base_zero = bd < 0 || !base_seq || base->ops[base_seq].type == 'D';
	struct tag t;

	if (all_zero(p)) {
		if (last_discard && last_discard >= req)
			return NULL;
		if (!req && base_zero)
			return NULL;
		return "zeroes";
	}
	memcpy(&t, p, sizeof(t));
	if (t.magic != TAG_MAGIC)
		return "no tag: not written by this test";
	if (t.run == run && hd >= 0) {
		const struct op *op;

		if (t.seq == 0 || t.seq > h->nr_ops)
			return "an operation the events do not list";
		op = &h->ops[t.seq];
		if (op->dev != (unsigned int)hd || t.id != h->ids[hd] || t.sector != s ||
		    op->type != 'W' || s < op->sector || s >= op->sector + op->nr)
			return "the content of another sector or device";
		if (t.seq < req)
			return "an older write than the one completed before the flush";
		fill_sector(want, run, t.id, s, t.seq);
		return memcmp(want, p, SECTOR) ? "a torn or corrupted sector" : NULL;
	}
	if (base && t.run == base_run) {
		if (req)
			return "the initial content, older than the write completed before the flush";
		if (t.seq != base_seq || base_zero || t.sector != s || t.id != base->ids[bd])
			return "not the initial content";
		fill_sector(want, base_run, t.id, s, t.seq);
		return memcmp(want, p, SECTOR) ? "a torn or corrupted initial sector" : NULL;
	}
	return "a tag of another run";
}

static int cmd_check(const char *events_path, unsigned int flush, const char *base_path,
		     unsigned int base_run, unsigned int base_id)
{
	static struct history h, base;
	unsigned char *buf;
	uint64_t bad_total = 0;
	int bd = -1;

	load_history(&h, events_path, (long)flush, dev_size_of);
	if (base_path) {
		base_sectors = devs[0].sectors;
		load_history(&base, base_path, UPTO_END, base_size_of);
		for (unsigned int i = 0; i < base.nr; i++)
			if (base.ids[i] == base_id)
				bd = (int)i;
		if (bd < 0)
			die("%s: no device %u", base_path, base_id);
	}
	if (posix_memalign((void **)&buf, BLOCK, MAX_BLOCKS * BLOCK))
		die("out of memory");
	for (unsigned int i = 0; i < nr_devs; i++) {
		const struct dev *d = &devs[i];
		uint64_t bad = 0, s = 0;
		int hd = -1;

		for (unsigned int j = 0; j < h.nr; j++)
			if (h.ids[j] == d->id)
				hd = (int)j;
		if (bd >= 0 && base.sectors[bd] != d->sectors)
			die("device %u and the base differ in size", d->id);
		while (s < d->sectors) {
			uint64_t n = d->sectors - s < MAX_BLOCKS * SPB ? d->sectors - s :
				     MAX_BLOCKS * SPB;
			ssize_t got = pread(d->fd, buf, n * SECTOR, (off_t)(s * SECTOR));

			if (got != (ssize_t)(n * SECTOR))
				die("read %s at sector %" PRIu64 ": %s", d->path, s,
				    got < 0 ? strerror(errno) : "short read");
			for (uint64_t i2 = 0; i2 < n; i2++) {
				const char *why = judge(&h, hd, base_path ? &base : NULL, bd,
							base_run, buf + i2 * SECTOR, s + i2);
				uint64_t req = hd < 0 ? 0 : h.req[hd][s + i2];

				if (!why)
					continue;
				if (++bad > 5)
					continue;
				if (req)
					printf("device %u sector %" PRIu64 ": holds %s (promised: operation %"
					       PRIu64 " or later)\n", d->id, s + i2, why, req);
				else
					printf("device %u sector %" PRIu64 ": holds %s (promised: the initial content or later)\n",
					       d->id, s + i2, why);
			}
			s += n;
		}
		if (bad)
			printf("device %u: %" PRIu64 " bad sectors of %" PRIu64 "\n", d->id, bad,
			       d->sectors);
		bad_total += bad;
	}
	free(buf);
	return bad_total ? 1 : 0;
}

/* ---- main ----------------------------------------------------------------- */

static unsigned long num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		die("bad %s '%s'", what, s);
	return v;
}

int main(int argc, char **argv)
{
	const char *events_path = NULL, *mark_dev = NULL, *base_path = NULL;
	unsigned int flushes = 0, threads = 16, flush = 0, base_run = 0;
	unsigned int base_id = 0;
	uint64_t seed = 1;
	int write_mode, i;

	if (argc < 2 || (strcmp(argv[1], "write") && strcmp(argv[1], "check")))
		die("usage: vdisk-crash-io write|check ... (see the source's header)");
	write_mode = !strcmp(argv[1], "write");
	for (i = 2; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		const char *o = argv[i] + 2, *v = argv[i + 1];

		if (!strcmp(o, "events"))
			events_path = v;
		else if (!strcmp(o, "run"))
			run = num(v, "run");
		else if (!strcmp(o, "flushes"))
			flushes = num(v, "flush count");
		else if (!strcmp(o, "threads"))
			threads = num(v, "thread count");
		else if (!strcmp(o, "ops-per-flush"))
			per_flush = num(v, "operations per flush");
		else if (!strcmp(o, "seed"))
			seed = num(v, "seed");
		else if (!strcmp(o, "mix") && (!strcmp(v, "all") || !strcmp(v, "blocks")))
			blocks_only = !strcmp(v, "blocks");
		else if (!strcmp(o, "mark-dev"))
			mark_dev = v;
		else if (!strcmp(o, "flush"))
			flush = num(v, "flush");
		else if (!strcmp(o, "base"))
			base_path = v;
		else if (!strcmp(o, "base-run"))
			base_run = num(v, "base run");
		else if (!strcmp(o, "base-id"))
			base_id = num(v, "base device");
		else
			die("unknown option --%s", o);
	}
	if (!events_path || !run || threads < 1 || threads > 64 ||
	    (write_mode && !flushes) || (base_path && (!base_run || base_run == run)))
		die("missing or bad options (see the source's header)");
	open_devs(argv + i, argc - i, write_mode ? O_RDWR : O_RDONLY);
	if (write_mode)
		return cmd_write(events_path, flushes, threads, seed, mark_dev);
	return cmd_check(events_path, flush, base_path, base_run, base_id);
}
