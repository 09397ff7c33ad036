// SPDX-License-Identifier: GPL-2.0
/* Metadata format/check/repair/dump round trips on temporary files. */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "args.h"
#include "cmds.h"
#include "exitcodes.h"
#include "meta.h"
#include "util.h"
#include "tap.h"

static char path[64];
static char problems[8192];

static void collect(void *ctx, const char *msg)
{
	size_t used = strlen(problems);

	(void)ctx;
	if (used + 2 >= sizeof(problems))
		return;		/* full: keep the first problems */
	strncat(problems, msg, sizeof(problems) - used - 2);
	strcat(problems, "\n");
}

static int check_file(void)
{
	struct lm_meta m;
	char err[256];
	int n;

	problems[0] = 0;
	if (meta_open(&m, path, META_RO_EXCL, err, sizeof(err)))
		return -1;
	n = meta_check(&m, collect, NULL);
	meta_close(&m);
	return n;
}

static void make_file(uint64_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)bytes))
		abort();
	close(fd);
}

static void fill_sb(struct lm_sbinfo *sb, uint64_t src, uint64_t region)
{
	memset(sb, 0, sizeof(*sb));
	for (int i = 0; i < LM_UUID_LEN; i++)
		sb->uuid[i] = (uint8_t)(0xa0 + i);
	strcpy(sb->label, "vm1");
	sb->state = LM_STATE_COPYING;
	sb->region_sectors = region;
	sb->source_sectors = src;
	sb->dest_sectors = src + 8;
	sb->nr_regions = nr_regions_for(src, region);
	sb->bitmap_start = LM_BITMAP_START;
	sb->bitmap_blocks = lm_bitmap_blocks(sb->nr_regions);
	sb->nr_bitmaps = 1;
}

static int format_file(struct lm_sbinfo *sb)
{
	struct lm_meta m;
	char err[256];
	int r;

	if (meta_open(&m, path, META_RW_EXCL, err, sizeof(err)))
		return -1;
	meta_load(&m);
	r = meta_format(&m, sb);
	meta_close(&m);
	return r;
}

static int load(struct lm_meta *m)
{
	char err[256];

	if (meta_open(m, path, META_RW_EXCL, err, sizeof(err)))
		return -1;
	return meta_load(m);
}

static void poke(off_t off, uint8_t xor)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		abort();
	b ^= xor;
	if (pwrite(fd, &b, 1, off) != 1)
		abort();
	close(fd);
}

static void put_block(uint64_t blk, const void *buf)
{
	int fd = open(path, O_RDWR);

	if (fd < 0 || pwrite(fd, buf, LM_BLOCK_SIZE, (off_t)(blk * LM_BLOCK_SIZE)) != LM_BLOCK_SIZE)
		abort();
	close(fd);
}

static void fix_csum(void *blk)
{
	uint32_t c = htole32(block_csum(blk));

	memcpy(blk, &c, 4);
}

/* Run a command handler with stdout captured into out. */
static int run_cmd(const char *line, char *out, size_t outlen)
{
	char buf[512], *argv[32], cap[] = "/tmp/lm-meta-test-out.XXXXXX";
	int argc = 0, used, rc, fd, saved;
	const struct lm_cmd *c;
	struct lm_args a;
	char why[256];
	ssize_t n;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
		argv[argc++] = !strcmp(t, "PATH") ? path : t;
	c = lm_find_cmd(argc, argv, &used);
	if (!c || lm_parse(c, argc - used, argv + used, &a, why, sizeof(why)))
		return -2;
	fd = mkstemp(cap);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	if (!strcmp(c->name, "metadata dump"))
		rc = cmd_meta_dump(&a);
	else if (!strcmp(c->name, "metadata check"))
		rc = cmd_meta_check(&a);
	else if (!strcmp(c->name, "metadata repair"))
		rc = cmd_meta_repair(&a);
	else
		rc = cmd_meta_measure(&a);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(cap);
	return rc;
}

