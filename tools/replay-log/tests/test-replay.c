// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of replay-log: writes synthetic dm-log-writes logs in the
 * kernel's format (see ../lwlog.h), runs the tool on them and compares with
 * an in-memory model.  TAP output.  usage: test-replay ./replay-log
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLUSH 1
#define FUA 2
#define DISCARD 4
#define MARK 8
#define META 16
#define DEV_SECTORS 64

struct ent {
	uint64_t sector, nr, flags;
	const char *mark;
	int pattern;
};

static const struct ent ents[] = {
	{ 0, 8, 0, NULL, 'A' },
	{ 4, 4, 0, NULL, 'B' },
	{ 0, 0, FLUSH, NULL, 0 },
	{ 0, 0, MARK, "phase1", 0 },
	{ 16, 2, FUA, NULL, 'C' },
	{ 0, 2, DISCARD, NULL, 0 },
	{ 20, 4, META, NULL, 'D' },
	{ 30, 2, FLUSH, NULL, 'E' },
	{ 0, 0, MARK, "phase2", 0 },
	{ 2, 1, 0, NULL, 'F' },
	{ 0, 0, MARK, "dm-log-writes-end", 0 },
};
#define NENT (sizeof(ents) / sizeof(ents[0]))

static int tn, failed;
static char dir[] = "/tmp/test-replay.XXXXXX";
static const char *tool;

static void ok(bool c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(bool c, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", c ? "" : "not ", ++tn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!c)
		failed++;
}

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fill(uint8_t *p, size_t len, int pattern, uint64_t sector, unsigned ss)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(pattern + (sector + i / ss) * 7 + i);
}

/* Write the log; nr_entries as given (may lie), truncate if asked. */
static void write_log(const char *path, unsigned ss, uint64_t nr_entries,
		      uint64_t magic, long truncate_by)
{
	FILE *f = fopen(path, "w");
	uint8_t *blk = calloc(1, ss), *data;
	size_t i;
	long len;

	put64(blk, magic);
	put64(blk + 8, 1);
	put64(blk + 16, nr_entries);
	blk[24] = (uint8_t)ss;
	blk[25] = (uint8_t)(ss >> 8);
	fwrite(blk, 1, ss, f);
	for (i = 0; i < NENT; i++) {
		const struct ent *e = &ents[i];

		memset(blk, 0, ss);
		put64(blk, e->sector);
		put64(blk + 8, e->nr);
		put64(blk + 16, e->flags);
		put64(blk + 24, e->mark ? strlen(e->mark) : 0);
		if (e->mark)
			memcpy(blk + 32, e->mark, strlen(e->mark));
		fwrite(blk, 1, ss, f);
		if (e->nr && !(e->flags & DISCARD)) {
			data = malloc(e->nr * ss);
			fill(data, e->nr * ss, e->pattern, e->sector, ss);
			fwrite(data, 1, e->nr * ss, f);
			free(data);
		}
	}
	len = ftell(f);
	fclose(f);
	if (truncate_by && truncate(path, len - truncate_by))
		perror("truncate");
	free(blk);
}

