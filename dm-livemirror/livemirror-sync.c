// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: lazy clearing of in-sync regions, leg errors, suspend.
 *
 * Epochs.  A global epoch advances once per tick (about a second).  Every
 * tracked write counts itself in the in-flight counter of the epoch it was
 * mapped in, and stamps that epoch (8 bits) into the entry of its group of
 * 64 regions; a finished copy stamps its group too.  The epoch only
 * advances into a counter slot that has drained, so each of the
 * LM_NR_EPOCHS counters holds exactly one epoch.
 *
 * Every stamp is stored under epoch_lock together with reading the epoch,
 * and the tick advances the epoch under the same lock, so a group's stamp
 * never goes backwards: all writes mapped to the group and all copies of
 * its regions belong to epochs at or before its stamp.  (A stamp stored
 * outside the lock could be overwritten by a writer that read an older
 * epoch and was then delayed, e.g. a preempted vCPU, across ticks; the
 * group would then look idle while a newer write is still completing, and
 * its bit could be cleared with that write not yet flushed.)
 *
 * A DIRTY region (its bit is set, N is clear, no slot) is cleared when its group was last stamped in
 * epoch s with s + 2 <= E (E the newest closed epoch: the group was idle for
 * two periods) and every write of the epochs up to s + 1 has completed,
 * both taken before both legs are flushed: every write and copy of the
 * group then completed before that flush.  The clear itself rechecks,
 * under the region's bucket lock, the stamp (a write mapped since has a
 * newer one), that no write to the region is in flight and that no leg
 * error happened since the flush.  Hot regions thus keep their bit and cost
 * no metadata I/O; after any failed leg flush nothing is cleared.
 *
 * A REQ_PREFLUSH needs no log work: every write that can make the legs
 * differ is issued only after its mark is durable, and clears are written
 * only after the leg flushes that made the cleared regions identical on
 * stable storage.  Losing not-yet-committed clears only costs a re-copy.
 *
 * Contexts: the tick (lm_tick_work) and the suspend hooks run in process
 * context and may sleep; lm_epoch_enter/exit, lm_touch_group and the
 * error handlers run in any context.
 */
#include "livemirror.h"

/*
 * Count a write in the current epoch and stamp the groups of its regions
 * [@first, @last] with it.  Returns the epoch.  Any context.
 */
unsigned long lm_epoch_enter(struct lm_target *lm, u64 first, u64 last)
{
	unsigned long flags, e;
	u64 g;

	spin_lock_irqsave(&lm->epoch_lock, flags);
	e = lm->epoch;
	atomic_inc(&lm->inflight[e % LM_NR_EPOCHS]);
	for (g = first >> LM_GROUP_SHIFT; g <= last >> LM_GROUP_SHIFT; g++)
		WRITE_ONCE(lm->group_epoch[g], (u8)e);
	spin_unlock_irqrestore(&lm->epoch_lock, flags);
	return e;
}

void lm_epoch_exit(struct lm_target *lm, unsigned long epoch)
{
	atomic_dec(&lm->inflight[epoch % LM_NR_EPOCHS]);
}

/* A copy of @region finished: stamp its group.  Any context. */
void lm_touch_group(struct lm_target *lm, u64 region)
{
	unsigned long flags;

	spin_lock_irqsave(&lm->epoch_lock, flags);
	WRITE_ONCE(lm->group_epoch[region >> LM_GROUP_SHIFT], (u8)lm->epoch);
	spin_unlock_irqrestore(&lm->epoch_lock, flags);
}

static void lm_advance_epoch(struct lm_target *lm)
{
	unsigned long flags;

	spin_lock_irqsave(&lm->epoch_lock, flags);
	if (!atomic_read(&lm->inflight[(lm->epoch + 1) % LM_NR_EPOCHS]))
		lm->epoch++;
	spin_unlock_irqrestore(&lm->epoch_lock, flags);
}

/* Newest epoch D such that every write of the epochs <= D completed. */
static unsigned long lm_drained_epoch(struct lm_target *lm, unsigned long cur)
{
	unsigned long x;

	for (x = cur - (LM_NR_EPOCHS - 1); x < cur; x++)
		if (atomic_read(&lm->inflight[x % LM_NR_EPOCHS]))
			return x - 1;
	return cur - 1;
}

static bool lm_group_idle(struct lm_target *lm, u64 region,
			  unsigned long closed, unsigned long drained)
{
	u8 s = READ_ONCE(lm->group_epoch[region >> LM_GROUP_SHIFT]);

	return (s8)((u8)closed - s) >= 2 && (s8)((u8)drained - s) >= 1;
}

