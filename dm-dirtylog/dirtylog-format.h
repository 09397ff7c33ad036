/* SPDX-License-Identifier: GPL-2.0 */
/*
 * On-disk format of the livemirror dirty-region log.
 *
 * This header is the single source of truth for the format: the kernel log
 * (dm-dirtylog.ko) and the userspace tools (livemirror metadata ...) both
 * include it, so it may only use types from <linux/types.h>.
 *
 * Layout of the metadata device, in LM_BLOCK_SIZE blocks:
 *   block 0, 1      superblock slots A and B (written alternately)
 *   blocks 2..7     reserved for a bitmap directory (named bitmaps, v2)
 *   block 8..       bitmap blocks, sb.bitmap_start onwards
 *
 * All integers are little-endian.  Every block carries a crc32c (Castagnoli,
 * seed ~0, final inversion as in crc32c()) of bytes [4, LM_BLOCK_SIZE) in its
 * first four bytes, so that torn writes and corruption are detected.
 */
#ifndef DM_DIRTYLOG_FORMAT_H
#define DM_DIRTYLOG_FORMAT_H

#include <linux/types.h>

#define LM_MAGIC		0x31524f5252494d4cULL	/* "LMIRROR1" */
#define LM_BITMAP_MAGIC		0x4b4c42444d4c4dULL	/* "LMLDBLK" */
#define LM_VERSION		2	/* 1: no leg identity, see below */
#define LM_BLOCK_SIZE		4096
#define LM_BLOCK_SECTORS	(LM_BLOCK_SIZE >> 9)
#define LM_SB_SLOTS		2
#define LM_BITMAP_START		8
#define LM_LABEL_LEN		64
#define LM_UUID_LEN		16
#define LM_ID_LEN		160	/* identity string with its NUL */

/* Superblock states. */
enum lm_state {
	LM_STATE_INVALID = 0,	/* never written by a valid log */
	LM_STATE_COPYING = 1,	/* source authoritative, migration running */
	LM_STATE_PREPARED = 2,	/* group switch: synced, waiting for decision */
	LM_STATE_SWITCHED = 3,	/* destination authoritative, for ever */
	LM_STATE_CANCELLED = 4,	/* source authoritative, migration abandoned */
};

/* Superblock flags. */
#define LM_SB_FLAG_REPAIRED	(1U << 0)	/* reset to all-dirty by repair */
/*
 * A table has the log open (set when a table opens it from disk, cleared
 * when the last table closes it in order).  Found set by the next open, it
 * means the last table did not detach cleanly: a crash or power cut.
 */
#define LM_SB_FLAG_ATTACHED	(1U << 1)
/*
 * Formatted lazily: the format rewrote only the bitmap blocks that were not
 * zero, so a bitmap block of zeroes has not been written since and means
 * all of its regions are dirty; it is no corruption.  Every reader of
 * version 2 reads such a block as all dirty anyway, so the flag changes no
 * dirty set and needs no version bump: older modules warn about the blocks,
 * older tools refuse the unknown flag (and with it the superblock).
 */
#define LM_SB_FLAG_LAZY		(1U << 2)

/*
 * Identity strings (version 2).  Each names a device by something that
 * survives renames and reboots, prefixed by its kind:
 *   "dm:<uuid>"           a dm device (LVs included) with a dm uuid
 *   "naa:<hex>", "eui:<hex>", "t10:<hex>"
 *                         a disk's own unique id (SCSI VPD 0x83, NVMe
 *                         NGUID/EUI-64), "-p<N>" appended for partition N
 *   "user:<text>"         given in the table (source_id, dest_id)
 *   "dm-name:<name>", "dev:<major>:<minor>"
 *                         weak: what is left when a device has none of the
 *                         above; a weak identity is never trusted across a
 *                         reboot (see Documentation/dm-dirtylog.rst)
 * An empty string means "not bound yet" (metadata upgraded from version 1
 * or written by the tools): the first table binds it, every region dirty.
 */

