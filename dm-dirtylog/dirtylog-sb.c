// SPDX-License-Identifier: GPL-2.0
/*
 * dm-dirtylog: superblock handling, formatting and loading of the metadata.
 *
 * The superblock has two slots, written alternately, so that a torn write
 * leaves the previous state readable; the valid slot with the higher
 * generation wins.  Bitmap blocks carry their own checksum, number and log
 * uuid and are never referenced from the superblock, which therefore is only
 * written on a state change.
 */
#include <linux/device-mapper.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uuid.h>

#include "dirtylog-internal.h"

/*
 * ti->error must outlive the failed constructor call (dm prints it after the
 * ctr returned) but nobody frees it, so the detailed messages live in a small
 * ring: a message is only overwritten after as many later failures.
 */
#define LM_ERR_SLOTS	8
#define LM_ERR_LEN	384
static char lm_errbuf[LM_ERR_SLOTS][LM_ERR_LEN];
static atomic_t lm_errslot = ATOMIC_INIT(0);

static __printf(2, 3) void lm_set_error(char **error, const char *fmt, ...)
{
	unsigned int slot = (unsigned int)atomic_inc_return(&lm_errslot);
	char *buf = lm_errbuf[slot % LM_ERR_SLOTS];
	va_list args;

	va_start(args, fmt);
	vsnprintf(buf, LM_ERR_LEN, fmt, args);
	va_end(args);
	*error = buf;
}

static bool lm_sb_valid(const struct lm_superblock *sb)
{
	return le64_to_cpu(sb->magic) == LM_MAGIC &&
	       le32_to_cpu(sb->csum) == lm_csum(sb);
}

static bool lm_block_zero(const void *block)
{
	return !memchr_inv(block, 0, LM_BLOCK_SIZE);
}

static sector_t lm_needed_sectors(u64 nr_regions)
{
	return lm_metadata_blocks(nr_regions) * LM_BLOCK_SECTORS;
}

/*
 * The next superblock generation, built in the first staging page from the
 * newest one.  The caller owns the staging pages (commit_lock, or open).
 */
static struct lm_superblock *lm_sb_next(struct dirtylog *log)
{
	struct lm_superblock *sb = page_address(log->pages[0]);

	memcpy(sb, log->sb, LM_BLOCK_SIZE);
	sb->generation = cpu_to_le64(le64_to_cpu(log->sb->generation) + 1);
	return sb;
}

/*
 * Write @sb from lm_sb_next() to the slot not holding the newest one.  The
 * preflush orders it after every bitmap write before it; FUA makes it
 * durable on return.
 */
static int lm_sb_put(struct dirtylog *log, struct lm_superblock *sb)
{
	unsigned int slot = log->sb_slot ^ 1;
	u64 blocknr = slot;
	int r;

	sb->csum = cpu_to_le32(lm_csum(sb));
	r = lm_io(log, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA, &blocknr, 1);
	if (r)
		return r;

	memcpy(log->sb, sb, LM_BLOCK_SIZE);
	log->sb_slot = slot;
	spin_lock_irq(&log->lock);
	log->stats.blocks_written++;
	spin_unlock_irq(&log->lock);
	return 0;
}

/* A new state, with the group fields of PREPARED. */
int lm_sb_write(struct dirtylog *log, enum lm_state state,
		const struct dirtylog_group *group)
{
	struct lm_superblock *sb = lm_sb_next(log);

	sb->state = cpu_to_le32(state);
	sb->state_time = cpu_to_le64(ktime_get_real_seconds());
	if (group) {
		memcpy(sb->group_uuid, group->group_uuid, LM_UUID_LEN);
		memcpy(sb->coordinator_uuid, group->coordinator_uuid,
		       LM_UUID_LEN);
		sb->group_members = cpu_to_le32(group->members);
		sb->group_index = cpu_to_le32(group->index);
	} else if (state == LM_STATE_COPYING) {
		/* abort_prepare: the group is gone */
		memset(sb->group_uuid, 0, LM_UUID_LEN);
		memset(sb->coordinator_uuid, 0, LM_UUID_LEN);
		sb->group_members = 0;
		sb->group_index = 0;
	}
	/*
	 * SWITCHED and CANCELLED keep the group of a PREPARED log: recover
	 * must be able to tell which group's decision a switched coordinator
	 * carries (an exact match, not "any switched log").
	 */
	return lm_sb_put(log, sb);
}

