// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: the copy pass.
 *
 * The copier copies every NEEDCOPY region (N set, see livemirror.h).  Its
 * cursor, copy_next, only says where the search for the next set bit of N
 * goes on; it never says whether a region is in sync.  Whoever sets a bit
 * of N lowers the cursor and bumps need_gen under copy_lock, and the
 * copier, which searches without the lock, throws its answer away when the
 * generation moved, so no bit is passed over for good.
 *
 * Up to copy_depth regions are copied at once with kcopyd.  The slots are
 * preallocated and reserved for the copier, so guest writes never starve
 * it: a slot is taken before the copier waits for the writes already in
 * flight to its region, and writes that arrive later are deferred on the
 * slot until the copy is done.  A copied region is DIRTY: its writes are
 * mirrored, and the lazy clear takes it to CLEAN after both legs were
 * flushed (livemirror-sync.c).
 *
 * Contexts: lm_copy_work() and lm_take_region() run in the target's
 * workqueue; lm_copy_done() in kcopyd's completion (process context);
 * the N setters in any context.
 *
 * The copy rate is limited by a token bucket refilled at <throttle> MiB/s;
 * the copy work re-arms itself when it runs out of tokens.
 */
#include "livemirror.h"

struct lm_slot *lm_find_slot(struct lm_bucket *b, u64 region)
{
	struct lm_slot *slot;

	hlist_for_each_entry(slot, &b->copies, node)
		if (slot->region == region)
			return slot;
	return NULL;
}

/*
 * A bit of N was set at @from: make the search go over it again.  The
 * generation tells a copier that scanned without the lock that its answer
 * may be stale.  Any context; takes copy_lock.
 */
void lm_need_search(struct lm_target *lm, u64 from)
{
	unsigned long flags;
	bool was_done;

	spin_lock_irqsave(&lm->copy_lock, flags);
	if (from < lm->copy_next)
		WRITE_ONCE(lm->copy_next, from);
	lm->need_gen++;
	was_done = test_and_clear_bit(LM_F_PASS_DONE, &lm->flags);
	spin_unlock_irqrestore(&lm->copy_lock, flags);

	if (was_done)
		lm_event(lm);
	lm_copy_kick(lm);
}

/* NEEDCOPY for @region.  Any context, no bucket lock held. */
void lm_need_copy(struct lm_target *lm, u64 region)
{
	if (lm_set_need(lm, region))
		lm_need_search(lm, region);
}

void lm_need_copy_range(struct lm_target *lm, u64 first, u64 last)
{
	u64 r, low = U64_MAX;

	for (r = first; r <= last; r++)
		if (lm_set_need(lm, r) && low == U64_MAX)
			low = r;
	if (low != U64_MAX)
		lm_need_search(lm, low);
}

/*
 * N := L, when nothing is in flight (constructor, preresume).  N is a
 * subset of L, so this only adds the regions a table before this one (or
 * a crash) left dirty: each of them is copied again.
 */
void lm_need_copy_dirty(struct lm_target *lm)
{
	u64 n = lm_need_from_log(lm);

	if (n) {
		lm_need_search(lm, 0);
	} else {
		WRITE_ONCE(lm->copy_next, lm->nr_regions);
		set_bit(LM_F_PASS_DONE, &lm->flags);
	}
}

/* Nothing is left to copy and no copy is in flight. */
bool lm_all_copied(struct lm_target *lm)
{
	return !atomic64_read(&lm->nr_need) && !READ_ONCE(lm->active_slots);
}

void lm_copy_kick(struct lm_target *lm)
{
	mod_delayed_work(lm->wq, &lm->copy_dwork, 0);
}

/*
 * A copy may write the destination: checked again when a slot starts, even
 * while suspending (a slot made just before the suspend must not write a
 * destination that has late writes out).
 */
static bool lm_copy_ok(struct lm_target *lm)
{
	return !(READ_ONCE(lm->flags) &
		 (BIT(LM_F_DEGRADED) | BIT(LM_F_FAILED) | BIT(LM_F_SWITCHED) |
		  BIT(LM_F_CANCELLED))) &&
	       !atomic_read(&lm->shared->late);
}

