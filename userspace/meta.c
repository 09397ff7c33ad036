// SPDX-License-Identifier: GPL-2.0
/* Metadata read/write/validate/format, shared by every command. */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "exitcodes.h"
#include "meta.h"
#include "util.h"

const char *lm_state_name(uint32_t state)
{
	switch (state) {
	case LM_STATE_INVALID: return "invalid";
	case LM_STATE_COPYING: return "copying";
	case LM_STATE_PREPARED: return "prepared";
	case LM_STATE_SWITCHED: return "switched";
	case LM_STATE_CANCELLED: return "cancelled";
	}
	return "unknown";
}

const char *slot_status_name(int st)
{
	switch (st) {
	case SLOT_VALID: return "valid";
	case SLOT_ZERO: return "unused";
	case SLOT_BAD_CSUM: return "bad-csum";
	case SLOT_BAD_MAGIC: return "bad-magic";
	case SLOT_BAD_VERSION: return "bad-version";
	case SLOT_BAD_FIELDS: return "inconsistent";
	case SLOT_UNREADABLE: return "unreadable";
	case SLOT_OLD_VERSION: return "old-version";
	}
	return "unknown";
}

uint32_t block_csum(const void *blk)
{
	return crc32c_update(0xFFFFFFFFu, (const uint8_t *)blk + 4,
			     LM_BLOCK_SIZE - 4) ^ 0xFFFFFFFFu;
}

static uint32_t stored_csum(const void *blk)
{
	uint32_t v;

	memcpy(&v, blk, 4);
	return le32toh(v);
}

static void put_csum(void *blk)
{
	uint32_t v = htole32(block_csum(blk));

	memcpy(blk, &v, 4);
}

void sb_decode(const void *blk, struct lm_sbinfo *sb)
{
	const struct lm_superblock *d = blk;

	memset(sb, 0, sizeof(*sb));
	sb->flags = le32toh(d->flags);
	sb->version = le32toh(d->version);
	sb->state = le32toh(d->state);
	sb->generation = le64toh(d->generation);
	memcpy(sb->uuid, d->uuid, LM_UUID_LEN);
	memcpy(sb->label, d->label, LM_LABEL_LEN);
	sb->label[LM_LABEL_LEN] = 0;
	sb->region_sectors = le64toh(d->region_sectors);
	sb->nr_regions = le64toh(d->nr_regions);
	sb->source_sectors = le64toh(d->source_sectors);
	sb->dest_sectors = le64toh(d->dest_sectors);
	sb->bitmap_start = le64toh(d->bitmap_start);
	sb->bitmap_blocks = le64toh(d->bitmap_blocks);
	sb->nr_bitmaps = le32toh(d->nr_bitmaps);
	sb->active_bitmap = le32toh(d->active_bitmap);
	sb->state_time = le64toh(d->state_time);
	memcpy(sb->group_uuid, d->group_uuid, LM_UUID_LEN);
	memcpy(sb->coordinator_uuid, d->coordinator_uuid, LM_UUID_LEN);
	sb->group_members = le32toh(d->group_members);
	sb->group_index = le32toh(d->group_index);
	sb->attach_time = le64toh(d->attach_time);
	sb->detach_time = le64toh(d->detach_time);
	sb->attach_count = le64toh(d->attach_count);
	/* Copied whole: sb_check_fields() rejects a string without its NUL. */
	memcpy(sb->device_id, d->device_id, LM_ID_LEN);
	memcpy(sb->source_id, d->source_id, LM_ID_LEN);
	memcpy(sb->dest_id, d->dest_id, LM_ID_LEN);
}

