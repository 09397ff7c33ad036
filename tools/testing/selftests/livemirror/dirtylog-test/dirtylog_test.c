// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for dm-dirtylog: exercises the log API on a scratch block
 * device and reports TAP lines in the kernel log.  Loading fails (-EINVAL)
 * when any check failed, so `insmod` itself is the verdict.
 *
 *   insmod dirtylog_test.ko dev=/dev/ram0 phase=fresh   zeroed device
 *   insmod dirtylog_test.ko dev=/dev/mapper/x phase=fail   writes fail once
 *                           the script wrote 1 to parameters/go
 *   insmod dirtylog_test.ko dev=/dev/ram0 phase=verify  after "fail"
 *   insmod dirtylog_test.ko dev=/dev/ram1 phase=ident   zeroed device:
 *                           identity, trust, reuse, attach record
 *
 * The device must hold at least 16 MiB.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dirtylog.h"

static char *dev;
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "scratch block device");
static char *phase = "fresh";
module_param(phase, charp, 0444);
MODULE_PARM_DESC(phase, "fresh | fail | verify | ident | batch | leak");
static bool go;
module_param(go, bool, 0644);
MODULE_PARM_DESC(go, "fail phase: the device's writes fail from now on");

#define T_REGIONS	100000ULL	/* 4 bitmap blocks, the last partial */
#define T_REGION_SECT	8
#define T_SOURCE	(T_REGIONS * T_REGION_SECT - 3)
#define T_DEST		(T_REGIONS * T_REGION_SECT)

static int t_n, t_failed;
static struct block_device *t_bdev;

#define CHECK(cond, fmt, ...) do {					\
	t_n++;								\
	if (cond) {							\
		pr_info("dirtylog_test: ok %d - " fmt "\n", t_n, ##__VA_ARGS__); \
	} else {							\
		t_failed++;						\
		pr_info("dirtylog_test: not ok %d - " fmt " (%s:%d)\n", \
			t_n, ##__VA_ARGS__, __FILE__, __LINE__);	\
	}								\
} while (0)

static const struct dirtylog_identity t_id = {
	.region_sectors = T_REGION_SECT,
	.nr_regions = T_REGIONS,
	.source_sectors = T_SOURCE,
	.dest_sectors = T_DEST,
	.label = "dtest",
	.device_id = "dm:dtest-device",
	.source_id = "user:dtest-source",
	.dest_id = "user:dtest-dest",
	.flags = DIRTYLOG_TRUST,
};

struct t_waiter {
	struct dirtylog_waiter w;
	struct completion done;
	int err;
};

static void t_waiter_fn(struct dirtylog_waiter *w, int err)
{
	struct t_waiter *t = container_of(w, struct t_waiter, w);

	t->err = err;
	complete(&t->done);
}

static void t_waiter_init(struct t_waiter *t)
{
	memset(t, 0, sizeof(*t));
	t->w.fn = t_waiter_fn;
	init_completion(&t->done);
	t->err = 1;
}

static int t_wait(struct t_waiter *t)
{
	if (!wait_for_completion_timeout(&t->done, 60 * HZ))
		return -ETIMEDOUT;
	return t->err;
}

/* mark; returns what mark returned, *err what the callback got (or 0) */
static int t_mark(struct dirtylog *log, u64 first, u64 last, int *err)
{
	struct t_waiter t;
	int r;

	t_waiter_init(&t);
	if (first == last)
		r = dirtylog_mark(log, first, &t.w);
	else
		r = dirtylog_mark_range(log, first, last, &t.w);
	*err = r == -EINPROGRESS ? t_wait(&t) : 0;
	return r;
}

static int t_raw(u64 block, void *buf, blk_opf_t op)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct bio *bio;
	int r;

	if (!page)
		return -ENOMEM;
	if (op_is_write(op))
		memcpy(page_address(page), buf, LM_BLOCK_SIZE);
	bio = bio_alloc(t_bdev, 1, op | REQ_SYNC, GFP_KERNEL);
	bio->bi_iter.bi_sector = block * LM_BLOCK_SECTORS;
	__bio_add_page(bio, page, LM_BLOCK_SIZE, 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	if (!op_is_write(op))
		memcpy(buf, page_address(page), LM_BLOCK_SIZE);
	__free_page(page);
	return r;
}

static bool t_csum_ok(const void *block)
{
	u32 c = crc32c(~0U, block + 4, LM_BLOCK_SIZE - 4) ^ ~0U;

	return le32_to_cpup(block) == c;
}

static struct dirtylog *t_open(const struct dirtylog_identity *id, char **err)
{
	*err = "";
	return dirtylog_open(t_bdev, id, err);
}

/* Newest valid superblock into @buf, its slot in *slot: its generation. */
static u64 t_newest(void *buf, int *slot)
{
	struct lm_superblock *sb = buf;
	u64 g[LM_SB_SLOTS] = { 0, 0 };
	int i;

	for (i = 0; i < LM_SB_SLOTS; i++)
		if (!t_raw(i, buf, REQ_OP_READ) && t_csum_ok(buf))
			g[i] = le64_to_cpu(sb->generation);
	*slot = g[1] > g[0];
	t_raw(*slot, buf, REQ_OP_READ);
	return g[*slot];
}

/* Rewrite the newest superblock after @edit changed it. */
static void t_edit_newest(void *buf, void (*edit)(struct lm_superblock *sb))
{
	int slot;

	t_newest(buf, &slot);
	edit(buf);
	*(__le32 *)buf = cpu_to_le32(crc32c(~0U, buf + 4, LM_BLOCK_SIZE - 4) ^ ~0U);
	t_raw(slot, buf, REQ_OP_WRITE);
}

static bool t_is_zero(u64 block, void *buf)
{
	return !t_raw(block, buf, REQ_OP_READ) &&
	       !memchr_inv(buf, 0, LM_BLOCK_SIZE);
}

/* Snapshot of every bit, to compare across a reopen. */
static unsigned long *t_snap(struct dirtylog *log)
{
	unsigned long *s = bitmap_zalloc(T_REGIONS, GFP_KERNEL);
	u64 r;

	if (!s)
		return NULL;
	for (r = dirtylog_next(log, 0); r < T_REGIONS;
	     r = dirtylog_next(log, r + 1))
		__set_bit(r, s);
	return s;
}

static bool t_same(struct dirtylog *log, const unsigned long *s)
{
	u64 r;

	for (r = 0; r < T_REGIONS; r++)
		if (dirtylog_test(log, r) != test_bit(r, s))
			return false;
	return bitmap_weight(s, T_REGIONS) == dirtylog_count(log);
}

static void t_bad_identity(void)
{
	struct dirtylog_identity id;
	struct dirtylog *log;
	char *err;

	id = t_id;
	id.label = "other";
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "label"), "wrong label refused: %s", err);
	id = t_id;
	id.source_sectors++;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "different source"),
	      "wrong source size refused: %s", err);
	id = t_id;
	id.dest_sectors += 8;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "different destination"),
	      "bigger destination refused: %s", err);
	id = t_id;
	id.region_sectors = 16;
	id.nr_regions = T_REGIONS / 2;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "region size"),
	      "other region size refused: %s", err);
}