int main(void)
{
	uint8_t blk[LM_BLOCK_SIZE];
	struct lm_sbinfo sb, sb2;
	struct lm_meta m;
	static char out[65536];
	int fd;

	strcpy(path, "/tmp/lm-meta-test.XXXXXX");
	fd = mkstemp(path);
	close(fd);

	/* Fresh metadata. */
	make_file(1 << 20);
	is_int(check_file(), 0, "zeroed metadata is clean (fresh)");
	ok(!load(&m) && meta_fresh(&m) && m.best < 0, "zeroed metadata is fresh");
	meta_close(&m);

	/* Format, reload. */
	fill_sb(&sb, 2097152, 1024);
	is_int(format_file(&sb), 0, "format");
	is_int(check_file(), 0, "formatted metadata is clean");
	ok(!load(&m) && m.best == 1 && m.status[0] == SLOT_VALID && m.status[1] == SLOT_VALID,
	   "both slots valid, newest is B");
	ok(m.sb[1].generation == m.sb[0].generation + 1, "generations consecutive");
	is_str(m.sb[1].label, "vm1", "label round trip");
	ok(!memcmp(m.sb[1].uuid, sb.uuid, LM_UUID_LEN), "uuid round trip");
	is_int(m.sb[1].nr_regions, 2048, "nr_regions round trip");

	/* State change goes to the other slot. */
	sb2 = m.sb[1];
	sb2.state = LM_STATE_SWITCHED;
	ok(!meta_write_sb(&m, &sb2) && m.best == 0, "state write goes to slot A");
	meta_close(&m);
	ok(!load(&m) && m.best == 0 && m.sb[0].state == LM_STATE_SWITCHED &&
	   m.sb[0].generation == 3, "switched state read back, generation 3");
	meta_close(&m);

	/* Bit flip in slot A (newest): falls back to B, check reports A. */
	poke(200, 0x10);
	is_int(check_file(), 1, "one problem after a flip in slot A");
	ok(strstr(problems, "slot A") && strstr(problems, "checksum"), "reported: %s", problems);
	ok(!load(&m) && m.best == 1 && m.status[0] == SLOT_BAD_CSUM, "slot B used");
	meta_close(&m);
	/* Flip in slot B too: nothing valid. */
	poke(4096 + 300, 0x01);
	ok(check_file() >= 3 && strstr(problems, "slot B") && strstr(problems, "no valid"),
	   "both slots bad: %s", problems);
	ok(!load(&m) && m.best < 0, "no valid slot");
	meta_close(&m);

	/* Repair with no valid slot needs identity. */
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), LM_EXIT_USAGE,
	       "repair without identity refused (usage)");
	is_int(run_cmd("metadata repair PATH --region-size 512K --source-sectors 2097152 "
		       "--dest-sectors 2097160 --label vm1", out, sizeof(out)), 0,
	       "repair with identity");
	is_int(check_file(), 0, "clean after repair");
	ok(!load(&m) && m.best >= 0 && (m.sb[m.best].flags & LM_SB_FLAG_REPAIRED) &&
	   m.sb[m.best].state == LM_STATE_COPYING && m.sb[m.best].nr_regions == 2048,
	   "repaired: copying, flag set");
	ok(memcmp(m.sb[m.best].uuid, sb.uuid, LM_UUID_LEN), "new uuid without a valid slot");
	meta_close(&m);

	/* Magic and version. */
	is_int(format_file(&sb), 0, "reformat");
	poke(8, 0xff);		/* magic of slot A */
	ok(check_file() == 1 && strstr(problems, "slot A") && strstr(problems, "magic"),
	   "bad magic: %s", problems);
	is_int(format_file(&sb), 0, "reformat");
	{
		struct lm_sbinfo v = sb;

		v.version = 3;
		v.generation = 99;
		sb_encode(&v, blk);
		put_block(1, blk);
	}
	ok(check_file() == 1 && strstr(problems, "slot B") && strstr(problems, "version"),
	   "bad version: %s", problems);
	ok(!load(&m) && m.best == 0, "version 3 slot ignored even with higher generation");
	meta_close(&m);

	/* Version 1: refused everywhere with the upgrade advice; --upgrade converts. */
	{
		struct lm_sbinfo v = sb;

		v.version = 1;
		v.state = LM_STATE_SWITCHED;
		for (int i = 0; i < LM_SB_SLOTS; i++) {
			v.generation = 5 + (uint64_t)i;
			sb_encode(&v, blk);
			put_block((uint64_t)i, blk);
		}
	}
	ok(!load(&m) && m.best < 0 && m.old == 1 && meta_needs_upgrade(&m) &&
	   m.status[0] == SLOT_OLD_VERSION, "version 1 slots: not loaded, upgrade needed");
	meta_close(&m);
	ok(check_file() >= 1 && strstr(problems, "repair --upgrade"),
	   "check says how to upgrade: %.200s", problems);
	is_int(run_cmd("metadata check PATH", out, sizeof(out)), 1, "check of v1 exits 1");
	ok(strstr(out, "repair --upgrade") != NULL, "check output: %.200s", out);
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), LM_EXIT_METADATA,
	       "plain repair of v1 refused (exit 6)");
	is_int(run_cmd("metadata repair PATH --force", out, sizeof(out)), LM_EXIT_METADATA,
	       "repair --force of v1 refused (exit 6)");
	is_int(run_cmd("metadata dump PATH", out, sizeof(out)), LM_EXIT_METADATA,
	       "dump of v1: exit 6");
	ok(strstr(out, "old-version") != NULL, "dump names the old version: %.300s", out);
	is_int(run_cmd("metadata repair PATH --upgrade", out, sizeof(out)), 0, "repair --upgrade");
	ok(strstr(out, "upgraded") != NULL, "upgrade reported: %s", out);
	ok(!load(&m) && m.best >= 0 && m.sb[m.best].version == LM_VERSION &&
	   m.sb[m.best].generation > 6 && m.sb[m.best].state == LM_STATE_SWITCHED &&
	   !m.sb[m.best].device_id[0] && !m.sb[m.best].source_id[0] &&
	   !m.sb[m.best].dest_id[0] && !(m.sb[m.best].flags & LM_SB_FLAG_ATTACHED) &&
	   (m.sb[m.best].flags & LM_SB_FLAG_REPAIRED) &&
	   !memcmp(m.sb[m.best].uuid, sb.uuid, LM_UUID_LEN),
	   "upgraded: version 2, same uuid and decision, ids unbound, ATTACHED clear");
	meta_close(&m);
	is_int(check_file(), 0, "upgraded metadata is clean: %s", problems);
	is_int(run_cmd("metadata dump PATH --json", out, sizeof(out)), 0, "dump upgraded");
	ok(strstr(out, "\"dirty\":2048,") && strstr(out, "\"device_id\":\"\"") &&
	   strstr(out, "\"last_detach\":\"never\""), "upgraded: all dirty, unbound: %.600s",
	   strstr(out, "\"bitmap\"") ? strstr(out, "\"bitmap\"") : out);

	/* Version 2 fields: round trip, dump, validation, kept by repair. */
	{
		struct lm_sbinfo v = sb;

		v.version = LM_VERSION;
		v.generation = 50;
		v.flags = LM_SB_FLAG_ATTACHED;
		v.attach_time = 1700000000;
		v.detach_time = 1690000000;
		v.attach_count = 3;
		strcpy(v.device_id, "dm:LVM-abc");
		strcpy(v.source_id, "naa:600a0b80-p2");
		strcpy(v.dest_id, "user:new disk");
		sb_encode(&v, blk);
		put_block(0, blk);
		put_block(1, blk);
	}
	ok(!load(&m) && m.best >= 0 && m.sb[m.best].attach_count == 3 &&
	   m.sb[m.best].attach_time == 1700000000 && !strcmp(m.sb[m.best].dest_id, "user:new disk"),
	   "v2 fields decoded");
	sb2 = m.sb[m.best];
	sb2.state = LM_STATE_PREPARED;
	sb2.group_members = 2;
	ok(!meta_write_sb(&m, &sb2), "meta_write_sb");
	meta_close(&m);
	ok(!load(&m) && !strcmp(m.sb[m.best].source_id, "naa:600a0b80-p2") &&
	   !strcmp(m.sb[m.best].device_id, "dm:LVM-abc") && m.sb[m.best].detach_time == 1690000000,
	   "meta_write_sb keeps the v2 fields");
	meta_close(&m);
	is_int(run_cmd("metadata dump PATH", out, sizeof(out)), 0, "dump v2");
	ok(strstr(out, "source id     naa:600a0b80-p2\n") &&
	   strstr(out, "last detach   not detached cleanly (crash?)") &&
	   strstr(out, "3 times"), "plain dump shows ids and attach state: %s", out);
	is_int(run_cmd("metadata repair PATH --force", out, sizeof(out)), 0, "repair --force v2");
	ok(!load(&m) && !strcmp(m.sb[m.best].source_id, "naa:600a0b80-p2") &&
	   !strcmp(m.sb[m.best].dest_id, "user:new disk") &&
	   !(m.sb[m.best].flags & LM_SB_FLAG_ATTACHED) && m.sb[m.best].attach_count == 3,
	   "plain repair keeps the ids");
	meta_close(&m);
	is_int(run_cmd("metadata check PATH", out, sizeof(out)), 0, "check v2");
	ok(strstr(out, "source naa:600a0b80-p2") && strstr(out, "last detach: clean at "),
	   "check shows the ids and the detach: %s", out);
	is_int(run_cmd("metadata dump PATH --json", out, sizeof(out)), 0, "dump json v2");
	ok(strstr(out, "\"last_detach\":\"clean\"") && strstr(out, "\"attach_count\":3") &&
	   strstr(out, "\"dest_id\":\"user:new disk\""), "json dump: %.700s", out);
	is_int(run_cmd("metadata dump PATH --xml", out, sizeof(out)), 0, "dump xml v2");
	ok(strstr(out, "source_id=\"naa:600a0b80-p2\"") != NULL, "xml dump: %.700s", out);
	{
		static const struct { const char *id; bool good; } ids[] = {
			{ "", true }, { "dm:x", true }, { "eui:00a1", true }, { "t10:AB", true },
			{ "dev:8:16", true }, { "dm-name:vg-lv", true }, { "foo:bar", false },
			{ "dm:", false }, { "naa", false }, { "user:a\nb", false },
		};
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			struct lm_sbinfo v = sb;
			char why[160];

			v.version = LM_VERSION;
			snprintf(v.dest_id, sizeof(v.dest_id), "%s", ids[i].id);
			is_int(sb_check_fields(&v, why, sizeof(why)) == 0, ids[i].good,
			       "dest_id '%s' %s", ids[i].id, ids[i].good ? "accepted" : "refused");
		}
	}
	{
		struct lm_sbinfo v = sb;
		struct lm_superblock *d = (struct lm_superblock *)blk;

		v.version = LM_VERSION;
		v.generation = 90;
		sb_encode(&v, blk);
		memset(d->device_id, 'a', LM_ID_LEN);	/* no NUL */
		fix_csum(blk);
		put_block(1, blk);
		ok(check_file() == 1 && strstr(problems, "slot B") &&
		   strstr(problems, "device_id is not NUL terminated"), "unterminated id: %s",
		   problems);
		v.flags = 1U << 7;
		sb_encode(&v, blk);
		put_block(1, blk);
		ok(check_file() == 1 && strstr(problems, "unknown flags 0x80"), "unknown flag: %s",
		   problems);
	}

	/* Bitmap blocks: csum, blocknr, uuid. */
	fill_sb(&sb, 40000ULL * 1024, 1024);	/* 40000 regions: 2 bitmap blocks */
	make_file(1 << 20);
	is_int(format_file(&sb), 0, "format 2 bitmap blocks");
	is_int(check_file(), 0, "clean");
	poke((LM_BITMAP_START + 1) * LM_BLOCK_SIZE + 1000, 0x04);
	ok(check_file() == 1 && strstr(problems, "bitmap block 1") &&
	   strstr(problems, "checksum"), "bitmap csum: %s", problems);
	bm_encode(blk, 0, sb.uuid, sb.nr_regions, true);
	put_block(LM_BITMAP_START + 1, blk);	/* block 0's image in slot 1 */
	ok(check_file() == 1 && strstr(problems, "bitmap block 1") &&
	   strstr(problems, "blocknr"), "bitmap blocknr: %s", problems);
	{
		uint8_t other[LM_UUID_LEN] = { 1 };

		bm_encode(blk, 1, other, sb.nr_regions, true);
		put_block(LM_BITMAP_START + 1, blk);
	}
	ok(check_file() == 1 && strstr(problems, "bitmap block 1") && strstr(problems, "uuid"),
	   "bitmap uuid: %s", problems);
	is_int(run_cmd("metadata check PATH", out, sizeof(out)), LM_EXIT_ERROR,
	       "check exits 6 when damaged");
	ok(strstr(out, "damaged: 1 problem"), "check output: %s", out);
	is_int(run_cmd("metadata dump PATH --json", out, sizeof(out)), 0, "dump json");
	ok(strstr(out, "\"bad_blocks\":[1]") && strstr(out, "\"dirty\":40000"),
	   "bad block counted all dirty");

	/* Repair keeps identity from the best slot. */
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), 0, "repair");
	is_int(check_file(), 0, "clean after repair");
	ok(!load(&m) && !memcmp(m.sb[m.best].uuid, sb.uuid, LM_UUID_LEN),
	   "repair kept the uuid");
	meta_close(&m);
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), 0, "repair of a clean log");
	ok(strstr(out, "nothing to repair"), "nothing to do: %s", out);

	/* Partly clean bitmap: dump ranges. */
	bm_encode(blk, 0, sb.uuid, sb.nr_regions, false);
	blk[LM_BITMAP_HEADER_SIZE] = 0x0e;		/* regions 1,2,3 */
	blk[LM_BITMAP_HEADER_SIZE + 100] = 0x80;	/* region 807 */
	fix_csum(blk);
	put_block(LM_BITMAP_START, blk);
	bm_encode(blk, 1, sb.uuid, sb.nr_regions, false);
	fix_csum(blk);
	put_block(LM_BITMAP_START + 1, blk);
	is_int(check_file(), 0, "hand-made bitmap is clean");
	is_int(run_cmd("metadata dump PATH --json", out, sizeof(out)), 0, "dump");
	ok(strstr(out, "\"dirty\":4") && strstr(out, "[1,3],[807,807]"), "ranges: %s",
	   strstr(out, "bitmap") ? strstr(out, "bitmap") : out);
	is_int(run_cmd("metadata dump PATH --xml", out, sizeof(out)), 0, "dump xml");
	ok(strstr(out, "<dirty begin=\"1\" end=\"3\"/>") && strstr(out, "</livemirror_metadata>"),
	   "xml ranges");
	is_int(run_cmd("metadata dump PATH", out, sizeof(out)), 0, "dump plain");
	ok(strstr(out, "dirty ranges  1-3,807"), "plain ranges");

	/* Cancelled -> repair restarts as copying; switched stays switched. */
	ok(!load(&m), "load");
	sb2 = m.sb[m.best];
	sb2.state = LM_STATE_CANCELLED;
	ok(!meta_write_sb(&m, &sb2), "write cancelled");
	meta_close(&m);
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), 0, "repair cancelled");
	ok(!load(&m) && m.sb[m.best].state == LM_STATE_COPYING, "cancelled -> copying");
	sb2 = m.sb[m.best];
	sb2.state = LM_STATE_SWITCHED;
	ok(!meta_write_sb(&m, &sb2), "write switched");
	meta_close(&m);
	poke((1 - m.best) * LM_BLOCK_SIZE + 500, 1);	/* the older slot */
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), 0, "repair switched");
	ok(!load(&m) && m.sb[m.best].state == LM_STATE_SWITCHED, "switched decision kept");
	meta_close(&m);

	/* Truncated file. */
	is_int(truncate(path, (LM_BITMAP_START + 1) * LM_BLOCK_SIZE), 0, "truncate");
	ok(check_file() == 2 && strstr(problems, "truncated") && strstr(problems, "beyond end"),
	   "truncated: %s", problems);
	is_int(run_cmd("metadata repair PATH", out, sizeof(out)), LM_EXIT_ERROR,
	       "repair refuses a too small device");
	is_int(truncate(path, 4096), 0, "truncate to one block");
	ok(check_file() >= 1, "one block: %s", problems);
	is_int(truncate(path, 0), 0, "truncate to nothing");
	ok(check_file() == 1 && strstr(problems, "unreadable"), "empty: %s", problems);

	/* measure */
	is_int(run_cmd("metadata measure --size 1T", out, sizeof(out)), 0, "measure 1T");
	ok(strstr(out, "regions=2097152\n") && strstr(out, "bytes=299008\n") &&
	   strstr(out, "sectors=584\n"), "measure values: %s", out);
	is_int(run_cmd("metadata measure --size 1G --region-size 4K --json", out, sizeof(out)), 0,
	       "measure json");
	ok(strstr(out, "\"regions\":262144") && strstr(out, "\"bitmap_blocks\":9") &&
	   strstr(out, "\"bytes\":69632"), "measure 1G/4K: %s", out);
	is_int(run_cmd("metadata measure", out, sizeof(out)), LM_EXIT_USAGE, "measure needs a size");
	is_int(run_cmd("metadata check /nonexistent/x", out, sizeof(out)), LM_EXIT_NOT_FOUND,
	       "missing metadata: not found");
	unlink(path);
	/*
	 * A crafted superblock (review M7): a valid checksum, a consistent but
	 * huge geometry (4.5e12 bitmap blocks) on a 64 KiB file.  check, dump
	 * and repair must stop at the end of the file, in bounded time and
	 * output; an alarm turns a hang into a failure.
	 */
	alarm(20);
	make_file(64 << 10);
	fill_sb(&sb, 1ULL << 60, 8);
	sb.generation = 1;
	sb.version = LM_VERSION;
	sb_encode(&sb, blk);
	put_block(0, blk);
	ok(check_file() > 0 && strstr(problems, "beyond end of device"),
	   "crafted geometry: check stops at the end of the device: %.200s", problems);
	is_int(run_cmd("metadata check PATH", out, sizeof(out)), 1, "crafted: check exits 1");
	is_int(run_cmd("metadata dump PATH --json", out, sizeof(out)), 0, "crafted: dump");
	ok(strlen(out) < 16384 && strstr(out, "\"missing_blocks\":") &&
	   strstr(out, "\"dirty\":144115188075855872"),
	   "crafted: dump bounded, everything counted dirty: %.300s", out);
	is_int(run_cmd("metadata dump PATH", out, sizeof(out)), 0, "crafted: plain dump");
	ok(strstr(out, "beyond the end of the device") != NULL, "crafted: plain dump says so");
	is_int(run_cmd("metadata repair PATH --force", out, sizeof(out)), 1,
	       "crafted: repair refuses (too small) instead of looping");
	alarm(0);

	/*
	 * A lazily formatted log (the kernel's format writes the superblocks
	 * only): its zeroed bitmap blocks are unwritten, all dirty, no
	 * corruption; without the flag they are bad blocks.
	 */
	make_file(1 << 20);
	fill_sb(&sb, 2 * 65536 * 8 + 64, 8);
	is_int(format_file(&sb), 0, "format for the lazy case");
	memset(blk, 0, sizeof(blk));
	for (uint64_t b = 0; b < sb.bitmap_blocks; b++)
		put_block(LM_BITMAP_START + b, blk);
	ok(check_file() >= 1 && strstr(problems, "bad checksum"),
	   "zeroed bitmap blocks without the lazy flag are bad: %.120s", problems);
	ok(!load(&m) && m.best >= 0, "load the lazy case");
	sb2 = m.sb[m.best];
	sb2.flags |= LM_SB_FLAG_LAZY;
	ok(!meta_write_sb(&m, &sb2), "set the lazy flag");
	meta_close(&m);
	is_int(check_file(), 0, "lazy: unwritten blocks are no problem (%s)", problems);
	is_int(run_cmd("metadata dump PATH --json", out, sizeof(out)), 0, "lazy: dump");
	ok(strstr(out, "\"bad_blocks_total\":0") && strstr(out, "\"dirty\":131080"),
	   "lazy: no bad block, every region dirty: %.300s",
	   strstr(out, "\"bitmap\"") ? strstr(out, "\"bitmap\"") : out);

	/* A striped bitmap: the dump keeps at most 65536 ranges. */
	make_file(1 << 20);
	fill_sb(&sb, 2 * 65536 * 8 + 64, 8);	/* 131080 regions, 5 bitmap blocks */
	is_int(format_file(&sb), 0, "format for striping");
	for (uint64_t b = 0; b < sb.bitmap_blocks; b++) {
		int bfd = open(path, O_RDONLY);

		if (bfd < 0 || pread(bfd, blk, LM_BLOCK_SIZE,
				     (off_t)((LM_BITMAP_START + b) * LM_BLOCK_SIZE)) != LM_BLOCK_SIZE)
			abort();
		close(bfd);
		for (size_t i = LM_BITMAP_HEADER_SIZE; i < LM_BLOCK_SIZE; i++)
			blk[i] = 0x55;	/* every other region dirty */
		fix_csum(blk);
		put_block(LM_BITMAP_START + b, blk);
	}
	{
		static char big[4 << 20];

		is_int(run_cmd("metadata dump PATH --json", big, sizeof(big)), 0, "striped: dump");
		ok(strstr(big, "\"dirty_ranges_total\":65540") && strstr(big, "\"truncated\":true"),
		   "striped: 65540 ranges counted, output truncated: %.120s",
		   strstr(big, "\"bad_blocks_total") ? strstr(big, "\"bad_blocks_total") : big);
		ok(strlen(big) < (2 << 20), "striped: dump output bounded (%zu bytes)", strlen(big));
	}

	/* measure at the top of the range does not wrap to 0 sectors. */
	is_int(run_cmd("metadata measure --size 18446744073709551615", out, sizeof(out)), 0,
	       "measure 2^64-1");
	ok(strstr(out, "source_sectors=36028797018963968\n") != NULL, "measure 2^64-1: %s", out);
	return tap_done();
}
