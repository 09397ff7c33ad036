// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: the data path.
 *
 * Reads go to the source (to the destination once switched).  A write to
 * one region R is routed from R's state, read under R's bucket lock (see
 * the region states at the top of livemirror.h):
 *
 *  - COPYING:  deferred on the copy slot, routed again when the copy ends;
 *  - NEEDCOPY: marked (normally already durable), source only;
 *  - CLEAN or DIRTY: marked, and once the mark is durable issued to both
 *    legs through two clones; the guest bio completes when both clones are
 *    done, with the source's status.
 *
 * A write that goes to the source only, or whose destination clone failed,
 * sets N for its region: the legs may now differ there, and only a copy
 * makes them identical again.
 *
 * Write-after-write interlock: a mirrored write that overlaps another
 * mirrored write still in flight to the same region waits in the bucket's
 * held list until that one completes.  The block layer gives no order
 * between overlapping writes in flight, and without the interlock each leg
 * could apply them in a different order: the region would then read
 * differently after the switch, although the log calls it in sync.
 *
 * Discards and write-zeroes spanning regions (range ops, bounded by
 * io_hints) are marked region by region under each region's bucket lock,
 * go to the source only, and on completion set N for every region they
 * touched: exactly those regions are copied again, the cursor of the copy
 * is never reset for everyone, and a region that was not copied yet costs
 * nothing more.
 *
 * A destination error never fails a guest bio: the target degrades and the
 * guest completion waits until the region mark is durable.  A destination
 * that does not answer at all is treated the same way after dest_timeout:
 * every destination clone (writes and the destination's flush) is tracked
 * in a hang list, and the tick takes over the ones that are too old.  They
 * stay in flight as late writes, and no copy writes the destination until
 * they are back (lm_shared_log.late).
 *
 * Once the metadata has failed, the log can no longer record that the legs
 * differ.  A write to a region whose bit is durably set goes to the source
 * only, as before.  Any other write (its region may be clean on disk) goes
 * to both legs, so that the region stays identical, or fails with EIO when
 * the destination cannot take it.
 *
 * Contexts:
 *   map()           lm_map(), lm_route_write(), lm_route_range(), lm_issue()
 *                   for marks already durable; never sleeps but for the
 *                   bioset allocation
 *   bio completion  lm_src_endio(), lm_dst_endio(), lm_io_done(),
 *                   lm_io_finish(): any context, interrupts maybe off
 *   the log's wq    lm_mark_done() only hands the bio to the worker
 *   the tick        lm_reap_hung_writes(): destination clones older than
 *                   dest_timeout are completed as failed, and late
 *   the worker      lm_do_worker(): issues writes whose marks are durable,
 *                   routes writes released by copies and the interlock,
 *                   starts ready copy slots
 */
#include <linux/bio.h>
#include <linux/blk-crypto.h>
#include "livemirror.h"

unsigned int lm_bucket_of(struct lm_target *lm, u64 region)
{
	return hash_64(region, 32) & lm->bucket_mask;
}

static inline struct bio *lm_io_bio(struct lm_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(*io));
}

static inline struct lm_io *lm_bio_io(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct lm_io));
}

/* Hand bios to the worker, to be routed again in order.  Any context. */
void lm_defer_bios(struct lm_target *lm, struct bio_list *bios)
{
	unsigned long flags;

	if (bio_list_empty(bios))
		return;
	spin_lock_irqsave(&lm->deferred_lock, flags);
	bio_list_merge(&lm->deferred, bios);
	spin_unlock_irqrestore(&lm->deferred_lock, flags);
	bio_list_init(bios);
	queue_work(lm->wq, &lm->worker);
}

/* A status the device gives for what it does not support: not a failure. */
static bool lm_unsupported(blk_status_t s)
{
	return s == BLK_STS_NOTSUPP || s == BLK_STS_AGAIN;
}