/* Marks from many waiters at once must share commits. */
static void t_batching(struct dirtylog *log)
{
	const unsigned int n = 2000;
	struct dirtylog_stats before, after;
	struct t_waiter *tw;
	unsigned int i, queued = 0, bad = 0;
	u64 base = 40000;

	tw = kvcalloc(n, sizeof(*tw), GFP_KERNEL);
	if (!tw) {
		CHECK(0, "batching: no memory");
		return;
	}
	for (i = 0; i < n; i++)
		dirtylog_clear(log, base + i);
	CHECK(dirtylog_commit(log) == 0, "commit of 2000 clears");
	dirtylog_get_stats(log, &before);
	for (i = 0; i < n; i++) {
		t_waiter_init(&tw[i]);
		if (dirtylog_mark(log, base + i, &tw[i].w) == -EINPROGRESS)
			queued++;
	}
	for (i = 0; i < n; i++)
		if (t_wait(&tw[i]))
			bad++;
	dirtylog_get_stats(log, &after);
	CHECK(queued == n && bad == 0, "2000 marks queued (%u) and durable (bad %u)",
	      queued, bad);
	CHECK(after.commits - before.commits < n / 4,
	      "marks batched: %llu commits for %u marks",
	      after.commits - before.commits, n);
	pr_info("dirtylog_test: # batching: %llu commits, %llu blocks written\n",
		after.commits - before.commits,
		after.blocks_written - before.blocks_written);
	kvfree(tw);
}

/*
 * The invariant under concurrency: once a mark is reported durable, its bit
 * is set on disk, whatever other threads mark, clear and commit meanwhile.
 * Each thread owns the regions congruent to its index, so only it clears
 * them, and only after checking the disk.
 */
#define T_THREADS	4
#define T_ITERS		1500
#define T_STRESS_BASE	60000ULL

struct t_stress {
	struct dirtylog *log;
	unsigned int idx;
	unsigned int bad, errors, immediate, torn;
	struct completion done;
};

/*
 * A read racing a commit's write of the same block may see a mix of both
 * (a ram disk copies without any atomicity): retry those.  Both images
 * have the bit set, since only the checking thread clears it.  A block of
 * zeroes was not written since the lazy format: it reads as all set.
 */
static bool t_disk_bit(u64 region, void *buf, unsigned int *torn)
{
	u64 b = region / LM_BITS_PER_BLOCK, bit = region % LM_BITS_PER_BLOCK;
	u64 *w = buf + LM_BITMAP_HEADER_SIZE;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (t_raw(LM_BITMAP_START + b, buf, REQ_OP_READ))
			return false;
		if (!memchr_inv(buf, 0, LM_BLOCK_SIZE))
			return true;
		if (t_csum_ok(buf))
			return le64_to_cpu(w[bit / 64]) & (1ULL << (bit % 64));
		(*torn)++;
		usleep_range(100, 200);
	}
	return false;
}

static int t_stress_fn(void *data)
{
	struct t_stress *ts = data;
	void *buf = kmalloc(LM_BLOCK_SIZE, GFP_KERNEL);
	unsigned int i;
	u64 r, last;
	int ret, e;

	for (i = 0; buf && i < T_ITERS; i++) {
		r = T_STRESS_BASE + (get_random_u32() % ((T_REGIONS - T_STRESS_BASE) / T_THREADS)) *
		    T_THREADS + ts->idx;
		last = r;
		if (i % 3 == 0 && r + T_THREADS < T_REGIONS)
			last = r + T_THREADS;	/* also covers other threads' regions */
		ret = t_mark(ts->log, r, last, &e);
		if (ret == 0)
			ts->immediate++;
		if ((ret != 0 && ret != -EINPROGRESS) || e) {
			ts->errors++;
			continue;
		}
		if (!t_disk_bit(r, buf, &ts->torn))
			ts->bad++;
		if (i % 2)
			dirtylog_clear(ts->log, r);
		if (i % 7 == 0)
			dirtylog_kick(ts->log);
		if (i % 50 == 0)
			dirtylog_commit(ts->log);
	}
	if (!buf)
		ts->errors++;
	kfree(buf);
	complete(&ts->done);
	return 0;
}