struct lm_superblock {
	__le32 csum;			/* crc32c of bytes [4, LM_BLOCK_SIZE) */
	__le32 flags;			/* LM_SB_FLAG_* */
	__le64 magic;			/* LM_MAGIC */
	__le32 version;			/* LM_VERSION */
	__le32 state;			/* enum lm_state */
	__le64 generation;		/* +1 per write; newest valid slot wins */
	__u8 uuid[LM_UUID_LEN];		/* this log, chosen when formatted */
	char label[LM_LABEL_LEN];	/* user label of the leg pair, NUL padded */
	__le64 region_sectors;		/* region size, 512-byte sectors */
	__le64 nr_regions;
	__le64 source_sectors;		/* identity of the legs */
	__le64 dest_sectors;
	__le64 bitmap_start;		/* first bitmap block */
	__le64 bitmap_blocks;		/* bitmap blocks per bitmap */
	__le32 nr_bitmaps;		/* 1 in version 1 */
	__le32 active_bitmap;		/* 0 in version 1 */
	__le64 state_time;		/* seconds since epoch of last state change */
	/* Group switch: all members name the coordinator; its state decides. */
	__u8 group_uuid[LM_UUID_LEN];	/* zero when not in a group */
	__u8 coordinator_uuid[LM_UUID_LEN]; /* log uuid of the deciding member */
	__le32 group_members;
	__le32 group_index;
	/* Version 2: attachment record and identity of the legs and device. */
	__le64 attach_time;		/* seconds since epoch, last open */
	__le64 detach_time;		/* last clean close, 0 = none yet */
	__le64 attach_count;		/* opens from disk since formatted */
	char device_id[LM_ID_LEN];	/* the mapped device */
	char source_id[LM_ID_LEN];
	char dest_id[LM_ID_LEN];
	__u8 reserved[3376];
};

/* Header of a bitmap block; the bits follow it. */
struct lm_bitmap_header {
	__le32 csum;			/* crc32c of bytes [4, LM_BLOCK_SIZE) */
	__le32 reserved;
	__le64 blocknr;			/* index of this block within the bitmap */
	__u8 uuid[LM_UUID_LEN];		/* log uuid, rejects stale blocks */
};

#define LM_BITMAP_HEADER_SIZE	32
/* Bits per bitmap block: a whole number of 64-bit words (508 words). */
#define LM_BITS_PER_BLOCK	((LM_BLOCK_SIZE - LM_BITMAP_HEADER_SIZE) * 8)
#define LM_WORDS_PER_BLOCK	(LM_BITS_PER_BLOCK / 64)

/*
 * Every field is naturally aligned, so the layout needs no packing (which
 * the kernel and userspace spell differently); these pin it down.
 */
_Static_assert(sizeof(struct lm_superblock) == LM_BLOCK_SIZE,
	       "superblock must fill one metadata block");
_Static_assert(sizeof(struct lm_bitmap_header) == LM_BITMAP_HEADER_SIZE,
	       "bitmap block header size is part of the format");

/*
 * Bit r of the bitmap (region r) lives in block r / LM_BITS_PER_BLOCK,
 * little-endian bit order within the __le64 words that follow the header.
 * 1 means the legs may differ (region dirty or not yet copied); 0 means both
 * legs hold the same data for the region.
 */

static inline __u64 lm_bitmap_blocks(__u64 nr_regions)
{
	return (nr_regions + LM_BITS_PER_BLOCK - 1) / LM_BITS_PER_BLOCK;
}

/* Metadata blocks needed for one bitmap of nr_regions regions. */
static inline __u64 lm_metadata_blocks(__u64 nr_regions)
{
	return LM_BITMAP_START + lm_bitmap_blocks(nr_regions);
}

#endif /* DM_DIRTYLOG_FORMAT_H */
