// SPDX-License-Identifier: GPL-2.0
/*
 * dm-livemirror: N, the set of regions that still need a copy, in memory
 * that follows what N holds rather than the size of the device.
 *
 * N is dense while the first pass has not reached a part of the device
 * and empty behind it; between the two it is mixed only where the copier
 * is, and where writes or failures set it again.  So N is cut into chunks
 * of LM_NEED_BITS regions (a page each), and a chunk is in one of three
 * states:
 *
 *   NULL          no region of the chunk is in N (costs nothing);
 *   LM_NEED_ALL   every region of it is (costs nothing: a new migration);
 *   a page        the exact bits, while the chunk is mixed.
 *
 * A flat bitmap cost one bit per region, 128 MiB for 64 TiB in 64 KiB
 * regions, beside the log's own bitmap.
 *
 * Locking and contexts.  Changes to a chunk (a bit, or a state change)
 * happen under the chunk's spinlock, taken with interrupts off from any
 * context; it is the innermost lock (callers may hold a bucket lock and
 * copy_lock).  Readers take no lock: they look at the chunk under RCU, and
 * a page is freed only after a grace period, so a reader sees either the
 * old state or the new one, as with the atomic bit operations on a flat
 * bitmap it replaces.  N's counter, nr_need, is kept here.
 *
 * Memory.  A setter that needs a page allocates it with GFP_NOWAIT, then
 * takes the target's spare page; the copier refills the spare from its
 * workqueue (GFP_NOIO) before every step.  Should both fail, the setter
 * puts the whole chunk in N (LM_NEED_ALL): a region in N without a log bit
 * is only copied once more for nothing (every write, to one leg or two,
 * marks its region before it is issued, so N never needs to be a subset
 * of the log for safety; the copier's clear is what needs memory, and it
 * waits for the spare instead).
 */
#include "livemirror.h"

struct lm_need_page {
	struct rcu_head rcu;
	unsigned long bits[LM_NEED_LONGS];
};

#define LM_NEED_ALL	((struct lm_need_page *)1UL)

static bool lm_need_is_page(const struct lm_need_page *p)
{
	return p && p != LM_NEED_ALL;
}

static struct lm_need_chunk *lm_chunk_of(struct lm_target *lm, u64 region,
					 unsigned int *off)
{
	unsigned long r = region;

	*off = r % LM_NEED_BITS;
	return &lm->need[r / LM_NEED_BITS];
}

/* Regions in chunk @c: LM_NEED_BITS except in the last one. */
static unsigned int lm_chunk_bits(struct lm_target *lm, unsigned long c)
{
	return min_t(u64, LM_NEED_BITS, lm->nr_regions - (u64)c * LM_NEED_BITS);
}

/* A page from the allocator or the spare, or NULL.  Chunk locked. */
static struct lm_need_page *lm_need_page_get(struct lm_target *lm)
{
	struct lm_need_page *p = kmalloc(sizeof(*p), GFP_NOWAIT | __GFP_NOWARN);

	return p ? p : xchg(&lm->need_spare, NULL);
}

/* Chunk locked (or nobody else yet, from the constructor). */
static void lm_need_publish(struct lm_need_chunk *ch, struct lm_need_page *p)
{
	struct lm_need_page *old;

	old = rcu_dereference_protected(ch->p, lockdep_is_held(&ch->lock));

	rcu_assign_pointer(ch->p, p);
	if (lm_need_is_page(old))
		kfree_rcu(old, rcu);
}

/* N of @region.  Any context, no lock needed. */
bool lm_needs_copy(struct lm_target *lm, u64 region)
{
	struct lm_need_page *p;
	unsigned int off;
	bool set;

	rcu_read_lock();
	p = rcu_dereference(lm_chunk_of(lm, region, &off)->p);
	set = p == LM_NEED_ALL || (p && test_bit(off, p->bits));
	rcu_read_unlock();
	return set;
}