void sb_encode(const struct lm_sbinfo *sb, void *blk)
{
	struct lm_superblock *d = blk;

	memset(blk, 0, LM_BLOCK_SIZE);
	d->flags = htole32(sb->flags);
	d->magic = htole64(LM_MAGIC);
	d->version = htole32(sb->version);
	d->state = htole32(sb->state);
	d->generation = htole64(sb->generation);
	memcpy(d->uuid, sb->uuid, LM_UUID_LEN);
	memcpy(d->label, sb->label, strnlen(sb->label, LM_LABEL_LEN));
	d->region_sectors = htole64(sb->region_sectors);
	d->nr_regions = htole64(sb->nr_regions);
	d->source_sectors = htole64(sb->source_sectors);
	d->dest_sectors = htole64(sb->dest_sectors);
	d->bitmap_start = htole64(sb->bitmap_start);
	d->bitmap_blocks = htole64(sb->bitmap_blocks);
	d->nr_bitmaps = htole32(sb->nr_bitmaps);
	d->active_bitmap = htole32(sb->active_bitmap);
	d->state_time = htole64(sb->state_time);
	memcpy(d->group_uuid, sb->group_uuid, LM_UUID_LEN);
	memcpy(d->coordinator_uuid, sb->coordinator_uuid, LM_UUID_LEN);
	d->group_members = htole32(sb->group_members);
	d->group_index = htole32(sb->group_index);
	d->attach_time = htole64(sb->attach_time);
	d->detach_time = htole64(sb->detach_time);
	d->attach_count = htole64(sb->attach_count);
	/* NUL padded; the last byte always NUL */
	memcpy(d->device_id, sb->device_id, strnlen(sb->device_id, LM_ID_LEN - 1));
	memcpy(d->source_id, sb->source_id, strnlen(sb->source_id, LM_ID_LEN - 1));
	memcpy(d->dest_id, sb->dest_id, strnlen(sb->dest_id, LM_ID_LEN - 1));
	put_csum(blk);
}

uint64_t nr_regions_for(uint64_t source_sectors, uint64_t region_sectors)
{
	if (!region_sectors)
		return 0;
	return source_sectors / region_sectors +
	       (source_sectors % region_sectors ? 1 : 0);
}

uint64_t meta_bytes_needed(uint64_t nr_regions)
{
	return lm_metadata_blocks(nr_regions) * LM_BLOCK_SIZE;
}

enum lm_id_kind lm_id_kind(const char *id, size_t len)
{
	static const char *const strong[] = { "dm:", "naa:", "eui:", "t10:", "user:" };
	static const char *const weak[] = { "dm-name:", "dev:" };
	size_t n = strnlen(id, len);

	if (n == len)
		return LM_ID_BAD;
	if (!n)
		return LM_ID_EMPTY;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] == 0x7f)
			return LM_ID_BAD;
	for (size_t i = 0; i < sizeof(strong) / sizeof(strong[0]); i++)
		if (!strncmp(id, strong[i], strlen(strong[i])) && n > strlen(strong[i]))
			return LM_ID_STRONG;
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		if (!strncmp(id, weak[i], strlen(weak[i])) && n > strlen(weak[i]))
			return LM_ID_WEAK;
	return LM_ID_BAD;
}

static int check_id(const char *name, const char *id, char *why, size_t len)
{
	size_t n = strnlen(id, LM_ID_LEN);

	if (lm_id_kind(id, LM_ID_LEN) != LM_ID_BAD)
		return 0;
	if (n == LM_ID_LEN)
		snprintf(why, len, "%s is not NUL terminated within %d bytes", name, LM_ID_LEN);
	else
		snprintf(why, len, "%s '%.40s' has an unknown prefix or a control character "
			 "(expected dm:, naa:, eui:, t10:, user:, dm-name:, dev: or empty)",
			 name, id);
	return -1;
}

int sb_check_fields(const struct lm_sbinfo *sb, char *why, size_t len)
{
	uint64_t r = sb->region_sectors;
	const uint32_t known = LM_SB_FLAG_REPAIRED | LM_SB_FLAG_ATTACHED | LM_SB_FLAG_LAZY;

	if (r < 8 || (r & (r - 1))) {
		snprintf(why, len, "region_sectors %" PRIu64 " is not a power of two >= 8", r);
		return -1;
	}
	if (sb->state < LM_STATE_COPYING || sb->state > LM_STATE_CANCELLED) {
		snprintf(why, len, "state %" PRIu32 " is unknown", sb->state);
		return -1;
	}
	if (!sb->source_sectors || sb->nr_regions != nr_regions_for(sb->source_sectors, r)) {
		snprintf(why, len, "nr_regions %" PRIu64 " does not match source_sectors %" PRIu64
			 " / region_sectors %" PRIu64, sb->nr_regions, sb->source_sectors, r);
		return -1;
	}
	if (sb->dest_sectors < sb->source_sectors) {
		snprintf(why, len, "dest_sectors %" PRIu64 " smaller than source_sectors %" PRIu64,
			 sb->dest_sectors, sb->source_sectors);
		return -1;
	}
	/* the kernel accepts no other layout: neither may the checker */
	if (sb->bitmap_start != LM_BITMAP_START ||
	    sb->bitmap_blocks != lm_bitmap_blocks(sb->nr_regions)) {
		snprintf(why, len, "bitmap_start %" PRIu64 " / bitmap_blocks %" PRIu64
			 " inconsistent (expected %d / %llu)", sb->bitmap_start,
			 sb->bitmap_blocks, LM_BITMAP_START,
			 (unsigned long long)lm_bitmap_blocks(sb->nr_regions));
		return -1;
	}
	if (sb->nr_bitmaps != 1 || sb->active_bitmap != 0) {
		snprintf(why, len, "nr_bitmaps %" PRIu32 " / active_bitmap %" PRIu32
			 " unsupported", sb->nr_bitmaps, sb->active_bitmap);
		return -1;
	}
	if (sb->state == LM_STATE_PREPARED &&
	    (!sb->group_members || sb->group_index >= sb->group_members)) {
		snprintf(why, len, "prepared with group index %" PRIu32 " of %" PRIu32,
			 sb->group_index, sb->group_members);
		return -1;
	}
	if (sb->flags & ~known) {
		snprintf(why, len, "unknown flags 0x%" PRIx32, sb->flags & ~known);
		return -1;
	}
	if (check_id("device_id", sb->device_id, why, len) ||
	    check_id("source_id", sb->source_id, why, len) ||
	    check_id("dest_id", sb->dest_id, why, len))
		return -1;
	return 0;
}