static void lm_io_finish(struct lm_io *io)
{
	struct lm_target *lm = io->lm;
	struct bio *bio = lm_io_bio(io);
	struct bio_list held;
	struct lm_bucket *b;
	struct lm_slot *slot;
	unsigned long flags;
	bool kick = false;

	bio_list_init(&held);
	if (io->tracked) {
		b = &lm->buckets[lm_bucket_of(lm, io->region)];
		spin_lock_irqsave(&b->lock, flags);
		hlist_del(&io->node);
		io->tracked = false;
		slot = lm_find_slot(b, io->region);
		if (slot && slot->state == LM_SLOT_WAIT && !--slot->waiting) {
			slot->state = LM_SLOT_READY;
			kick = true;
		}
		/* writes held back by this one try again, in order */
		bio_list_merge(&held, &b->held);
		bio_list_init(&b->held);
		spin_unlock_irqrestore(&b->lock, flags);
	} else if (io->kind == LM_IO_RANGE) {
		/* the source changed under these regions: copy them again */
		lm_need_copy_range(lm, io->region, io->last);
	}
	lm_epoch_exit(lm, io->epoch);
	lm_defer_bios(lm, &held);
	if (kick)
		queue_work(lm->wq, &lm->worker);

	bio->bi_status = io->status;
	bio_endio(bio);
}

/* The legs differ in a region the log could not mark: fail the write. */
static void lm_unrecorded(struct lm_io *io)
{
	lm_meta_error(io->lm);
	if (!io->status)
		io->status = BLK_STS_IOERR;
}

static void lm_fail_mark_done(struct dirtylog_waiter *w, int err)
{
	struct lm_io *io = container_of(w, struct lm_io, waiter);

	if (err)
		lm_unrecorded(io);
	lm_io_finish(io);
}

/*
 * A destination flush sent through our own clone, so that a hung
 * destination cannot hold the guest's flush for longer than dest_timeout.
 */
static void lm_dflush_done(struct lm_io *io)
{
	struct lm_target *lm = io->lm;
	struct bio *bio = lm_io_bio(io);

	bio->bi_status = BLK_STS_OK;
	if (io->dst_failed) {
		lm_dest_error(lm);
		/* it matters only where writes were mirrored without a mark */
		if (READ_ONCE(lm->shared->unmarked))
			bio->bi_status = BLK_STS_IOERR;
	}
	bio_endio(bio);
}

static void lm_io_done(struct lm_io *io)
{
	struct lm_target *lm = io->lm;
	int r;

	if (io->kind == LM_IO_DFLUSH) {
		lm_dflush_done(io);
		return;
	}
	if (io->status && !lm_unsupported(io->status))
		lm_src_error(lm);
	/* one leg has the write and the other may not: NEEDCOPY */
	if (io->to_dest && (io->status || io->dst_failed || io->dst_skipped))
		lm_need_copy(lm, io->region);
	if (io->dst_failed && io->unmarked) {
		/* no mark could be made for any of its regions */
		lm_dest_error(lm);
		lm_unrecorded(io);
	} else if (io->dst_failed) {
		lm_dest_error(lm);
		/*
		 * The region was marked before the write was issued and the
		 * lazy clear skips degraded targets, so this normally returns
		 * 0 at once; wait for durability if it does not.
		 */
		io->waiter.fn = lm_fail_mark_done;
		r = dirtylog_mark(lm->log, io->region, &io->waiter);
		if (r == -EINPROGRESS)
			return;
		if (r)
			lm_unrecorded(io);
	}
	lm_io_finish(io);
}

static void lm_clone_put(struct bio *clone, struct lm_io *io)
{
	bio_put(clone);
	if (atomic_dec_and_test(&io->pending))
		lm_io_done(io);
}

/*
 * One completion per leg: a stacked driver below may have changed the
 * clone's bi_bdev (md linear does), so it cannot tell the legs apart.
 */
static void lm_src_endio(struct bio *clone)
{
	struct lm_io *io = clone->bi_private;

	io->status = clone->bi_status;
	lm_clone_put(clone, io);
}

static inline struct lm_clone_pad *lm_pad(struct bio *clone)
{
	return (void *)clone - sizeof(struct lm_clone_pad);
}

/*
 * A destination write that timed out came back.  The last one wakes the
 * destructor under the wait queue's lock, which the destructor waits
 * with: it cannot free the table while this still touches it.  Any context.
 */
