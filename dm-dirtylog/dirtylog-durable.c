// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dirtylog: which set bits are durable, per bit, in little memory.
 *
 * A mark of a bit that is set in core and on disk must be answered at once,
 * whatever else its bitmap block is waiting for (review M4: a hot writer
 * must not wait for the commit of a cold writer's mark in the same block).
 * A second full bitmap would say it for every bit, at one bit per region:
 * 128 MiB for 64 TiB in 64 KiB regions.  But the set bits that are not
 * durable are few and short-lived: those marked since the last commit of
 * their block.  So each block is in one of three states:
 *
 *   NULL       every bit set in core is durable (no mark is pending): the
 *              state of almost every block, and it costs a pointer;
 *   a page     an exact copy of the durable bits, a subset of the block's
 *              bits, kept while marks of the block are pending;
 *   LM_DUR_NONE  no set bit is known to be durable: the block was loaded
 *              bad, its bits were set behind the commits' back (format,
 *              distrust), or a page could not be had.  Marks in it wait for
 *              the block's commit, as they all did before M4.
 *
 * Every function here runs under log->lock (any context, interrupts off)
 * except lm_dur_free().  The page of a block is allocated when a mark makes
 * the first 0 -> 1 change in it (GFP_NOWAIT: a failure only costs the
 * wait) and freed when a commit of the block leaves nothing pending.
 */
#include <linux/slab.h>

#include "dirtylog-internal.h"

#define LM_DUR_BYTES	(LM_LONGS_PER_BLOCK * sizeof(unsigned long))

static bool lm_dur_page(const unsigned long *d)
{
	return d && d != LM_DUR_NONE;
}

/* Are the set bits [@off, @end) of block @b all durable? */
bool lm_dur_test(struct dirtylog *log, unsigned long b, unsigned int off,
		 unsigned int end)
{
	const unsigned long *d = log->dur[b];

	if (!d)
		return true;
	if (d == LM_DUR_NONE)
		return false;
	return find_next_zero_bit(d, end, off) >= end;
}

/*
 * A mark is about to set bits of block @b that are clear in core: the set
 * bits durable until now must stay known as such, the new ones must not.
 */
void lm_dur_before_set(struct dirtylog *log, unsigned long b)
{
	unsigned long *d;

	if (log->dur[b])
		return;		/* a page without the new bits, or NONE */
	d = kmalloc(LM_DUR_BYTES, GFP_NOWAIT | __GFP_NOWARN);
	if (d) {
		bitmap_copy(d, lm_block_bits(log, b), lm_block_nbits(log, b));
		log->stats.dur_pages++;
	}
	log->dur[b] = d ? d : LM_DUR_NONE;
}

/* Bit @r was cleared in core: the next commit may write it as 0. */
void lm_dur_clear(struct dirtylog *log, unsigned long r)
{
	unsigned long *d = log->dur[r / LM_BITS_PER_BLOCK];

	if (lm_dur_page(d))
		__clear_bit(r % LM_BITS_PER_BLOCK, d);
}

/* Nothing set in block @b is known to be on disk. */
void lm_dur_forget(struct dirtylog *log, unsigned long b)
{
	unsigned long *d = log->dur[b];

	log->dur[b] = LM_DUR_NONE;
	if (lm_dur_page(d)) {
		kfree(d);
		log->stats.dur_pages--;
	}
}

/* Block @b as it is in core is on disk (loaded, or written by format). */
void lm_dur_all(struct dirtylog *log, unsigned long b)
{
	unsigned long *d = log->dur[b];

	log->dur[b] = NULL;
	if (lm_dur_page(d)) {
		kfree(d);
		log->stats.dur_pages--;
	}
}

/* Word @i of a block image whose words were converted to CPU order. */
static unsigned long lm_image_long(const u64 *words, unsigned int i)
{
#if BITS_PER_LONG == 64
	return words[i];
#else
	return i & 1 ? (unsigned long)(words[i / 2] >> 32) : (u32)words[i / 2];
#endif
}

/*
 * The image @words of block @b is on disk: its set bits that are still set
 * in core are durable (a bit cleared since the image was taken will be
 * written as 0 by the next commit; one set since is not in the image).
 * Returns a page to kfree() outside the lock, or NULL.
 */
unsigned long *lm_dur_note(struct dirtylog *log, unsigned long b,
			   const u64 *words)
{
	unsigned int nlongs = BITS_TO_LONGS(lm_block_nbits(log, b));
	unsigned long *bits = lm_block_bits(log, b);
	unsigned long *d = log->dur[b], late = 0;
	unsigned int i;

	for (i = 0; i < nlongs; i++)
		late |= bits[i] & ~lm_image_long(words, i);
	if (!late) {
		/* nothing pending any more */
		log->dur[b] = NULL;
		if (!lm_dur_page(d))
			return NULL;
		log->stats.dur_pages--;
		return d;
	}
	if (!lm_dur_page(d)) {
		/* marks pending and no page to say which: all wait */
		log->dur[b] = LM_DUR_NONE;
		return NULL;
	}
	for (i = 0; i < nlongs; i++)
		d[i] = bits[i] & lm_image_long(words, i);
	return NULL;
}

unsigned long **lm_dur_alloc(unsigned long nr_blocks)
{
	unsigned long **dur, b;

	dur = kvmalloc_array(nr_blocks, sizeof(*dur), GFP_KERNEL | __GFP_NOWARN);
	if (dur)
		for (b = 0; b < nr_blocks; b++)
			dur[b] = LM_DUR_NONE;
	return dur;
}

/* The log is going away: no lock, nobody else. */
void lm_dur_free(struct dirtylog *log)
{
	unsigned long b;

	if (!log->dur)
		return;
	for (b = 0; b < log->nr_blocks; b++)
		if (lm_dur_page(log->dur[b]))
			kfree(log->dur[b]);
	kvfree(log->dur);
}