static void lm_sb_set_ids(struct lm_superblock *sb,
			  const struct dirtylog_identity *id)
{
	strscpy_pad(sb->device_id, id->device_id, LM_ID_LEN);
	strscpy_pad(sb->source_id, id->source_id, LM_ID_LEN);
	strscpy_pad(sb->dest_id, id->dest_id, LM_ID_LEN);
}

/* A table holds the log from now on, over the legs @id names. */
static int lm_sb_attach(struct dirtylog *log,
			const struct dirtylog_identity *id)
{
	struct lm_superblock *sb = lm_sb_next(log);

	sb->flags |= cpu_to_le32(LM_SB_FLAG_ATTACHED);
	sb->attach_time = cpu_to_le64(ktime_get_real_seconds());
	le64_add_cpu(&sb->attach_count, 1);
	lm_sb_set_ids(sb, id);
	return lm_sb_put(log, sb);
}

/* The last table let go of the log in order.  Under commit_lock. */
int lm_sb_detach(struct dirtylog *log)
{
	struct lm_superblock *sb = lm_sb_next(log);

	sb->flags &= ~cpu_to_le32(LM_SB_FLAG_ATTACHED);
	sb->detach_time = cpu_to_le64(ktime_get_real_seconds());
	return lm_sb_put(log, sb);
}

/*
 * Zeroed metadata (or metadata reused on purpose): a new log with every
 * region dirty, because nothing is known about the destination.  The
 * format is lazy (LM_SB_FLAG_LAZY): a zero bitmap block means all dirty,
 * so lm_format_bitmap() rewrites only the blocks that are not zero, and
 * zeroed metadata costs two superblock writes, not one write per bitmap
 * block (33k at 64 TiB with 64 KiB regions; review M7).  Bitmap first,
 * then both superblock slots, so that a crash part way leaves zeroed slots
 * (the next open formats again) or the old slots, whose bitmap blocks are
 * then the old log's or, rewritten, another uuid's: all dirty.  (Reused
 * metadata loaded again with trust_log but without reuse_metadata after
 * such a crash trusts the old log's blocks not yet rewritten, as before the
 * lazy format: keep reuse_metadata in the table until a load succeeded.)
 * @generation is the newest generation on the device, so that the new
 * slots win.
 */
static int lm_format(struct dirtylog *log, const struct dirtylog_identity *id,
		     u64 generation, char **error)
{
	struct lm_superblock *sb = log->sb;
	unsigned long b;
	int r;

	generate_random_uuid(log->uuid);
	log->bitmap_start = LM_BITMAP_START;

	memset(sb, 0, LM_BLOCK_SIZE);
	sb->magic = cpu_to_le64(LM_MAGIC);
	sb->version = cpu_to_le32(LM_VERSION);
	memcpy(sb->uuid, log->uuid, LM_UUID_LEN);
	memcpy(sb->label, id->label, strlen(id->label));
	sb->region_sectors = cpu_to_le64(id->region_sectors);
	sb->nr_regions = cpu_to_le64(id->nr_regions);
	sb->source_sectors = cpu_to_le64(id->source_sectors);
	sb->dest_sectors = cpu_to_le64(id->dest_sectors);
	sb->bitmap_start = cpu_to_le64(LM_BITMAP_START);
	sb->bitmap_blocks = cpu_to_le64(log->nr_blocks);
	sb->nr_bitmaps = cpu_to_le32(1);
	sb->active_bitmap = 0;
	sb->flags = cpu_to_le32(LM_SB_FLAG_ATTACHED | LM_SB_FLAG_LAZY);
	sb->attach_time = cpu_to_le64(ktime_get_real_seconds());
	sb->attach_count = cpu_to_le64(1);
	lm_sb_set_ids(sb, id);
	log->attached = true;
	/* generation 0 is never written: the first write below is 1, slot 0 */
	sb->generation = cpu_to_le64(generation);
	log->sb_slot = 1;

	for (b = 0; b < log->nr_blocks; b++)
		bitmap_set(lm_block_bits(log, b), 0, lm_block_nbits(log, b));
	log->nr_dirty = log->nr_regions;

	r = lm_format_bitmap(log);
	if (!r)
		r = lm_sb_write(log, LM_STATE_COPYING, NULL);
	if (!r)
		r = lm_sb_write(log, LM_STATE_COPYING, NULL);
	if (r) {
		lm_set_error(error, "metadata write error while formatting (%d)",
			     r);
		return r;
	}

	log->state = LM_STATE_COPYING;
	log->opened = DIRTYLOG_OPENED_FORMATTED;
	DMINFO("%pg: formatted %s log, %lu regions of %llu sectors, all dirty",
	       log->bdev, generation ? "reused" : "new", log->nr_regions,
	       (unsigned long long)id->region_sectors);
	return 0;
}

