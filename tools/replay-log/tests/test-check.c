// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of crash-check: builds tiny dm-log-writes logs of a
 * livemirror stack (metadata, source, destination slices of one device)
 * and a writer journal, correct and with one defect each, and checks the
 * verdicts.  TAP output.  usage: test-check ./crash-check
 */
#include "crc32c.h"
#include "stamp.h"
#include "dirtylog-format.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SS 512
#define META_S 80		/* sectors */
#define SRC_S 80
#define LEG_S 256		/* 128 KiB: 4 regions of 32 KiB, 32 blocks */
#define DST_S (SRC_S + LEG_S)
#define RS 64

enum defect { NONE, NO_COPY, LOST_WRITE, BAD_SB, EARLY_CLEAR };

static FILE *f;
static uint64_t nent;
static uint8_t src_img[LEG_S * SS];
static int tn, failed;
static char dir[] = "/tmp/test-check.XXXXXX";

static void ent(uint64_t sector, uint64_t nr, uint64_t flags, const char *mark,
		const void *data)
{
	uint8_t h[SS] = { 0 };

	stamp_put64(h, sector);
	stamp_put64(h + 8, nr);
	stamp_put64(h + 16, flags);
	stamp_put64(h + 24, mark ? strlen(mark) : 0);
	if (mark)
		memcpy(h + 32, mark, strlen(mark));
	fwrite(h, 1, SS, f);
	if (data && nr)
		fwrite(data, 1, nr * SS, f);
	nent++;
}

static void sb_write(uint64_t gen, bool corrupt)
{
	uint8_t b[LM_BLOCK_SIZE] = { 0 };
	struct lm_superblock *sb = (void *)b;

	sb->magic = LM_MAGIC;
	sb->version = LM_VERSION;
	sb->state = LM_STATE_COPYING;
	sb->generation = gen;
	memset(sb->uuid, 0x42, LM_UUID_LEN);
	sb->region_sectors = RS;
	sb->nr_regions = LEG_S / RS;
	sb->source_sectors = LEG_S;
	sb->dest_sectors = LEG_S;
	sb->bitmap_start = LM_BITMAP_START;
	sb->bitmap_blocks = 1;
	sb->nr_bitmaps = 1;
	sb->csum = lm_block_csum(b, LM_BLOCK_SIZE);
	if (corrupt)
		b[100] ^= 1;
	ent(0, LM_BLOCK_SECTORS, 2 /* FUA */, NULL, b);
}

static void bitmap_write(uint64_t bits)
{
	uint8_t b[LM_BLOCK_SIZE] = { 0 };
	struct lm_bitmap_header *h = (void *)b;

	memset(h->uuid, 0x42, LM_UUID_LEN);
	stamp_put64(b + LM_BITMAP_HEADER_SIZE, bits);
	h->csum = lm_block_csum(b, LM_BLOCK_SIZE);
	ent(LM_BITMAP_START * LM_BLOCK_SECTORS, LM_BLOCK_SECTORS, 2, NULL, b);
}

static void build(const char *log, const char *journal, enum defect d)
{
	uint8_t super[SS] = { 0 }, garbage[LEG_S * SS], blk[STAMP_BLOCK];
	FILE *j = fopen(journal, "w");

	f = fopen(log, "w");
	nent = 0;
	fwrite(super, 1, SS, f);
	memset(garbage, 0xee, sizeof(garbage));
	ent(DST_S, LEG_S, 0, NULL, garbage);
	for (int i = 0; i < LEG_S * SS / STAMP_BLOCK; i++)
		stamp_make(src_img + i * STAMP_BLOCK, (uint64_t)i, 0);
	ent(SRC_S, LEG_S, 0, NULL, src_img);
	fprintf(j, "W 0 0 %d\nS 0\nD 0\n", LEG_S * SS / STAMP_BLOCK);
	ent(0, 0, 1 /* FLUSH */, NULL, NULL);
	ent(0, 0, 8, "fsync-0", NULL);
	ent(0, 0, 8, "start", NULL);
	sb_write(1, d == BAD_SB);
	bitmap_write(0xf);
	if (d == EARLY_CLEAR)
		bitmap_write(0xe);	/* cleared before the copy landed */
	if (d != NO_COPY)
		ent(DST_S, RS, 0, NULL, src_img);	/* copy region 0 */
	ent(0, 0, 1, NULL, NULL);
	bitmap_write(0xe);			/* region 0 clean */
	stamp_make(blk, 20, 5);
	if (d != LOST_WRITE)
		ent(SRC_S + 20 * 8, 8, 0, NULL, blk);
	fprintf(j, "W 5 20 1\nS 1\nD 1\n");
	ent(0, 0, 1, NULL, NULL);
	ent(0, 0, 8, "fsync-1", NULL);
	ent(0, 0, 8, "dm-log-writes-end", NULL);
	rewind(f);
	stamp_put64(super, 0x6a736677736872ULL);
	stamp_put64(super + 8, 1);
	stamp_put64(super + 16, nent);
	super[24] = SS & 0xff;
	super[25] = SS >> 8;
	fwrite(super, 1, 28, f);
	fclose(f);
	fclose(j);
}

static int run(const char *tool, const char *log, const char *journal, const char *extra)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "%s --log %s --journal %s --meta 0:%d --src %d:%d --dst %d:%d "
		 "--region-sectors %d %s >%s/out 2>&1", tool, log, journal, META_S, SRC_S, LEG_S,
		 DST_S, LEG_S, RS, extra, dir);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void ok(bool c, const char *what)
{
	printf("%sok %d - %s\n", c ? "" : "not ", ++tn, what);
	if (!c) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/out", dir);
		if (system(cmd))
			failed++;
		failed++;
	}
}

int main(int argc, char **argv)
{
	char log[256], jr[256];

	if (argc != 2 || !mkdtemp(dir))
		return 2;
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(jr, sizeof(jr), "%s/journal", dir);
	printf("TAP version 13\n");
	build(log, jr, NONE);
	ok(run(argv[1], log, jr, "--random 5") == 0, "a correct stack passes");
	ok(run(argv[1], log, jr, "--inject corrupt-dst") == 0, "injected destination corruption is reported");
	ok(run(argv[1], log, jr, "--inject lose-write") == 0, "injected lost source write is reported");
	build(log, jr, NO_COPY);
	ok(run(argv[1], log, jr, "") == 1, "clean bit without the copy on the destination: violation");
	build(log, jr, EARLY_CLEAR);
	ok(run(argv[1], log, jr, "") == 1, "bit cleared before the copy was flushed: violation");
	build(log, jr, LOST_WRITE);
	ok(run(argv[1], log, jr, "") == 1, "write acknowledged before a flush missing: violation");
	build(log, jr, BAD_SB);
	ok(run(argv[1], log, jr, "") == 1, "unreadable superblock: violation");
	ok(run(argv[1], log, jr, "--from-mark nosuch") == 2, "unknown --from-mark: exit 2");
	printf("1..%d\n", tn);
	snprintf(log, sizeof(log), "rm -rf %s", dir);
	if (system(log))
		return 2;
	return failed ? 1 : 0;
}
