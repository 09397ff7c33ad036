// SPDX-License-Identifier: GPL-2.0
/*
 * crash-writer: random writes, overwrites and flushes of self-describing
 * blocks (stamp.h) to a block device, with a journal of what was
 * acknowledged before each flush, for the power-cut test.
 *
 * usage: crash-writer --dev DEV --journal FILE [options]
 *   --fill             write every 4 KiB block once (seq 0), then one flush
 *   --ops N            random writes (default 1000)
 *   --threads N        concurrent writers (default 4)
 *   --fsync-every N    a flush (fdatasync) after about every N acknowledged
 *                      writes (default 20)
 *   --max-blocks N     write sizes 1..N blocks of 4 KiB (default 16)
 *   --stripe-blocks N  writes stay inside aligned stripes of N blocks, one
 *                      writer per stripe at a time (default 32)
 *   --range FIRST:N    random writes only to blocks FIRST..FIRST+N-1 (4 KiB
 *                      blocks; stamps and journal keep device block numbers)
 *   --mark DMDEV       after flush k returned: send "mark fsync-k" to the
 *                      dm-log-writes device DMDEV, so the log records it
 *   --seed S
 *   --verify           write nothing: read DEV and check every block holds
 *                      the last acknowledged write of the journal
 *   --verify-durable   write nothing: read DEV and check every block holds a
 *                      valid stamp of at least the last write acknowledged
 *                      before the last flush that returned (the journal of a
 *                      writer killed by a power cut: later writes may or may
 *                      not have landed, and lines after that flush's S line
 *                      may be missing or torn)
 *
 * DEV may be a regular file (a guest's disk image, checked on the host).
 *
 * Journal lines (appended; the next run continues the numbering):
 *   W seq block nblocks   write acknowledged
 *   S k                   flush k starts: every W above was acknowledged
 *   D k                   flush k returned (mark fsync-k follows in the log)
 */
#include "stamp.h"
#include "dmctl.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd;
static FILE *journal;
static uint64_t range_first, range_n;
static uint64_t nblocks, ops, ops_done, next_seq, next_fsync, acked_since;
static unsigned threads = 4, fsync_every = 20, max_blocks = 16, stripe = 32;
static const char *mark_cmd;
static pthread_mutex_t jlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *stripe_lock;
static uint64_t seed = 1;
static volatile int failed;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int do_flush(void)
{
	uint64_t k;
	char msg[64];
	int r;

	pthread_mutex_lock(&jlock);
	k = next_fsync++;
	fprintf(journal, "S %" PRIu64 "\n", k);
	fflush(journal);
	pthread_mutex_unlock(&jlock);
	if (fdatasync(fd)) {
		fprintf(stderr, "crash-writer: flush %" PRIu64 ": %s\n", k, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&jlock);
	fprintf(journal, "D %" PRIu64 "\n", k);
	fflush(journal);
	pthread_mutex_unlock(&jlock);
	if (mark_cmd) {
		snprintf(msg, sizeof(msg), "mark fsync-%" PRIu64, k);
		r = dmctl_message(mark_cmd, msg);
		if (r) {
			fprintf(stderr, "crash-writer: %s on %s: %s\n", msg, mark_cmd, strerror(-r));
			return -1;
		}
	}
	return 0;
}

static void *worker(void *arg)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ULL + (uintptr_t)arg * 7919 + 1;
	uint8_t *buf;
	uint64_t nstripes = (range_n + stripe - 1) / stripe;

	if (posix_memalign((void **)&buf, 4096, (size_t)max_blocks * STAMP_BLOCK))
		return NULL;
	while (!failed) {
		uint64_t st, first, len, seq, i, lim;
		ssize_t n;

		pthread_mutex_lock(&jlock);
		if (ops_done >= ops) {
			pthread_mutex_unlock(&jlock);
			break;
		}
		ops_done++;
		pthread_mutex_unlock(&jlock);

		st = rnd(&s) % nstripes;
		lim = range_n - st * stripe < stripe ? range_n - st * stripe : stripe;
		first = rnd(&s) % lim;
		len = 1 + rnd(&s) % max_blocks;
		if (len > lim - first)
			len = lim - first;
		first += range_first + st * stripe;
		pthread_mutex_lock(&stripe_lock[st]);
		/*
		 * The sequence number is taken under the stripe lock: for every
		 * block, a later write has a higher number (the checker relies on
		 * it: "holds write >= the one acknowledged before the flush").
		 */
		pthread_mutex_lock(&jlock);
		seq = next_seq++;
		pthread_mutex_unlock(&jlock);
		for (i = 0; i < len; i++)
			stamp_make(buf + i * STAMP_BLOCK, first + i, seq);
		n = pwrite(fd, buf, len * STAMP_BLOCK, (off_t)(first * STAMP_BLOCK));
		if (n != (ssize_t)(len * STAMP_BLOCK)) {
			fprintf(stderr, "crash-writer: write of %" PRIu64 "+%" PRIu64 ": %s\n",
				first, len, n < 0 ? strerror(errno) : "short");
			failed = 1;
			pthread_mutex_unlock(&stripe_lock[st]);
			break;
		}
		pthread_mutex_lock(&jlock);
		fprintf(journal, "W %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", seq, first, len);
		acked_since++;
		pthread_mutex_unlock(&jlock);
		pthread_mutex_unlock(&stripe_lock[st]);
	}
	free(buf);
	return NULL;
}

