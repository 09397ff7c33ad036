/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-dirtylog: the persistent dirty-region log used by dm-livemirror.
 *
 * The interface is deliberately narrow.  The log owns the bitmap (in core and
 * on disk), the superblock and the commit machinery; the target owns every
 * decision about *when* a region may be marked or cleared.
 *
 * Rules the caller keeps (see Documentation/dm-dirtylog.rst):
 *  - dirtylog_mark() before issuing any write that can make the legs differ,
 *    and issue that write only once the mark is durable;
 *  - dirtylog_clear() only after both legs were flushed following the
 *    region's last copy or write, with no write to it in flight;
 *  - after any failed leg flush, clear nothing.
 *
 * Bit value 1 = the legs may differ.  Fresh (zeroed) metadata starts with
 * every region dirty.
 */
#ifndef DM_DIRTYLOG_H
#define DM_DIRTYLOG_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/blkdev.h>
#include "dirtylog-format.h"

struct dirtylog;

/*
 * The in-core bitmaps are single allocations of whole longs; keep them
 * within what kvmalloc takes without a warning (INT_MAX bytes).
 */
#define DIRTYLOG_MAX_REGIONS	((u64)(INT_MAX / sizeof(long)) * BITS_PER_LONG)

/* How dirtylog_open() treats metadata that describes other legs or a bypass. */
#define DIRTYLOG_TRUST	(1U << 0)	/* keep clean bits read from disk */
#define DIRTYLOG_REUSE	(1U << 1)	/* start over on these legs, all dirty */

/*
 * What the table says the log must belong to.  The three ids are strings
 * as described in dirtylog-format.h ("dm:<uuid>", ...), each shorter than
 * LM_ID_LEN.
 */
struct dirtylog_identity {
	sector_t region_sectors;
	u64 nr_regions;
	sector_t source_sectors;
	sector_t dest_sectors;
	const char *label;		/* may be "" */
	const char *device_id;
	const char *source_id;
	const char *dest_id;
	unsigned int flags;		/* DIRTYLOG_TRUST, DIRTYLOG_REUSE */
};

/* What an open from disk found; shown by the target's status. */
enum dirtylog_opened {
	DIRTYLOG_OPENED_FORMATTED,	/* zeroed or reused: formatted, all dirty */
	DIRTYLOG_OPENED_CLEAN,		/* the last table detached cleanly */
	DIRTYLOG_OPENED_UNCLEAN,	/* the last table never detached: crash */
	DIRTYLOG_OPENED_UNBOUND,	/* no identity recorded yet */
};

/*
 * A waiter for a mark to become durable.  Embed it in per-bio data.  The
 * callback runs in process context (the log's workqueue) and must not block
 * for long; err is 0 or a negative errno (metadata failure).
 */
struct dirtylog_waiter {
	struct list_head list;
	u64 seq;
	void (*fn)(struct dirtylog_waiter *w, int err);
};

/*
 * Open the log on @bdev: read both superblock slots, validate identity,
 * load the bitmap.  Zeroed metadata is formatted (all dirty).  Metadata of
 * another device, other legs, sizes or region size, or corrupt metadata, is
 * refused with *error set to a message for ti->error; DIRTYLOG_REUSE
 * formats valid metadata of other legs again instead (never a PREPARED or
 * SWITCHED log).  The source may have been written while no table held the
 * log, so its clean bits are kept only with DIRTYLOG_TRUST, which is
 * refused unless every recorded identity is strong; otherwise every region
 * is set dirty and written.  Either way the superblock records the attach
 * before the call returns.  May sleep; call from the ctr.
 *
 * Returns the log, or ERR_PTR(-errno) on failure (never NULL): test the
 * result with IS_ERR().  *error stays valid after the ctr returned (static
 * text or a small ring of formatted messages inside the module).
 * Reads the whole bitmap; writes the superblock, and the bitmap when it
 * formats or does not trust it.
 */