/*
 * The superblock is valid: is it a version and state this module knows?
 * Version 1 had the same fields up to the group, without the identities.
 */
static int lm_check_version(const struct lm_superblock *sb, char **error)
{
	u32 v = le32_to_cpu(sb->version);

	if (v == 1) {
		lm_set_error(error,
			     "metadata format version 1 is too old: run 'livemirror metadata repair --upgrade' on it (every region becomes dirty)");
		return -EINVAL;
	}
	if (v != LM_VERSION) {
		lm_set_error(error,
			     "metadata format version %u is not supported (this module writes %u)",
			     v, LM_VERSION);
		return -EINVAL;
	}
	v = le32_to_cpu(sb->state);
	if (v < LM_STATE_COPYING || v > LM_STATE_CANCELLED) {
		lm_set_error(error, "metadata has unknown state %u", v);
		return -EINVAL;
	}
	return 0;
}

/* Weak identities may name another device after a reboot. */
static bool lm_id_strong(const char *id)
{
	return *id && strncmp(id, "dm-name:", 8) && strncmp(id, "dev:", 4);
}

/*
 * The recorded identities against the table's: an empty one is not bound
 * yet (*unbound), any other must match.  @rec is NUL terminated within
 * LM_ID_LEN (checked by the caller).
 */
static int lm_check_id(const char *what, const char *rec, const char *tab,
		       bool *unbound, char **error)
{
	if (!*rec) {
		*unbound = true;
		return 0;
	}
	if (!strcmp(rec, tab))
		return 0;
	lm_set_error(error,
		     "metadata belongs to another %s: it records '%.100s', the table has '%.100s' (feature reuse_metadata starts over, all dirty)",
		     what, rec, tab);
	return -EINVAL;
}

static int lm_check_ids(const struct lm_superblock *sb,
			const struct dirtylog_identity *id, bool *unbound,
			char **error)
{
	int r;

	if (strnlen(sb->device_id, LM_ID_LEN) == LM_ID_LEN ||
	    strnlen(sb->source_id, LM_ID_LEN) == LM_ID_LEN ||
	    strnlen(sb->dest_id, LM_ID_LEN) == LM_ID_LEN) {
		lm_set_error(error,
			     "metadata corrupt: identity not terminated (run 'livemirror metadata repair')");
		return -EINVAL;
	}
	*unbound = false;
	r = lm_check_id("mapped device", sb->device_id, id->device_id,
			unbound, error);
	if (!r)
		r = lm_check_id("source", sb->source_id, id->source_id,
				unbound, error);
	if (!r)
		r = lm_check_id("destination", sb->dest_id, id->dest_id,
				unbound, error);
	return r;
}

/*
 * trust_log keeps the clean bits found on disk: only sound when the log is
 * bound to these very devices by identities that survive a reboot.
 */
static int lm_check_trust(const struct dirtylog_identity *id, bool unbound,
			  char **error)
{
	const char *weak = NULL;

	if (unbound) {
		lm_set_error(error,
			     "trust_log: the metadata is not bound to its legs yet, nothing to trust");
		return -EINVAL;
	}
	if (!lm_id_strong(id->device_id))
		weak = id->device_id;
	else if (!lm_id_strong(id->source_id))
		weak = id->source_id;
	else if (!lm_id_strong(id->dest_id))
		weak = id->dest_id;
	if (weak) {
		lm_set_error(error,
			     "trust_log needs identities that survive a reboot, '%.100s' does not (give the device a dm uuid, or the table source_id/dest_id)",
			     weak);
		return -EINVAL;
	}
	return 0;
}

