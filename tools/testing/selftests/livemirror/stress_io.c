// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded differential I/O driver for the livemirror stress and race tests.
 *
 * The guest scripts (target-stress.sh, target-race-*.sh) run it; it has no
 * dm knowledge of its own except the on-disk log format, read to tell which
 * regions the durable log says "may differ".
 *
 *   stress_io run DEV STATE SEED PHASE OPS THREADS
 *	OPS operations from THREADS threads (queue depth = THREADS, up to 32,
 *	each thread one synchronous O_DIRECT request at a time): writes of
 *	512 B .. 1 MiB (512-aligned, many into a few small hot windows, so
 *	writes overlap in flight), discards (BLKDISCARD), write-zeroes
 *	(BLKZEROOUT), flushes (fdatasync) and reads that are checked against
 *	the expected data; thread 0's writes are a sequential stream.
 *	The sequence of each thread follows from
 *	(SEED, PHASE, thread): the interleaving between threads is the
 *	kernel's.  STATE keeps, per 512-byte sector, the tag of the last write
 *	that no other request overlapped while it was in flight (overlapped
 *	writes leave the sector "unknown", a discard too: its content is the
 *	device's choice).  It is created when missing and saved at the end.
 *   stress_io verify DEV STATE
 *	Every sector with a known tag must read back its expected bytes.
 *   stress_io compare SRC DST REGION_SECTORS [META [SECTORS]]
 *	Byte-for-byte, region by region; names every region that differs and,
 *	with META, what the durable log says about it (a differing region
 *	whose bit is clear is a write that a switch or a crash would lose).
 *   stress_io logbits META
 *	The durable log's dirty count and first dirty ranges.
 *   stress_io logclear META
 *	With no table on META: rewrite every bitmap block with all bits clear
 *	(valid checksum), so a table on two all-zero legs starts synced
 *	without copying them (large sparse legs for the C1 race).
 *   stress_io msgloop DM_NAME MESSAGE INTERVAL_MS SECONDS
 *	Send a target message every INTERVAL_MS through the dm ioctl (a
 *	dmsetup process costs most of a second in the emulated guest).
 *   stress_io m1race DEV SRC DST ROUNDS OFFSET
 *	Two threads pinned to CPU 0 and 1 write different 4 KiB patterns to
 *	the same OFFSET at the same moment, ROUNDS times; after each round
 *	the two legs are read at OFFSET.  Stops at the first round whose legs
 *	differ (so the difference is the final state) and prints it.
 *
 * Data pattern: sector s written by tag t holds 64 words
 * mix(t, s) + i * golden; tag 0 means zeroes (fresh files, write-zeroes).
 * Exit status: 0 clean, 1 a mismatch or an I/O error, 2 usage or setup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>

#include "../../../../dm-dirtylog/dirtylog-format.h"

#define SECTOR		512ULL
#define MAX_IO		(1ULL << 20)
#define MAX_THREADS	32
#define TAG_ZERO	0ULL
#define TAG_UNKNOWN	UINT64_MAX
#define GOLDEN		0x9e3779b97f4a7c15ULL

static uint64_t splitmix(uint64_t x)
{
	x += GOLDEN;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* xorshift64*: each thread has its own, seeded from (seed, phase, thread). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill_sector(uint64_t *w, uint64_t tag, uint64_t sector)
{
	uint64_t base;

	if (tag == TAG_ZERO) {
		memset(w, 0, SECTOR);
		return;
	}
	base = splitmix(tag ^ splitmix(sector));
	for (unsigned int i = 0; i < SECTOR / 8; i++)
		w[i] = base + i * GOLDEN;
}

/* Which tag's bytes does this sector hold?  Returns true if it is `tag`'s. */
static bool sector_is(const uint64_t *w, uint64_t tag, uint64_t sector)
{
	uint64_t exp[SECTOR / 8];

	fill_sector(exp, tag, sector);
	return !memcmp(w, exp, SECTOR);
}

static void *xalloc(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n)) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	return fd;
}