int sb_validate(const void *blk, struct lm_sbinfo *sb, char *why, size_t len)
{
	const struct lm_superblock *d = blk;
	uint32_t want, have;

	memset(sb, 0, sizeof(*sb));
	if (all_zero(blk, LM_BLOCK_SIZE)) {
		snprintf(why, len, "all zero (never written)");
		return SLOT_ZERO;
	}
	sb_decode(blk, sb);
	if (le64toh(d->magic) != LM_MAGIC) {
		snprintf(why, len, "bad magic 0x%016llx (expected 0x%016llx)",
			 (unsigned long long)le64toh(d->magic), (unsigned long long)LM_MAGIC);
		return SLOT_BAD_MAGIC;
	}
	want = block_csum(blk);
	have = stored_csum(blk);
	if (want != have) {
		snprintf(why, len, "bad checksum 0x%08x (computed 0x%08x)", have, want);
		return SLOT_BAD_CSUM;
	}
	if (sb->version == 1) {
		/* the version 2 fields lie in version 1's reserved bytes: zero */
		if (sb_check_fields(sb, why, len))
			return SLOT_BAD_FIELDS;
		snprintf(why, len, "%s", LM_V1_ADVICE);
		return SLOT_OLD_VERSION;
	}
	if (sb->version != LM_VERSION) {
		snprintf(why, len, "unsupported version %" PRIu32 " (expected %d)",
			 sb->version, LM_VERSION);
		return SLOT_BAD_VERSION;
	}
	if (sb_check_fields(sb, why, len))
		return SLOT_BAD_FIELDS;
	snprintf(why, len, "valid");
	return SLOT_VALID;
}

int bm_validate(const void *blk, uint64_t blocknr, const uint8_t *uuid,
		char *why, size_t len)
{
	const struct lm_bitmap_header *h = blk;
	uint32_t want = block_csum(blk), have = stored_csum(blk);

	if (want != have) {
		snprintf(why, len, "bad checksum 0x%08x (computed 0x%08x)", have, want);
		return -1;
	}
	if (le64toh(h->blocknr) != blocknr) {
		snprintf(why, len, "bad blocknr %llu (expected %llu)",
			 (unsigned long long)le64toh(h->blocknr), (unsigned long long)blocknr);
		return -1;
	}
	if (memcmp(h->uuid, uuid, LM_UUID_LEN)) {
		snprintf(why, len, "bad uuid (stale block of another log)");
		return -1;
	}
	return 0;
}

bool bm_unwritten(const void *blk, const struct lm_sbinfo *sb)
{
	static const uint8_t zero[LM_BLOCK_SIZE];

	return (sb->flags & LM_SB_FLAG_LAZY) && !memcmp(blk, zero, LM_BLOCK_SIZE);
}

static uint64_t bits_in_block(uint64_t blocknr, uint64_t nr_regions)
{
	uint64_t first = blocknr * LM_BITS_PER_BLOCK;

	if (first >= nr_regions)
		return 0;
	return nr_regions - first < LM_BITS_PER_BLOCK ? nr_regions - first : LM_BITS_PER_BLOCK;
}