/* Continue seq and flush numbering after an earlier run's journal. */
static void scan_journal(const char *path, uint64_t **last)
{
	FILE *f = fopen(path, "r");
	char line[256];
	uint64_t a, b, c;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "W %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b, &c) == 3) {
			if (a + 1 > next_seq)
				next_seq = a + 1;
			if (last)
				for (uint64_t i = b; i < b + c && i < nblocks; i++)
					(*last)[i] = a;
		} else if (sscanf(line, "S %" SCNu64, &a) == 1 && a + 1 > next_fsync) {
			next_fsync = a + 1;
		}
	}
	fclose(f);
}

/*
 * Block i of the device, read 1 MiB at a time (a guest verifying 256 MiB
 * with one 4 KiB request per block spent minutes under TCG).  NULL on a
 * read error.
 */
#define VERIFY_CHUNK 256
static const uint8_t *read_block(uint64_t i)
{
	static uint8_t *buf;
	static uint64_t first = UINT64_MAX, n;

	if (!buf && posix_memalign((void **)&buf, 4096, VERIFY_CHUNK * STAMP_BLOCK))
		return NULL;
	if (first == UINT64_MAX || i < first || i >= first + n) {
		first = i - i % VERIFY_CHUNK;
		n = nblocks - first < VERIFY_CHUNK ? nblocks - first : VERIFY_CHUNK;
		if (pread(fd, buf, n * STAMP_BLOCK, (off_t)(first * STAMP_BLOCK)) !=
		    (ssize_t)(n * STAMP_BLOCK)) {
			fprintf(stderr, "crash-writer: read blocks %" PRIu64 "+%" PRIu64 ": %s\n",
				first, n, strerror(errno));
			first = UINT64_MAX;
			return NULL;
		}
	}
	return buf + (i - first) * STAMP_BLOCK;
}

/*
 * The durable state of a journal: the last k with a complete "D k" line;
 * every W line above "S k" was acknowledged before flush k started, so it
 * is durable.  Lines without their newline (torn by the cut) are ignored.
 */