static uint64_t dev_bytes(int fd)
{
	uint64_t n = 0;
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	if (ioctl(fd, BLKGETSIZE64, &n))
		return 0;
	return n;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* ---- state file: one u64 tag per sector -------------------------------- */

struct state {
	uint64_t nsect;
	uint64_t *tag;
};

static int state_load(const char *path, struct state *st, uint64_t nsect)
{
	FILE *f = fopen(path, "rb");

	st->nsect = nsect;
	st->tag = calloc(nsect, sizeof(uint64_t));
	if (!st->tag)
		return -1;
	if (!f)
		return 0;	/* fresh legs: all zero */
	if (fread(st->tag, sizeof(uint64_t), nsect, f) != nsect) {
		fprintf(stderr, "%s: short state file\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int state_save(const char *path, const struct state *st)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(st->tag, sizeof(uint64_t), st->nsect, f) != st->nsect) {
		fprintf(stderr, "%s: cannot write the state\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

/* ---- run ----------------------------------------------------------------- */

enum op_kind { OP_WRITE, OP_DISCARD, OP_ZERO, OP_FLUSH, OP_READ, OP_KINDS };
static const char *const op_name[OP_KINDS] = { "write", "discard", "zeroout", "flush", "read" };

struct inflight {
	bool used;
	enum op_kind kind;
	uint64_t start, end;	/* sectors, [start, end) */
	bool conflicted;	/* another request overlapped it in flight */
};

struct run {
	int fd;
	uint64_t nsect;
	struct state st;
	uint64_t seed;
	unsigned int phase, nthreads;
	uint64_t ops_per_thread;
	bool no_range;		/* LM_STRESS_NO_RANGE=1 */
	uint64_t hot[4];	/* hot windows (sector starts), 256 KiB each */
	pthread_mutex_t lock;
	struct inflight fl[MAX_THREADS];
	atomic_uint_fast64_t count[OP_KINDS], overlaps, verified, bad, errors, bytes;
	atomic_int printed;
};

/* Register a request; mark it and every overlapping one in flight. */
static void track_start(struct run *r, unsigned int t, enum op_kind k, uint64_t s, uint64_t e)
{
	struct inflight *me = &r->fl[t];

	pthread_mutex_lock(&r->lock);
	me->used = true;
	me->kind = k;
	me->start = s;
	me->end = e;
	me->conflicted = false;
	for (unsigned int i = 0; i < r->nthreads; i++) {
		struct inflight *o = &r->fl[i];

		if (i == t || !o->used || o->end <= s || e <= o->start)
			continue;
		/* A read changes nothing: it never makes a write unknown. */
		if (k != OP_READ)
			o->conflicted = true;
		if (o->kind != OP_READ)
			me->conflicted = true;
		if (k != OP_READ && o->kind != OP_READ)
			atomic_fetch_add(&r->overlaps, 1);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Retire a request; a modifying one records what its sectors now hold. */
static bool track_end(struct run *r, unsigned int t, uint64_t tag, bool ok)
{
	struct inflight *me = &r->fl[t];
	bool conflicted;

	pthread_mutex_lock(&r->lock);
	conflicted = me->conflicted;
	if (me->kind == OP_WRITE || me->kind == OP_ZERO || me->kind == OP_DISCARD) {
		uint64_t v = (!ok || conflicted || me->kind == OP_DISCARD) ? TAG_UNKNOWN : tag;

		for (uint64_t s = me->start; s < me->end; s++)
			r->st.tag[s] = v;
	}
	me->used = false;
	pthread_mutex_unlock(&r->lock);
	return conflicted;
}

static void io_error(struct run *r, const char *what, uint64_t s, uint64_t n, int err)
{
	atomic_fetch_add(&r->errors, 1);
	if (atomic_fetch_add(&r->printed, 1) < 20)
		printf("# I/O error: %s at sector %" PRIu64 " +%" PRIu64 ": %s\n", what, s, n,
		       strerror(err));
}

static uint64_t pick_len(uint64_t *rs, uint64_t align_sect)
{
	uint64_t p = rnd_below(rs, 100), n;

	/* Mostly small, some medium, a few up to 1 MiB: bounded time under TCG. */
	if (p < 70)
		n = 1 + rnd_below(rs, 16);		/* <= 8 KiB */
	else if (p < 97)
		n = 1 + rnd_below(rs, 128);		/* <= 64 KiB */
	else
		n = 1 + rnd_below(rs, MAX_IO / SECTOR);	/* <= 1 MiB */
	n = (n + align_sect - 1) / align_sect * align_sect;
	return n;
}

static uint64_t pick_start(struct run *r, uint64_t *rs, uint64_t n, uint64_t align_sect)
{
	uint64_t s;

	if (n >= r->nsect)
		return 0;
	if (rnd_below(rs, 100) < 35) {
		/* a hot window: requests from several threads collide there */
		s = r->hot[rnd_below(rs, 4)] + rnd_below(rs, 512);
	} else {
		s = rnd_below(rs, r->nsect - n);
	}
	s = s / align_sect * align_sect;
	if (s + n > r->nsect)
		s = (r->nsect - n) / align_sect * align_sect;
	return s;
}

struct worker {
	struct run *r;
	unsigned int t;
};

static void check_read(struct run *r, const uint64_t *buf, uint64_t s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t tag = r->st.tag[s + i];

		if (tag == TAG_UNKNOWN)
			continue;
		atomic_fetch_add(&r->verified, 1);
		if (!sector_is(buf + i * (SECTOR / 8), tag, s + i)) {
			atomic_fetch_add(&r->bad, 1);
			if (atomic_fetch_add(&r->printed, 1) < 20)
				printf("# read mismatch: sector %" PRIu64 " expected tag %#" PRIx64 "\n",
				       s + i, tag);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	uint64_t rs = splitmix(r->seed ^ splitmix(((uint64_t)r->phase << 8) | w->t)) | 1;
	uint64_t *buf = xalloc(MAX_IO);
	uint64_t stream = rnd_below(&rs, r->nsect) / 8 * 8;

	for (uint64_t i = 0; i < r->ops_per_thread; i++) {
		/* unique, never 0 or ~0: phase, thread, index */
		uint64_t tag = ((uint64_t)(r->phase + 1) << 40) | ((uint64_t)w->t << 32) | (i + 1);
		uint64_t p = rnd_below(&rs, 100), s, n, range[2];
		enum op_kind k;
		bool ok = true;
		ssize_t got;

		k = p < 68 ? OP_WRITE : p < 74 ? OP_DISCARD : p < 80 ? OP_ZERO :
		    p < 86 ? OP_FLUSH : OP_READ;
		/* LM_STRESS_NO_RANGE=1 (experiments): writes instead of discards and zeroouts */
		if ((k == OP_DISCARD || k == OP_ZERO) && r->no_range)
			k = OP_WRITE;
		atomic_fetch_add(&r->count[k], 1);
		if (k == OP_FLUSH) {
			if (fdatasync(r->fd))
				io_error(r, "flush", 0, 0, errno);
			continue;
		}
		/* Discards 4 KiB-aligned (a hole-punching leg's unit). */
		n = pick_len(&rs, k == OP_DISCARD ? 8 : 1);
		s = pick_start(r, &rs, n, k == OP_DISCARD ? 8 : 1);
		if (w->t == 0 && r->nthreads > 1 && k == OP_WRITE) {
			/*
			 * Thread 0 streams: sequential 4..16 KiB writes, several
			 * per region, the pattern that runs just ahead of the
			 * copier's scan (review C1).
			 */
			n = 8 * (1 + rnd_below(&rs, 4));
			if (stream + n > r->nsect)
				stream = 0;
			s = stream;
			stream += n;
		}
		if (k == OP_WRITE)
			for (uint64_t j = 0; j < n; j++)
				fill_sector(buf + j * (SECTOR / 8), tag, s + j);
		track_start(r, w->t, k, s, s + n);
		range[0] = s * SECTOR;
		range[1] = n * SECTOR;
		switch (k) {
		case OP_WRITE:
			got = pwrite(r->fd, buf, n * SECTOR, (off_t)(s * SECTOR));
			ok = got == (ssize_t)(n * SECTOR);
			if (!ok)
				io_error(r, "write", s, n, got < 0 ? errno : EIO);
			else
				atomic_fetch_add(&r->bytes, n * SECTOR);
			break;
		case OP_DISCARD:
		case OP_ZERO:
			ok = !ioctl(r->fd, k == OP_DISCARD ? BLKDISCARD : BLKZEROOUT, range);
			if (!ok)
				io_error(r, op_name[k], s, n, errno);
			break;
		case OP_READ:
			ok = pread_full(r->fd, buf, n * SECTOR, s * SECTOR) == 0;
			if (!ok)
				io_error(r, "read", s, n, errno);
			break;
		default:
			break;
		}
		if (k == OP_READ) {
			/* tags are stable while this read's range has no writer */
			pthread_mutex_lock(&r->lock);
			if (ok && !r->fl[w->t].conflicted)
				check_read(r, buf, s, n);
			pthread_mutex_unlock(&r->lock);
		}
		track_end(r, w->t, k == OP_ZERO ? TAG_ZERO : tag, ok);
	}
	free(buf);
	return NULL;
}

static int cmd_run(char **av)
{
	struct run *r = calloc(1, sizeof(*r));
	pthread_t th[MAX_THREADS];
	struct worker wk[MAX_THREADS];
	uint64_t ops = strtoull(av[4], NULL, 0), hs;
	double t0;
	int ret;

	if (!r)
		return 2;
	r->seed = strtoull(av[2], NULL, 0);
	r->phase = (unsigned int)strtoul(av[3], NULL, 0);
	r->nthreads = (unsigned int)strtoul(av[5], NULL, 0);
	if (!r->nthreads || r->nthreads > MAX_THREADS) {
		fprintf(stderr, "threads: 1..%d\n", MAX_THREADS);
		return 2;
	}
	r->fd = open_dev(av[0], O_RDWR);
	if (r->fd < 0)
		return 2;
	r->nsect = dev_bytes(r->fd) / SECTOR;
	if (r->nsect < 4 * MAX_IO / SECTOR) {
		fprintf(stderr, "%s: too small\n", av[0]);
		return 2;
	}
	if (state_load(av[1], &r->st, r->nsect))
		return 2;
	pthread_mutex_init(&r->lock, NULL);
	r->ops_per_thread = (ops + r->nthreads - 1) / r->nthreads;
	r->no_range = getenv("LM_STRESS_NO_RANGE") && atoi(getenv("LM_STRESS_NO_RANGE"));
	hs = splitmix(r->seed ^ 0x484f54ULL ^ r->phase) | 1;	/* the phase's hot windows */
	for (int i = 0; i < 4; i++)
		r->hot[i] = rnd_below(&hs, r->nsect - 2 * MAX_IO / SECTOR);
	t0 = now_s();
	for (unsigned int t = 0; t < r->nthreads; t++) {
		wk[t].r = r;
		wk[t].t = t;
		if (pthread_create(&th[t], NULL, worker_main, &wk[t])) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	for (unsigned int t = 0; t < r->nthreads; t++)
		pthread_join(th[t], NULL);
	printf("# stress_io phase %u seed %" PRIu64 ": %" PRIu64 " ops from %u threads in %.1f s"
	       " (write %" PRIu64 ", discard %" PRIu64 ", zeroout %" PRIu64 ", flush %" PRIu64
	       ", read %" PRIu64 "), %.1f MiB written, %" PRIu64 " overlapping pairs, %" PRIu64
	       " sectors read-verified, %" PRIu64 " bad, %" PRIu64 " I/O errors\n",
	       r->phase, r->seed, r->ops_per_thread * r->nthreads, r->nthreads, now_s() - t0,
	       (uint64_t)r->count[OP_WRITE], (uint64_t)r->count[OP_DISCARD],
	       (uint64_t)r->count[OP_ZERO], (uint64_t)r->count[OP_FLUSH],
	       (uint64_t)r->count[OP_READ], (double)r->bytes / (1 << 20),
	       (uint64_t)r->overlaps, (uint64_t)r->verified, (uint64_t)r->bad,
	       (uint64_t)r->errors);
	if (state_save(av[1], &r->st))
		return 2;
	ret = (r->bad || r->errors) ? 1 : 0;
	close(r->fd);
	free(r->st.tag);
	free(r);
	return ret;
}

/* ---- verify ---------------------------------------------------------------- */

static int cmd_verify(char **av)
{
	int fd = open_dev(av[0], O_RDONLY);
	struct state st;
	uint64_t nsect, chunk = MAX_IO / SECTOR, verified = 0, unknown = 0, bad = 0;
	uint64_t *buf = xalloc(MAX_IO);

	if (fd < 0)
		return 2;
	nsect = dev_bytes(fd) / SECTOR;
	if (state_load(av[1], &st, nsect))
		return 2;
	for (uint64_t s = 0; s < nsect; s += chunk) {
		uint64_t n = nsect - s < chunk ? nsect - s : chunk;

		if (pread_full(fd, buf, n * SECTOR, s * SECTOR)) {
			printf("# %s: read error at sector %" PRIu64 ": %s\n", av[0], s,
			       strerror(errno));
			return 1;
		}
		for (uint64_t i = 0; i < n; i++) {
			uint64_t tag = st.tag[s + i];

			if (tag == TAG_UNKNOWN) {
				unknown++;
				continue;
			}
			verified++;
			if (!sector_is(buf + i * (SECTOR / 8), tag, s + i) && bad++ < 20)
				printf("# %s: sector %" PRIu64 " does not hold tag %#" PRIx64 "%s\n",
				       av[0], s + i, tag, tag == TAG_ZERO ? " (zeroes)" : "");
		}
	}
	printf("# verify %s: %" PRIu64 " sectors checked, %" PRIu64 " unknown (overlapped or"
	       " discarded), %" PRIu64 " wrong\n", av[0], verified, unknown, bad);
	free(buf);
	free(st.tag);
	close(fd);
	return bad ? 1 : 0;
}

/* ---- the durable log ------------------------------------------------------ */

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = ~0U;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78U & (0U - (c & 1)));
	}
	return ~c;
}

struct log {
	uint64_t nr_regions, dirty;
	uint8_t *bits;		/* 1 bit per region, LSB first */
	char state[16];
};

static uint64_t le64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;	/* x86: little-endian, as the format */
}

/*
 * Read the newest valid superblock and the bitmap.  A bitmap block that is
 * not this log's (bad checksum, blocknr or uuid) counts as all dirty, as the
 * kernel loads it.
 */
static int log_read(const char *path, struct log *lg)
{
	int fd = open_dev(path, O_RDONLY);
	uint8_t *blk = xalloc(LM_BLOCK_SIZE), *sbb = xalloc(LM_BLOCK_SIZE);
	struct lm_superblock *sb = (void *)sbb;
	uint64_t best_gen = 0, start, nblk;
	bool found = false;
	static const char *const names[] = { "invalid", "copying", "prepared", "switched",
					     "cancelled" };

	if (fd < 0)
		return -1;
	for (int i = 0; i < LM_SB_SLOTS; i++) {
		struct lm_superblock *s = (void *)blk;

		if (pread_full(fd, blk, LM_BLOCK_SIZE, (uint64_t)i * LM_BLOCK_SIZE))
			continue;
		if (le64(&s->magic) != LM_MAGIC ||
		    crc32c(blk + 4, LM_BLOCK_SIZE - 4) != s->csum)
			continue;
		if (!found || le64(&s->generation) > best_gen) {
			memcpy(sbb, blk, LM_BLOCK_SIZE);
			best_gen = le64(&s->generation);
			found = true;
		}
	}
	if (!found) {
		fprintf(stderr, "%s: no valid superblock\n", path);
		free(blk);
		free(sbb);
		close(fd);
		return -1;
	}
	lg->nr_regions = le64(&sb->nr_regions);
	snprintf(lg->state, sizeof(lg->state), "%s", sb->state < 5 ? names[sb->state] : "?");
	start = le64(&sb->bitmap_start);
	nblk = lm_bitmap_blocks(lg->nr_regions);
	lg->bits = calloc(nblk * (LM_BITS_PER_BLOCK / 8), 1);
	lg->dirty = 0;
	for (uint64_t b = 0; b < nblk; b++) {
		struct lm_bitmap_header *h = (void *)blk;
		uint8_t *dst = lg->bits + b * (LM_BITS_PER_BLOCK / 8);
		bool ok = !pread_full(fd, blk, LM_BLOCK_SIZE, (start + b) * LM_BLOCK_SIZE) &&
			  crc32c(blk + 4, LM_BLOCK_SIZE - 4) == h->csum &&
			  le64(&h->blocknr) == b && !memcmp(h->uuid, sb->uuid, LM_UUID_LEN);

		if (ok)
			memcpy(dst, blk + LM_BITMAP_HEADER_SIZE, LM_BITS_PER_BLOCK / 8);
		else
			memset(dst, 0xff, LM_BITS_PER_BLOCK / 8);
	}
	for (uint64_t r = 0; r < lg->nr_regions; r++)
		lg->dirty += (lg->bits[r / 8] >> (r % 8)) & 1;
	free(blk);
	free(sbb);
	close(fd);
	return 0;
}

static bool log_bit(const struct log *lg, uint64_t r)
{
	return r >= lg->nr_regions || ((lg->bits[r / 8] >> (r % 8)) & 1);
}

static int cmd_logbits(char **av)
{
	struct log lg;
	int shown = 0;

	if (log_read(av[0], &lg))
		return 2;
	printf("# log %s: state %s, %" PRIu64 " of %" PRIu64 " regions dirty on disk", av[0],
	       lg.state, lg.dirty, lg.nr_regions);
	for (uint64_t r = 0; r < lg.nr_regions && shown < 16; r++)
		if (log_bit(&lg, r))
			printf("%s%" PRIu64, shown++ ? "," : ": ", r);
	printf("%s\n", shown == 16 ? ",..." : "");
	free(lg.bits);
	return 0;
}

/* ---- compare ---------------------------------------------------------------- */

static int cmd_compare(char **av, int ac)
{
	int a = open_dev(av[0], O_RDONLY), b = open_dev(av[1], O_RDONLY);
	uint64_t rs = strtoull(av[2], NULL, 0), nsect, nreg, differ = 0, unlogged = 0;
	uint64_t chunk = MAX_IO / SECTOR;
	uint8_t *ba, *bb;
	struct log lg;
	bool have_log = false;

	if (a < 0 || b < 0 || !rs)
		return 2;
	if (ac > 3) {
		if (log_read(av[3], &lg))
			return 2;
		have_log = true;
	}
	nsect = dev_bytes(a) / SECTOR;
	if (ac > 4 && strtoull(av[4], NULL, 0) < nsect)
		nsect = strtoull(av[4], NULL, 0);	/* only the part a test wrote */
	nreg = (nsect + rs - 1) / rs;
	if (rs > chunk)
		chunk = rs;
	ba = xalloc(chunk * SECTOR);
	bb = xalloc(chunk * SECTOR);
	for (uint64_t s = 0; s < nsect; s += chunk) {
		uint64_t n = nsect - s < chunk ? nsect - s : chunk;

		if (pread_full(a, ba, n * SECTOR, s * SECTOR) ||
		    pread_full(b, bb, n * SECTOR, s * SECTOR)) {
			printf("# compare: read error at sector %" PRIu64 "\n", s);
			return 1;
		}
		for (uint64_t o = 0; o < n; o += rs) {
			uint64_t len = n - o < rs ? n - o : rs, reg = (s + o) / rs, first = 0;

			if (!memcmp(ba + o * SECTOR, bb + o * SECTOR, len * SECTOR))
				continue;
			while (first < len && !memcmp(ba + (o + first) * SECTOR,
						      bb + (o + first) * SECTOR, SECTOR))
				first++;
			differ++;
			if (have_log && !log_bit(&lg, reg))
				unlogged++;
			if (differ <= 50)
				printf("# region %" PRIu64 " differs (sectors %" PRIu64 "-%" PRIu64
				       ", first differing sector %" PRIu64 ")%s\n", reg, s + o,
				       s + o + len - 1, s + o + first,
				       !have_log ? "" : log_bit(&lg, reg) ?
				       ", log bit set" : ", log bit CLEAR: the log calls it in sync");
		}
	}
	printf("# compare %s %s: %" PRIu64 " of %" PRIu64 " regions differ", av[0], av[1], differ,
	       nreg);
	if (have_log)
		printf(", %" PRIu64 " of them with a clear log bit; log %s, %" PRIu64
		       " regions dirty on disk", unlogged, lg.state, lg.dirty);
	printf("\n");
	free(ba);
	free(bb);
	if (have_log)
		free(lg.bits);
	close(a);
	close(b);
	return differ ? 1 : 0;
}

/* ---- logclear, msgloop ----------------------------------------------------- */

static int cmd_logclear(char **av)
{
	int fd = open_dev(av[0], O_RDWR);
	uint8_t *blk = xalloc(LM_BLOCK_SIZE);
	struct lm_superblock *sb = xalloc(LM_BLOCK_SIZE);
	uint64_t best = 0, nblk, start;
	bool found = false;

	if (fd < 0)
		return 2;
	for (int i = 0; i < LM_SB_SLOTS; i++) {
		struct lm_superblock *s = (void *)blk;

		if (pread_full(fd, blk, LM_BLOCK_SIZE, (uint64_t)i * LM_BLOCK_SIZE) ||
		    le64(&s->magic) != LM_MAGIC || crc32c(blk + 4, LM_BLOCK_SIZE - 4) != s->csum)
			continue;
		if (!found || le64(&s->generation) > best) {
			memcpy(sb, blk, LM_BLOCK_SIZE);
			best = le64(&s->generation);
			found = true;
		}
	}
	if (!found) {
		fprintf(stderr, "%s: no valid superblock\n", av[0]);
		return 2;
	}
	nblk = lm_bitmap_blocks(le64(&sb->nr_regions));
	start = le64(&sb->bitmap_start);
	for (uint64_t b = 0; b < nblk; b++) {
		struct lm_bitmap_header *h = (void *)blk;
		uint32_t c;

		memset(blk, 0, LM_BLOCK_SIZE);
		h->blocknr = b;
		memcpy(h->uuid, sb->uuid, LM_UUID_LEN);
		c = crc32c(blk + 4, LM_BLOCK_SIZE - 4);
		h->csum = c;
		if (pwrite(fd, blk, LM_BLOCK_SIZE, (off_t)((start + b) * LM_BLOCK_SIZE)) !=
		    LM_BLOCK_SIZE) {
			fprintf(stderr, "%s: write: %s\n", av[0], strerror(errno));
			return 2;
		}
	}
	if (fsync(fd))
		return 2;
	printf("# logclear %s: %" PRIu64 " bitmap blocks, %" PRIu64 " regions clean\n", av[0],
	       nblk, le64(&sb->nr_regions));
	free(blk);
	free(sb);
	close(fd);
	return 0;
}

static int cmd_msgloop(char **av)
{
	size_t len = sizeof(struct dm_ioctl) + sizeof(struct dm_target_msg) + 256;
	struct dm_ioctl *io = calloc(1, len);
	struct dm_target_msg *msg = (void *)(io + 1);
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	double iv = strtod(av[2], NULL) / 1000.0, end = now_s() + strtod(av[3], NULL);
	uint64_t sent = 0, failed = 0;

	if (fd < 0 || !io) {
		fprintf(stderr, "/dev/mapper/control: %s\n", strerror(errno));
		return 2;
	}
	while (now_s() < end) {
		memset(io, 0, len);
		io->version[0] = DM_VERSION_MAJOR;
		io->version[1] = 0;
		io->version[2] = 0;
		io->data_size = (uint32_t)len;
		io->data_start = sizeof(*io);
		snprintf(io->name, sizeof(io->name), "%s", av[0]);
		msg->sector = 0;
		snprintf(msg->message, 256, "%s", av[1]);
		if (ioctl(fd, DM_TARGET_MSG, io))
			failed++;
		else
			sent++;
		usleep((useconds_t)(iv * 1e6));
	}
	printf("# msgloop %s '%s': %" PRIu64 " sent, %" PRIu64 " refused\n", av[0], av[1], sent,
	       failed);
	close(fd);
	free(io);
	return 0;
}

/* ---- m1race ------------------------------------------------------------- */

struct racer {
	int fd, cpu;
	uint64_t off, rounds;
	uint8_t pat;
	pthread_barrier_t *start, *done;
	atomic_bool *stop;
	int err;
};

static void *racer_main(void *arg)
{
	struct racer *rc = arg;
	uint8_t *buf = xalloc(4096);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(rc->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort: one vCPU still races */
	memset(buf, rc->pat, 4096);
	for (;;) {
		pthread_barrier_wait(rc->start);
		if (atomic_load(rc->stop))
			break;
		if (pwrite(rc->fd, buf, 4096, (off_t)rc->off) != 4096)
			rc->err = errno ? errno : EIO;
		pthread_barrier_wait(rc->done);
	}
	free(buf);
	return NULL;
}

static int cmd_m1race(char **av)
{
	int fd = open_dev(av[0], O_RDWR), fs = open_dev(av[1], O_RDONLY);
	int fdd = open_dev(av[2], O_RDONLY);
	uint64_t rounds = strtoull(av[3], NULL, 0), off = strtoull(av[4], NULL, 0), i;
	pthread_barrier_t start, done;
	atomic_bool stop = false;
	struct racer rc[2];
	pthread_t th[2];
	uint8_t *a = xalloc(4096), *b = xalloc(4096);
	uint64_t seen_a = 0, seen_b = 0;
	double t0 = now_s();
	int ret = 0;

	if (fd < 0 || fs < 0 || fdd < 0)
		return 2;
	pthread_barrier_init(&start, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	for (int t = 0; t < 2; t++) {
		rc[t] = (struct racer){ .fd = fd, .cpu = t, .off = off, .pat = t ? 0xbb : 0xaa,
					.start = &start, .done = &done, .stop = &stop };
		pthread_create(&th[t], NULL, racer_main, &rc[t]);
	}
	for (i = 0; i < rounds; i++) {
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&done);
		if (rc[0].err || rc[1].err) {
			printf("# round %" PRIu64 ": write error %s\n", i,
			       strerror(rc[0].err ? rc[0].err : rc[1].err));
			ret = 1;
			break;
		}
		if (pread_full(fs, a, 4096, off) || pread_full(fdd, b, 4096, off)) {
			printf("# round %" PRIu64 ": leg read error\n", i);
			ret = 1;
			break;
		}
		a[0] == 0xaa ? seen_a++ : seen_b++;
		if (memcmp(a, b, 4096)) {
			printf("# round %" PRIu64 ": legs differ at byte offset %" PRIu64
			       ": source holds 0x%02x.., destination 0x%02x.. (writer patterns 0xaa,"
			       " 0xbb, both completed)\n", i, off, a[0], b[0]);
			ret = 1;
			i++;
			break;
		}
	}
	atomic_store(&stop, true);
	pthread_barrier_wait(&start);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	free(a);
	free(b);
	printf("# m1race: %" PRIu64 " rounds in %.1f s, source ended 0xaa %" PRIu64
	       " times, 0xbb %" PRIu64 " times%s\n", i, now_s() - t0, seen_a, seen_b,
	       ret ? "; stopped at a difference" : "; legs equal after every round");
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress_io run DEV STATE SEED PHASE OPS THREADS\n"
		"       stress_io verify DEV STATE\n"
		"       stress_io compare SRC DST REGION_SECTORS [META [SECTORS]]\n"
		"       stress_io logbits META\n"
		"       stress_io logclear META\n"
		"       stress_io msgloop DM_NAME MESSAGE INTERVAL_MS SECONDS\n"
		"       stress_io m1race DEV SRC DST ROUNDS OFFSET\n");
	exit(2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "run") && argc == 8)
		return cmd_run(argv + 2);
	if (!strcmp(argv[1], "verify") && argc == 4)
		return cmd_verify(argv + 2);
	if (!strcmp(argv[1], "compare") && argc >= 5 && argc <= 7)
		return cmd_compare(argv + 2, argc - 2);
	if (!strcmp(argv[1], "logbits") && argc == 3)
		return cmd_logbits(argv + 2);
	if (!strcmp(argv[1], "logclear") && argc == 3)
		return cmd_logclear(argv + 2);
	if (!strcmp(argv[1], "msgloop") && argc == 6)
		return cmd_msgloop(argv + 2);
	if (!strcmp(argv[1], "m1race") && argc == 7)
		return cmd_m1race(argv + 2);
	usage();
	return 2;
}
