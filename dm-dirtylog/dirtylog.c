// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dirtylog: the persistent dirty-region log of dm-livemirror.
 *
 * The in-core bitmap is the truth for the target; the on-disk bitmap must
 * always be a superset of it as far as set bits are concerned.  Marks are
 * therefore made durable before their waiter runs, while clears are merely
 * noted and reach the disk with whatever commit comes next.
 *
 * Commits are batched: every mark that is not yet durable queues its waiter
 * and kicks one ordered worker, which snapshots the set of changed bitmap
 * blocks and writes just those with FUA.  Marks arriving while a commit is
 * being written go into the following one.  See
 * Documentation/dm-dirtylog.rst for the on-disk format and the rules.
 */
#include <linux/device-mapper.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dirtylog-internal.h"

/*
 * Build the on-disk image of bitmap block @b in @buf.  The words are taken
 * under the lock so that the image is a consistent snapshot; whatever
 * changes after that is flagged in log->changed for the next commit.
 */
static void lm_encode_block(struct dirtylog *log, unsigned long b, void *buf)
{
	struct lm_bitmap_header *hdr = buf;
	u64 *words = buf + LM_BITMAP_HEADER_SIZE;
	unsigned int nbits = lm_block_nbits(log, b);
	unsigned int nwords = DIV_ROUND_UP(nbits, 64);
	unsigned int i;

	memset(hdr, 0, LM_BITMAP_HEADER_SIZE);
	hdr->blocknr = cpu_to_le64(b);
	memcpy(hdr->uuid, log->uuid, LM_UUID_LEN);

	spin_lock_irq(&log->lock);
	bitmap_to_arr64(words, lm_block_bits(log, b), nbits);
	spin_unlock_irq(&log->lock);

	for (i = 0; i < nwords; i++)
		cpu_to_le64s(&words[i]);
	memset(words + nwords, 0, (LM_WORDS_PER_BLOCK - nwords) * sizeof(u64));
	hdr->csum = cpu_to_le32(lm_csum(buf));
}

/* Block @b's image in @buf is on disk: see lm_dur_note(). */
static void lm_note_durable(struct dirtylog *log, unsigned long b, void *buf)
{
	u64 *words = buf + LM_BITMAP_HEADER_SIZE;
	unsigned int nbits = lm_block_nbits(log, b);
	unsigned long *drop;
	unsigned int i;

	for (i = 0; i < DIV_ROUND_UP(nbits, 64); i++)
		le64_to_cpus(&words[i]);
	spin_lock_irq(&log->lock);
	drop = lm_dur_note(log, b, words);
	spin_unlock_irq(&log->lock);
	kfree(drop);
}

/*
 * Staging for one write of many blocks: the log's own pages first, then
 * pages allocated for it, up to LM_COMMIT_BATCH.  Allocation failures only
 * shrink the batch (the log's pages always remain), never fail the commit.
 */
struct lm_stage {
	struct page **pages;
	u64 *blocks;
	unsigned int cap;
	u64 own_blocks[LM_IO_PAGES];
};

static void lm_stage_init(struct dirtylog *log, struct lm_stage *st,
			  unsigned long nr)
{
	/* never reclaim for it: the log's own pages are the fallback */
	const gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN | __GFP_NOMEMALLOC;
	unsigned int want = min_t(unsigned long, nr, LM_COMMIT_BATCH), i;

	st->pages = log->pages;
	st->blocks = st->own_blocks;
	st->cap = LM_IO_PAGES;
	if (want <= LM_IO_PAGES)
		return;
	st->pages = kmalloc_array(want, sizeof(*st->pages), gfp);
	st->blocks = kmalloc_array(want, sizeof(*st->blocks), gfp);
	if (!st->pages || !st->blocks) {
		kfree(st->pages);
		kfree(st->blocks);
		st->pages = log->pages;
		st->blocks = st->own_blocks;
		return;
	}
	memcpy(st->pages, log->pages, sizeof(log->pages));
	for (i = LM_IO_PAGES; i < want; i++) {
		st->pages[i] = alloc_page(gfp);
		if (!st->pages[i])
			break;
	}
	st->cap = i;
}