/* A late destination write (lm_shared_log.late) fences every copy. */
static bool lm_can_copy(struct lm_target *lm)
{
	return !(READ_ONCE(lm->flags) &
		 (BIT(LM_F_DEGRADED) | BIT(LM_F_FAILED) | BIT(LM_F_SWITCHED) |
		  BIT(LM_F_CANCELLED) | BIT(LM_F_PAUSED) | BIT(LM_F_SUSPENDED))) &&
	       !atomic_read(&lm->shared->late);
}

static sector_t lm_region_len(struct lm_target *lm, u64 region)
{
	sector_t start = region << lm->region_shift;

	return min_t(sector_t, lm->region_sectors, lm->src_sectors - start);
}

/*
 * Token bucket.  Called with copy_lock held.  Returns 0 when a region may
 * start now, else the delay in jiffies until it may.
 */
static unsigned long lm_throttle_delay(struct lm_target *lm)
{
	u64 rate = (u64)READ_ONCE(lm->throttle) << 20;	/* bytes/s */
	unsigned long now = jiffies;
	s64 burst;

	if (!rate)
		return 0;
	lm->tokens += div_u64(rate * (now - lm->tokens_at), HZ);
	lm->tokens_at = now;
	burst = max_t(s64, lm->region_sectors << SECTOR_SHIFT, rate >> 3);
	if (lm->tokens > burst)
		lm->tokens = burst;
	if (lm->tokens > 0)
		return 0;
	return max_t(unsigned long, 1, div64_u64((u64)(1 - lm->tokens) * HZ, rate) + 1);
}

/*
 * The slot's copy ended (or never started): COPYING -> DIRTY, or back to
 * NEEDCOPY when it failed.  Any context.
 */
static void lm_slot_end(struct lm_target *lm, struct lm_slot *slot, bool failed)
{
	struct lm_bucket *b = &lm->buckets[lm_bucket_of(lm, slot->region)];
	u64 region = slot->region;	/* the slot may be taken again once free */
	struct bio_list bios;
	unsigned long flags;
	bool again = false, late;

	spin_lock_irqsave(&b->lock, flags);
	if (failed)
		again = lm_set_need(lm, slot->region);
	hlist_del(&slot->node);
	lm_touch_group(lm, slot->region);
	bios = slot->deferred;
	bio_list_init(&slot->deferred);
	spin_unlock_irqrestore(&b->lock, flags);

	spin_lock_irqsave(&lm->copy_lock, flags);
	late = slot->abandoned;
	if (late)
		lm->abandoned_slots--;
	slot->abandoned = false;
	slot->state = LM_SLOT_FREE;
	if (!--lm->active_slots)
		WRITE_ONCE(lm->copy_jiffies, lm->copy_jiffies + jiffies - lm->busy_since);
	spin_unlock_irqrestore(&lm->copy_lock, flags);
	if (!failed)
		atomic64_add(lm_region_len(lm, region) << SECTOR_SHIFT,
			     &lm->copied_bytes);
	wake_up_all(&lm->slots_wait);

	if (late)
		lm_late_put(lm);
	if (again)
		lm_need_search(lm, region);
	/* the deferred writes now find the region DIRTY: mirrored */
	lm_defer_bios(lm, &bios);
	lm_copy_kick(lm);
}

static void lm_copy_done(int read_err, unsigned long write_err, void *context)
{
	struct lm_slot *slot = context;
	struct lm_target *lm = slot->lm;

	if (read_err) {
		lm_src_error(lm);
		if (!test_and_set_bit(LM_F_DEGRADED, &lm->flags)) {
			lm->degraded_at = jiffies;
			lm_event(lm);
		}
	}
	if (write_err)
		lm_dest_error(lm);
	lm_slot_end(lm, slot, read_err || write_err);
}

static void lm_start_copy(struct lm_target *lm, struct lm_slot *slot)
{
	struct dm_io_region from, to;

	/* before the state: the timeout must not see an older start */
	WRITE_ONCE(slot->started, jiffies);
	if (cmpxchg(&slot->state, LM_SLOT_READY, LM_SLOT_COPYING) != LM_SLOT_READY)
		return;
	if (!lm_copy_ok(lm)) {
		/* degraded, or late writes out, since it was taken */
		lm_slot_end(lm, slot, true);
		return;
	}
	from.bdev = lm->src->bdev;
	from.sector = slot->region << lm->region_shift;
	from.count = lm_region_len(lm, slot->region);
	to.bdev = lm->dst->bdev;
	to.sector = from.sector;
	to.count = from.count;
	dm_kcopyd_copy(lm->kc, &from, 1, &to, 0, lm_copy_done, slot);
}