/*
 * Set N for @region; true when it was clear (the caller must then call
 * lm_need_search(), outside any bucket lock).  Any context.
 */
bool lm_set_need(struct lm_target *lm, u64 region)
{
	struct lm_need_chunk *ch;
	struct lm_need_page *p;
	unsigned long flags, c;
	unsigned int off, nbits;
	bool newly = false;

	if (lm_needs_copy(lm, region))
		return false;
	ch = lm_chunk_of(lm, region, &off);
	c = ch - lm->need;
	nbits = lm_chunk_bits(lm, c);

	spin_lock_irqsave(&ch->lock, flags);
	p = rcu_dereference_protected(ch->p, lockdep_is_held(&ch->lock));
	if (p == LM_NEED_ALL)
		goto out;
	if (!p) {
		p = lm_need_page_get(lm);
		if (!p) {
			/* no memory at all: the whole chunk, see the top */
			atomic64_add(nbits, &lm->nr_need);
			ch->count = nbits;
			rcu_assign_pointer(ch->p, LM_NEED_ALL);
			newly = true;
			goto out;
		}
		bitmap_zero(p->bits, LM_NEED_BITS);
		rcu_assign_pointer(ch->p, p);
	}
	if (!__test_and_set_bit(off, p->bits)) {
		atomic64_inc(&lm->nr_need);
		newly = true;
		if (++ch->count == nbits)
			lm_need_publish(ch, LM_NEED_ALL);
	}
out:
	spin_unlock_irqrestore(&ch->lock, flags);
	return newly;
}

/*
 * Clear N for @region, for the copier taking it into a slot: 1 when it was
 * set, 0 when it was not, -ENOMEM when a full chunk must become a page and
 * none is at hand (the copier refills the spare and tries again).  Any
 * context; in practice the copier's, under the region's bucket lock.
 */
int lm_test_and_clear_need(struct lm_target *lm, u64 region)
{
	struct lm_need_chunk *ch;
	struct lm_need_page *p;
	unsigned long flags;
	unsigned int off;
	int was = 0;

	ch = lm_chunk_of(lm, region, &off);
	spin_lock_irqsave(&ch->lock, flags);
	p = rcu_dereference_protected(ch->p, lockdep_is_held(&ch->lock));
	if (p == LM_NEED_ALL) {
		p = lm_need_page_get(lm);
		if (!p) {
			was = -ENOMEM;
			goto out;
		}
		bitmap_fill(p->bits, LM_NEED_BITS);
		rcu_assign_pointer(ch->p, p);
	}
	if (p && __test_and_clear_bit(off, p->bits)) {
		atomic64_dec(&lm->nr_need);
		was = 1;
		if (!--ch->count)
			lm_need_publish(ch, NULL);
	}
out:
	spin_unlock_irqrestore(&ch->lock, flags);
	return was;
}

/*
 * Search N over [@from, @end) for a set bit (@set) or a clear one: the
 * first such region, or @end.  No lock: the answer may be stale by the time
 * it is used, as any lockless search of a bitmap is.
 */
static u64 lm_need_search_bits(struct lm_target *lm, u64 from, u64 end,
			       bool set)
{
	struct lm_need_page *p;
	unsigned int off, stop;
	unsigned long c;
	u64 base;

	while (from < end) {
		c = (unsigned long)from / LM_NEED_BITS;
		base = (u64)c * LM_NEED_BITS;
		off = from - base;
		stop = min_t(u64, lm_chunk_bits(lm, c), end - base);
		rcu_read_lock();
		p = rcu_dereference(lm->need[c].p);
		if (!lm_need_is_page(p)) {
			if ((p == LM_NEED_ALL) == set) {
				rcu_read_unlock();
				return from;
			}
		} else {
			off = set ? find_next_bit(p->bits, stop, off) :
				    find_next_zero_bit(p->bits, stop, off);
			if (off < stop) {
				rcu_read_unlock();
				return base + off;
			}
		}
		rcu_read_unlock();
		from = base + stop;
	}
	return end;
}