/* Expected device content after entries [0, n]; discard zero or stale. */
static void model(uint8_t *img, unsigned ss, long n, bool zero_discard)
{
	long i;

	memset(img, 0x5a, DEV_SECTORS * ss);
	for (i = 0; i <= n && i < (long)NENT; i++) {
		const struct ent *e = &ents[i];

		if (e->flags & MARK)
			continue;
		if (e->flags & DISCARD) {
			if (zero_discard)
				memset(img + e->sector * ss, 0, e->nr * ss);
			continue;
		}
		fill(img + e->sector * ss, e->nr * ss, e->pattern, e->sector, ss);
	}
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void fresh_dev(const char *path, unsigned ss)
{
	FILE *f = fopen(path, "w");
	uint8_t *b = malloc(DEV_SECTORS * ss);

	memset(b, 0x5a, DEV_SECTORS * ss);
	fwrite(b, 1, DEV_SECTORS * ss, f);
	fclose(f);
	free(b);
}

static bool dev_is(const char *path, unsigned ss, long n, bool zero_discard)
{
	size_t len;
	uint8_t *want = malloc(DEV_SECTORS * ss);
	char *got = slurp(path, &len);
	bool r;

	model(want, ss, n, zero_discard);
	r = got && len == DEV_SECTORS * ss && !memcmp(got, want, len);
	free(want);
	free(got);
	return r;
}

static void test_ss(unsigned ss)
{
	char log[256], dev[256], out[256], cur[256], *s;
	long n, a, b;
	bool all;

	snprintf(log, sizeof(log), "%s/log%u", dir, ss);
	snprintf(dev, sizeof(dev), "%s/dev%u", dir, ss);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(cur, sizeof(cur), "%s/cursor", dir);
	write_log(log, ss, NENT, 0x6a736677736872ULL, 0);

	ok(run("%s --log %s --summary >%s", tool, log, out) == 0, "ss %u: summary runs", ss);
	s = slurp(out, NULL);
	{
		char want[64];

		struct stat st;

		stat(log, &st);
		snprintf(want, sizeof(want), "entries %zu sectorsize %u bytes %lld\n", NENT, ss,
			 (long long)st.st_size);
		ok(s && !strcmp(s, want), "ss %u: summary gives entries and sectorsize", ss);
	}
	free(s);

	ok(run("%s --log %s --list >%s", tool, log, out) == 0, "ss %u: list runs", ss);
	s = slurp(out, NULL);
	ok(s && !strcmp(s,
		"0\t0\t8\t-\n1\t4\t4\t-\n2\t0\t0\tFLUSH\n3\t0\t0\tMARK\tphase1\n"
		"4\t16\t2\tFUA\n5\t0\t2\tDISCARD\n6\t20\t4\tMETADATA\n7\t30\t2\tFLUSH\n"
		"8\t0\t0\tMARK\tphase2\n9\t2\t1\t-\n10\t0\t0\tMARK\tdm-log-writes-end\n"),
	   "ss %u: list shows index, sector, nr_sectors, flags, mark", ss);
	free(s);
	ok(run("%s --log %s --list --start 3 --end 4 >%s", tool, log, out) == 0, "ss %u: list range", ss);
	s = slurp(out, NULL);
	ok(s && !strcmp(s, "3\t0\t0\tMARK\tphase1\n4\t16\t2\tFUA\n"), "ss %u: list range content", ss);
	free(s);

	ok(run("%s --log %s --find-flushes >%s", tool, log, out) == 0, "ss %u: find-flushes runs", ss);
	s = slurp(out, NULL);
	ok(s && !strcmp(s, "2\tFLUSH\n4\tFUA\n7\tFLUSH\n"), "ss %u: find-flushes lists FLUSH and FUA", ss);
	free(s);

	ok(run("%s --log %s --next-mark phase2 >%s", tool, log, out) == 0, "ss %u: next-mark found", ss);
	s = slurp(out, NULL);
	ok(s && !strcmp(s, "8\n"), "ss %u: next-mark phase2 is entry 8", ss);
	free(s);
	ok(run("%s --log %s --next-mark phase1 --start 4 >%s 2>&1", tool, log, out) == 1,
	   "ss %u: next-mark after the mark: exit 1", ss);
	ok(run("%s --log %s --next-mark nosuch >%s 2>&1", tool, log, out) == 1,
	   "ss %u: unknown mark: exit 1", ss);

	all = true;
	for (n = 0; n < (long)NENT; n++) {
		fresh_dev(dev, ss);
		if (run("%s --log %s --replay %s --end %ld", tool, log, dev, n) || !dev_is(dev, ss, n, true))
			all = false;
	}
	ok(all, "ss %u: replay of [0, N] matches the model for every N", ss);

	/* Incremental walk with the cursor, uneven steps. */
	all = true;
	fresh_dev(dev, ss);
	unlink(cur);
	for (a = 0; a < (long)NENT; a = b + 1) {
		b = a + (a % 3);
		if (b >= (long)NENT)
			b = NENT - 1;
		if (run("%s --log %s --replay %s --start %ld --end %ld --cursor %s",
			tool, log, dev, a, b, cur) || !dev_is(dev, ss, b, true))
			all = false;
	}
	ok(all, "ss %u: incremental replay A..B with a cursor matches the model", ss);
	all = true;
	fresh_dev(dev, ss);
	for (a = 0; a < (long)NENT; a++)
		if (run("%s --log %s --replay %s --start %ld --end %ld", tool, log, dev, a, a) ||
		    !dev_is(dev, ss, a, true))
			all = false;
	ok(all, "ss %u: one entry at a time without a cursor matches the model", ss);

	fresh_dev(dev, ss);
	ok(!run("%s --log %s --replay %s --discard skip", tool, log, dev) &&
	   dev_is(dev, ss, NENT - 1, false) && !dev_is(dev, ss, NENT - 1, true),
	   "ss %u: --discard skip leaves the discarded range stale", ss);
	fresh_dev(dev, ss);
	ok(!run("%s --log %s --replay %s --end-mark phase1", tool, log, dev) &&
	   dev_is(dev, ss, 3, true), "ss %u: --end-mark replays up to the mark", ss);
	fresh_dev(dev, ss);
	ok(!run("%s --log %s --replay %s --start 4 --end-mark phase2", tool, log, dev) &&
	   !dev_is(dev, ss, 8, true), "ss %u: replay from 4 does not apply 0..3", ss);
}

static void test_errors(void)
{
	char log[256], dev[256];

	snprintf(log, sizeof(log), "%s/bad", dir);
	snprintf(dev, sizeof(dev), "%s/dev512", dir);
	write_log(log, 512, NENT, 0x1234, 0);
	ok(run("%s --log %s --list >/dev/null 2>&1", tool, log) == 2, "bad magic: exit 2");
	write_log(log, 512, NENT, 0x6a736677736872ULL, 100);
	ok(run("%s --log %s --list >/dev/null 2>&1", tool, log) == 2, "truncated log: exit 2");
	write_log(log, 512, NENT + 5, 0x6a736677736872ULL, 0);
	ok(run("%s --log %s --replay %s >/dev/null 2>&1", tool, log, dev) == 2,
	   "super claiming more entries than written: exit 2");
	write_log(log, 512, 4, 0x6a736677736872ULL, 0);
	ok(run("%s --log %s --list 2>/dev/null | wc -l | grep -qx 4", tool, log) == 0,
	   "only super.nr_entries entries are used");
	ok(run("%s --log %s --list --end 9 >/dev/null 2>&1", tool, log) == 2, "--end past the log: exit 2");
	ok(run("%s --log %s --list --replay x >/dev/null 2>&1", tool, log) == 2, "two modes: exit 2");
	ok(run("%s --log %s --list --start 3 --end 2 >/dev/null 2>&1", tool, log) == 2, "end < start: exit 2");
	ok(run("%s --log %s --replay %s/nonexistent >/dev/null 2>&1", tool, log, dir) == 2,
	   "missing replay target: exit 2");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test-replay REPLAY-LOG\n");
		return 2;
	}
	tool = argv[1];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	printf("TAP version 13\n");
	test_ss(512);
	test_ss(4096);
	test_errors();
	printf("1..%d\n", tn);
	run("rm -rf %s", dir);
	return failed ? 1 : 0;
}