/*
 * A copy whose destination write does not come back within dest_timeout:
 * degrade, and let the writes deferred on it go to the source only (the
 * region stays NEEDCOPY).  The slot stays taken until kcopyd gives it
 * back, counted as late, so that no copy writes the destination before it
 * is back.  The tick, process context.
 */
void lm_abandon_hung_copies(struct lm_target *lm)
{
	unsigned long to = READ_ONCE(lm->dest_timeout) * HZ, flags;
	struct lm_slot *slot;
	struct lm_bucket *b;
	struct bio_list bios;
	unsigned int i;
	u64 region;
	bool again;

	if (!to)
		return;
	for (i = 0; i < LM_MAX_COPY_DEPTH; i++) {
		slot = &lm->slots[i];
		spin_lock_irqsave(&lm->copy_lock, flags);
		if (READ_ONCE(slot->state) != LM_SLOT_COPYING || slot->abandoned ||
		    !time_after(jiffies, READ_ONCE(slot->started) + to)) {
			spin_unlock_irqrestore(&lm->copy_lock, flags);
			continue;
		}
		/* both locks: the slot cannot end and be reused meanwhile */
		region = slot->region;
		b = &lm->buckets[lm_bucket_of(lm, region)];
		spin_lock(&b->lock);
		slot->abandoned = true;
		lm->abandoned_slots++;
		atomic_inc(&lm->late);
		atomic_inc(&lm->shared->late);
		again = lm_set_need(lm, region);
		bios = slot->deferred;
		bio_list_init(&slot->deferred);
		spin_unlock(&b->lock);
		spin_unlock_irqrestore(&lm->copy_lock, flags);

		DMERR_LIMIT("%s: copy of region %llu timed out after %us",
			    dm_device_name(dm_table_get_md(lm->ti->table)),
			    (unsigned long long)region, READ_ONCE(lm->dest_timeout));
		lm_dest_error(lm);
		if (again)
			lm_need_search(lm, region);
		lm_defer_bios(lm, &bios);
		wake_up_all(&lm->slots_wait);
	}
}

void lm_start_ready_slots(struct lm_target *lm)
{
	unsigned int i;

	for (i = 0; i < LM_MAX_COPY_DEPTH; i++)
		if (READ_ONCE(lm->slots[i].state) == LM_SLOT_READY)
			lm_start_copy(lm, &lm->slots[i]);
}

static struct lm_slot *lm_free_slot(struct lm_target *lm)
{
	unsigned int i;

	for (i = 0; i < LM_MAX_COPY_DEPTH; i++)
		if (lm->slots[i].state == LM_SLOT_FREE)
			return &lm->slots[i];
	return NULL;
}

/*
 * One step of the copier: search N from the cursor, without a lock, over at
 * most LM_SCAN_CHUNK regions, then take the region found into a slot after
 * checking again under its bucket lock that it is NEEDCOPY and not being
 * copied (NEEDCOPY -> COPYING clears N).  Returns false to stop.
 */