void bm_encode(void *blk, uint64_t blocknr, const uint8_t *uuid,
	       uint64_t nr_regions, bool dirty)
{
	struct lm_bitmap_header *h = blk;
	uint8_t *bits = (uint8_t *)blk + LM_BITMAP_HEADER_SIZE;
	uint64_t n = bits_in_block(blocknr, nr_regions);

	memset(blk, 0, LM_BLOCK_SIZE);
	h->blocknr = htole64(blocknr);
	memcpy(h->uuid, uuid, LM_UUID_LEN);
	if (dirty) {
		/* Little-endian words, little-endian bit order == byte order. */
		memset(bits, 0xff, n / 8);
		if (n % 8)
			bits[n / 8] = (uint8_t)((1u << (n % 8)) - 1);
	}
	put_csum(blk);
}

bool bm_test(const void *blk, unsigned int bit)
{
	const uint8_t *bits = (const uint8_t *)blk + LM_BITMAP_HEADER_SIZE;

	return bits[bit / 8] & (1u << (bit % 8));
}

uint64_t bm_count(const void *blk, uint64_t blocknr, uint64_t nr_regions)
{
	const uint8_t *bits = (const uint8_t *)blk + LM_BITMAP_HEADER_SIZE;
	uint64_t n = bits_in_block(blocknr, nr_regions), c = 0;
	uint64_t i;

	for (i = 0; i + 8 <= n; i += 8)
		c += (uint64_t)__builtin_popcount(bits[i / 8]);
	for (; i < n; i++)
		c += bm_test(blk, (unsigned int)i);
	return c;
}

int meta_open(struct lm_meta *m, const char *path, enum meta_mode mode,
	      char *err, size_t errlen)
{
	struct stat st;
	int flags = O_CLOEXEC;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->best = -1;
	m->old = -1;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (stat(path, &st)) {
		snprintf(err, errlen, "metadata %s: %s", path, strerror(errno));
		return errno == ENOENT ? LM_EXIT_NOT_FOUND : LM_EXIT_ERROR;
	}
	m->is_blockdev = S_ISBLK(st.st_mode);
	if (!m->is_blockdev && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "metadata %s: not a block device or file", path);
		return LM_EXIT_ERROR;
	}
	flags |= mode == META_RW_EXCL ? O_RDWR : O_RDONLY;
	if (mode != META_RO && m->is_blockdev)
		flags |= O_EXCL;
	if (m->is_blockdev)
		flags |= O_DIRECT;	/* the kernel writes with bios: no stale cache */
	m->fd = open(path, flags);
	if (m->fd < 0) {
		int e = errno;

		if (e == EBUSY) {
			snprintf(err, errlen, "metadata %s is in use (a live table or another "
				 "program holds it); refusing to touch it", path);
			return LM_EXIT_BUSY;
		}
		snprintf(err, errlen, "cannot open metadata %s: %s", path, strerror(e));
		return e == ENOENT ? LM_EXIT_NOT_FOUND : LM_EXIT_ERROR;
	}
	if (m->is_blockdev) {
		if (ioctl(m->fd, BLKGETSIZE64, &m->size_bytes)) {
			snprintf(err, errlen, "metadata %s: BLKGETSIZE64: %s", path, strerror(errno));
			meta_close(m);
			return LM_EXIT_ERROR;
		}
	} else {
		m->size_bytes = (uint64_t)st.st_size;
	}
	if (posix_memalign((void **)&m->buf, LM_BLOCK_SIZE, 2 * LM_BLOCK_SIZE)) {
		snprintf(err, errlen, "out of memory");
		meta_close(m);
		return LM_EXIT_ERROR;
	}
	return LM_EXIT_OK;
}

void meta_close(struct lm_meta *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	free(m->buf);
	m->buf = NULL;
}

int meta_read_block(struct lm_meta *m, uint64_t blk, void *buf)
{
	off_t off = (off_t)(blk * LM_BLOCK_SIZE);
	ssize_t r;

	if ((blk + 1) * LM_BLOCK_SIZE > m->size_bytes) {
		errno = ENOSPC;
		return -1;
	}
	r = pread(m->fd, m->buf, LM_BLOCK_SIZE, off);
	if (r != LM_BLOCK_SIZE) {
		if (r >= 0)
			errno = EIO;
		return -1;
	}
	memcpy(buf, m->buf, LM_BLOCK_SIZE);
	return 0;
}