static void t_stress(struct dirtylog *log)
{
	struct t_stress ts[T_THREADS];
	unsigned int i, bad = 0, errors = 0, immediate = 0, torn = 0;
	struct task_struct *task;

	for (i = 0; i < T_THREADS; i++) {
		ts[i] = (struct t_stress){ .log = log, .idx = i };
		init_completion(&ts[i].done);
		task = kthread_run(t_stress_fn, &ts[i], "dltest%u", i);
		if (IS_ERR(task)) {
			ts[i].errors++;
			complete(&ts[i].done);
		}
	}
	for (i = 0; i < T_THREADS; i++) {
		wait_for_completion(&ts[i].done);
		bad += ts[i].bad;
		errors += ts[i].errors;
		immediate += ts[i].immediate;
		torn += ts[i].torn;
	}
	CHECK(!errors, "stress: no errors (%u)", errors);
	CHECK(!bad, "stress: every durable mark was set on disk (%u violations, %u immediate, %u torn reads retried)",
	      bad, immediate, torn);
}

static void t_fresh(void *buf)
{
	struct dirtylog_identity id = t_id;
	struct dirtylog_stats st, st2;
	struct lm_superblock *sb = buf;
	struct dirtylog_group grp;
	unsigned long *snap;
	struct dirtylog *log;
	u8 uuid[LM_UUID_LEN];
	int r, e, i;
	char *err;
	u64 gen, base;

	CHECK(t_is_zero(0, buf) && t_is_zero(1, buf), "device starts zeroed");

	id.nr_regions = 4100ULL * LM_BITS_PER_BLOCK;
	id.source_sectors = id.nr_regions * T_REGION_SECT;
	id.dest_sectors = id.source_sectors;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "too small: need"),
	      "too small metadata refused: %s", err);
	CHECK(t_is_zero(0, buf) && t_is_zero(1, buf) && t_is_zero(8, buf),
	      "refused open wrote nothing");

	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "fresh open formats: %s", err);
	if (IS_ERR(log))
		return;
	memcpy(uuid, dirtylog_uuid(log), LM_UUID_LEN);
	CHECK(memchr_inv(uuid, 0, LM_UUID_LEN), "uuid is set");
	CHECK(dirtylog_state(log) == LM_STATE_COPYING, "state COPYING");
	CHECK(dirtylog_count(log) == T_REGIONS, "all regions dirty (%llu)",
	      dirtylog_count(log));
	CHECK(dirtylog_next(log, 0) == 0 && dirtylog_test(log, T_REGIONS - 1),
	      "first and last bits set");
	CHECK(!dirtylog_failed(log), "not failed");

	CHECK(!t_raw(0, buf, REQ_OP_READ) && t_csum_ok(buf) &&
	      le64_to_cpu(sb->generation) == 1 &&
	      le32_to_cpu(sb->state) == LM_STATE_COPYING &&
	      !memcmp(sb->uuid, uuid, LM_UUID_LEN) &&
	      !strcmp(sb->label, "dtest"), "slot 0 valid, generation 1");
	CHECK(!t_raw(1, buf, REQ_OP_READ) && t_csum_ok(buf) &&
	      le64_to_cpu(sb->generation) == 2, "slot 1 valid, generation 2");
	/* The format is lazy: two superblock writes, no bitmap block (M7). */
	dirtylog_get_stats(log, &st);
	CHECK(!t_raw(0, buf, REQ_OP_READ) &&
	      (le32_to_cpu(sb->flags) & LM_SB_FLAG_LAZY) &&
	      t_is_zero(8, buf) && t_is_zero(8 + 3, buf) &&
	      st.blocks_written == 2 && st.bad_blocks == 0,
	      "lazy format: the two superblocks only, bitmap blocks untouched (%llu written)",
	      st.blocks_written);
	/* write blocks 0 and 3 as they are in core (all dirty) */
	dirtylog_clear(log, 0);
	dirtylog_clear(log, T_REGIONS - 1);
	CHECK(t_mark(log, 0, 0, &e) == -EINPROGRESS && !e &&
	      t_mark(log, T_REGIONS - 1, T_REGIONS - 1, &e) == -EINPROGRESS && !e,
	      "marks after clears in unwritten blocks wait for their commit");
	dirtylog_get_stats(log, &st);
	CHECK(st.blocks_written == 4, "those commits wrote the two blocks (%llu in all)",
	      st.blocks_written);
	/* lm_csum takes a shortcut for uniform tails: check it against crc32c */
	CHECK(!t_raw(8, buf, REQ_OP_READ) && t_csum_ok(buf) &&
	      !memchr_inv(buf + LM_BITMAP_HEADER_SIZE, 0xff,
			  LM_BLOCK_SIZE - LM_BITMAP_HEADER_SIZE),
	      "all-dirty bitmap block has the crc32c checksum");
	CHECK(!t_raw(8 + 3, buf, REQ_OP_READ) && t_csum_ok(buf) &&
	      le64_to_cpu(((struct lm_bitmap_header *)buf)->blocknr) == 3,
	      "last bitmap block valid");
	{
		/* 100000 - 3 * 32512 = 2464 bits = 38.5 words in the last block */
		u64 *w = buf + LM_BITMAP_HEADER_SIZE;

		CHECK(le64_to_cpu(w[37]) == ~0ULL &&
		      le64_to_cpu(w[38]) == 0xffffffffULL && !w[39] &&
		      !memchr_inv(&w[39], 0, (LM_WORDS_PER_BLOCK - 39) * 8),
		      "bits past nr_regions are zero on disk");
	}

	for (r = 0; r < 1000; r++)
		dirtylog_clear(log, r);
	CHECK(dirtylog_count(log) == T_REGIONS - 1000 &&
	      dirtylog_next(log, 0) == 1000 && !dirtylog_test(log, 5),
	      "clears change count and bits");
	dirtylog_get_stats(log, &st);
	CHECK(dirtylog_commit(log) == 0, "commit");
	dirtylog_get_stats(log, &st2);
	CHECK(st2.commits == st.commits + 1 &&
	      st2.blocks_written == st.blocks_written + 1,
	      "commit wrote one block (commits %llu->%llu, blocks %llu->%llu)",
	      st.commits, st2.commits, st.blocks_written, st2.blocks_written);
	CHECK(dirtylog_commit(log) == 0, "empty commit");
	dirtylog_get_stats(log, &st);
	CHECK(st.commits == st2.commits && st.blocks_written == st2.blocks_written,
	      "empty commit writes nothing");

	r = t_mark(log, 5, 5, &e);
	CHECK(r == -EINPROGRESS && e == 0, "mark of clear bit waits (%d, %d)", r, e);
	r = t_mark(log, 5, 5, &e);
	CHECK(r == 0, "mark of durable bit returns 0 (%d)", r);
	r = t_mark(log, 2000, 2000, &e);
	CHECK(r == 0, "mark of bit set since format returns 0 (%d)", r);
	dirtylog_clear(log, 6);
	r = t_mark(log, 5, 5, &e);
	CHECK(r == 0, "a clear in the block keeps other bits durable (%d)", r);
	/*
	 * M4: a mark pending in the block (bit 7, not committed) does not
	 * hold back a durable bit of the same block (bit 5); the block's
	 * page of durable bits lives only while that mark is pending.
	 */
	dirtylog_get_stats(log, &st);
	CHECK(dirtylog_mark_nowait(log, 7) != 0 &&
	      dirtylog_mark_nowait(log, 5) == 0,
	      "a durable bit is answered at once while a mark of its block is pending");
	dirtylog_get_stats(log, &st2);
	CHECK(st2.dur_pages == st.dur_pages + 1,
	      "one durable-bit page while the mark is pending (%llu -> %llu)",
	      st.dur_pages, st2.dur_pages);
	r = t_mark(log, 7, 7, &e);
	dirtylog_get_stats(log, &st2);
	CHECK(r == -EINPROGRESS && e == 0 && st2.dur_pages == st.dur_pages,
	      "the commit makes it durable and frees the page (%d, %d, %llu pages)",
	      r, e, st2.dur_pages);
	r = t_mark(log, 10, 20, &e);
	CHECK(r == -EINPROGRESS && e == 0, "mark_range waits (%d, %d)", r, e);
	r = t_mark(log, 10, 20, &e);
	CHECK(r == 0, "mark_range of durable bits returns 0 (%d)", r);
	CHECK(dirtylog_count(log) == T_REGIONS - 1000 + 13,
	      "count after marks (%llu)", dirtylog_count(log));

	for (r = 32000; r <= 33000; r++)
		dirtylog_clear(log, r);
	CHECK(dirtylog_commit(log) == 0, "commit clears across blocks");
	r = t_mark(log, 32000, 33000, &e);
	CHECK(r == -EINPROGRESS && e == 0 &&
	      dirtylog_next(log, 31999) == 31999 &&
	      dirtylog_count(log) == T_REGIONS - 1000 + 13,
	      "mark_range across blocks (%d, %d)", r, e);

	t_batching(log);
	t_stress(log);

	for (r = 0; r < LM_BITS_PER_BLOCK; r++)
		dirtylog_clear(log, r);
	CHECK(!dirtylog_commit(log) && !t_raw(8, buf, REQ_OP_READ) &&
	      t_csum_ok(buf) &&
	      !memchr_inv(buf + LM_BITMAP_HEADER_SIZE, 0,
			  LM_BLOCK_SIZE - LM_BITMAP_HEADER_SIZE),
	      "all-clean bitmap block has the crc32c checksum");

	for (r = 50000; r < 50100; r++)
		dirtylog_clear(log, r);	/* left to close's final commit */
	snap = t_snap(log);
	dirtylog_close(log);

	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "reopen: %s", err);
	if (IS_ERR(log)) {
		bitmap_free(snap);
		return;
	}
	CHECK(snap && t_same(log, snap), "bitmap persisted across reopen (%llu)",
	      dirtylog_count(log));
	CHECK(!memcmp(dirtylog_uuid(log), uuid, LM_UUID_LEN), "same uuid");
	dirtylog_get_stats(log, &st);
	CHECK(st.bad_blocks == 0, "no bad blocks");
	dirtylog_close(log);

	t_bad_identity();

	/* A corrupt bitmap block loads as all dirty and is rewritten. */
	t_raw(8 + 1, buf, REQ_OP_READ);
	((u8 *)buf)[100] ^= 1;
	t_raw(8 + 1, buf, REQ_OP_WRITE);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "open with corrupt block: %s", err);
	if (IS_ERR(log)) {
		bitmap_free(snap);
		return;
	}
	dirtylog_get_stats(log, &st);
	bitmap_set(snap, LM_BITS_PER_BLOCK, LM_BITS_PER_BLOCK);
	CHECK(st.bad_blocks == 1 && snap && t_same(log, snap),
	      "corrupt block counted (%llu) and all dirty", st.bad_blocks);
	r = t_mark(log, LM_BITS_PER_BLOCK + 1, LM_BITS_PER_BLOCK + 1, &e);
	CHECK(r == -EINPROGRESS && e == 0,
	      "mark in a reloaded bad block waits for its rewrite (%d)", r);
	dirtylog_close(log);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "reopen after repair: %s", err);
	if (IS_ERR(log)) {
		bitmap_free(snap);
		return;
	}
	dirtylog_get_stats(log, &st);
	CHECK(st.bad_blocks == 0 && t_same(log, snap),
	      "bad block repaired by commit");
	bitmap_free(snap);

	/* Block with the uuid of another log. */
	t_raw(8 + 2, buf, REQ_OP_READ);
	((u8 *)buf)[20] ^= 0xff;
	*(__le32 *)buf = cpu_to_le32(crc32c(~0U, buf + 4, LM_BLOCK_SIZE - 4) ^ ~0U);
	t_raw(8 + 2, buf, REQ_OP_WRITE);
	dirtylog_close(log);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "reopen: %s", err);
	if (IS_ERR(log))
		return;
	dirtylog_get_stats(log, &st);
	CHECK(st.bad_blocks == 1, "foreign uuid block is bad");

	/* State changes */
	base = t_newest(buf, &i);
	memset(&grp, 0, sizeof(grp));
	memset(grp.group_uuid, 0xab, LM_UUID_LEN);
	memset(grp.coordinator_uuid, 0xcd, LM_UUID_LEN);
	grp.members = 3;
	grp.index = 1;
	CHECK(dirtylog_set_state(log, LM_STATE_PREPARED, NULL) == -EINVAL,
	      "PREPARED without group refused");
	CHECK(dirtylog_set_state(log, LM_STATE_PREPARED, &grp) == 0 &&
	      dirtylog_state(log) == LM_STATE_PREPARED, "set PREPARED");
	gen = t_newest(buf, &i);
	CHECK(t_csum_ok(buf) && gen == base + 1 &&
	      le32_to_cpu(sb->state) == LM_STATE_PREPARED &&
	      sb->group_uuid[0] == 0xab && sb->coordinator_uuid[15] == 0xcd &&
	      le32_to_cpu(sb->group_members) == 3 &&
	      le32_to_cpu(sb->group_index) == 1,
	      "PREPARED in the newest slot with group fields (gen %llu)", gen);
	CHECK(dirtylog_set_state(log, LM_STATE_COPYING, NULL) == 0 &&
	      dirtylog_state(log) == LM_STATE_COPYING, "back to COPYING");
	t_raw(i ^ 1, buf, REQ_OP_READ);
	CHECK(t_csum_ok(buf) && le64_to_cpu(sb->generation) == base + 2 &&
	      le32_to_cpu(sb->state) == LM_STATE_COPYING &&
	      !memchr_inv(sb->group_uuid, 0, LM_UUID_LEN) && !sb->group_members,
	      "COPYING in the other slot, group cleared");
	CHECK(dirtylog_set_state(log, LM_STATE_PREPARED, &grp) == 0,
	      "PREPARED again");
	/* the open wrote its attach record: a clean close now writes a detach */
	dirtylog_close(log);

	/* Torn newest slot (the detach record): the older one wins. */
	gen = t_newest(buf, &i);
	((u8 *)buf)[200] ^= 1;
	t_raw(i, buf, REQ_OP_WRITE);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_state(log) == LM_STATE_PREPARED &&
	      dirtylog_opened(log) == DIRTYLOG_OPENED_UNCLEAN,
	      "torn newest slot: older slot used, its attach flag says unclean (%s)",
	      err);
	if (!IS_ERR(log)) {
		/* a PREPARED log is not attached: the open wrote nothing */
		CHECK(dirtylog_set_state(log, LM_STATE_COPYING, NULL) == 0,
		      "rewrite state");
		t_raw(i, buf, REQ_OP_READ);
		CHECK(t_csum_ok(buf) && le64_to_cpu(sb->generation) == gen &&
		      le32_to_cpu(sb->state) == LM_STATE_COPYING,
		      "the next write went to the torn slot");
		dirtylog_close(log);
	}

	/* Both slots bad */
	t_raw(0, buf, REQ_OP_READ);
	((u8 *)buf)[300] ^= 1;
	t_raw(0, buf, REQ_OP_WRITE);
	t_raw(1, buf, REQ_OP_READ);
	((u8 *)buf)[300] ^= 1;
	t_raw(1, buf, REQ_OP_WRITE);
	log = t_open(&t_id, &err);
	CHECK(IS_ERR(log) && strstr(err, "no valid superblock"),
	      "both slots corrupt refused: %s", err);

	/* Zeroed slots: formatted again, new uuid, all dirty. */
	memset(buf, 0, LM_BLOCK_SIZE);
	t_raw(0, buf, REQ_OP_WRITE);
	t_raw(1, buf, REQ_OP_WRITE);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && memcmp(dirtylog_uuid(log), uuid, LM_UUID_LEN) &&
	      dirtylog_count(log) == T_REGIONS, "zeroed slots reformat");
	if (IS_ERR(log))
		return;
	dirtylog_close(log);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "reopen: %s", err);
	if (IS_ERR(log))
		return;
	dirtylog_get_stats(log, &st);
	CHECK(st.bad_blocks == 0 && dirtylog_count(log) == T_REGIONS,
	      "reformat rewrote the old log's blocks: all dirty, none bad");

	CHECK(dirtylog_set_state(log, LM_STATE_SWITCHED, NULL) == 0,
	      "set SWITCHED");
	CHECK(dirtylog_set_state(log, LM_STATE_COPYING, NULL) == -EPERM,
	      "SWITCHED is final");
	dirtylog_close(log);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_state(log) == LM_STATE_SWITCHED,
	      "SWITCHED persisted");
	if (!IS_ERR(log))
		dirtylog_close(log);

	/* Both slots hold SWITCHED: losing the newest one changes nothing. */
	for (i = 0; i < 2; i++) {
		t_raw(i, buf, REQ_OP_READ);
		CHECK(t_csum_ok(buf) &&
		      le32_to_cpu(sb->state) == LM_STATE_SWITCHED,
		      "slot %d holds SWITCHED", i);
	}
	gen = le64_to_cpu(sb->generation);
	t_raw(0, buf, REQ_OP_READ);
	i = le64_to_cpu(sb->generation) > gen ? 0 : 1;
	t_raw(i, buf, REQ_OP_READ);
	((u8 *)buf)[200] ^= 1;
	t_raw(i, buf, REQ_OP_WRITE);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_state(log) == LM_STATE_SWITCHED,
	      "torn newest slot of a switched log: still SWITCHED (%s)",
	      IS_ERR(log) ? err : "");
	if (!IS_ERR(log))
		dirtylog_close(log);
}

