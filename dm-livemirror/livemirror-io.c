// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: the data path.
 *
 * Reads go to the source (to the destination once switched).  A write is
 * tracked in the hash bucket of its region for as long as it is in flight,
 * so that the copier can wait for it, and is routed:
 *
 *  - region being copied: deferred on the copy slot, re-routed afterwards;
 *  - region not yet copied: marked (normally already durable), source only;
 *  - region in sync: marked, and once the mark is durable issued to both
 *    legs in parallel through two clones; the guest bio completes when both
 *    clones are done, with the source's status.
 *
 * Discards and writes-zeroes spanning several regions are not split by
 * max_io_len.  They go to the source only after every region they touch is
 * durably marked, and on completion the copy cursor is moved back to the
 * first of these regions so that the copier moves the real bytes again.
 *
 * A destination error never fails a guest bio: the target degrades and the
 * guest completion waits until the region mark is durable.
 *
 * Once the metadata has failed, the log can no longer record that the legs
 * differ.  A write to a region whose bit is durably set goes to the source
 * only, as before.  Any other write (its region may be clean on disk) goes
 * to both legs, so that the region stays identical, or fails with EIO when
 * the destination cannot take it: acknowledging it on the source alone
 * would make a region differ that the log still says is clean, and the
 * write would be lost by a later switch.
 */
#include <linux/bio.h>
#include "livemirror.h"

unsigned int lm_bucket_of(struct lm_target *lm, u64 region)
{
	return hash_64(region, 32) & lm->bucket_mask;
}

static inline struct bio *lm_io_bio(struct lm_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(*io));
}