void lm_late_put(struct lm_target *lm)
{
	unsigned long flags;

	if (atomic_dec_and_test(&lm->shared->late))
		lm_copy_kick(lm);
	spin_lock_irqsave(&lm->late_wait.lock, flags);
	if (atomic_dec_and_test(&lm->late))
		wake_up_locked(&lm->late_wait);
	spin_unlock_irqrestore(&lm->late_wait.lock, flags);
}

/*
 * A destination clone owns its bvec table and holds a reference on every
 * page it writes: the timeout may complete the guest's bio (whose bvec
 * table and pages the block layer then frees or reuses) while the clone is
 * still queued below.  A late clone thus writes whatever its pages hold by
 * then, which is harmless: its region is NEEDCOPY and no copy writes the
 * destination before every late write is back.
 */
static struct bio *lm_dst_clone(struct lm_target *lm, struct bio *src)
{
	struct bvec_iter iter;
	struct bio_vec bv;
	unsigned short nr = 0;
	struct bio *clone;
	unsigned int i, last;

	/*
	 * A write-zeroes inside one region is mirrored like a write, but it
	 * has a size and no bvec table: only a bio with data has vectors.
	 */
	if (bio_has_data(src))
		bio_for_each_bvec(bv, src, iter)
			nr++;
	clone = bio_alloc_bioset(lm->dst->bdev, nr, src->bi_opf, GFP_NOIO, &lm->bs);
	clone->bi_iter.bi_sector = src->bi_iter.bi_sector;
	clone->bi_ioprio = src->bi_ioprio;
	if (bio_has_data(src)) {
		bio_for_each_bvec(bv, src, iter) {
			/* the pages lm_dst_clone_put() puts, one by one */
			last = (bv.bv_offset + bv.bv_len - 1) / PAGE_SIZE;
			for (i = bv.bv_offset / PAGE_SIZE; i <= last; i++)
				get_page(nth_page(bv.bv_page, i));
			__bio_add_page(clone, bv.bv_page, bv.bv_len, bv.bv_offset);
		}
	} else {
		/* write-zeroes and discards carry a size and no data */
		clone->bi_iter.bi_size = src->bi_iter.bi_size;
	}
	bio_clone_blkg_association(clone, src);
	/* inline encryption contexts come from our own allocations: no failure */
	bio_crypt_clone(clone, src, GFP_NOIO);
	return clone;
}

static void lm_dst_clone_put(struct bio *clone)
{
	struct bvec_iter_all iter;
	struct bio_vec *bv;

	/*
	 * By bi_vcnt, not bi_iter: a blk-mq device has advanced the iterator
	 * to the end by now.  Nothing to put for flushes, discards and
	 * write-zeroes.
	 */
	bio_for_each_segment_all(bv, clone, iter)
		put_page(bv->bv_page);
	bio_put(clone);
}

static void lm_dst_endio(struct bio *clone)
{
	struct lm_target *lm = clone->bi_private;
	struct lm_clone_pad *pad = lm_pad(clone);
	struct lm_hang_list *h = &lm->hang[pad->list];
	unsigned long flags;
	struct lm_io *io;

	spin_lock_irqsave(&h->lock, flags);
	io = pad->io;
	if (io) {
		pad->io = NULL;
		list_del(&pad->node);
	}
	spin_unlock_irqrestore(&h->lock, flags);

	if (io) {
		if (clone->bi_status && !lm_unsupported(clone->bi_status))
			io->dst_failed = true;
		else if (clone->bi_status)
			io->dst_skipped = true;
	}
	lm_dst_clone_put(clone);
	if (!io) {
		/* timed out: its guest bio is long done */
		lm_late_put(lm);
		return;
	}
	if (atomic_dec_and_test(&io->pending))
		lm_io_done(io);
}

static void lm_submit_clone(struct lm_target *lm, struct lm_io *io,
			    struct block_device *bdev)
{
	struct lm_clone_pad *pad;
	struct lm_hang_list *h;
	struct bio *clone;
	unsigned long flags;

