// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: the copy pass.
 *
 * One pass walks the regions whose log bit is set in ascending order
 * (copy_next is the cursor).  Up to copy_depth regions are copied at once
 * with kcopyd.  The slots are preallocated and reserved for the copier, so
 * guest writes never starve it: a slot is taken before the copier waits for
 * the writes already in flight to its region, and writes that arrive later
 * are deferred on the slot until the copy is done.
 *
 * A region below the cursor that is not in a slot is in sync in core: its
 * writes are mirrored.  It is cleared in the log only later, by the lazy
 * clear, after both legs were flushed (livemirror-sync.c).
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

/* Caller checked that no slot is active for the region. */
bool lm_region_in_sync(struct lm_target *lm, u64 region)
{
	return region < READ_ONCE(lm->copy_next) ||
	       !dirtylog_test(lm->log, region);
}

void lm_copy_kick(struct lm_target *lm)
{
	mod_delayed_work(lm->wq, &lm->copy_dwork, 0);
}

static bool lm_can_copy(struct lm_target *lm)
{
	return !(READ_ONCE(lm->flags) &
		 (BIT(LM_F_DEGRADED) | BIT(LM_F_FAILED) | BIT(LM_F_SWITCHED) |
		  BIT(LM_F_CANCELLED) | BIT(LM_F_PAUSED) | BIT(LM_F_SUSPENDED)));
}

/* Move the cursor back to @from (0 = restart the pass).  Any context. */
void lm_restart_pass(struct lm_target *lm, u64 from)
{
	unsigned long flags;
	bool was_done;

	spin_lock_irqsave(&lm->copy_lock, flags);
	if (from < lm->copy_next)
		WRITE_ONCE(lm->copy_next, from);
	was_done = test_and_clear_bit(LM_F_PASS_DONE, &lm->flags);
	spin_unlock_irqrestore(&lm->copy_lock, flags);

	if (was_done)
		lm_event(lm);
	lm_copy_kick(lm);
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

static void lm_copy_done(int read_err, unsigned long write_err, void *context)
{
	struct lm_slot *slot = context;
	struct lm_target *lm = slot->lm;
	struct lm_bucket *b = &lm->buckets[lm_bucket_of(lm, slot->region)];
	struct bio_list bios;
	unsigned long flags;
	struct bio *bio;

	if (read_err) {
		lm_src_error(lm);
		/* the region was not copied: stop treating the cursor as sync */
		if (!test_and_set_bit(LM_F_DEGRADED, &lm->flags)) {
			lm->degraded_at = jiffies;
			lm_event(lm);
		}
	}
	if (write_err)
		lm_dest_error(lm);
	if (!read_err && !write_err)
		atomic64_inc(&lm->regions_copied);

	spin_lock_irqsave(&b->lock, flags);
	hlist_del(&slot->node);
	lm_touch_group(lm, slot->region);
	bios = slot->deferred;
	bio_list_init(&slot->deferred);
	spin_unlock_irqrestore(&b->lock, flags);

	spin_lock_irqsave(&lm->copy_lock, flags);
	slot->state = LM_SLOT_FREE;
	lm->active_slots--;
	spin_unlock_irqrestore(&lm->copy_lock, flags);
	wake_up_all(&lm->slots_wait);

	while ((bio = bio_list_pop(&bios)))
		lm_route_write(lm, dm_per_bio_data(bio, sizeof(struct lm_io)));

	lm_copy_kick(lm);
}

static void lm_start_copy(struct lm_target *lm, struct lm_slot *slot)
{
	struct dm_io_region from, to;

	if (cmpxchg(&slot->state, LM_SLOT_READY, LM_SLOT_COPYING) != LM_SLOT_READY)
		return;
	from.bdev = lm->src->bdev;
	from.sector = slot->region << lm->region_shift;
	from.count = lm_region_len(lm, slot->region);
	to.bdev = lm->dst->bdev;
	to.sector = from.sector;
	to.count = from.count;
	dm_kcopyd_copy(lm->kc, &from, 1, &to, 0, lm_copy_done, slot);
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

/* Take the next region of the pass into a slot.  Returns false to stop. */
static bool lm_take_region(struct lm_target *lm, bool *pass_done,
			   unsigned long *delay)
{
	struct lm_slot *slot, *busy;
	struct lm_bucket *b;
	struct lm_io *io;
	unsigned long flags;
	unsigned int waiting = 0;
	u64 region;

	spin_lock_irqsave(&lm->copy_lock, flags);
	if (lm->active_slots >= READ_ONCE(lm->copy_depth))
		goto stop;
	region = dirtylog_next(lm->log, lm->copy_next);
	if (region >= lm->nr_regions) {
		WRITE_ONCE(lm->copy_next, lm->nr_regions);
		if (!lm->active_slots &&
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
	busy = lm_find_slot(b, region);
	if (busy) {
		/* cursor moved back over a region still copying: wait */
		spin_unlock(&b->lock);
		goto stop;
	}
	hlist_for_each_entry(io, &b->writes, node)
		if (io->region == region)
			waiting++;
	slot->region = region;
	slot->waiting = waiting;
	slot->state = waiting ? LM_SLOT_WAIT : LM_SLOT_READY;
	hlist_add_head(&slot->node, &b->copies);
	spin_unlock(&b->lock);

	WRITE_ONCE(lm->copy_next, region + 1);
	lm->active_slots++;
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

	/* set bits at or above the cursor are not copied yet */
	behind = dirtylog_count_from(lm->log, READ_ONCE(lm->copy_next)) +
		 READ_ONCE(lm->active_slots);
	return nr - min(behind, nr);
}
