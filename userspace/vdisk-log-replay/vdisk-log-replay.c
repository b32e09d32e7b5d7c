// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk-log-replay: read a dm-log-writes log and replay it onto a device.
 *
 *   vdisk-log-replay --log <logdev> [--replay <dev>] [--list] [--fua-points]
 *                    [--to-mark NAME | --to-entry N | --stepwise]
 *
 * Log format (drivers/md/dm-log-writes.c): block 0 of the log holds the
 * super (magic, version, nr_entries, sectorsize, little endian).  Then, for
 * every entry, one sectorsize block with the entry header (sector,
 * nr_sectors, flags, data_len; sector and nr_sectors count sectorsize
 * units of the logged device), the mark name after the header for a MARK
 * entry, followed by nr_sectors blocks of written data unless the entry is
 * a DISCARD or a MARK.
 *
 * The whole log is validated before anything is written.  Writes are
 * replayed in log order up to and including the chosen entry (all entries
 * by default); a DISCARD is replayed as zeroes.  Data is streamed through a
 * fixed 1 MiB buffer.  Entries are numbered from 0.
 *
 * --list prints one line per entry:
 *   <index> <sector> <bytes> <flags> [<mark name>]
 * with the sector in 512-byte units and flags such as FLUSH|FUA, "-" if none.
 * --fua-points prints the index of every entry that carries FLUSH or FUA.
 * --stepwise replays in steps, for a test that checks many crash points in
 * one pass over the log: it reads entry indexes from stdin, one per line and
 * ascending; for each it replays up to and including that entry (continuing
 * from the previous one), syncs the replay device and prints the index on
 * stdout (flushed), then reads the next.  It ends at EOF.
 * Exit status: 0 ok, 1 bad log or I/O error, 2 usage.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define LW_MAGIC	0x6a736677736872ULL
#define LW_VERSION	1ULL
#define F_FLUSH		(1ULL << 0)
#define F_FUA		(1ULL << 1)
#define F_DISCARD	(1ULL << 2)
#define F_MARK		(1ULL << 3)
#define F_METADATA	(1ULL << 4)
#define F_KNOWN		(F_FLUSH | F_FUA | F_DISCARD | F_MARK | F_METADATA)
#define HDR_LEN		32	/* 4 x le64 */
#define MAX_SS		65536
#define BUF_LEN		(1U << 20)

struct entry {
	uint64_t sector, nr, flags, data_len;	/* sector/nr in sectorsize units */
	char mark[MAX_SS];
};

static const char *log_path;
static int log_fd = -1;
static uint64_t log_size, ss, nr_entries;
static unsigned char blk[MAX_SS];
static unsigned char buf[BUF_LEN];
static struct entry ent;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vdisk-log-replay: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int read_full(int fd, void *p, size_t len, uint64_t off, const char *what)
{
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read %s at byte %" PRIu64 ": %s", what, off, strerror(errno));
		if (n == 0)
			return fail("read %s at byte %" PRIu64 ": unexpected end", what, off);
		p = (char *)p + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("write replay device at byte %" PRIu64 ": %s", off,
				    n < 0 ? strerror(errno) : "short write");
		p = (const char *)p + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static int dev_size(int fd, const char *path, uint64_t *size)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0)
		return fail("%s: cannot find its size: %s", path, strerror(errno));
	*size = (uint64_t)end;
	return 0;
}

static int read_super(void)
{
	uint32_t s32;

	if (log_size < 512)
		return fail("%s: too small for a log super block", log_path);
	if (read_full(log_fd, blk, 512, 0, "log super"))
		return -1;
	if (get_le64(blk) != LW_MAGIC)
		return fail("%s: bad magic %#" PRIx64 " (not a dm-log-writes log)",
			    log_path, get_le64(blk));
	if (get_le64(blk + 8) != LW_VERSION)
		return fail("%s: unsupported log version %" PRIu64, log_path, get_le64(blk + 8));
	nr_entries = get_le64(blk + 16);
	memcpy(&s32, blk + 24, 4);
	ss = le32toh(s32);
	if (ss < 512 || ss > MAX_SS || (ss & (ss - 1)))
		return fail("%s: bad sector size %" PRIu64, log_path, ss);
	/* Every entry needs at least one block after the super. */
	if (nr_entries > log_size / ss - 1)
		return fail("%s: %" PRIu64 " entries cannot fit in a %" PRIu64 "-byte log",
			    log_path, nr_entries, log_size);
	return 0;
}