/* Run on a device whose writes fail; the metadata is from "fresh". */
static void t_fail(void)
{
	struct dirtylog *log;
	u64 t_set;
	int r, e;
	char *err;

	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "open while writes work: %s", err);
	if (IS_ERR(log))
		return;
	/* the open writes its attach record: only then may writes fail */
	pr_info("dirtylog_test: # waiting for go\n");
	for (r = 0; r < 1200 && !READ_ONCE(go); r++)
		msleep(100);
	CHECK(READ_ONCE(go), "the script failed the writes");
	dirtylog_clear(log, 0);
	r = t_mark(log, 0, 0, &e);
	CHECK(r == -EINPROGRESS && e == -EIO, "waiter gets -EIO (%d, %d)", r, e);
	CHECK(dirtylog_failed(log), "log failed");
	/*
	 * Per-bit durability: bit 1 shares the failed block, but every
	 * version of that block on disk (the old one, the new one, or a torn
	 * one that loads as all dirty) has it set, so it may still be marked.
	 */
	r = t_mark(log, 1, 1, &e);
	CHECK(r == 0, "a durably set bit of the failed block is still durable (%d)", r);
	dirtylog_clear(log, 2);
	r = t_mark(log, 2, 2, &e);
	CHECK(r == -EIO, "later marks of bits not on disk fail at once (%d)", r);
	/*
	 * A block the failed commit did not touch is still what the disk
	 * holds: a set bit there is durable and may be marked.
	 */
	t_set = dirtylog_next(log, LM_BITS_PER_BLOCK);
	CHECK(t_set < T_REGIONS, "a set bit outside the failed block (%llu)",
	      t_set);
	r = t_mark(log, t_set, t_set, &e);
	CHECK(r == 0, "a durably set bit still marks at once (%d)", r);
	dirtylog_clear(log, 2);
	CHECK(dirtylog_commit(log) == -EIO, "commit fails");
	r = t_mark(log, 2, 2, &e);
	CHECK(r == -EIO, "a clear bit cannot be marked any more (%d)", r);
	CHECK(dirtylog_set_state(log, LM_STATE_SWITCHED, NULL) == -EIO,
	      "set_state fails");
	dirtylog_kick(log);
	dirtylog_close(log);

	log = t_open(&t_id, &err);
	CHECK(IS_ERR(log) && strstr(err, "write error"),
	      "open refused when the attach record cannot be written: %s", err);
}

