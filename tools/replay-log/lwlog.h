/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reader for the dm-log-writes log format (Linux 6.1,
 * drivers/md/dm-log-writes.c, Documentation/admin-guide/device-mapper/
 * log-writes.rst).  Written from the kernel's description, no code shared.
 *
 * Layout of the log device, all integers little-endian:
 *   byte 0:           super: le64 magic, le64 version, le64 nr_entries,
 *                     le32 sectorsize (the logged device's logical block size)
 *   byte sectorsize:  entries, one after the other:
 *                     [ one sectorsize block: le64 sector, le64 nr_sectors,
 *                       le64 flags, le64 data_len, then for a MARK the mark
 *                       text (data_len bytes) ]
 *                     [ nr_sectors * sectorsize bytes of written data, except
 *                       for DISCARD entries, which carry no data ]
 *   sector and nr_sectors count sectorsize units of the logged device.
 */
#ifndef LWLOG_H
#define LWLOG_H

#include <stdint.h>
#include <stddef.h>

#define LW_MAGIC	0x6a736677736872ULL
#define LW_VERSION	1ULL

#define LW_FLUSH	(1ULL << 0)
#define LW_FUA		(1ULL << 1)
#define LW_DISCARD	(1ULL << 2)
#define LW_MARK		(1ULL << 3)
#define LW_METADATA	(1ULL << 4)
#define LW_KNOWN_FLAGS	(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_METADATA)

#define LW_ENTRY_HDR	32
#define LW_MARK_MAX	4096

/* How a DISCARD entry is replayed. */
enum lw_discard {
	LW_DISCARD_ZERO,	/* write zeroes over the range (default) */
	LW_DISCARD_SKIP,	/* leave the old ("stale") data in place */
};

struct lw_log {
	int fd;
	uint64_t size;		/* bytes of the log device/file */
	uint32_t sectorsize;
	uint64_t nr_entries;	/* from the super */
	uint64_t next_idx;	/* index of the entry lw_next returns next */
	uint64_t next_off;	/* its byte offset */
	char err[256];
};

struct lw_entry {
	uint64_t idx;
	uint64_t off;		/* byte offset of the entry header */
	uint64_t sector;	/* sectorsize units */
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
	uint64_t data_off;	/* byte offset of the data (if any) */
	char mark[LW_MARK_MAX];	/* NUL terminated mark text, MARK only */
};

int lw_open(struct lw_log *log, const char *path);
void lw_close(struct lw_log *log);
/* Position so that lw_next returns entry idx whose header is at off. */
void lw_setpos(struct lw_log *log, uint64_t idx, uint64_t off);
/* 1: *e filled, 0: end of log, -1: corrupt log (log->err). */
int lw_next(struct lw_log *log, struct lw_entry *e);
/* Walk forward (from the current position, or from 0 if past) to idx. */
int lw_seek(struct lw_log *log, uint64_t idx);
/* Byte range an entry changes on the logged device (0 length: none). */
void lw_range(const struct lw_log *log, const struct lw_entry *e,
	      uint64_t *off, uint64_t *len);
/* Apply one entry to a file/device fd, or to a memory image. */
int lw_apply_fd(struct lw_log *log, const struct lw_entry *e, int fd,
		enum lw_discard mode);
int lw_apply_mem(struct lw_log *log, const struct lw_entry *e, uint8_t *img,
		 uint64_t img_size, enum lw_discard mode);
/* "FLUSH|FUA" etc. into buf (at least 48 bytes); "-" for none. */
const char *lw_flags_str(uint64_t flags, char *buf, size_t len);

#endif