/* Reads and checks the entry whose header block is at byte *pos; advances
 * *pos past it and its data. */
static int read_entry(uint64_t idx, uint64_t *pos, uint64_t dev_bytes)
{
	uint64_t data_bytes = 0;

	if (*pos > log_size || log_size - *pos < ss)
		return fail("entry %" PRIu64 ": header beyond the end of the log", idx);
	if (read_full(log_fd, blk, ss, *pos, "log entry"))
		return -1;
	ent.sector = get_le64(blk);
	ent.nr = get_le64(blk + 8);
	ent.flags = get_le64(blk + 16);
	ent.data_len = get_le64(blk + 24);
	ent.mark[0] = '\0';
	*pos += ss;

	if (ent.flags & ~F_KNOWN)
		return fail("entry %" PRIu64 ": unknown flags %#" PRIx64, idx, ent.flags);
	if (ent.flags & F_MARK) {
		if (ent.flags & ~(F_MARK | F_METADATA))
			return fail("entry %" PRIu64 ": mark with flags %#" PRIx64, idx, ent.flags);
		if (ent.data_len == 0 || ent.data_len > ss - HDR_LEN)
			return fail("entry %" PRIu64 ": bad mark length %" PRIu64, idx, ent.data_len);
		memcpy(ent.mark, blk + HDR_LEN, ent.data_len);
		ent.mark[ent.data_len] = '\0';
		if (strlen(ent.mark) != ent.data_len)
			return fail("entry %" PRIu64 ": mark name contains a NUL byte", idx);
		for (const char *c = ent.mark; *c; c++)
			if (*c < 0x21 || *c > 0x7e)
				return fail("entry %" PRIu64 ": mark name not printable", idx);
		return 0;
	}
	if (ent.data_len)
		return fail("entry %" PRIu64 ": inline data (data_len %" PRIu64
			    ") is not supported", idx, ent.data_len);
	if (ent.nr > UINT64_MAX / ss || ent.sector > UINT64_MAX / ss)
		return fail("entry %" PRIu64 ": sector or length out of range", idx);
	if (ent.nr && (ent.sector * ss > dev_bytes || dev_bytes - ent.sector * ss < ent.nr * ss))
		return fail("entry %" PRIu64 ": sectors %" PRIu64 "+%" PRIu64
			    " lie beyond the end of the replay device", idx, ent.sector, ent.nr);
	if (!(ent.flags & F_DISCARD))
		data_bytes = ent.nr * ss;
	if (log_size - *pos < data_bytes)
		return fail("entry %" PRIu64 ": data beyond the end of the log", idx);
	*pos += data_bytes;
	return 0;
}

static void flags_str(uint64_t f, char *out)
{
	static const char *const names[] = { "FLUSH", "FUA", "DISCARD", "MARK", "METADATA" };

	out[0] = '\0';
	for (int i = 0; i < 5; i++)
		if (f & (1ULL << i)) {
			if (out[0])
				strcat(out, "|");
			strcat(out, names[i]);
		}
	if (!out[0])
		strcpy(out, "-");
}

/* Copies (or zeroes, for a discard) the current entry's data at log byte
 * data_pos onto the replay device. */
static int replay_entry(int fd, uint64_t data_pos)
{
	uint64_t left = ent.nr * ss, dst = ent.sector * ss;
	int discard = !!(ent.flags & F_DISCARD);

	if (ent.flags & F_MARK)
		return 0;
	if (discard)
		memset(buf, 0, BUF_LEN);
	while (left) {
		size_t n = left < BUF_LEN ? (size_t)left : BUF_LEN;

		if (!discard && read_full(log_fd, buf, n, data_pos, "log data"))
			return -1;
		if (write_full(fd, buf, n, dst))
			return -1;
		left -= n;
		dst += n;
		data_pos += n;
	}
	return 0;
}

/* Replays the current entry (read by read_entry(), which advanced *pos past
 * its data). */
static int replay_current(int fd, uint64_t pos)
{
	if (ent.flags & F_MARK)
		return 0;
	if (ent.flags & F_DISCARD)
		return replay_entry(fd, 0);
	return replay_entry(fd, pos - ent.nr * ss);
}