static bool lm_clear_allowed(struct lm_target *lm)
{
	return lm_dest_ok(lm) &&
	       !(READ_ONCE(lm->flags) & (BIT(LM_F_SRC_DEAD) | BIT(LM_F_DST_DEAD)));
}

/* A flush of the destination that may outlive its waiter. */
struct lm_flush_ctx {
	struct completion done;
	refcount_t refs;
	int err;
};

static void lm_flush_ctx_put(struct lm_flush_ctx *c)
{
	if (refcount_dec_and_test(&c->refs))
		kfree(c);
}

static void lm_flush_endio(struct bio *bio)
{
	struct lm_flush_ctx *c = bio->bi_private;

	c->err = blk_status_to_errno(bio->bi_status);
	bio_put(bio);
	complete(&c->done);
	lm_flush_ctx_put(c);
}

/*
 * Flush the destination, giving up after dest_timeout: a hung destination
 * must not hold the lazy clear, a switch or a suspend.  The flush left
 * behind frees its own context.  Sleeps.
 */
static int lm_flush_dest(struct lm_target *lm)
{
	unsigned long to = READ_ONCE(lm->dest_timeout) * HZ;
	struct lm_flush_ctx *c;
	struct bio *bio;
	int r;

	if (!to)
		return blkdev_issue_flush(lm->dst->bdev);
	c = kmalloc(sizeof(*c), GFP_NOIO);
	if (!c)
		return blkdev_issue_flush(lm->dst->bdev);
	init_completion(&c->done);
	refcount_set(&c->refs, 2);
	c->err = 0;
	bio = bio_alloc(lm->dst->bdev, 0, REQ_OP_WRITE | REQ_PREFLUSH, GFP_NOIO);
	bio->bi_end_io = lm_flush_endio;
	bio->bi_private = c;
	submit_bio(bio);
	if (wait_for_completion_timeout(&c->done, to)) {
		r = c->err;
	} else {
		DMERR_LIMIT("%s: destination flush timed out after %us",
			    dm_device_name(dm_table_get_md(lm->ti->table)),
			    READ_ONCE(lm->dest_timeout));
		r = -ETIMEDOUT;
	}
	lm_flush_ctx_put(c);
	return r;
}

int lm_flush_legs(struct lm_target *lm)
{
	int r1, r2;

	r1 = blkdev_issue_flush(lm->src->bdev);
	if (r1)
		lm_src_error(lm);
	r2 = lm_flush_dest(lm);
	if (r2)
		lm_dest_error(lm);
	return r1 ? r1 : r2;
}

static bool lm_region_busy(struct lm_bucket *b, u64 region)
{
	struct lm_io *io;

	if (lm_find_slot(b, region))
		return true;
	hlist_for_each_entry(io, &b->writes, node)
		if (io->region == region)
			return true;
	return false;
}

/* The next DIRTY region at or after @r: skips runs of NEEDCOPY at once. */
static u64 lm_next_dirty(struct lm_target *lm, u64 r)
{
	u64 nr = lm->nr_regions;

	for (;;) {
		r = dirtylog_next(lm->log, r);
		if (r >= nr || !lm_needs_copy(lm, r))
			return r;
		r = lm_need_next_zero(lm, r, nr);
	}
}

/*
 * DIRTY -> CLEAN: clear the bits of idle DIRTY regions (of every DIRTY
 * region when @force: the caller guarantees that nothing is in flight),
 * after flushing both legs, then commit.  Each clear is decided under the
 * region's bucket lock, from the region's own state.  Sleeps.
 */
int lm_clear_in_sync(struct lm_target *lm, bool force)
{
	unsigned long cur, closed, drained, flags, steps = 0;
	u64 r, nr = lm->nr_regions, n = 0;
	struct lm_bucket *b;
	bool found = false;
	int gen, err;

	if (!lm_clear_allowed(lm))
		return 0;

	cur = READ_ONCE(lm->epoch);
	closed = cur - 1;
	drained = lm_drained_epoch(lm, cur);

	for (r = lm_next_dirty(lm, 0); r < nr; r = lm_next_dirty(lm, r + 1)) {
		if (force || lm_group_idle(lm, r, closed, drained)) {
			found = true;
			break;
		}
		if (!(++steps & 1023))
			cond_resched();
	}
	if (!found)
		return 0;

	gen = atomic_read(&lm->err_gen);
	/* pairs with the barrier in lm_dest_error(): flags before err_gen */
	smp_rmb();
	err = lm_flush_legs(lm);
	if (err)
		return err;

	for (; r < nr; r = lm_next_dirty(lm, r + 1)) {
		if (!(++steps & 1023))
			cond_resched();
		if (!force && !lm_group_idle(lm, r, closed, drained))
			continue;
		b = &lm->buckets[lm_bucket_of(lm, r)];
		spin_lock_irqsave(&b->lock, flags);
		if (!lm_needs_copy(lm, r) && !lm_region_busy(b, r) &&
		    atomic_read(&lm->err_gen) == gen && lm_clear_allowed(lm) &&
		    (force || lm_group_idle(lm, r, closed, drained))) {
			dirtylog_clear(lm->log, r);
			n++;
		}
		spin_unlock_irqrestore(&b->lock, flags);
	}
	if (!n)
		return 0;
	err = dirtylog_commit(lm->log);
	if (err)
		lm_meta_error(lm);
	return err;
}