static void lm_stage_free(struct dirtylog *log, struct lm_stage *st)
{
	unsigned int i;

	if (st->pages == log->pages)
		return;
	for (i = LM_IO_PAGES; i < st->cap; i++)
		__free_page(st->pages[i]);
	kfree(st->pages);
	kfree(st->blocks);
}

/*
 * Write the bitmap blocks flagged in @which (all of them when NULL), in
 * batches of up to LM_COMMIT_BATCH blocks whose writes are in flight
 * together (M5).  Caller holds commit_lock or owns the log.
 */
int lm_write_bitmap(struct dirtylog *log, const unsigned long *which,
		    blk_opf_t opf)
{
	unsigned long nr = which ? bitmap_weight(which, log->nr_blocks) :
				   log->nr_blocks;
	struct lm_stage st;
	unsigned long b = 0;
	unsigned int n = 0, i;
	int r = 0;

	lm_stage_init(log, &st, nr);
	for (;;) {
		if (which)
			b = find_next_bit(which, log->nr_blocks, b);
		if (b < log->nr_blocks) {
			lm_encode_block(log, b, page_address(st.pages[n]));
			st.blocks[n++] = log->bitmap_start + b;
			b++;
		}
		if (n && (n == st.cap || b >= log->nr_blocks)) {
			r = lm_io_pages(log, opf, st.blocks, st.pages, n);
			if (r)
				break;
			for (i = 0; i < n; i++)
				lm_note_durable(log, st.blocks[i] - log->bitmap_start,
						page_address(st.pages[i]));
			spin_lock_irq(&log->lock);
			log->stats.blocks_written += n;
			log->stats.write_batches++;
			spin_unlock_irq(&log->lock);
			n = 0;
		}
		if (b >= log->nr_blocks)
			break;
	}
	lm_stage_free(log, &st);
	return r;
}

/*
 * The bitmap of a log being formatted lazily (every in-core bit set):
 * read the whole bitmap area and rewrite, as all dirty, just the blocks
 * that are not zero (another log's blocks, or whatever an LV held before:
 * lvcreate zeroes only its first 4 KiB).  Zero blocks are left unwritten,
 * which LM_SB_FLAG_LAZY lets them mean: all dirty.  Reading costs what
 * every later open from disk costs; on zeroed metadata nothing is written.
 * Called by the opener, before the log is visible.
 */
int lm_format_bitmap(struct dirtylog *log)
{
	struct lm_stage st;
	unsigned long *dirty, first, b;
	unsigned int i, n;
	int r = 0;

	dirty = bitmap_zalloc(log->nr_blocks, GFP_KERNEL);
	if (!dirty)
		return -ENOMEM;
	lm_stage_init(log, &st, log->nr_blocks);
	for (first = 0; first < log->nr_blocks; first += n) {
		n = min_t(unsigned long, st.cap, log->nr_blocks - first);
		for (i = 0; i < n; i++)
			st.blocks[i] = log->bitmap_start + first + i;
		r = lm_io_pages(log, REQ_OP_READ, st.blocks, st.pages, n);
		if (r)
			break;
		for (i = 0; i < n; i++)
			if (memchr_inv(page_address(st.pages[i]), 0, LM_BLOCK_SIZE))
				__set_bit(first + i, dirty);
	}
	lm_stage_free(log, &st);
	if (!r)
		r = lm_write_bitmap(log, dirty, REQ_OP_WRITE);
	/* zero or rewritten, every block now reads all set: durable */
	for (b = 0; !r && b < log->nr_blocks; b++)
		lm_dur_all(log, b);
	bitmap_free(dirty);
	return r;
}

/*
 * Metadata I/O failed: from now on nothing is written, so no clear can ever
 * reach the disk, and every waiter gets -EIO, as does every later mark of a
 * bit that is not durable yet.  The on-disk bitmap stays a superset of the
 * regions that may differ only because the target keeps the legs identical
 * (or fails the write) wherever such a mark failed.
 */