static void t_verify(void)
{
	struct dirtylog *log;
	char *err;

	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log), "reopen after failure: %s", err);
	if (IS_ERR(log))
		return;
	CHECK(dirtylog_test(log, 0) && dirtylog_test(log, 2) &&
	      dirtylog_count(log) == T_REGIONS, "no clear persisted after failure");
	dirtylog_close(log);
}

static void t_set_attached(struct lm_superblock *sb)
{
	sb->flags |= cpu_to_le32(LM_SB_FLAG_ATTACHED);
}

static void t_unbind(struct lm_superblock *sb)
{
	memset(sb->source_id, 0, LM_ID_LEN);
}

static void t_version1(struct lm_superblock *sb)
{
	sb->version = cpu_to_le32(1);
}

static void t_clear_some(struct dirtylog *log)
{
	u64 r;

	for (r = 100; r < 40000; r++)
		dirtylog_clear(log, r);
	dirtylog_commit(log);
}

/*
 * Phase "ident": the log is bound to its device and legs, clean bits are
 * kept only when trusted, and the superblock records attach and detach.
 */
static void t_ident(void *buf)
{
	struct lm_superblock *sb = buf;
	struct dirtylog_identity id;
	struct dirtylog *log;
	u8 uuid[LM_UUID_LEN];
	u64 gen, left;
	char *err;
	int slot;

	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_opened(log) == DIRTYLOG_OPENED_FORMATTED &&
	      !dirtylog_trusted(log), "zeroed: formatted, nothing trusted (%s)", err);
	if (IS_ERR(log))
		return;
	memcpy(uuid, dirtylog_uuid(log), LM_UUID_LEN);
	t_newest(buf, &slot);
	CHECK(le32_to_cpu(sb->version) == 2 &&
	      (le32_to_cpu(sb->flags) & LM_SB_FLAG_ATTACHED) &&
	      le64_to_cpu(sb->attach_count) == 1 && sb->attach_time &&
	      !sb->detach_time && !strcmp(sb->device_id, "dm:dtest-device") &&
	      !strcmp(sb->source_id, "user:dtest-source") &&
	      !strcmp(sb->dest_id, "user:dtest-dest"),
	      "format records version 2, the attach and the three ids");
	t_clear_some(log);
	left = dirtylog_count(log);
	dirtylog_close(log);
	t_newest(buf, &slot);
	CHECK(!(le32_to_cpu(sb->flags) & LM_SB_FLAG_ATTACHED) && sb->detach_time,
	      "a clean close records the detach");

	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_opened(log) == DIRTYLOG_OPENED_CLEAN &&
	      dirtylog_trusted(log) && dirtylog_count(log) == left,
	      "trust_log keeps the clean bits (%s)", err);
	if (!IS_ERR(log))
		dirtylog_close(log);
	t_newest(buf, &slot);
	CHECK(le64_to_cpu(sb->attach_count) == 2, "attach counted");

	id = t_id;
	id.flags = 0;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log) && !dirtylog_trusted(log) &&
	      dirtylog_count(log) == T_REGIONS,
	      "without trust every region is dirty (%s)", err);
	if (!IS_ERR(log))
		dirtylog_close(log);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_count(log) == T_REGIONS,
	      "... and that reached the disk before the open returned");
	if (IS_ERR(log))
		return;
	t_clear_some(log);
	left = dirtylog_count(log);
	dirtylog_close(log);

	/* A crash leaves the attach flag set. */
	t_edit_newest(buf, t_set_attached);
	log = t_open(&t_id, &err);
	CHECK(!IS_ERR(log) && dirtylog_opened(log) == DIRTYLOG_OPENED_UNCLEAN &&
	      dirtylog_count(log) == left,
	      "after a crash: unclean, trusted bits kept (%s)", err);
	if (!IS_ERR(log))
		dirtylog_close(log);

	id = t_id;
	id.device_id = "dm:another-device";
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "another mapped device"),
	      "another mapped device refused: %s", err);
	id = t_id;
	id.source_id = t_id.dest_id;
	id.dest_id = t_id.source_id;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "another source"),
	      "swapped legs refused: %s", err);
	id = t_id;
	id.dest_id = "dm:LVM-new-empty-disk";
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "another destination"),
	      "replaced destination refused: %s", err);
	id.flags = 0;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log), "... with or without trust_log");

	/* reuse_metadata starts over: new uuid, all dirty, the new ids */
	t_newest(buf, &slot);
	gen = le64_to_cpu(sb->generation);
	id.flags = DIRTYLOG_REUSE;
	id.source_sectors -= 5;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log) && memcmp(dirtylog_uuid(log), uuid, LM_UUID_LEN) &&
	      dirtylog_count(log) == T_REGIONS &&
	      dirtylog_opened(log) == DIRTYLOG_OPENED_FORMATTED,
	      "reuse_metadata formats again, all dirty (%s)", err);
	if (IS_ERR(log))
		return;
	dirtylog_close(log);
	t_newest(buf, &slot);
	CHECK(le64_to_cpu(sb->generation) > gen &&
	      !strcmp(sb->dest_id, "dm:LVM-new-empty-disk"),
	      "the reused log records the new destination, newer generation");
	id.flags = 0;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log), "the new legs open it (%s)", err);
	if (IS_ERR(log))
		return;
	CHECK(dirtylog_set_state(log, LM_STATE_SWITCHED, NULL) == 0, "switch");
	dirtylog_close(log);
	id.flags = DIRTYLOG_REUSE;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "switched"),
	      "reuse_metadata refused over a switch: %s", err);
	id.flags = 0;

	/* weak identities are never trusted */
	id = t_id;
	id.device_id = "dm-name:dtest";
	id.source_id = "dev:7:0";
	id.flags = DIRTYLOG_REUSE;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log), "(still switched)");
	memset(buf, 0, LM_BLOCK_SIZE);
	t_raw(0, buf, REQ_OP_WRITE);
	t_raw(1, buf, REQ_OP_WRITE);
	id.flags = 0;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log), "weak ids bind a zeroed log (%s)", err);
	if (IS_ERR(log))
		return;
	t_clear_some(log);
	dirtylog_close(log);
	id.flags = DIRTYLOG_TRUST;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "survive a reboot"),
	      "trust_log refused with weak ids: %s", err);
	id.flags = 0;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log) && dirtylog_count(log) == T_REGIONS,
	      "weak ids without trust: all dirty (%s)", err);
	if (!IS_ERR(log))
		dirtylog_close(log);

	/* unbound (upgraded or written by the tools): bound now, all dirty */
	t_edit_newest(buf, t_unbind);
	id.flags = DIRTYLOG_TRUST;
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "not bound"),
	      "trust_log refused on an unbound log: %s", err);
	id.flags = 0;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log) && dirtylog_opened(log) == DIRTYLOG_OPENED_UNBOUND &&
	      dirtylog_count(log) == T_REGIONS, "unbound: opened, all dirty (%s)",
	      err);
	if (!IS_ERR(log))
		dirtylog_close(log);
	t_newest(buf, &slot);
	CHECK(!strcmp(sb->source_id, "dev:7:0"), "and bound to the table's legs");

	/* version 1 */
	t_edit_newest(buf, t_version1);
	log = t_open(&id, &err);
	CHECK(IS_ERR(log) && strstr(err, "repair --upgrade"),
	      "version 1 refused with the way out: %s", err);
	id.flags = DIRTYLOG_REUSE;
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log) && dirtylog_count(log) == T_REGIONS,
	      "reuse_metadata takes version 1 over (%s)", err);
	if (!IS_ERR(log))
		dirtylog_close(log);
}