/* The superblock is valid; does it describe the legs the table names? */
static int lm_check_identity(struct dirtylog *log,
			     const struct lm_superblock *sb,
			     const struct dirtylog_identity *id, char **error)
{
	u64 v;

	if (le64_to_cpu(sb->bitmap_start) != LM_BITMAP_START ||
	    le32_to_cpu(sb->nr_bitmaps) != 1 || sb->active_bitmap ||
	    le64_to_cpu(sb->bitmap_blocks) !=
	    lm_bitmap_blocks(le64_to_cpu(sb->nr_regions))) {
		lm_set_error(error,
			     "metadata superblock layout is not supported (run 'livemirror metadata repair')");
		return -EINVAL;
	}

	if (sb->label[LM_LABEL_LEN - 1] ||
	    strncmp(sb->label, id->label, LM_LABEL_LEN)) {
		lm_set_error(error,
			     "metadata belongs to a different leg pair (label '%.*s', table says '%s'; reuse_metadata starts over)",
			     LM_LABEL_LEN - 1, sb->label, id->label);
		return -EINVAL;
	}
	v = le64_to_cpu(sb->source_sectors);
	if (v != id->source_sectors) {
		lm_set_error(error,
			     "metadata belongs to a different source (size %llu, table says %llu)",
			     v, (unsigned long long)id->source_sectors);
		return -EINVAL;
	}
	v = le64_to_cpu(sb->dest_sectors);
	if (v != id->dest_sectors) {
		lm_set_error(error,
			     "metadata belongs to a different destination (size %llu, table says %llu)",
			     v, (unsigned long long)id->dest_sectors);
		return -EINVAL;
	}
	v = le64_to_cpu(sb->region_sectors);
	if (v != id->region_sectors) {
		lm_set_error(error,
			     "metadata region size is %llu sectors, table says %llu",
			     v, (unsigned long long)id->region_sectors);
		return -EINVAL;
	}
	v = le64_to_cpu(sb->nr_regions);
	if (v != id->nr_regions) {
		lm_set_error(error,
			     "metadata covers %llu regions, table needs %llu",
			     v, id->nr_regions);
		return -EINVAL;
	}
	return 0;
}

/*
 * A block that fails its checks may hold anything, including a stale image
 * from an earlier log on the same device: all its regions become dirty and
 * it is rewritten by the first commit.  Marks in it wait for that commit.
 */
#define LM_BAD_BLOCKS_NAMED	8

static void lm_load_bad_block(struct dirtylog *log, unsigned long b,
			      const char *why)
{
	/* A wiped bitmap would flood the log: name the first few only. */
	if (log->stats.bad_blocks < LM_BAD_BLOCKS_NAMED)
		DMWARN("%pg: bitmap block %lu %s: treating its regions as dirty",
		       log->bdev, b, why);
	bitmap_set(lm_block_bits(log, b), 0, lm_block_nbits(log, b));
	lm_dur_forget(log, b);
	log->block_seq[b] = log->open_seq;
	__set_bit(b, log->changed);
	__set_bit(b, log->marked);
	log->stats.bad_blocks++;
}

/*
 * A zero block of a lazily formatted log: not written since the format,
 * all dirty on disk as it is, so durable, and nothing to rewrite (noted in
 * log->committing, which lm_distrust() reads).
 */
static void lm_load_unwritten_block(struct dirtylog *log, unsigned long b)
{
	unsigned int nbits = lm_block_nbits(log, b);

	bitmap_set(lm_block_bits(log, b), 0, nbits);
	lm_dur_all(log, b);
	__set_bit(b, log->committing);
	log->stats.unwritten_blocks++;
}