static void lm_fail(struct dirtylog *log, int err)
{
	bool first;

	spin_lock_irq(&log->lock);
	first = !log->failed;
	log->failed = true;
	list_splice_tail_init(&log->waiters, &log->done_err);
	spin_unlock_irq(&log->lock);

	if (first)
		DMERR("%pg: metadata write failed (%d): log is now failed",
		      log->bdev, err);
}

/* Run the callbacks of finished waiters.  Only from the log's workqueue. */
static void lm_deliver(struct dirtylog *log)
{
	struct dirtylog_waiter *w, *tmp;
	LIST_HEAD(ok);
	LIST_HEAD(err);

	spin_lock_irq(&log->lock);
	list_splice_init(&log->done_ok, &ok);
	list_splice_init(&log->done_err, &err);
	spin_unlock_irq(&log->lock);

	/* A callback may reuse its waiter at once: unlink it first. */
	list_for_each_entry_safe(w, tmp, &ok, list) {
		list_del(&w->list);
		w->fn(w, 0);
	}
	list_for_each_entry_safe(w, tmp, &err, list) {
		list_del(&w->list);
		w->fn(w, -EIO);
	}
}

/*
 * Callers outside the workqueue (dirtylog_commit(), set_state) must not run
 * callbacks themselves: they may hold locks the callbacks take.
 */
static void lm_notify(struct dirtylog *log)
{
	bool pending;

	spin_lock_irq(&log->lock);
	pending = !list_empty(&log->done_ok) || !list_empty(&log->done_err);
	spin_unlock_irq(&log->lock);
	if (pending)
		queue_work(log->wq, &log->notify_work);
}

/*
 * One commit: snapshot the changed blocks under the lock (only those with
 * new set bits when @marks_only: clears never hold a mark back), write them
 * with FUA outside it, then release the waiters the commit covers.  Called
 * with commit_lock held.
 */
static int lm_commit_locked(struct dirtylog *log, bool marks_only)
{
	struct dirtylog_waiter *w, *tmp;
	unsigned long *which;
	u64 seq;
	int r;

	lockdep_assert_held(&log->commit_lock);

	spin_lock_irq(&log->lock);
	if (log->failed) {
		spin_unlock_irq(&log->lock);
		return -EIO;
	}
	which = marks_only ? log->marked : log->changed;
	if (bitmap_empty(which, log->nr_blocks)) {
		spin_unlock_irq(&log->lock);
		return 0;
	}
	seq = log->open_seq++;
	bitmap_copy(log->committing, which, log->nr_blocks);
	bitmap_andnot(log->changed, log->changed, log->committing, log->nr_blocks);
	bitmap_andnot(log->marked, log->marked, log->committing, log->nr_blocks);
	spin_unlock_irq(&log->lock);

	r = lm_write_bitmap(log, log->committing, REQ_OP_WRITE | REQ_FUA);
	bitmap_zero(log->committing, log->nr_blocks);
	if (r) {
		lm_fail(log, r);
		return -EIO;
	}

	spin_lock_irq(&log->lock);
	log->durable_seq = seq;
	log->stats.commits++;
	list_for_each_entry_safe(w, tmp, &log->waiters, list)
		if (w->seq <= seq)
			list_move_tail(&w->list, &log->done_ok);
	spin_unlock_irq(&log->lock);
	return 0;
}

/*
 * Write up to LM_IO_PAGES blocks that hold only clears.  No waiter depends
 * on them, so no sequence number moves.  Returns 1 when there may be more,
 * 0 when there are none, or -EIO.  Called with commit_lock held.
 */