void lm_event_work(struct work_struct *ws)
{
	struct lm_target *lm = container_of(ws, struct lm_target, event_work);

	dm_table_event(lm->ti->table);
}

/* Any context. */
void lm_event(struct lm_target *lm)
{
	queue_work(lm->wq, &lm->event_work);
}

static const char *lm_name(struct lm_target *lm)
{
	return dm_device_name(dm_table_get_md(lm->ti->table));
}

/* A destination I/O error: never fails guest I/O.  Any context. */
void lm_dest_error(struct lm_target *lm)
{
	bool first;

	atomic64_inc(&lm->dest_errors);
	set_bit(LM_F_DST_DEAD, &lm->flags);
	first = !test_and_set_bit(LM_F_DEGRADED, &lm->flags);
	/* a clear that sees the new generation also sees the flags */
	smp_mb__before_atomic();
	atomic_inc(&lm->err_gen);
	if (first) {
		lm->degraded_at = jiffies;
		DMERR_LIMIT("%s: destination I/O error, mirror degraded", lm_name(lm));
		lm_event(lm);
	}
}

/* A source I/O error (the guest bio fails).  Any context. */
void lm_src_error(struct lm_target *lm)
{
	atomic_inc(&lm->err_gen);
	if (!test_and_set_bit(LM_F_SRC_DEAD, &lm->flags)) {
		DMERR_LIMIT("%s: source I/O error", lm_name(lm));
		lm_event(lm);
	}
}

/* Metadata failure: source only, no copies, no clears.  Any context. */
void lm_meta_error(struct lm_target *lm)
{
	if (!test_and_set_bit(LM_F_FAILED, &lm->flags)) {
		DMERR_LIMIT("%s: metadata failure, mirror stopped", lm_name(lm));
		lm_event(lm);
	}
}

/*
 * Restart after a leg failure: health back to A.  Every region the failure
 * left different is NEEDCOPY already (writes sent to the source only and
 * failed clones and copies set N), so only those are copied again.
 */
int lm_retry(struct lm_target *lm)
{
	if (test_bit(LM_F_FAILED, &lm->flags))
		return -EINVAL;
	if (atomic_read(&lm->shared->late)) {
		DMINFO_LIMIT("%s: retry waits for %d timed-out destination writes",
			     lm_name(lm), atomic_read(&lm->shared->late));
		return -EBUSY;
	}
	clear_bit(LM_F_SRC_DEAD, &lm->flags);
	clear_bit(LM_F_DST_DEAD, &lm->flags);
	clear_bit(LM_F_DEGRADED, &lm->flags);
	DMINFO("%s: retrying, %llu regions to copy again", lm_name(lm),
	       (unsigned long long)atomic64_read(&lm->nr_need));
	lm_event(lm);
	lm_need_search(lm, 0);
	return 0;
}

void lm_tick_work(struct work_struct *ws)
{
	struct lm_target *lm = container_of(to_delayed_work(ws),
					    struct lm_target, tick_dwork);

	if (test_bit(LM_F_SUSPENDED, &lm->flags))
		return;
	if (dirtylog_failed(lm->log))
		lm_meta_error(lm);
	if (test_bit(LM_F_DEGRADED, &lm->flags) &&
	    lm->args.policy == LM_DEST_RETRY &&
	    time_after_eq(jiffies, lm->degraded_at + LM_RETRY_DELAY))
		lm_retry(lm);

	lm_advance_epoch(lm);
	lm_clear_in_sync(lm, false);
	/* a late destination write that came back lifts the copy fence */
	if (atomic64_read(&lm->nr_need))
		lm_copy_kick(lm);
	queue_delayed_work(lm->wq, &lm->tick_dwork, LM_TICK);
}

/*
 * The destination timeout.  Runs from resume until postsuspend, including
 * while a suspend waits for the writes in flight, which may be the hung
 * ones.
 */
void lm_reap_work(struct work_struct *ws)
{
	struct lm_target *lm = container_of(to_delayed_work(ws),
					    struct lm_target, reap_dwork);

	lm_reap_hung_writes(lm);
	lm_abandon_hung_copies(lm);
	queue_delayed_work(lm->wq, &lm->reap_dwork, LM_TICK);
}