struct dirtylog *dirtylog_open(struct block_device *bdev,
			       const struct dirtylog_identity *id,
			       char **error);
/* Commit, record a clean detach (unless the log failed) and free.  Sleeps. */
void dirtylog_close(struct dirtylog *log);

/* In-core queries; cheap, any context. */
bool dirtylog_test(struct dirtylog *log, u64 region);
u64 dirtylog_count(struct dirtylog *log);	/* regions with bit set */
u64 dirtylog_next(struct dirtylog *log, u64 from); /* next set bit or nr */
/* Set bits in [from, nr): a word-wise count, for status lines. */
u64 dirtylog_count_from(struct dirtylog *log, u64 from);
enum lm_state dirtylog_state(struct dirtylog *log);
const u8 *dirtylog_uuid(struct dirtylog *log);
bool dirtylog_failed(struct dirtylog *log);	/* metadata I/O failed */
enum dirtylog_opened dirtylog_opened(struct dirtylog *log);
bool dirtylog_trusted(struct dirtylog *log);	/* clean bits were kept */

/*
 * Set the bit for @region.  Returns 0 when it is already durable (issue the
 * write now), or -EINPROGRESS when @w was queued and w->fn will be called
 * once a commit made it durable (or failed).  Any context, never sleeps.
 * Once the log has failed: 0 when the bit is already durable, else -EIO
 * at once (the log cannot record that the legs may differ there).
 */
int dirtylog_mark(struct dirtylog *log, u64 region, struct dirtylog_waiter *w);

/* Same for a range [first, last] of regions (discards, big writes). */
int dirtylog_mark_range(struct dirtylog *log, u64 first, u64 last,
			struct dirtylog_waiter *w);

/* Clear the in-core bit; written lazily by the next commit.  Any context. */
void dirtylog_clear(struct dirtylog *log, u64 region);

/*
 * Set one bit in core without queueing a waiter, so that a caller can set
 * bits one by one under its own locks: returns the commit to wait for (0
 * when durable already, U64_MAX when the log failed and cannot record it),
 * which dirtylog_wait() then waits for with the answers of dirtylog_mark().
 * Any context, never sleeps.
 */
u64 dirtylog_mark_nowait(struct dirtylog *log, u64 region);
int dirtylog_wait(struct dirtylog *log, u64 seq, struct dirtylog_waiter *w);

/*
 * Copy @nbits bits of the in-core bitmap from @first (a multiple of
 * BITS_PER_LONG) into @dst; returns the bits set.  Process context.
 */
u64 dirtylog_copy_range(struct dirtylog *log, u64 first, unsigned int nbits,
			unsigned long *dst);

/* Write every changed bitmap block, then wait until durable.  Sleeps. */
int dirtylog_commit(struct dirtylog *log);

/* Schedule an asynchronous commit (timer, flush). Any context. */
void dirtylog_kick(struct dirtylog *log);

/*
 * Durably record a new superblock state (switch, prepare, cancel) with
 * FUA, after committing the bitmap.  Returns only when durable.  Sleeps.
 * For LM_STATE_PREPARED, @group gives the group fields; else NULL.
 */
struct dirtylog_group {
	u8 group_uuid[LM_UUID_LEN];
	u8 coordinator_uuid[LM_UUID_LEN];
	u32 members;
	u32 index;
};
int dirtylog_set_state(struct dirtylog *log, enum lm_state state,
		       const struct dirtylog_group *group);

/* Counters for status and benchmarks. */
struct dirtylog_stats {
	u64 commits;		/* bitmap commits issued */
	u64 blocks_written;	/* metadata blocks written */
	u64 write_batches;	/* batches of them in flight together */
	u64 bad_blocks;		/* bitmap blocks found corrupt at load */
	u64 unwritten_blocks;	/* not written since a lazy format, at load */
	u64 dur_pages;		/* blocks with marks pending (durable-bit pages) */
};
void dirtylog_get_stats(struct dirtylog *log, struct dirtylog_stats *st);

#endif /* DM_DIRTYLOG_H */