static bool lm_take_region(struct lm_target *lm, bool *pass_done,
			   unsigned long *delay)
{
	struct lm_slot *slot;
	struct lm_bucket *b;
	struct lm_io *io;
	unsigned long flags, gen;
	unsigned int waiting = 0;
	u64 from, end, region;
	int cleared;

	/* before any lock: the clear below may need a page */
	lm_need_refill(lm);
	spin_lock_irqsave(&lm->copy_lock, flags);
	if (lm->active_slots >= READ_ONCE(lm->copy_depth))
		goto stop;
	from = lm->copy_next;
	gen = lm->need_gen;
	spin_unlock_irqrestore(&lm->copy_lock, flags);

	end = from + min_t(u64, lm->nr_regions - from, LM_SCAN_CHUNK);
	region = from < end ? lm_need_next(lm, from, end) : end;
	lm_test_delay(LM_TP_SEARCH);

	spin_lock_irqsave(&lm->copy_lock, flags);
	if (gen != lm->need_gen || from != lm->copy_next) {
		/* a bit was set behind the search: go over it again */
		spin_unlock_irqrestore(&lm->copy_lock, flags);
		return true;
	}
	if (region >= end) {
		WRITE_ONCE(lm->copy_next, end);
		if (end < lm->nr_regions) {
			spin_unlock_irqrestore(&lm->copy_lock, flags);
			return true;
		}
		if (!lm->active_slots && !atomic64_read(&lm->nr_need) &&
		    !test_and_set_bit(LM_F_PASS_DONE, &lm->flags))
			*pass_done = true;
		goto stop;
	}
	*delay = lm_throttle_delay(lm);
	if (*delay)
		goto stop;

	slot = lm_free_slot(lm);
	if (WARN_ON_ONCE(!slot))
		goto stop;

	b = &lm->buckets[lm_bucket_of(lm, region)];
	spin_lock(&b->lock);
	if (lm_find_slot(b, region)) {
		/* set again while its copy runs: the copy's end kicks us */
		spin_unlock(&b->lock);
		goto stop;
	}
	cleared = lm_test_and_clear_need(lm, region);
	if (cleared < 0) {
		/* a full chunk of N needs a page: try again after a refill */
		spin_unlock(&b->lock);
		*delay = LM_NOMEM_DELAY;
		goto stop;
	}
	if (!cleared) {
		/* only a slot clears N, and slots are made under copy_lock */
		spin_unlock(&b->lock);
		WRITE_ONCE(lm->copy_next, region + 1);
		spin_unlock_irqrestore(&lm->copy_lock, flags);
		return true;
	}
	/* the copy reads the source after the writes already in flight */
	hlist_for_each_entry(io, &b->writes, node)
		if (io->region == region)
			waiting++;
	slot->region = region;
	slot->waiting = waiting;
	slot->state = waiting ? LM_SLOT_WAIT : LM_SLOT_READY;
	hlist_add_head(&slot->node, &b->copies);
	spin_unlock(&b->lock);

	WRITE_ONCE(lm->copy_next, region + 1);
	if (!lm->active_slots++)
		lm->busy_since = jiffies;
	if (READ_ONCE(lm->throttle))
		lm->tokens -= lm_region_len(lm, region) << SECTOR_SHIFT;
	spin_unlock_irqrestore(&lm->copy_lock, flags);

	if (!waiting)
		lm_start_copy(lm, slot);
	return true;
stop:
	spin_unlock_irqrestore(&lm->copy_lock, flags);
	return false;
}

void lm_copy_work(struct work_struct *ws)
{
	struct lm_target *lm = container_of(to_delayed_work(ws),
					    struct lm_target, copy_dwork);
	unsigned long delay = 0;
	bool pass_done = false;

	while (lm_can_copy(lm) && lm_take_region(lm, &pass_done, &delay))
		cond_resched();

	if (pass_done) {
		DMINFO("%s: copy pass complete",
		       dm_device_name(dm_table_get_md(lm->ti->table)));
		lm_event(lm);
	}
	if (delay && lm_can_copy(lm))
		queue_delayed_work(lm->wq, &lm->copy_dwork, delay);
}

/* Milliseconds with a copy in flight, for the status line. */
u64 lm_copy_ms(struct lm_target *lm)
{
	unsigned long j = READ_ONCE(lm->copy_jiffies);

	if (READ_ONCE(lm->active_slots))
		j += jiffies - READ_ONCE(lm->busy_since);
	return jiffies_to_msecs(j);
}

/* Regions known identical on both legs, for the status line. */
u64 lm_count_in_sync(struct lm_target *lm)
{
	unsigned long f = READ_ONCE(lm->flags);
	u64 nr = lm->nr_regions, behind;

	if (f & BIT(LM_F_SWITCHED))
		return nr;
	/* a failed leg may differ anywhere the log has a bit set */
	if (f & (BIT(LM_F_DEGRADED) | BIT(LM_F_FAILED) | BIT(LM_F_CANCELLED) |
		 BIT(LM_F_SRC_DEAD) | BIT(LM_F_DST_DEAD)))
		return nr - min(dirtylog_count(lm->log), nr);

	behind = atomic64_read(&lm->nr_need) + READ_ONCE(lm->active_slots);
	return nr - min(behind, nr);
}