static int lm_commit_clears_locked(struct dirtylog *log)
{
	unsigned long b = 0;
	unsigned int n = 0;
	int r;

	spin_lock_irq(&log->lock);
	if (log->failed) {
		spin_unlock_irq(&log->lock);
		return -EIO;
	}
	while (n < LM_IO_PAGES) {
		b = find_next_bit(log->changed, log->nr_blocks, b);
		if (b >= log->nr_blocks)
			break;
		if (!test_bit(b, log->marked)) {
			__clear_bit(b, log->changed);
			__set_bit(b, log->committing);
			n++;
		}
		b++;
	}
	spin_unlock_irq(&log->lock);
	if (!n)
		return 0;

	r = lm_write_bitmap(log, log->committing, REQ_OP_WRITE | REQ_FUA);
	bitmap_zero(log->committing, log->nr_blocks);
	if (r) {
		lm_fail(log, r);
		return -EIO;
	}
	spin_lock_irq(&log->lock);
	log->stats.commits++;
	spin_unlock_irq(&log->lock);
	return 1;
}

/* Marks only: what waiters wait for. */
static void lm_commit_work(struct work_struct *ws)
{
	struct dirtylog *log = container_of(ws, struct dirtylog, commit_work);

	mutex_lock(&log->commit_lock);
	lm_commit_locked(log, true);
	mutex_unlock(&log->commit_lock);
	lm_deliver(log);
}

static void lm_notify_work(struct work_struct *ws)
{
	lm_deliver(container_of(ws, struct dirtylog, notify_work));
}

/* Decide whether @w must wait for commit @seq.  Called with the lock held. */
static int lm_wait_for(struct dirtylog *log, u64 seq, struct dirtylog_waiter *w)
{
	if (seq <= log->durable_seq)
		return 0;
	w->seq = seq;
	list_add_tail(&w->list, &log->waiters);
	return -EINPROGRESS;
}

/*
 * The answer to a mark whose bits are set in core up to commit @seq.  A
 * failed log can still vouch for a bit whose block has no change newer than
 * the last good commit: that bit is on disk, so the caller may let the legs
 * differ there.  Anything else it can no longer record.
 */
static int lm_mark_result(struct dirtylog *log, u64 seq,
			  struct dirtylog_waiter *w)
{
	if (log->failed)
		return seq <= log->durable_seq ? 0 : -EIO;
	return lm_wait_for(log, seq, w);
}

int dirtylog_mark(struct dirtylog *log, u64 region, struct dirtylog_waiter *w)
{
	if (WARN_ON_ONCE(region >= log->nr_regions))
		return -EINVAL;
	return dirtylog_wait(log, dirtylog_mark_nowait(log, region), w);
}
EXPORT_SYMBOL_GPL(dirtylog_mark);

/*
 * The lock is dropped between bitmap blocks so that a range covering the
 * whole device does not keep interrupts off for long.  Waiting for the
 * highest sequence seen is enough because commits complete in order.
 */
static int lm_mark_range_failed(struct dirtylog *log, u64 first, u64 last)
{
	unsigned long r = first, end, b, off, flags;
	int ret = 0;

	/* read only: a failed log's blocks must keep vouching for their bits */
	spin_lock_irqsave(&log->lock, flags);
	while (r <= last && !ret) {
		b = r / LM_BITS_PER_BLOCK;
		off = r - b * LM_BITS_PER_BLOCK;
		end = min_t(unsigned long, lm_block_nbits(log, b),
			    last - b * LM_BITS_PER_BLOCK + 1);
		if (find_next_zero_bit(lm_block_bits(log, b), end, off) < end ||
		    !lm_dur_test(log, b, off, end))
			ret = -EIO;
		r = b * LM_BITS_PER_BLOCK + end;
	}
	spin_unlock_irqrestore(&log->lock, flags);
	return ret;
}

int dirtylog_mark_range(struct dirtylog *log, u64 first, u64 last,
			struct dirtylog_waiter *w)
{
	unsigned long r = first, end, b, off, zero, set;
	unsigned long flags, *bits;
	unsigned int nbits;
	u64 seq = 0;

	if (WARN_ON_ONCE(first > last || last >= log->nr_regions))
		return -EINVAL;
	if (READ_ONCE(log->failed))
		return lm_mark_range_failed(log, first, last);