static void lm_load_block(struct dirtylog *log, unsigned long b, void *buf)
{
	const struct lm_bitmap_header *hdr = buf;
	u64 *words = buf + LM_BITMAP_HEADER_SIZE;
	unsigned int nbits = lm_block_nbits(log, b);
	const char *bad = NULL;
	unsigned int i;

	if ((log->sb->flags & cpu_to_le32(LM_SB_FLAG_LAZY)) &&
	    lm_block_zero(buf)) {
		lm_load_unwritten_block(log, b);
		return;
	}
	if (le32_to_cpu(hdr->csum) != lm_csum(buf))
		bad = "has a bad checksum";
	else if (le64_to_cpu(hdr->blocknr) != b)
		bad = "has a wrong block number";
	else if (memcmp(hdr->uuid, log->uuid, LM_UUID_LEN))
		bad = "belongs to another log";
	if (bad) {
		lm_load_bad_block(log, b, bad);
		return;
	}

	for (i = 0; i < DIV_ROUND_UP(nbits, 64); i++)
		le64_to_cpus(&words[i]);
	/* Also drops any bit past nr_regions in the last block. */
	bitmap_from_arr64(lm_block_bits(log, b), words, nbits);
	/* what was read is on disk: durable */
	lm_dur_all(log, b);
}

static int lm_load_bitmap(struct dirtylog *log, char **error)
{
	u64 blocks[LM_IO_PAGES];
	unsigned long b, first;
	unsigned int i, n;
	int r;

	for (first = 0; first < log->nr_blocks; first += n) {
		n = min_t(unsigned long, LM_IO_PAGES, log->nr_blocks - first);
		for (i = 0; i < n; i++)
			blocks[i] = log->bitmap_start + first + i;
		r = lm_io(log, REQ_OP_READ, blocks, n);
		if (r) {
			lm_set_error(error,
				     "metadata read error in bitmap blocks %lu-%lu (%d)",
				     first, first + n - 1, r);
			return r;
		}
		for (i = 0; i < n; i++)
			lm_load_block(log, first + i,
				      page_address(log->pages[i]));
	}

	if (log->stats.bad_blocks > LM_BAD_BLOCKS_NAMED)
		DMWARN("%pg: %llu bitmap blocks were bad, their regions are dirty",
		       log->bdev, log->stats.bad_blocks);

	log->nr_dirty = 0;
	for (b = 0; b < log->nr_blocks; b++)
		log->nr_dirty += bitmap_weight(lm_block_bits(log, b),
					       lm_block_nbits(log, b));
	return 0;
}

/*
 * The table asked to start over on metadata of other legs (or of the old
 * format).  Never over a decision: a PREPARED log waits for its group and
 * a SWITCHED one says the destination it names is authoritative.
 */
static int lm_reuse(struct dirtylog *log, const struct lm_superblock *old,
		    const struct dirtylog_identity *id, char **error)
{
	sector_t need = lm_needed_sectors(id->nr_regions);
	u32 state = le32_to_cpu(old->state);

	if (state == LM_STATE_PREPARED || state == LM_STATE_SWITCHED) {
		lm_set_error(error,
			     "reuse_metadata: the metadata records a %s migration; resolve it first ('livemirror recover')",
			     state == LM_STATE_PREPARED ? "prepared" : "switched");
		return -EINVAL;
	}
	if (bdev_nr_sectors(log->bdev) < need) {
		lm_set_error(error, "metadata device too small: need %llu sectors",
			     (unsigned long long)need);
		return -EINVAL;
	}
	return lm_format(log, id, le64_to_cpu(old->generation), error);
}

/*
 * A log opened from disk without trust_log: the source may have been
 * written while no table held it, so nothing is known to be in sync.
 * Every region becomes dirty on disk before the table can attach.
 */
static int lm_distrust(struct dirtylog *log, char **error)
{
	unsigned long b;
	int r;

	for (b = 0; b < log->nr_blocks; b++) {
		bitmap_set(lm_block_bits(log, b), 0, lm_block_nbits(log, b));
		/* until the write below, or for good if it fails */
		if (!test_bit(b, log->committing))
			lm_dur_forget(log, b);
	}
	log->nr_dirty = log->nr_regions;
	/* blocks still unwritten since a lazy format read all dirty already */
	bitmap_complement(log->committing, log->committing, log->nr_blocks);
	r = lm_write_bitmap(log, log->committing, REQ_OP_WRITE);
	bitmap_zero(log->committing, log->nr_blocks);
	if (r)
		lm_set_error(error, "metadata write error in bitmap (%d)", r);
	return r;
}

/*
 * Read the superblock slots and then either format zeroed metadata or
 * validate the identity and load the bitmap.  Called by dirtylog_open()
 * before the log is visible to anybody else: no locking needed, but the
 * helpers take the spinlock anyway where they share code with commits.
 */