int meta_write_block(struct lm_meta *m, uint64_t blk, const void *buf)
{
	ssize_t r;

	if ((blk + 1) * LM_BLOCK_SIZE > m->size_bytes) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(m->buf, buf, LM_BLOCK_SIZE);
	r = pwrite(m->fd, m->buf, LM_BLOCK_SIZE, (off_t)(blk * LM_BLOCK_SIZE));
	if (r != LM_BLOCK_SIZE) {
		if (r >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

int meta_load(struct lm_meta *m)
{
	uint8_t blk[LM_BLOCK_SIZE];

	m->best = -1;
	m->old = -1;
	for (int i = 0; i < LM_SB_SLOTS; i++) {
		if (meta_read_block(m, (uint64_t)i, blk)) {
			m->status[i] = SLOT_UNREADABLE;
			memset(&m->sb[i], 0, sizeof(m->sb[i]));
			snprintf(m->why[i], sizeof(m->why[i]), "unreadable: %s",
				 errno == ENOSPC ? "beyond end of device" : strerror(errno));
			continue;
		}
		m->status[i] = sb_validate(blk, &m->sb[i], m->why[i], sizeof(m->why[i]));
		if (m->status[i] == SLOT_VALID &&
		    (m->best < 0 || m->sb[i].generation > m->sb[m->best].generation))
			m->best = i;
		if (m->status[i] == SLOT_OLD_VERSION &&
		    (m->old < 0 || m->sb[i].generation > m->sb[m->old].generation))
			m->old = i;
	}
	if (m->status[0] == SLOT_UNREADABLE && m->status[1] == SLOT_UNREADABLE)
		return -1;
	return 0;
}

bool meta_fresh(const struct lm_meta *m)
{
	return m->status[0] == SLOT_ZERO && m->status[1] == SLOT_ZERO;
}

bool meta_needs_upgrade(const struct lm_meta *m)
{
	return m->best < 0 && m->old >= 0;
}

void meta_upgrade_advice(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "metadata %s: format version 1 is too old: run 'livemirror "
		 "metadata repair --upgrade %s' (every region becomes dirty)", path, path);
}

static int meta_sync(struct lm_meta *m)
{
	return fsync(m->fd);
}

int meta_write_sb(struct lm_meta *m, struct lm_sbinfo *sb)
{
	uint8_t blk[LM_BLOCK_SIZE];
	uint64_t gen = 0;
	int slot;

	for (int i = 0; i < LM_SB_SLOTS; i++)
		if (m->status[i] == SLOT_VALID || m->status[i] == SLOT_BAD_FIELDS ||
		    m->status[i] == SLOT_OLD_VERSION)
			if (m->sb[i].generation > gen)
				gen = m->sb[i].generation;
	slot = m->best < 0 ? 0 : 1 - m->best;
	sb->generation = gen + 1;
	sb->version = LM_VERSION;
	sb_encode(sb, blk);
	if (meta_write_block(m, (uint64_t)slot, blk) || meta_sync(m))
		return -1;
	m->sb[slot] = *sb;
	m->status[slot] = SLOT_VALID;
	snprintf(m->why[slot], sizeof(m->why[slot]), "valid");
	m->best = slot;
	return 0;
}

int meta_format(struct lm_meta *m, struct lm_sbinfo *sb)
{
	uint8_t blk[LM_BLOCK_SIZE];
	uint64_t need = meta_bytes_needed(sb->nr_regions);

	if (m->size_bytes < need) {
		errno = ENOSPC;
		return -1;
	}
	for (uint64_t b = 0; b < sb->bitmap_blocks; b++) {
		bm_encode(blk, b, sb->uuid, sb->nr_regions, true);
		if (meta_write_block(m, sb->bitmap_start + b, blk))
			return -1;
	}
	if (meta_sync(m))
		return -1;
	/* Both slots valid, consecutive generations. */
	for (int i = 0; i < LM_SB_SLOTS; i++)
		if (meta_write_sb(m, sb))
			return -1;
	return 0;
}

int meta_count_dirty(struct lm_meta *m, const struct lm_sbinfo *sb, uint64_t *dirty)
{
	uint8_t blk[LM_BLOCK_SIZE];
	char why[160];

	*dirty = 0;
	if (sb->bitmap_blocks != lm_bitmap_blocks(sb->nr_regions))
		return -1;
	for (uint64_t b = 0; b < sb->bitmap_blocks; b++) {
		if (meta_read_block(m, sb->bitmap_start + b, blk) ||
		    bm_validate(blk, b, sb->uuid, why, sizeof(why)))
			*dirty += bits_in_block(b, sb->nr_regions);
		else
			*dirty += bm_count(blk, b, sb->nr_regions);
	}
	return 0;
}

static void reportf(meta_report_fn fn, void *ctx, int *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reportf(meta_report_fn fn, void *ctx, int *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*n)++;
	if (fn)
		fn(ctx, msg);
}

#define CHECK_MAX_REPORTS 64

int meta_check(struct lm_meta *m, meta_report_fn fn, void *ctx)
{
	static const char slot_name[] = "AB";
	uint64_t dev_blocks, avail, nb, bad = 0;
	uint8_t blk[LM_BLOCK_SIZE];
	const struct lm_sbinfo *sb;
	char why[160];
	int n = 0;

	if (meta_load(m)) {
		reportf(fn, ctx, &n, "superblock: both slots unreadable (%s)", m->why[0]);
		return n;
	}
	if (meta_fresh(m))
		return 0;	/* zeroed: formatted at first load, nothing wrong */
	for (int i = 0; i < LM_SB_SLOTS; i++)
		if (m->status[i] != SLOT_VALID && m->status[i] != SLOT_ZERO)
			reportf(fn, ctx, &n, "superblock slot %c (block %d): %s",
				slot_name[i], i, m->why[i]);
	if (meta_needs_upgrade(m)) {
		reportf(fn, ctx, &n, "%s", LM_V1_ADVICE);
		return n;
	}
	if (m->best < 0) {
		reportf(fn, ctx, &n, "no valid superblock slot: the log cannot be loaded");
		return n;
	}
	sb = &m->sb[m->best];
	if (m->size_bytes < meta_bytes_needed(sb->nr_regions))
		reportf(fn, ctx, &n, "metadata truncated: %llu bytes, needs %llu",
			(unsigned long long)m->size_bytes,
			(unsigned long long)meta_bytes_needed(sb->nr_regions));
	/*
	 * Stop at the end of the device: a superblock with a valid checksum
	 * can still name more blocks than exist (the loop would run for days).
	 * Report at most CHECK_MAX_REPORTS bad blocks, then count the rest.
	 */
	dev_blocks = m->size_bytes / LM_BLOCK_SIZE;
	avail = dev_blocks > sb->bitmap_start ? dev_blocks - sb->bitmap_start : 0;
	nb = sb->bitmap_blocks < avail ? sb->bitmap_blocks : avail;
	if (nb < sb->bitmap_blocks)
		reportf(fn, ctx, &n, "bitmap blocks %llu..%llu: beyond end of device "
			"(%llu blocks), not checked", (unsigned long long)nb,
			(unsigned long long)(sb->bitmap_blocks - 1), (unsigned long long)dev_blocks);
	for (uint64_t b = 0; b < nb; b++) {
		bool quiet = bad >= CHECK_MAX_REPORTS;

		if (meta_read_block(m, sb->bitmap_start + b, blk)) {
			bad++;
			if (!quiet)
				reportf(fn, ctx, &n, "bitmap block %llu (device block %llu): "
					"unreadable: %s", (unsigned long long)b,
					(unsigned long long)(sb->bitmap_start + b),
					errno == ENOSPC ? "beyond end of device" : strerror(errno));
			continue;
		}
		if (bm_validate(blk, b, sb->uuid, why, sizeof(why)) &&
		    !bm_unwritten(blk, sb)) {
			bad++;
			if (!quiet)
				reportf(fn, ctx, &n, "bitmap block %llu (device block %llu): %s",
					(unsigned long long)b,
					(unsigned long long)(sb->bitmap_start + b), why);
		}
	}
	if (bad > CHECK_MAX_REPORTS)
		reportf(fn, ctx, &n, "... and %llu more bad bitmap blocks (%llu in all)",
			(unsigned long long)(bad - CHECK_MAX_REPORTS), (unsigned long long)bad);
	return n;
}

int meta_read_best(const char *path, struct lm_sbinfo *sb)
{
	struct lm_meta m;
	char err[256];
	int r = -1;

	if (meta_open(&m, path, META_RO, err, sizeof(err)))
		return -1;
	if (!meta_load(&m) && m.best >= 0) {
		*sb = m.sb[m.best];
		r = 0;
	}
	meta_close(&m);
	return r;
}