/*
 * M5: a commit of marks in 300 bitmap blocks goes out in batches of up to
 * LM_COMMIT_BATCH blocks in flight together, not in sequential steps of
 * LM_IO_PAGES (19 here).  Also the lazy format of garbage: what an LV held
 * before is rewritten as all dirty, a zero block is left alone.
 */
static void t_batch(void *buf)
{
	struct dirtylog_identity id = t_id;
	struct dirtylog_stats st, st2;
	struct dirtylog *log;
	struct t_waiter *tw;
	unsigned int b, bad = 0;
	char *err;

	id.nr_regions = 300ULL * LM_BITS_PER_BLOCK;
	id.source_sectors = id.nr_regions * T_REGION_SECT;
	id.dest_sectors = id.source_sectors;
	id.flags = 0;
	/* garbage in bitmap block 7, as an old LV's contents would be */
	memset(buf, 0x5a, LM_BLOCK_SIZE);
	t_raw(8 + 7, buf, REQ_OP_WRITE);
	log = t_open(&id, &err);
	CHECK(!IS_ERR(log), "batch: format a log of 300 bitmap blocks (%s)", err);
	if (IS_ERR(log))
		return;
	dirtylog_get_stats(log, &st);
	CHECK(st.blocks_written == 3 && !t_raw(8 + 7, buf, REQ_OP_READ) &&
	      t_csum_ok(buf) && t_is_zero(8 + 6, buf),
	      "batch: the format rewrote the one non-zero block only (%llu written)",
	      st.blocks_written);
	tw = kvcalloc(300, sizeof(*tw), GFP_KERNEL);
	if (!tw) {
		CHECK(0, "batch: no memory");
		dirtylog_close(log);
		return;
	}
	for (b = 0; b < 300; b++)
		dirtylog_clear(log, (u64)b * LM_BITS_PER_BLOCK);
	CHECK(dirtylog_commit(log) == 0, "batch: commit 300 clears");
	dirtylog_get_stats(log, &st);
	for (b = 0; b < 300; b++) {
		t_waiter_init(&tw[b]);
		if (dirtylog_mark(log, (u64)b * LM_BITS_PER_BLOCK, &tw[b].w) !=
		    -EINPROGRESS)
			bad++;
	}
	for (b = 0; b < 300; b++)
		if (t_wait(&tw[b]))
			bad++;
	dirtylog_get_stats(log, &st2);
	CHECK(!bad && st2.blocks_written - st.blocks_written == 300 &&
	      st2.write_batches - st.write_batches <= 6,
	      "batch: 300 marks in 300 blocks written in %llu batches, %llu commits (bad %u)",
	      st2.write_batches - st.write_batches, st2.commits - st.commits, bad);
	kvfree(tw);
	dirtylog_close(log);
}