	while (r <= last) {
		b = r / LM_BITS_PER_BLOCK;
		off = r - b * LM_BITS_PER_BLOCK;
		nbits = lm_block_nbits(log, b);
		end = min_t(unsigned long, nbits, last - b * LM_BITS_PER_BLOCK + 1);
		bits = lm_block_bits(log, b);

		spin_lock_irqsave(&log->lock, flags);
		zero = find_next_zero_bit(bits, end, off);
		if (zero >= end) {
			/* all set: wait only if one of them is not durable */
			if (!lm_dur_test(log, b, off, end))
				seq = max(seq, log->block_seq[b]);
		} else {
			lm_dur_before_set(log, b);
			while (zero < end) {
				set = find_next_bit(bits, end, zero);
				bitmap_set(bits, zero, set - zero);
				log->nr_dirty += set - zero;
				zero = find_next_zero_bit(bits, end, set);
			}
			log->block_seq[b] = log->open_seq;
			__set_bit(b, log->changed);
			__set_bit(b, log->marked);
			seq = max(seq, log->open_seq);
		}
		spin_unlock_irqrestore(&log->lock, flags);

		r = b * LM_BITS_PER_BLOCK + end;
	}
	return dirtylog_wait(log, seq, w);
}
EXPORT_SYMBOL_GPL(dirtylog_mark_range);

void dirtylog_clear(struct dirtylog *log, u64 region)
{
	unsigned long r = region;
	unsigned long flags;

	if (WARN_ON_ONCE(region >= log->nr_regions))
		return;

	spin_lock_irqsave(&log->lock, flags);
	if (test_bit(r, log->bits)) {
		/* not durable any more: the next commit may write it as 0 */
		lm_dur_clear(log, r);
		__clear_bit(r, log->bits);
		log->nr_dirty--;
		__set_bit(r / LM_BITS_PER_BLOCK, log->changed);
	}
	spin_unlock_irqrestore(&log->lock, flags);
}
EXPORT_SYMBOL_GPL(dirtylog_clear);

/*
 * Set the bit of @region in core and return the commit that makes it
 * durable: 0 when it is durable already, U64_MAX when the log has failed
 * and cannot record it.  Any context, never sleeps.
 */
u64 dirtylog_mark_nowait(struct dirtylog *log, u64 region)
{
	unsigned long r = region, b = r / LM_BITS_PER_BLOCK;
	unsigned long flags;
	unsigned int off;
	u64 seq;

	if (WARN_ON_ONCE(region >= log->nr_regions))
		return U64_MAX;

	spin_lock_irqsave(&log->lock, flags);
	if (test_bit(r, log->bits)) {
		off = r - b * LM_BITS_PER_BLOCK;
		seq = lm_dur_test(log, b, off, off + 1) ? 0 : log->block_seq[b];
	} else if (log->failed) {
		seq = U64_MAX;
	} else {
		lm_dur_before_set(log, b);
		__set_bit(r, log->bits);
		log->nr_dirty++;
		seq = log->open_seq;
		log->block_seq[b] = seq;
		__set_bit(b, log->changed);
		__set_bit(b, log->marked);
	}
	if (seq <= log->durable_seq)
		seq = 0;
	spin_unlock_irqrestore(&log->lock, flags);
	return seq;
}
EXPORT_SYMBOL_GPL(dirtylog_mark_nowait);

/* Wait for what dirtylog_mark_nowait() returned; same answers as a mark. */
int dirtylog_wait(struct dirtylog *log, u64 seq, struct dirtylog_waiter *w)
{
	unsigned long flags;
	int ret;

	if (!seq)
		return 0;
	spin_lock_irqsave(&log->lock, flags);
	ret = lm_mark_result(log, seq, w);
	spin_unlock_irqrestore(&log->lock, flags);

	if (ret == -EINPROGRESS)
		queue_work(log->wq, &log->commit_work);
	return ret;
}
EXPORT_SYMBOL_GPL(dirtylog_wait);