	if (bdev == lm->src->bdev) {
		clone = bio_alloc_clone(bdev, lm_io_bio(io), GFP_NOIO, &lm->bs);
		clone->bi_end_io = lm_src_endio;
		clone->bi_private = io;
	} else {
		clone = lm_dst_clone(lm, lm_io_bio(io));
		clone->bi_end_io = lm_dst_endio;
		clone->bi_private = lm;
		/*
		 * dest_sync async: the log, not the destination's cache, keeps
		 * a crash safe (the lazy clear and the switch flush both legs
		 * themselves); a write mirrored without a mark is the exception.
		 */
		if (lm->args.dest_async && !io->unmarked)
			clone->bi_opf &= ~REQ_FUA;
		pad = lm_pad(clone);
		pad->list = raw_smp_processor_id() % LM_NR_HANG_LISTS;
		pad->io = io;
		pad->issued = jiffies;
		h = &lm->hang[pad->list];
		spin_lock_irqsave(&h->lock, flags);
		list_add_tail(&pad->node, &h->clones);
		spin_unlock_irqrestore(&h->lock, flags);
	}
	/* dm polls only its own clone of the guest bio, never these */
	bio_clear_polled(clone);
	submit_bio_noacct(clone);
}

/*
 * The destination stopped answering (a link cut inside NVMe/TCP's
 * ctrl_loss_tmo, multipath queueing with no path): take over the
 * completion of every destination clone older than dest_timeout, so that
 * the guest's write completes from the source and the mirror degrades as
 * for an error.  The clone stays in flight, counted as late, and frees
 * itself when it comes back.  The tick, process context.
 */
void lm_reap_hung_writes(struct lm_target *lm)
{
	unsigned long to = READ_ONCE(lm->dest_timeout) * HZ, flags;
	struct lm_io *taken[32];
	struct lm_clone_pad *pad, *tmp;
	struct lm_hang_list *h;
	unsigned int i, n, k;

	if (!to)
		return;
	for (i = 0; i < LM_NR_HANG_LISTS; i++) {
		h = &lm->hang[i];
		do {
			n = 0;
			spin_lock_irqsave(&h->lock, flags);
			list_for_each_entry_safe(pad, tmp, &h->clones, node) {
				/* oldest first */
				if (!time_after(jiffies, pad->issued + to) ||
				    n == ARRAY_SIZE(taken))
					break;
				taken[n++] = pad->io;
				pad->io = NULL;
				list_del(&pad->node);
				atomic_inc(&lm->late);
				atomic_inc(&lm->shared->late);
			}
			spin_unlock_irqrestore(&h->lock, flags);
			for (k = 0; k < n; k++) {
				taken[k]->dst_failed = true;
				if (atomic_dec_and_test(&taken[k]->pending))
					lm_io_done(taken[k]);
			}
			if (n)
				DMERR_LIMIT("%s: %u destination writes timed out after %us",
					    dm_device_name(dm_table_get_md(lm->ti->table)),
					    n, READ_ONCE(lm->dest_timeout));
		} while (n == ARRAY_SIZE(taken));
	}
}

/*
 * The write's mark failed (metadata failed): its region may be clean on
 * disk, so the legs must stay identical.  False when it must fail instead.
 */
static bool lm_route_unmarked(struct lm_io *io)
{
	struct lm_target *lm = io->lm;

	lm_meta_error(lm);
	if (io->kind == LM_IO_RANGE &&
	    bio_op(lm_io_bio(io)) == REQ_OP_DISCARD) {
		/* what a discard leaves is undefined on any device */
		io->to_dest = false;
		return true;
	}
	if (!lm_dest_alive(lm))
		return false;
	io->to_dest = true;
	io->unmarked = true;
	/* in the shared log: a reloaded table must flush the destination too */
	WRITE_ONCE(lm->shared->unmarked, true);
	return true;
}

/*
 * The marks of the bio are durable (or failed): issue it.  Once the
 * source clone is submitted, @io may be done and freed (a source-only
 * write completes with it; from the worker nothing holds it back), and
 * its memory may already carry the next guest write: decide the
 * destination clone before, never read @io again after.
 */