int lm_meta_load(struct dirtylog *log, const struct dirtylog_identity *id,
		 char **error)
{
	static const u64 slots[LM_SB_SLOTS] = { 0, 1 };
	sector_t need = lm_needed_sectors(id->nr_regions);
	sector_t have = bdev_nr_sectors(log->bdev);
	struct lm_superblock *sb[LM_SB_SLOTS];
	bool valid[LM_SB_SLOTS];
	bool unbound = false;
	unsigned int s;
	int r;

	if (have < LM_SB_SLOTS * LM_BLOCK_SECTORS) {
		lm_set_error(error, "metadata device too small: need %llu sectors",
			     (unsigned long long)need);
		return -EINVAL;
	}

	r = lm_io(log, REQ_OP_READ, slots, LM_SB_SLOTS);
	if (r) {
		lm_set_error(error, "metadata read error in superblock (%d)", r);
		return r;
	}
	for (s = 0; s < LM_SB_SLOTS; s++) {
		sb[s] = page_address(log->pages[s]);
		valid[s] = lm_sb_valid(sb[s]);
	}

	if (!valid[0] && !valid[1]) {
		if (!lm_block_zero(sb[0]) || !lm_block_zero(sb[1])) {
			lm_set_error(error,
				     "metadata corrupt: no valid superblock (run 'livemirror metadata repair')");
			return -EINVAL;
		}
		if (have < need) {
			lm_set_error(error,
				     "metadata device too small: need %llu sectors",
				     (unsigned long long)need);
			return -EINVAL;
		}
		return lm_format(log, id, 0, error);
	}

	/* Newest valid slot; slot 0 on a tie, which a writer never makes. */
	if (valid[0] && valid[1])
		s = le64_to_cpu(sb[1]->generation) >
		    le64_to_cpu(sb[0]->generation);
	else
		s = valid[1];

	if (id->flags & DIRTYLOG_REUSE)
		return lm_reuse(log, sb[s], id, error);

	r = lm_check_version(sb[s], error);
	if (!r)
		r = lm_check_identity(log, sb[s], id, error);
	if (!r)
		r = lm_check_ids(sb[s], id, &unbound, error);
	if (!r && (id->flags & DIRTYLOG_TRUST))
		r = lm_check_trust(id, unbound, error);
	if (r)
		return r;
	if (have < need) {
		lm_set_error(error, "metadata device too small: need %llu sectors",
			     (unsigned long long)need);
		return -EINVAL;
	}

	memcpy(log->sb, sb[s], LM_BLOCK_SIZE);
	log->sb_slot = s;
	memcpy(log->uuid, log->sb->uuid, LM_UUID_LEN);
	log->bitmap_start = le64_to_cpu(log->sb->bitmap_start);
	log->state = le32_to_cpu(log->sb->state);
	if (unbound)
		log->opened = DIRTYLOG_OPENED_UNBOUND;
	else if (log->sb->flags & cpu_to_le32(LM_SB_FLAG_ATTACHED))
		log->opened = DIRTYLOG_OPENED_UNCLEAN;
	else
		log->opened = DIRTYLOG_OPENED_CLEAN;

	r = lm_load_bitmap(log, error);
	if (r)
		return r;

	log->trusted = id->flags & DIRTYLOG_TRUST;
	if (!log->trusted && (log->state == LM_STATE_COPYING ||
			      log->state == LM_STATE_PREPARED))
		r = lm_distrust(log, error);
	/* the load's note of unwritten blocks; commits need it empty */
	bitmap_zero(log->committing, log->nr_blocks);
	if (r)
		return r;

	/*
	 * A CANCELLED log is refused by the target and a PREPARED one
	 * cannot resume before its group decided: neither is attached, so
	 * that a refused table writes nothing.  (A PREPARED log taken back
	 * to COPYING then reads as detached cleanly after a crash, which
	 * only costs trust.)
	 */
	if (log->state == LM_STATE_CANCELLED || log->state == LM_STATE_PREPARED)
		return 0;
	r = lm_sb_attach(log, id);
	if (r)
		lm_set_error(error, "metadata write error in superblock (%d)", r);
	else
		log->attached = true;
	return r;
}