/*
 * Copy bits [@first, @first + @nbits) of the in-core bitmap into @dst and
 * return how many are set.  @first is a multiple of BITS_PER_LONG; the
 * lock is held for the copy only, so keep @nbits to about a block's worth.
 * Process context.
 */
u64 dirtylog_copy_range(struct dirtylog *log, u64 first, unsigned int nbits,
			unsigned long *dst)
{
	unsigned long r = first, flags;

	if (WARN_ON_ONCE(r % BITS_PER_LONG || first + nbits > log->nr_regions)) {
		bitmap_fill(dst, nbits);
		return nbits;
	}
	spin_lock_irqsave(&log->lock, flags);
	bitmap_copy(dst, log->bits + r / BITS_PER_LONG, nbits);
	spin_unlock_irqrestore(&log->lock, flags);
	return bitmap_weight(dst, nbits);
}
EXPORT_SYMBOL_GPL(dirtylog_copy_range);

bool dirtylog_test(struct dirtylog *log, u64 region)
{
	if (WARN_ON_ONCE(region >= log->nr_regions))
		return true;
	return test_bit((unsigned long)region, log->bits);
}
EXPORT_SYMBOL_GPL(dirtylog_test);

u64 dirtylog_count(struct dirtylog *log)
{
	unsigned long flags;
	u64 n;

	spin_lock_irqsave(&log->lock, flags);
	n = log->nr_dirty;
	spin_unlock_irqrestore(&log->lock, flags);
	return n;
}
EXPORT_SYMBOL_GPL(dirtylog_count);

u64 dirtylog_next(struct dirtylog *log, u64 from)
{
	if (from >= log->nr_regions)
		return log->nr_regions;
	return find_next_bit(log->bits, log->nr_regions, (unsigned long)from);
}
EXPORT_SYMBOL_GPL(dirtylog_next);

/*
 * Lock-free like dirtylog_next(): concurrent marks and clears of other
 * regions may or may not be counted.  Bits past nr_regions are zero.
 */
u64 dirtylog_count_from(struct dirtylog *log, u64 from)
{
	unsigned long i, end = BITS_TO_LONGS(log->nr_regions);
	u64 n;

	if (from >= log->nr_regions)
		return 0;
	i = from / BITS_PER_LONG;
	n = hweight_long(READ_ONCE(log->bits[i]) & BITMAP_FIRST_WORD_MASK(from));
	for (i++; i < end; i++)
		n += hweight_long(READ_ONCE(log->bits[i]));
	return n;
}
EXPORT_SYMBOL_GPL(dirtylog_count_from);

enum lm_state dirtylog_state(struct dirtylog *log)
{
	return READ_ONCE(log->state);
}
EXPORT_SYMBOL_GPL(dirtylog_state);

const u8 *dirtylog_uuid(struct dirtylog *log)
{
	return log->uuid;
}
EXPORT_SYMBOL_GPL(dirtylog_uuid);

enum dirtylog_opened dirtylog_opened(struct dirtylog *log)
{
	return log->opened;
}
EXPORT_SYMBOL_GPL(dirtylog_opened);

bool dirtylog_trusted(struct dirtylog *log)
{
	return log->trusted;
}
EXPORT_SYMBOL_GPL(dirtylog_trusted);

bool dirtylog_failed(struct dirtylog *log)
{
	return READ_ONCE(log->failed);
}
EXPORT_SYMBOL_GPL(dirtylog_failed);

/*
 * Everything: first the blocks that hold only clears, a batch per hold of
 * commit_lock, so that a mark commit can go in between (a lazy clear after
 * a long pass may touch thousands of blocks); then the rest.
 */
int dirtylog_commit(struct dirtylog *log)
{
	int r;

	do {
		mutex_lock(&log->commit_lock);
		r = lm_commit_clears_locked(log);
		mutex_unlock(&log->commit_lock);
		cond_resched();
	} while (r > 0);
	mutex_lock(&log->commit_lock);
	if (!r)
		r = lm_commit_locked(log, false);
	mutex_unlock(&log->commit_lock);
	lm_notify(log);
	return r;
}
EXPORT_SYMBOL_GPL(dirtylog_commit);