static int durable_journal(const char *path, uint64_t *want, uint64_t *kmax)
{
	FILE *f = fopen(path, "r");
	char line[256];
	uint64_t a, b, c;
	bool have = false;

	if (!f) {
		fprintf(stderr, "crash-writer: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			continue;
		if (sscanf(line, "D %" SCNu64, &a) == 1 && (!have || a > *kmax)) {
			*kmax = a;
			have = true;
		}
	}
	if (!have) {
		fclose(f);
		fprintf(stderr, "crash-writer: %s: no flush returned\n", path);
		return -1;
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			continue;
		if (sscanf(line, "S %" SCNu64, &a) == 1 && a == *kmax)
			break;
		if (sscanf(line, "W %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b, &c) == 3)
			for (uint64_t i = b; i < b + c && i < nblocks; i++)
				if (want[i] == UINT64_MAX || a > want[i])
					want[i] = a;
	}
	fclose(f);
	return 0;
}

static int verify_durable(const char *jpath)
{
	uint64_t *want = malloc(nblocks * sizeof(*want)), i, seq, kmax = 0;
	uint64_t bad = 0, checked = 0, newer = 0;
	const uint8_t *buf;

	if (!want)
		return 2;
	for (i = 0; i < nblocks; i++)
		want[i] = UINT64_MAX;
	if (durable_journal(jpath, want, &kmax))
		return 2;
	for (i = 0; i < nblocks; i++) {
		if (!(buf = read_block(i)))
			return 1;
		if (want[i] == UINT64_MAX)
			continue;
		checked++;
		if (stamp_check(buf, i, &seq) || seq < want[i]) {
			if (bad++ < 10)
				fprintf(stderr, "crash-writer: block %" PRIu64 " should hold write %"
					PRIu64 " or a later one\n", i, want[i]);
		} else if (seq > want[i]) {
			newer++;
		}
	}
	if (bad)
		fprintf(stderr, "crash-writer: %" PRIu64 " of %" PRIu64 " blocks lost durable data "
			"(flush %" PRIu64 ")\n", bad, checked, kmax);
	else
		printf("durable: %" PRIu64 " blocks hold the writes acknowledged before flush %" PRIu64
		       " (%" PRIu64 " a later one)\n", checked, kmax, newer);
	return bad ? 1 : 0;
}

static int verify(const char *jpath)
{
	uint64_t *last = malloc(nblocks * sizeof(*last)), i, seq, bad = 0;
	const uint8_t *buf;

	if (!last)
		return 2;
	for (i = 0; i < nblocks; i++)
		last[i] = UINT64_MAX;
	scan_journal(jpath, &last);
	for (i = 0; i < nblocks; i++) {
		if (!(buf = read_block(i)))
			return 1;
		if (last[i] == UINT64_MAX)
			continue;
		if (stamp_check(buf, i, &seq) || seq != last[i]) {
			if (bad++ < 10)
				fprintf(stderr, "crash-writer: block %" PRIu64 " should hold write %"
					PRIu64 "\n", i, last[i]);
		}
	}
	if (bad)
		fprintf(stderr, "crash-writer: %" PRIu64 " blocks do not hold their last write\n", bad);
	else
		printf("verified %" PRIu64 " blocks\n", nblocks);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "journal", required_argument, NULL, 'j' },
		{ "fill", no_argument, NULL, 'f' },
		{ "ops", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "fsync-every", required_argument, NULL, 'F' },
		{ "max-blocks", required_argument, NULL, 'm' },
		{ "stripe-blocks", required_argument, NULL, 'S' },
		{ "mark", required_argument, NULL, 'M' },
		{ "seed", required_argument, NULL, 's' },
		{ "range", required_argument, NULL, 'r' },
		{ "verify", no_argument, NULL, 'v' },
		{ "verify-durable", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dev = NULL, *jpath = NULL;
	bool fill = false, do_verify = false, durable = false;
	struct stat st;
	uint64_t size, i;
	pthread_t *tid;
	int c;

	ops = 1000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 'j': jpath = optarg; break;
		case 'f': fill = true; break;
		case 'o': ops = strtoull(optarg, NULL, 0); break;
		case 't': threads = (unsigned)atoi(optarg); break;
		case 'F': fsync_every = (unsigned)atoi(optarg); break;
		case 'm': max_blocks = (unsigned)atoi(optarg); break;
		case 'S': stripe = (unsigned)atoi(optarg); break;
		case 'M': mark_cmd = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0) | 1; break;
		case 'r':
			if (sscanf(optarg, "%" SCNu64 ":%" SCNu64, &range_first, &range_n) != 2 ||
			    !range_n) {
				fprintf(stderr, "crash-writer: --range FIRST:N\n");
				return 2;
			}
			break;
		case 'v': do_verify = true; break;
		case 'V': do_verify = durable = true; break;
		default:
			fprintf(stderr, "usage: crash-writer --dev DEV --journal FILE [--fill] [--ops N] ...\n");
			return 2;
		}
	}
	if (!dev || !jpath || !threads || !fsync_every || !max_blocks || max_blocks > 256 ||
	    stripe < max_blocks) {
		fprintf(stderr, "crash-writer: bad arguments\n");
		return 2;
	}
	fd = open(dev, (do_verify ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size)) {
		fprintf(stderr, "crash-writer: %s: %s\n", dev, strerror(errno));
		return 2;
	}
	nblocks = size / STAMP_BLOCK;
	if (!range_n)
		range_n = nblocks;
	if (range_first >= nblocks || range_n > nblocks - range_first) {
		fprintf(stderr, "crash-writer: --range beyond the %" PRIu64 " blocks of %s\n",
			nblocks, dev);
		return 2;
	}
	if (do_verify)
		return durable ? verify_durable(jpath) : verify(jpath);
	scan_journal(jpath, NULL);
	journal = fopen(jpath, "a");
	if (!journal) {
		fprintf(stderr, "crash-writer: %s: %s\n", jpath, strerror(errno));
		return 2;
	}
	if (fill) {
		uint8_t *buf;
		uint64_t chunk = 256;

		if (posix_memalign((void **)&buf, 4096, chunk * STAMP_BLOCK))
			return 2;
		for (i = 0; i < nblocks; i += chunk) {
			uint64_t n = nblocks - i < chunk ? nblocks - i : chunk;

			for (uint64_t j = 0; j < n; j++)
				stamp_make(buf + j * STAMP_BLOCK, i + j, 0);
			if (pwrite(fd, buf, n * STAMP_BLOCK, (off_t)(i * STAMP_BLOCK)) !=
			    (ssize_t)(n * STAMP_BLOCK)) {
				fprintf(stderr, "crash-writer: fill: %s\n", strerror(errno));
				return 1;
			}
			fprintf(journal, "W 0 %" PRIu64 " %" PRIu64 "\n", i, n);
		}
		if (!next_seq)
			next_seq = 1;
		return do_flush() ? 1 : 0;
	}
	if (!next_seq)
		next_seq = 1;
	stripe_lock = calloc((range_n + stripe - 1) / stripe, sizeof(*stripe_lock));
	tid = calloc(threads, sizeof(*tid));
	if (!stripe_lock || !tid)
		return 2;
	for (i = 0; i < (range_n + stripe - 1) / stripe; i++)
		pthread_mutex_init(&stripe_lock[i], NULL);
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)i);
	/* The main thread flushes, concurrently with the writers. */
	for (;;) {
		bool done, due;

		pthread_mutex_lock(&jlock);
		done = ops_done >= ops || failed;
		due = acked_since >= fsync_every;
		if (due)
			acked_since = 0;
		pthread_mutex_unlock(&jlock);
		if (done)
			break;
		if (due) {
			if (do_flush())
				failed = 1;
		} else {
			usleep(2000);
		}
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	if (!failed && do_flush())
		failed = 1;
	fclose(journal);
	return failed ? 1 : 0;
}