static void *t_leak;

static int __init dirtylog_test_init(void)
{
	fmode_t mode = FMODE_READ | FMODE_WRITE | FMODE_EXCL;
	void *buf;

	/*
	 * The guest runner's own test: memory lost on purpose, which the
	 * kmemleak scan of a debug-kernel run must report and fail.  Several
	 * objects, as a copy of the last pointer may linger on a stack.
	 */
	if (phase && !strcmp(phase, "leak")) {
		int i;

		for (i = 0; i < 16; i++) {
			WRITE_ONCE(t_leak, kmalloc(LM_BLOCK_SIZE, GFP_KERNEL));
			WRITE_ONCE(t_leak, NULL);
		}
		return 0;
	}
	if (!dev)
		return -EINVAL;
	buf = kmalloc(LM_BLOCK_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	t_bdev = blkdev_get_by_path(dev, mode, &t_n);
	if (IS_ERR(t_bdev)) {
		kfree(buf);
		return PTR_ERR(t_bdev);
	}

	pr_info("dirtylog_test: TAP version 13 (phase %s on %s)\n", phase, dev);
	if (!strcmp(phase, "fresh"))
		t_fresh(buf);
	else if (!strcmp(phase, "fail"))
		t_fail();
	else if (!strcmp(phase, "verify"))
		t_verify();
	else if (!strcmp(phase, "ident"))
		t_ident(buf);
	else if (!strcmp(phase, "batch"))
		t_batch(buf);
	else
		CHECK(0, "unknown phase %s", phase);
	pr_info("dirtylog_test: 1..%d\n", t_n);
	pr_info("dirtylog_test: # %d of %d failed\n", t_failed, t_n);

	blkdev_put(t_bdev, mode);
	kfree(buf);
	return t_failed ? -EINVAL : 0;
}

static void __exit dirtylog_test_exit(void)
{
}

module_init(dirtylog_test_init);
module_exit(dirtylog_test_exit);
MODULE_DESCRIPTION("dm-dirtylog test module");
MODULE_LICENSE("GPL");