void dirtylog_kick(struct dirtylog *log)
{
	if (!READ_ONCE(log->failed))
		queue_work(log->wq, &log->commit_work);
}
EXPORT_SYMBOL_GPL(dirtylog_kick);

int dirtylog_set_state(struct dirtylog *log, enum lm_state state,
		       const struct dirtylog_group *group)
{
	int r;

	if (state < LM_STATE_COPYING || state > LM_STATE_CANCELLED)
		return -EINVAL;
	if ((state == LM_STATE_PREPARED) != !!group)
		return -EINVAL;

	mutex_lock(&log->commit_lock);
	/* The destination is authoritative for ever once switched. */
	if (log->state == LM_STATE_SWITCHED && state != LM_STATE_SWITCHED) {
		r = -EPERM;
		goto out;
	}
	r = lm_commit_locked(log, false);
	if (r)
		goto out;
	r = lm_sb_write(log, state, group);
	if (r) {
		lm_fail(log, r);
		r = -EIO;
		goto out;
	}
	WRITE_ONCE(log->state, state);
	/*
	 * A final state goes into both slots, so that a later torn, corrupt
	 * or rolled-back newest slot cannot bring back the state before it:
	 * a switched migration must never read the old source again.  The
	 * state is durable already: a failure here fails the log, not the
	 * state change.
	 */
	if (state == LM_STATE_SWITCHED || state == LM_STATE_CANCELLED) {
		if (lm_sb_write(log, state, group))
			lm_fail(log, -EIO);
	}
out:
	mutex_unlock(&log->commit_lock);
	lm_notify(log);
	return r;
}
EXPORT_SYMBOL_GPL(dirtylog_set_state);

void dirtylog_get_stats(struct dirtylog *log, struct dirtylog_stats *st)
{
	unsigned long flags;

	spin_lock_irqsave(&log->lock, flags);
	*st = log->stats;
	spin_unlock_irqrestore(&log->lock, flags);
}
EXPORT_SYMBOL_GPL(dirtylog_get_stats);

static void lm_free(struct dirtylog *log)
{
	unsigned int i;

	if (log->wq)
		destroy_workqueue(log->wq);
	bioset_exit(&log->bs);
	for (i = 0; i < LM_IO_PAGES; i++)
		if (log->pages[i])
			__free_page(log->pages[i]);
	kfree(log->sb);
	bitmap_free(log->committing);
	bitmap_free(log->changed);
	bitmap_free(log->marked);
	kvfree(log->block_seq);
	lm_dur_free(log);
	kvfree(log->bits);
	kfree(log);
}