static void lm_issue(struct lm_io *io, int mark_err)
{
	struct lm_target *lm = io->lm;
	bool to_dest;

	io->status = BLK_STS_OK;
	io->dst_failed = false;
	io->dst_skipped = false;
	io->unmarked = false;
	if (mark_err) {
		if (!lm_route_unmarked(io)) {
			io->status = BLK_STS_IOERR;
			lm_io_finish(io);
			return;
		}
	} else if (io->to_dest && !lm_dest_ok(lm)) {
		/* the mirror degraded since the write was routed */
		WRITE_ONCE(io->to_dest, false);
		lm_need_copy(lm, io->region);
	}

	to_dest = io->to_dest;
	atomic_set(&io->pending, to_dest ? 2 : 1);
	/* the source clone goes first; a rescuer bioset keeps this safe */
	lm_submit_clone(lm, io, lm->src->bdev);
	/* test build: hold the worker where @io may already be gone */
	lm_test_delay_in(&lm->worker, LM_TP_ISSUE);
	/* with to_dest, pending holds @io until the destination clone ends */
	if (to_dest)
		lm_submit_clone(lm, io, lm->dst->bdev);
}

/* The log's workqueue: never submit from there, hand over to the worker. */
static void lm_mark_done(struct dirtylog_waiter *w, int err)
{
	struct lm_io *io = container_of(w, struct lm_io, waiter);
	struct lm_target *lm = io->lm;
	unsigned long flags;

	io->mark_err = err;
	spin_lock_irqsave(&lm->deferred_lock, flags);
	bio_list_add(&lm->ready, lm_io_bio(io));
	spin_unlock_irqrestore(&lm->deferred_lock, flags);
	queue_work(lm->wq, &lm->worker);
}

/*
 * Mark @io's region, and when the write needs a commit anyway and looks
 * like part of a sequential stream (the previous region's bit is set), the
 * next LM_MARK_AHEAD - 1 regions of its group with it, in the same commit:
 * a stream crossing cold regions then waits for one commit per
 * LM_MARK_AHEAD regions instead of one per region.  A set log bit only
 * says that the legs may differ, so marking ahead is always safe; the
 * group is stamped by the write, so these bits are not cleared before the
 * stream reaches them, and a region marked ahead and never written is
 * cleared with its group.  Every write still marks its own region.
 */
static int lm_mark_write(struct lm_target *lm, struct lm_io *io)
{
	u64 r = io->region, last;

	if (!io->to_dest || !r || dirtylog_test(lm->log, r) ||
	    !dirtylog_test(lm->log, r - 1))
		return dirtylog_mark(lm->log, r, &io->waiter);

	last = min3(r + LM_MARK_AHEAD - 1, r | (BIT_ULL(LM_GROUP_SHIFT) - 1),
		    lm->nr_regions - 1);
	if (last == r)
		return dirtylog_mark(lm->log, r, &io->waiter);
	return dirtylog_mark_range(lm->log, r, last, &io->waiter);
}

static bool lm_overlap(struct bio *a, struct bio *b)
{
	return a->bi_iter.bi_sector < bio_end_sector(b) &&
	       b->bi_iter.bi_sector < bio_end_sector(a);
}

/*
 * A mirrored write in flight to @io's region overlaps it (@any: any write
 * in flight does, for a failed log, where a write may still become
 * mirrored without a mark after it was routed).  Bucket locked.
 */
static bool lm_waw_conflict(struct lm_bucket *b, struct lm_io *io, bool any)
{
	struct bio *bio = lm_io_bio(io);
	struct lm_io *w;

	hlist_for_each_entry(w, &b->writes, node)
		if (w->region == io->region && (any || READ_ONCE(w->to_dest)) &&
		    lm_overlap(lm_io_bio(w), bio))
			return true;
	return false;
}

/*
 * Route a single-region write from its region's state.  Called from map()
 * and from the worker for writes that were deferred.
 */
