/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace access to the livemirror metadata (dirty-region log).  The
 * on-disk layout comes from dm-dirtylog/dirtylog-format.h only.
 */
#ifndef LM_META_H
#define LM_META_H

#include <stdbool.h>
#include <stdint.h>

#include "../dm-dirtylog/dirtylog-format.h"

/* Superblock in CPU byte order. */
struct lm_sbinfo {
	uint32_t flags;
	uint32_t version;
	uint32_t state;
	uint64_t generation;
	uint8_t uuid[LM_UUID_LEN];
	char label[LM_LABEL_LEN + 1];
	uint64_t region_sectors;
	uint64_t nr_regions;
	uint64_t source_sectors;
	uint64_t dest_sectors;
	uint64_t bitmap_start;
	uint64_t bitmap_blocks;
	uint32_t nr_bitmaps;
	uint32_t active_bitmap;
	uint64_t state_time;
	uint8_t group_uuid[LM_UUID_LEN];
	uint8_t coordinator_uuid[LM_UUID_LEN];
	uint32_t group_members;
	uint32_t group_index;
	/* version 2 */
	uint64_t attach_time;
	uint64_t detach_time;
	uint64_t attach_count;
	char device_id[LM_ID_LEN];	/* NUL terminated (validated) */
	char source_id[LM_ID_LEN];
	char dest_id[LM_ID_LEN];
};

enum slot_status {
	SLOT_VALID = 0,
	SLOT_ZERO,		/* never written */
	SLOT_BAD_CSUM,
	SLOT_BAD_MAGIC,
	SLOT_BAD_VERSION,
	SLOT_BAD_FIELDS,	/* checksum fine, contents inconsistent */
	SLOT_UNREADABLE,	/* I/O error or beyond the end */
	SLOT_OLD_VERSION,	/* valid format version 1: needs repair --upgrade */
};

/* The message every command gives for version 1 metadata. */
#define LM_V1_ADVICE "metadata format version 1 is too old: run 'livemirror metadata " \
	"repair --upgrade DEV' (every region becomes dirty)"

/* Kinds of identity strings (dirtylog-format.h). */
enum lm_id_kind {
	LM_ID_EMPTY = 0,	/* not bound yet */
	LM_ID_STRONG,		/* dm:, naa:, eui:, t10:, user: */
	LM_ID_WEAK,		/* dm-name:, dev: */
	LM_ID_BAD,		/* not NUL terminated or unknown prefix */
};
enum lm_id_kind lm_id_kind(const char *id, size_t len);

enum meta_mode {
	META_RO,		/* shared read (device may be in a live table) */
	META_RO_EXCL,		/* exclusive read: refuse a device in use */
	META_RW_EXCL,		/* exclusive read/write */
};

struct lm_meta {
	int fd;
	char path[256];
	uint64_t size_bytes;
	bool is_blockdev;
	uint8_t *buf;		/* aligned scratch, 2 blocks */
	struct lm_sbinfo sb[LM_SB_SLOTS];
	int status[LM_SB_SLOTS];
	char why[LM_SB_SLOTS][160];
	int best;		/* newest valid slot, -1 when none */
	int old;		/* newest valid version 1 slot, -1 when none */
};

const char *lm_state_name(uint32_t state);
const char *slot_status_name(int st);

uint32_t block_csum(const void *blk);
void sb_decode(const void *blk, struct lm_sbinfo *sb);
void sb_encode(const struct lm_sbinfo *sb, void *blk);
/* Validate one slot image; fills *sb (when the magic allows) and why. */
int sb_validate(const void *blk, struct lm_sbinfo *sb, char *why, size_t len);
/* Field consistency only; 0 or -1 with why. */
int sb_check_fields(const struct lm_sbinfo *sb, char *why, size_t len);

/* Bitmap blocks. */
/*
 * Of a lazily formatted log (LM_SB_FLAG_LAZY): a bitmap block of zeroes was
 * not written since the format, so it means all dirty and is no corruption.
 */
bool bm_unwritten(const void *blk, const struct lm_sbinfo *sb);
int bm_validate(const void *blk, uint64_t blocknr, const uint8_t *uuid,
		char *why, size_t len);
void bm_encode(void *blk, uint64_t blocknr, const uint8_t *uuid,
	       uint64_t nr_regions, bool dirty);
uint64_t bm_count(const void *blk, uint64_t blocknr, uint64_t nr_regions);
bool bm_test(const void *blk, unsigned int bit);

uint64_t nr_regions_for(uint64_t source_sectors, uint64_t region_sectors);
uint64_t meta_bytes_needed(uint64_t nr_regions);

/* Returns an LM_EXIT_* code; err explains. */
int meta_open(struct lm_meta *m, const char *path, enum meta_mode mode,
	      char *err, size_t errlen);
void meta_close(struct lm_meta *m);
/* Read and classify both slots, choose best.  0, or -1 on I/O error. */
int meta_load(struct lm_meta *m);
bool meta_fresh(const struct lm_meta *m);	/* both slots all zero */
/*
 * The newest valid slot of the metadata at path, by a shared read (a device
 * in a live table is fine).  0, or -1 when it cannot be opened or has no
 * valid slot (fresh, damaged, version 1).
 */
int meta_read_best(const char *path, struct lm_sbinfo *sb);
/* No valid version 2 slot but a valid version 1 one: needs --upgrade. */
bool meta_needs_upgrade(const struct lm_meta *m);
/* "metadata PATH: format version 1 is too old: run '... --upgrade PATH' ..." */
void meta_upgrade_advice(const char *path, char *buf, size_t len);
int meta_read_block(struct lm_meta *m, uint64_t blk, void *buf);
int meta_write_block(struct lm_meta *m, uint64_t blk, const void *buf);
/*
 * Write *sb as the next generation into the slot that does not hold the
 * best one, then flush.  Updates m.  0 or -1 (errno).
 */
int meta_write_sb(struct lm_meta *m, struct lm_sbinfo *sb);
/* Write all bitmap blocks all-dirty, then the superblock into both slots. */
int meta_format(struct lm_meta *m, struct lm_sbinfo *sb);

/*
 * Dirty regions of the bitmap sb names; unreadable or invalid blocks and
 * blocks beyond the end of the device count as all dirty.  0 or -1.
 */
int meta_count_dirty(struct lm_meta *m, const struct lm_sbinfo *sb, uint64_t *dirty);

/* Problems found by meta_check are reported through this callback. */
typedef void (*meta_report_fn)(void *ctx, const char *msg);
/* Returns the number of problems found (0 = clean). */
int meta_check(struct lm_meta *m, meta_report_fn fn, void *ctx);

#endif