/* An entry index: decimal digits only.  0 or -1. */
static int parse_index(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

/* --stepwise: the log was validated by pass 1. */
static int replay_stepwise(int fd, uint64_t dev_bytes)
{
	uint64_t next = 0, pos = ss, target;
	char line[64];

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (parse_index(line, &target) || target >= nr_entries || target + 1 < next) {
			fail("--stepwise: bad or out-of-order entry index '%.20s'", line);
			return 1;
		}
		for (; next <= target; next++)
			if (read_entry(next, &pos, dev_bytes) || replay_current(fd, pos))
				return 1;
		if (fsync(fd)) {
			fail("sync the replay device: %s", strerror(errno));
			return 1;
		}
		printf("%" PRIu64 "\n", target);
		if (fflush(stdout))
			return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: vdisk-log-replay --log <logdev> [--replay <dev>] [--list] [--fua-points]\n"
	      "                        [--to-mark NAME | --to-entry N | --stepwise]\n"
	      "Validates a dm-log-writes log; --list prints its entries (index, sector in\n"
	      "512-byte units, bytes, flags, mark), --fua-points the indexes of FLUSH/FUA\n"
	      "entries; --replay writes entries 0..N (or up to the first mark NAME, or all)\n"
	      "onto <dev> in log order.  Discards are replayed as zeroes.  --stepwise reads\n"
	      "ascending entry indexes on stdin and, for each, replays up to it, syncs and\n"
	      "echoes the index.\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "replay", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'L' },
		{ "fua-points", no_argument, NULL, 'F' },
		{ "to-mark", required_argument, NULL, 'm' },
		{ "to-entry", required_argument, NULL, 'e' },
		{ "stepwise", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *replay_path = NULL, *to_mark = NULL;
	int list = 0, fua_points = 0, have_to_entry = 0, stepwise = 0, c, rfd = -1;
	uint64_t to_entry = 0, stop, pos, dev_bytes = UINT64_MAX, i;
	char fl[64];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': log_path = optarg; break;
		case 'r': replay_path = optarg; break;
		case 'L': list = 1; break;
		case 'F': fua_points = 1; break;
		case 'm': to_mark = optarg; break;
		case 'e':
			if (parse_index(optarg, &to_entry)) {
				fail("bad --to-entry '%s'", optarg);
				return 2;
			}
			have_to_entry = 1;
			break;
		case 's': stepwise = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !log_path || (to_mark && have_to_entry) ||
	    (stepwise && (to_mark || have_to_entry || !replay_path || list || fua_points))) {
		usage(stderr);
		return 2;
	}
	log_fd = open(log_path, O_RDONLY);
	if (log_fd < 0) {
		fail("open %s: %s", log_path, strerror(errno));
		return 1;
	}
	if (dev_size(log_fd, log_path, &log_size) || read_super())
		return 1;
	if (replay_path) {
		rfd = open(replay_path, O_WRONLY);
		if (rfd < 0) {
			fail("open %s: %s", replay_path, strerror(errno));
			return 1;
		}
		if (dev_size(rfd, replay_path, &dev_bytes))
			return 1;
	}

	/* Pass 1: validate every entry, list, find where to stop. */
	stop = nr_entries ? nr_entries - 1 : 0;
	int found = !to_mark;
	pos = ss;
	for (i = 0; i < nr_entries; i++) {
		if (read_entry(i, &pos, dev_bytes))
			return 1;
		if (list) {
			flags_str(ent.flags, fl);
			printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %s%s%s\n", i,
			       ent.sector * (ss / 512), ent.nr * ss, fl,
			       ent.mark[0] ? " " : "", ent.mark);
		}
		if (fua_points && (ent.flags & (F_FLUSH | F_FUA)))
			printf("%" PRIu64 "\n", i);
		if (!found && (ent.flags & F_MARK) && !strcmp(ent.mark, to_mark)) {
			found = 1;
			stop = i;
		}
	}
	if (!found) {
		fail("no mark '%s' in the log", to_mark);
		return 1;
	}
	if (have_to_entry) {
		if (to_entry >= nr_entries) {
			fail("--to-entry %" PRIu64 ": the log has %" PRIu64 " entries",
			     to_entry, nr_entries);
			return 1;
		}
		stop = to_entry;
	}
	if (fflush(stdout)) {
		fail("writing the listing failed");
		return 1;
	}
	if (stepwise)
		return replay_stepwise(rfd, dev_bytes);
	if (rfd < 0 || nr_entries == 0)
		return 0;

	/* Pass 2: replay entries 0..stop. */
	pos = ss;
	for (i = 0; i <= stop; i++) {
		if (read_entry(i, &pos, dev_bytes) || replay_current(rfd, pos))
			return 1;
	}
	if (fsync(rfd) || close(rfd)) {
		fail("sync %s: %s", replay_path, strerror(errno));
		return 1;
	}
	return 0;
}