static void lm_io_finish(struct lm_io *io)
{
	struct lm_target *lm = io->lm;
	struct bio *bio = lm_io_bio(io);
	struct lm_bucket *b;
	struct lm_slot *slot;
	unsigned long flags;
	bool kick = false;

	if (io->kind == LM_IO_WRITE) {
		b = &lm->buckets[lm_bucket_of(lm, io->region)];
		spin_lock_irqsave(&b->lock, flags);
		hlist_del(&io->node);
		slot = lm_find_slot(b, io->region);
		if (slot && slot->state == LM_SLOT_WAIT && !--slot->waiting) {
			slot->state = LM_SLOT_READY;
			kick = true;
		}
		spin_unlock_irqrestore(&b->lock, flags);
	} else {
		/* LM_IO_RANGE: have the copier move these regions again */
		lm_restart_pass(lm, io->region);
	}
	lm_epoch_exit(lm, io->epoch);
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

static void lm_io_done(struct lm_io *io)
{
	struct lm_target *lm = io->lm;
	int r;

	if (io->status)
		lm_src_error(lm);
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

static void lm_dst_endio(struct bio *clone)
{
	struct lm_io *io = clone->bi_private;

	if (clone->bi_status)
		io->dst_failed = true;
	lm_clone_put(clone, io);
}

static void lm_submit_clone(struct lm_target *lm, struct lm_io *io,
			    struct block_device *bdev)
{
	struct bio *clone;

	clone = bio_alloc_clone(bdev, lm_io_bio(io), GFP_NOIO, &lm->bs);
	clone->bi_end_io = bdev == lm->src->bdev ? lm_src_endio : lm_dst_endio;
	clone->bi_private = io;
	submit_bio_noacct(clone);
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
	set_bit(LM_F_UNMARKED, &lm->flags);
	return true;
}

/* The marks of the bio are durable (or failed): issue it. */
static void lm_issue(struct lm_io *io, int mark_err)
{
	struct lm_target *lm = io->lm;

	io->status = BLK_STS_OK;
	io->dst_failed = false;
	io->unmarked = false;
	if (mark_err) {
		if (!lm_route_unmarked(io)) {
			io->status = BLK_STS_IOERR;
			lm_io_finish(io);
			return;
		}
	} else if (io->to_dest && !lm_dest_ok(lm)) {
		io->to_dest = false;
	}

	atomic_set(&io->pending, io->to_dest ? 2 : 1);
	/* the source clone goes first; a rescuer bioset keeps this safe */
	lm_submit_clone(lm, io, lm->src->bdev);
	if (io->to_dest)
		lm_submit_clone(lm, io, lm->dst->bdev);
}

static void lm_mark_done(struct dirtylog_waiter *w, int err)
{
	lm_issue(container_of(w, struct lm_io, waiter), err);
}

/*
 * Mark @io's region, and when the write needs a commit anyway and looks
 * like part of a sequential stream (the previous region's bit is set), the
 * next LM_MARK_AHEAD - 1 regions with it, in the same commit: a stream
 * crossing cold regions then waits for one commit per LM_MARK_AHEAD
 * regions instead of one per region.  Only in-sync regions of the write's
 * group are marked ahead: the group is stamped by the write, so they are
 * not cleared before the stream reaches them, and regions at or above the
 * copy cursor keep meaning "not copied yet".  A region marked ahead and
 * never written is in sync and is cleared with its group.  Every write
 * still marks its own region, so this is only a hint.
 */
static int lm_mark_write(struct lm_target *lm, struct lm_io *io)
{
	u64 r = io->region, limit = READ_ONCE(lm->copy_next), last;

	if (!io->to_dest || !r || r + 1 >= limit ||
	    dirtylog_test(lm->log, r) || !dirtylog_test(lm->log, r - 1))
		return dirtylog_mark(lm->log, r, &io->waiter);

	last = min3(r + LM_MARK_AHEAD - 1, r | (BIT_ULL(LM_GROUP_SHIFT) - 1),
		    limit - 1);
	if (last == r)
		return dirtylog_mark(lm->log, r, &io->waiter);
	return dirtylog_mark_range(lm->log, r, last, &io->waiter);
}

/*
 * Route a single-region write.  Called from map() and from the worker for
 * writes that were deferred on a copy slot.  Never sleeps except for the
 * bioset allocation.
 */
void lm_route_write(struct lm_target *lm, struct lm_io *io)
{
	struct lm_bucket *b = &lm->buckets[lm_bucket_of(lm, io->region)];
	struct lm_slot *slot;
	unsigned long flags;
	int r;

	spin_lock_irqsave(&b->lock, flags);
	slot = lm_find_slot(b, io->region);
	if (slot) {
		bio_list_add(&slot->deferred, lm_io_bio(io));
		spin_unlock_irqrestore(&b->lock, flags);
		return;
	}
	io->kind = LM_IO_WRITE;
	hlist_add_head(&io->node, &b->writes);
	io->epoch = lm_epoch_enter(lm, io->region, io->region);
	io->to_dest = lm_dest_ok(lm) && lm_region_in_sync(lm, io->region);
	io->waiter.fn = lm_mark_done;
	r = lm_mark_write(lm, io);
	spin_unlock_irqrestore(&b->lock, flags);

	if (r != -EINPROGRESS)
		lm_issue(io, r);
}

/* Discard, or write-zeroes spanning regions: mark all, source only. */
static void lm_route_range(struct lm_target *lm, struct lm_io *io)
{
	unsigned long flags;
	int r;

	io->kind = LM_IO_RANGE;
	io->to_dest = false;
	io->waiter.fn = lm_mark_done;

	/* copy_lock orders this against the lazy clear of these regions */
	spin_lock_irqsave(&lm->copy_lock, flags);
	io->epoch = lm_epoch_enter(lm, io->region, io->last);
	r = dirtylog_mark_range(lm->log, io->region, io->last, &io->waiter);
	spin_unlock_irqrestore(&lm->copy_lock, flags);

	if (r != -EINPROGRESS)
		lm_issue(io, r);
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
		if (!(f & BIT(LM_F_UNMARKED)) || (f & BIT(LM_F_CANCELLED)))
			goto done;
		if (!lm_dest_alive(lm)) {
			bio->bi_status = BLK_STS_IOERR;
			goto done;
		}
	}
	io->to_dest = true;
	bio_set_dev(bio, lm->dst->bdev);
	return DM_MAPIO_REMAPPED;
done:
	bio_endio(bio);
	return DM_MAPIO_SUBMITTED;
}

int lm_map(struct dm_target *ti, struct bio *bio)
{
	struct lm_target *lm = ti->private;
	struct lm_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long f = READ_ONCE(lm->flags);
	sector_t sector;

	io->lm = lm;
	io->kind = LM_IO_PASS;

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
	struct lm_io *io = dm_per_bio_data(bio, sizeof(*io));
	bool switched = test_bit(LM_F_SWITCHED, &lm->flags);

	if (!*error)
		return DM_ENDIO_DONE;

	switch (io->kind) {
	case LM_IO_FLUSH:
		if (io->to_dest && !switched) {
			/*
			 * A destination flush error fails the guest only when
			 * writes were mirrored that the log could not mark.
			 */
			lm_dest_error(lm);
			if (!test_bit(LM_F_UNMARKED, &lm->flags))
				*error = BLK_STS_OK;
		} else if (!switched) {
			lm_src_error(lm);
		}
		break;
	case LM_IO_PASS:
		if (!switched && *error != BLK_STS_NOTSUPP &&
		    *error != BLK_STS_AGAIN)
			lm_src_error(lm);
		break;
	default:
		/* tracked writes: already accounted in lm_io_done() */
		break;
	}
	return DM_ENDIO_DONE;
}

/* Worker: re-route writes released by copies, start ready copy slots. */
void lm_do_worker(struct work_struct *ws)
{
	struct lm_target *lm = container_of(ws, struct lm_target, worker);
	struct bio_list bios;
	struct bio *bio;
	unsigned long flags;

	spin_lock_irqsave(&lm->deferred_lock, flags);
	bios = lm->deferred;
	bio_list_init(&lm->deferred);
	spin_unlock_irqrestore(&lm->deferred_lock, flags);

	while ((bio = bio_list_pop(&bios)))
		lm_route_write(lm, dm_per_bio_data(bio, sizeof(struct lm_io)));

	lm_start_ready_slots(lm);
}