u64 lm_need_next(struct lm_target *lm, u64 from, u64 end)
{
	return lm_need_search_bits(lm, from, end, true);
}

u64 lm_need_next_zero(struct lm_target *lm, u64 from, u64 end)
{
	return lm_need_search_bits(lm, from, end, false);
}

/* The copier's workqueue: a spare page for the next clear or set. */
void lm_need_refill(struct lm_target *lm)
{
	struct lm_need_page *p;

	if (READ_ONCE(lm->need_spare))
		return;
	p = kmalloc(sizeof(*p), GFP_NOIO | __GFP_NOWARN);
	if (p && cmpxchg(&lm->need_spare, NULL, p))
		kfree(p);
}

/*
 * N := L, chunk by chunk, when nothing is in flight (constructor,
 * preresume).  Returns the number of regions in N.  Sleeps.
 */
u64 lm_need_from_log(struct lm_target *lm)
{
	struct lm_need_page *p = NULL;
	struct lm_need_chunk *ch;
	unsigned long flags, c;
	unsigned int nbits, n;
	u64 total = dirtylog_count(lm->log);

	/* all dirty (a new migration) or all clean: no bit to copy */
	if (!total || total == lm->nr_regions) {
		for (c = 0; c < lm->nr_need_chunks; c++) {
			ch = &lm->need[c];
			spin_lock_irqsave(&ch->lock, flags);
			ch->count = total ? lm_chunk_bits(lm, c) : 0;
			lm_need_publish(ch, total ? LM_NEED_ALL : NULL);
			spin_unlock_irqrestore(&ch->lock, flags);
			cond_resched();
		}
		atomic64_set(&lm->nr_need, total);
		return total;
	}
	total = 0;
	for (c = 0; c < lm->nr_need_chunks; c++) {
		ch = &lm->need[c];
		nbits = lm_chunk_bits(lm, c);
		if (!p)
			p = kmalloc(sizeof(*p), GFP_NOIO);
		if (p) {
			n = dirtylog_copy_range(lm->log, (u64)c * LM_NEED_BITS,
						nbits, p->bits);
		} else {
			/* no page for the mixed case: copy it all again */
			n = nbits;
		}
		spin_lock_irqsave(&ch->lock, flags);
		ch->count = n;
		if (!n) {
			lm_need_publish(ch, NULL);
		} else if (n == nbits) {
			lm_need_publish(ch, LM_NEED_ALL);
		} else {
			lm_need_publish(ch, p);
			p = NULL;
		}
		spin_unlock_irqrestore(&ch->lock, flags);
		total += n;
		cond_resched();
	}
	kfree(p);
	atomic64_set(&lm->nr_need, total);
	return total;
}

int lm_need_alloc(struct lm_target *lm)
{
	unsigned long c;

	lm->nr_need_chunks = DIV_ROUND_UP_ULL(lm->nr_regions, LM_NEED_BITS);
	lm->need = kvcalloc(lm->nr_need_chunks, sizeof(*lm->need),
			    GFP_KERNEL | __GFP_NOWARN);
	if (!lm->need)
		return -ENOMEM;
	for (c = 0; c < lm->nr_need_chunks; c++)
		spin_lock_init(&lm->need[c].lock);
	return 0;
}

/* The target is going away: nobody reads N any more. */
void lm_need_free(struct lm_target *lm)
{
	struct lm_need_page *p;
	unsigned long c;

	if (!lm->need)
		return;
	for (c = 0; c < lm->nr_need_chunks; c++) {
		p = rcu_dereference_protected(lm->need[c].p, 1);
		if (lm_need_is_page(p))
			kfree(p);
	}
	kvfree(lm->need);
	kfree(lm->need_spare);
}
