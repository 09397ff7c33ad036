/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-dirtylog internals shared by dirtylog.c (in-core bitmap, marks and
 * commits), dirtylog-durable.c (which set bits are durable), dirtylog-sb.c
 * (superblock, format and load) and dirtylog-io.c (block I/O).  Not part of
 * the API.
 */
#ifndef DM_DIRTYLOG_INTERNAL_H
#define DM_DIRTYLOG_INTERNAL_H

#include <linux/bio.h>
#include <linux/bitmap.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dirtylog.h"

#define DM_MSG_PREFIX "dirtylog"

/*
 * Blocks moved per I/O batch.  The staging pages are preallocated so that a
 * commit, which sits in the write-out path of the mirrored device, always
 * makes progress with no memory but its own bio_set's.
 */
#define LM_IO_PAGES		16
/*
 * A commit of more blocks stages up to this many at once in pages it
 * allocates for the commit (and falls back to LM_IO_PAGES batches when
 * that allocation fails), so that its blocks are written concurrently.
 */
#define LM_COMMIT_BATCH		256

/* Words of the in-core bitmap per metadata block (508 on 64-bit). */
#define LM_LONGS_PER_BLOCK	(LM_BITS_PER_BLOCK / BITS_PER_LONG)

struct dirtylog {
	struct block_device *bdev;
	unsigned long nr_regions;
	unsigned long nr_blocks;
	u64 bitmap_start;		/* first bitmap block on the device */
	u8 uuid[LM_UUID_LEN];
	enum lm_state state;		/* WRITE_ONCE under commit_lock */
	enum dirtylog_opened opened;	/* set by open, then read-only */
	bool trusted;			/* set by open, then read-only */
	bool attached;			/* open wrote the attach record */

	/*
	 * @lock protects the bitmap words (writers only: test_bit() and
	 * find_next_bit() readers go without it, a stale answer being no
	 * worse than one that goes stale right after the lock is dropped),
	 * the counters and sequence numbers, and the waiter lists.  It is
	 * taken from any context, so always with interrupts disabled.
	 *
	 * A commit is identified by a sequence number.  @open_seq is the
	 * commit that will pick up changes made now; @durable_seq the last
	 * one whose writes completed.  block_seq[b] is the commit that made
	 * the latest 0 -> 1 transition of block b durable: a set bit is
	 * durable once block_seq[b] <= durable_seq.  Clears do not touch
	 * block_seq because they never make a set bit less durable.
	 *
	 * @dur says, per block, which set bits are known to be set on disk
	 * with no commit about to clear them (dirtylog-durable.c): a mark of
	 * such a bit is answered at once, whatever the rest of its block
	 * does, so a hot write never waits for the commit of an unrelated
	 * mark.
	 */
	spinlock_t lock;
	bool failed;
	unsigned long *bits;		/* 1 = legs may differ */
	unsigned long **dur;		/* per block: NULL, LM_DUR_NONE or a page */
	u64 nr_dirty;
	u64 open_seq;
	u64 durable_seq;
	u64 *block_seq;
	unsigned long *changed;		/* blocks changed since last snapshot */
	unsigned long *marked;		/* ... with a 0 -> 1 change: a mark waits */
	struct list_head waiters;	/* marks not yet durable */
	struct list_head done_ok;	/* durable, callback not yet run */
	struct list_head done_err;	/* log failed, callback not yet run */
	struct dirtylog_stats stats;

	/* Owned by whoever holds @commit_lock (or by open before publish). */
	struct mutex commit_lock;
	unsigned long *committing;	/* snapshot of @changed being written */
	struct page *pages[LM_IO_PAGES];
	struct bio_set bs;
	struct lm_superblock *sb;	/* copy of the newest superblock */
	unsigned int sb_slot;		/* slot that holds it */

	struct workqueue_struct *wq;
	struct work_struct commit_work;
	struct work_struct notify_work;
};

static inline unsigned long *lm_block_bits(struct dirtylog *log,
					   unsigned long block)
{
	return log->bits + block * LM_LONGS_PER_BLOCK;
}

/* Regions covered by @block: LM_BITS_PER_BLOCK except in the last block. */
static inline unsigned int lm_block_nbits(struct dirtylog *log,
					  unsigned long block)
{
	unsigned long first = block * LM_BITS_PER_BLOCK;

	return min_t(unsigned long, LM_BITS_PER_BLOCK, log->nr_regions - first);
}

/* dirtylog-io.c */
u32 lm_csum(const void *block);
void lm_csum_init(void);
int lm_io_pages(struct dirtylog *log, blk_opf_t opf, const u64 *blocks,
		struct page **pages, unsigned int n);
int lm_io(struct dirtylog *log, blk_opf_t opf, const u64 *blocks,
	  unsigned int n);

/* dirtylog.c */
int lm_write_bitmap(struct dirtylog *log, const unsigned long *which,
		    blk_opf_t opf);

/* dirtylog-durable.c; all but alloc and free under log->lock */
#define LM_DUR_NONE	((unsigned long *)1UL)
bool lm_dur_test(struct dirtylog *log, unsigned long b, unsigned int off,
		 unsigned int end);
void lm_dur_before_set(struct dirtylog *log, unsigned long b);
void lm_dur_clear(struct dirtylog *log, unsigned long r);
void lm_dur_forget(struct dirtylog *log, unsigned long b);
void lm_dur_all(struct dirtylog *log, unsigned long b);
unsigned long *lm_dur_note(struct dirtylog *log, unsigned long b,
			   const u64 *words);
unsigned long **lm_dur_alloc(unsigned long nr_blocks);
void lm_dur_free(struct dirtylog *log);

/* dirtylog-sb.c */
int lm_format_bitmap(struct dirtylog *log);
int lm_meta_load(struct dirtylog *log, const struct dirtylog_identity *id,
		 char **error);
int lm_sb_write(struct dirtylog *log, enum lm_state state,
		const struct dirtylog_group *group);
int lm_sb_detach(struct dirtylog *log);

#endif /* DM_DIRTYLOG_INTERNAL_H */