void lm_presuspend(struct dm_target *ti)
{
	struct lm_target *lm = ti->private;

	/* no new copies; running ones finish and release deferred writes */
	set_bit(LM_F_SUSPENDED, &lm->flags);
	cancel_delayed_work_sync(&lm->copy_dwork);
}

void lm_presuspend_undo(struct dm_target *ti)
{
	struct lm_target *lm = ti->private;

	clear_bit(LM_F_SUSPENDED, &lm->flags);
	/* the tick stopped itself when it saw the suspend */
	queue_delayed_work(lm->wq, &lm->tick_dwork, LM_TICK);
	mod_delayed_work(lm->wq, &lm->reap_dwork, LM_TICK);
	lm_copy_kick(lm);
}

void lm_postsuspend(struct dm_target *ti)
{
	struct lm_target *lm = ti->private;
	int r;

	/* copies abandoned by the timeout are reaped by the destructor */
	wait_event(lm->slots_wait,
		   READ_ONCE(lm->active_slots) == READ_ONCE(lm->abandoned_slots));
	cancel_delayed_work_sync(&lm->reap_dwork);
	cancel_delayed_work_sync(&lm->tick_dwork);
	cancel_delayed_work_sync(&lm->copy_dwork);
	flush_workqueue(lm->wq);

	mutex_lock(&lm->msg_lock);
	if (!test_bit(LM_F_FAILED, &lm->flags)) {
		/* nothing is in flight: every DIRTY region may be cleared */
		lm_clear_in_sync(lm, true);
		r = dirtylog_commit(lm->log);
		if (r)
			lm_meta_error(lm);
	} else if (!test_bit(LM_F_SWITCHED, &lm->flags) &&
		   !test_bit(LM_F_CANCELLED, &lm->flags)) {
		/*
		 * Writes mirrored without a mark are safe only once both legs
		 * have them on stable storage, whatever table comes next.
		 */
		lm_flush_legs(lm);
	}
	mutex_unlock(&lm->msg_lock);
}

/*
 * The log's state as this table's flags.  -EINVAL for a cancelled
 * migration this table did not cancel itself: it must not run.
 */
int lm_adopt_log_state(struct lm_target *lm)
{
	switch (dirtylog_state(lm->log)) {
	case LM_STATE_CANCELLED:
		if (!test_bit(LM_F_CANCELLED, &lm->flags))
			return -EINVAL;
		break;
	case LM_STATE_SWITCHED:
		set_bit(LM_F_SWITCHED, &lm->flags);
		break;
	case LM_STATE_PREPARED:
		set_bit(LM_F_PREPARED, &lm->flags);
		break;
	default:
		clear_bit(LM_F_PREPARED, &lm->flags);	/* rolled back */
		break;
	}
	return 0;
}

/*
 * A table loaded while another was live on the same log read the log at
 * construction; the old table may since have switched, cancelled, failed
 * or dirtied regions it had called copied.  Take the log's word again
 * before any I/O reaches this table.
 */
int lm_preresume(struct dm_target *ti)
{
	struct lm_target *lm = ti->private;
	int r = 0;

	mutex_lock(&lm->msg_lock);
	if (lm_adopt_log_state(lm)) {
		DMERR("%s: %s", lm_name(lm), LM_CANCELLED_MSG);
		r = -EINVAL;
		goto out;
	}
	/*
	 * A prepared member must stay suspended until the group decision is
	 * made: live, it could degrade and write to the source alone while its
	 * coordinator switched to the destinations.
	 */
	if (dirtylog_state(lm->log) == LM_STATE_PREPARED) {
		DMERR("%s: %s", lm_name(lm), LM_PREPARED_MSG);
		r = -EINVAL;
		goto out;
	}
	if (dirtylog_failed(lm->log))
		lm_meta_error(lm);
	/*
	 * N := L: whatever the table before this one (or this one before its
	 * suspend) left dirty is copied again.
	 */
	if (!test_bit(LM_F_SWITCHED, &lm->flags))
		lm_need_copy_dirty(lm);
out:
	mutex_unlock(&lm->msg_lock);
	return r;
}

/*
 * Under msg_lock: a switch, prepare or cancel that found the device
 * suspended finishes before its I/O can start again.
 */
void lm_resume(struct dm_target *ti)
{
	struct lm_target *lm = ti->private;

	mutex_lock(&lm->msg_lock);
	clear_bit(LM_F_SUSPENDED, &lm->flags);
	mutex_unlock(&lm->msg_lock);
	queue_delayed_work(lm->wq, &lm->tick_dwork, LM_TICK);
	mod_delayed_work(lm->wq, &lm->reap_dwork, LM_TICK);
	lm_copy_kick(lm);
}