void lm_route_write(struct lm_target *lm, struct lm_io *io)
{
	struct lm_bucket *b = &lm->buckets[lm_bucket_of(lm, io->region)];
	u64 region = io->region;	/* @io may be gone once marked */
	struct lm_slot *slot;
	unsigned long flags;
	bool to_dest, failed, newly = false;
	int r;

	spin_lock_irqsave(&b->lock, flags);
	slot = lm_find_slot(b, io->region);
	if (slot && !slot->abandoned) {
		/* COPYING */
		bio_list_add(&slot->deferred, lm_io_bio(io));
		spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	/*
	 * CLEAN or DIRTY mirror; NEEDCOPY goes to the source only, and so
	 * does a region whose copy timed out (the mirror is degraded).
	 */
	to_dest = !slot && lm_dest_ok(lm) && !lm_needs_copy(lm, io->region);
	io->to_dest = to_dest;
	failed = dirtylog_failed(lm->log);
	if ((to_dest || failed) && lm_waw_conflict(b, io, failed)) {
		bio_list_add(&b->held, lm_io_bio(io));
		spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	io->kind = LM_IO_WRITE;
	io->tracked = true;
	hlist_add_head(&io->node, &b->writes);
	io->epoch = lm_epoch_enter(lm, io->region, io->region);
	if (!to_dest)
		newly = lm_set_need(lm, io->region);
	io->waiter.fn = lm_mark_done;
	r = lm_mark_write(lm, io);
	spin_unlock_irqrestore(&b->lock, flags);

	if (newly)
		lm_need_search(lm, region);
	if (r != -EINPROGRESS)
		lm_issue(io, r);
}

/*
 * Discard, or write-zeroes spanning regions: mark every region under its
 * own bucket lock, so that the lazy clear, which checks and clears under
 * that lock, either sees the new group stamp or clears before the mark
 * sets the bit again; then source only.
 */
static void lm_route_range(struct lm_target *lm, struct lm_io *io)
{
	struct lm_bucket *b;
	unsigned long flags;
	u64 r, seq = 0;
	int ret;

	io->kind = LM_IO_RANGE;
	io->to_dest = false;
	io->tracked = false;
	io->waiter.fn = lm_mark_done;
	io->epoch = lm_epoch_enter(lm, io->region, io->last);

	for (r = io->region; r <= io->last; r++) {
		b = &lm->buckets[lm_bucket_of(lm, r)];
		spin_lock_irqsave(&b->lock, flags);
		seq = max(seq, dirtylog_mark_nowait(lm->log, r));
		spin_unlock_irqrestore(&b->lock, flags);
	}
	ret = dirtylog_wait(lm->log, seq, &io->waiter);
	if (ret != -EINPROGRESS)
		lm_issue(io, ret);
}

static int lm_map_flush(struct lm_target *lm, struct bio *bio,
			struct lm_io *io)
{
	unsigned int nr = dm_bio_get_target_bio_nr(bio);
	unsigned long f = READ_ONCE(lm->flags);

	io->kind = LM_IO_FLUSH;
	io->to_dest = false;
	if (f & BIT(LM_F_SWITCHED)) {
		io->to_dest = true;
		if (nr)
			goto done;
		bio_set_dev(bio, lm->dst->bdev);
		return DM_MAPIO_REMAPPED;
	}
	if (!nr) {
		bio_set_dev(bio, lm->src->bdev);
		return DM_MAPIO_REMAPPED;
	}
	if (!lm_dest_ok(lm)) {
		/*
		 * Writes mirrored without a mark (metadata failed) are only
		 * safe once the destination has them too: flush it, or fail
		 * the flush if it is gone.
		 */
		if (!READ_ONCE(lm->shared->unmarked) || (f & BIT(LM_F_CANCELLED)))
			goto done;
		if (!lm_dest_alive(lm)) {
			bio->bi_status = BLK_STS_IOERR;
			goto done;
		}
	}
	if (lm->args.dest_async && !READ_ONCE(lm->shared->unmarked))
		goto done;
	io->kind = LM_IO_DFLUSH;
	io->to_dest = true;
	io->unmarked = false;
	io->dst_failed = false;
	io->dst_skipped = false;
	atomic_set(&io->pending, 1);
	lm_submit_clone(lm, io, lm->dst->bdev);
	return DM_MAPIO_SUBMITTED;
done:
	bio_endio(bio);
	return DM_MAPIO_SUBMITTED;
}

/*
 * A destination clone has its own bvec table (lm_dst_clone()), of at most
 * BIO_MAX_VECS entries; dm does not split normal bios to queue limits, and a
 * bio built from an iterator (io_uring fixed buffers) may carry more.  Take
 * what the first BIO_MAX_VECS entries hold; dm sends the rest again.
 */
static void lm_limit_bvecs(struct lm_target *lm, struct bio *bio)
{
	struct bvec_iter iter;
	struct bio_vec bv;
	unsigned int nr = 0;
	u64 bytes = 0;

	if (!bio_has_data(bio))
		return;
	bio_for_each_bvec(bv, bio, iter) {
		if (++nr > BIO_MAX_VECS) {
			bytes = round_down(bytes, bdev_logical_block_size(lm->src->bdev));
			dm_accept_partial_bio(bio, bytes >> SECTOR_SHIFT);
			return;
		}
		bytes += bv.bv_len;
	}
}

int lm_map(struct dm_target *ti, struct bio *bio)
{
	struct lm_target *lm = ti->private;
	struct lm_io *io = lm_bio_io(bio);
	unsigned long f = READ_ONCE(lm->flags);
	sector_t sector;

	io->lm = lm;
	io->kind = LM_IO_PASS;
	io->tracked = false;

	if (unlikely(bio->bi_opf & REQ_PREFLUSH) && !bio_sectors(bio))
		return lm_map_flush(lm, bio, io);

	sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	bio->bi_iter.bi_sector = sector;

	if (f & BIT(LM_F_SWITCHED)) {
		bio_set_dev(bio, lm->dst->bdev);
		return DM_MAPIO_REMAPPED;
	}
	bio_set_dev(bio, lm->src->bdev);
	if (bio_data_dir(bio) == READ || !bio_sectors(bio) ||
	    (f & BIT(LM_F_CANCELLED)))
		return DM_MAPIO_REMAPPED;

	lm_limit_bvecs(lm, bio);
	io->region = lm_region_of(lm, sector);
	io->last = lm_region_of(lm, bio_end_sector(bio) - 1);
	if (bio_op(bio) == REQ_OP_DISCARD || io->region != io->last)
		lm_route_range(lm, io);
	else
		lm_route_write(lm, io);
	return DM_MAPIO_SUBMITTED;
}

int lm_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct lm_target *lm = ti->private;
	struct lm_io *io = lm_bio_io(bio);
	bool switched = test_bit(LM_F_SWITCHED, &lm->flags);

	if (!*error)
		return DM_ENDIO_DONE;

	switch (io->kind) {
	case LM_IO_FLUSH:
		/* before the switch, only the source's flush is remapped */
		if (!switched)
			lm_src_error(lm);
		break;
	case LM_IO_PASS:
		if (!switched && !lm_unsupported(*error))
			lm_src_error(lm);
		break;
	default:
		/* tracked writes: already accounted in lm_io_done() */
		break;
	}
	return DM_ENDIO_DONE;
}

/*
 * The worker: issue writes whose marks became durable, route writes
 * released by copies and by the interlock (in the order they were held),
 * start ready copy slots.
 */
void lm_do_worker(struct work_struct *ws)
{
	struct lm_target *lm = container_of(ws, struct lm_target, worker);
	struct bio_list ready, bios;
	struct lm_io *io;
	struct bio *bio;
	unsigned long flags;

	spin_lock_irqsave(&lm->deferred_lock, flags);
	ready = lm->ready;
	bios = lm->deferred;
	bio_list_init(&lm->ready);
	bio_list_init(&lm->deferred);
	spin_unlock_irqrestore(&lm->deferred_lock, flags);

	while ((bio = bio_list_pop(&ready))) {
		io = lm_bio_io(bio);
		lm_issue(io, io->mark_err);
	}
	while ((bio = bio_list_pop(&bios)))
		lm_route_write(lm, lm_bio_io(bio));

	lm_start_ready_slots(lm);
}