struct dirtylog *dirtylog_open(struct block_device *bdev,
			       const struct dirtylog_identity *id,
			       char **error)
{
	struct dirtylog_identity ident = *id;
	struct dirtylog *log;
	unsigned int i;
	int r = -ENOMEM;

	if (!ident.label)
		ident.label = "";
	if (!ident.device_id)
		ident.device_id = "";
	if (!ident.source_id)
		ident.source_id = "";
	if (!ident.dest_id)
		ident.dest_id = "";
	if (strlen(ident.device_id) >= LM_ID_LEN ||
	    strlen(ident.source_id) >= LM_ID_LEN ||
	    strlen(ident.dest_id) >= LM_ID_LEN) {
		*error = "dirty log: identity string too long";
		return ERR_PTR(-EINVAL);
	}
	if (!ident.nr_regions || !ident.region_sectors) {
		*error = "dirty log: no regions to track";
		return ERR_PTR(-EINVAL);
	}
	if (ident.nr_regions > DIRTYLOG_MAX_REGIONS) {
		*error = "too many regions for the dirty log: use a larger region size";
		return ERR_PTR(-EINVAL);
	}
	if (strlen(ident.label) >= LM_LABEL_LEN) {
		*error = "label longer than 63 characters";
		return ERR_PTR(-EINVAL);
	}
	if (bdev_logical_block_size(bdev) > LM_BLOCK_SIZE) {
		*error = "metadata device logical block size above 4096 bytes";
		return ERR_PTR(-EINVAL);
	}

	log = kzalloc(sizeof(*log), GFP_KERNEL);
	if (!log)
		goto nomem;

	log->bdev = bdev;
	log->nr_regions = ident.nr_regions;
	log->nr_blocks = lm_bitmap_blocks(ident.nr_regions);
	log->open_seq = 1;
	spin_lock_init(&log->lock);
	mutex_init(&log->commit_lock);
	INIT_LIST_HEAD(&log->waiters);
	INIT_LIST_HEAD(&log->done_ok);
	INIT_LIST_HEAD(&log->done_err);
	INIT_WORK(&log->commit_work, lm_commit_work);
	INIT_WORK(&log->notify_work, lm_notify_work);

	log->bits = kvcalloc(BITS_TO_LONGS(log->nr_regions),
			     sizeof(unsigned long), GFP_KERNEL | __GFP_NOWARN);
	log->dur = lm_dur_alloc(log->nr_blocks);
	log->block_seq = kvcalloc(log->nr_blocks, sizeof(u64), GFP_KERNEL);
	log->changed = bitmap_zalloc(log->nr_blocks, GFP_KERNEL);
	log->marked = bitmap_zalloc(log->nr_blocks, GFP_KERNEL);
	log->committing = bitmap_zalloc(log->nr_blocks, GFP_KERNEL);
	log->sb = kzalloc(LM_BLOCK_SIZE, GFP_KERNEL);
	if (!log->bits || !log->dur || !log->block_seq || !log->changed ||
	    !log->marked ||
	    !log->committing || !log->sb)
		goto nomem;
	for (i = 0; i < LM_IO_PAGES; i++) {
		log->pages[i] = alloc_page(GFP_KERNEL);
		if (!log->pages[i])
			goto nomem;
	}
	if (bioset_init(&log->bs, LM_IO_PAGES, 0, BIOSET_NEED_BVECS))
		goto nomem;
	log->wq = alloc_ordered_workqueue("dirtylog-%pg", WQ_MEM_RECLAIM, bdev);
	if (!log->wq)
		goto nomem;

	r = lm_meta_load(log, &ident, error);
	if (r)
		goto bad;
	return log;

nomem:
	*error = "cannot allocate memory for the dirty log";
bad:
	if (log)
		lm_free(log);
	return ERR_PTR(r);
}
EXPORT_SYMBOL_GPL(dirtylog_open);

void dirtylog_close(struct dirtylog *log)
{
	if (IS_ERR_OR_NULL(log))
		return;
	/*
	 * Persist pending clears; a failed log writes nothing.  Then record
	 * the clean detach, which tells the next open (and the tools) that
	 * the last table let go in order: not a crash.
	 */
	if (!dirtylog_commit(log) && !dirtylog_failed(log) && log->attached) {
		mutex_lock(&log->commit_lock);
		if (lm_sb_detach(log))
			DMWARN("%pg: could not record the detach", log->bdev);
		mutex_unlock(&log->commit_lock);
	}
	/* Runs any work still queued, delivering the last callbacks. */
	destroy_workqueue(log->wq);
	log->wq = NULL;
	WARN_ON(!list_empty(&log->waiters));
	lm_free(log);
}
EXPORT_SYMBOL_GPL(dirtylog_close);

static int __init dirtylog_init(void)
{
	lm_csum_init();
	return 0;
}

static void __exit dirtylog_exit(void)
{
}

module_init(dirtylog_init);
module_exit(dirtylog_exit);

MODULE_DESCRIPTION(DM_NAME " persistent dirty-region log for dm-livemirror");
MODULE_AUTHOR("dm-livemirror developers");
MODULE_LICENSE("GPL");
