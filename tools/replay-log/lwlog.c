// SPDX-License-Identifier: GPL-2.0
/* Reader for the dm-log-writes log format; see lwlog.h. */
#include "lwlog.h"

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
#include <unistd.h>

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int fail(struct lw_log *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log->err, sizeof(log->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static uint64_t fd_size(int fd)
{
	struct stat st;
	uint64_t sz = 0;

	if (fstat(fd, &st))
		return 0;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz))
			return 0;
		return sz;
	}
	return (uint64_t)st.st_size;
}

int lw_open(struct lw_log *log, const char *path)
{
	uint8_t sb[28];
	uint64_t magic, version;

	memset(log, 0, sizeof(*log));
	log->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (log->fd < 0)
		return fail(log, "%s: %s", path, strerror(errno));
	log->size = fd_size(log->fd);
	if (log->size < sizeof(sb) || pread_all(log->fd, sb, sizeof(sb), 0))
		return fail(log, "%s: too short for a log-writes super", path);
	magic = le64(sb);
	version = le64(sb + 8);
	log->nr_entries = le64(sb + 16);
	log->sectorsize = le32(sb + 24);
	if (magic != LW_MAGIC)
		return fail(log, "%s: bad magic %#" PRIx64 " (not a dm-log-writes log)",
			    path, magic);
	if (version != LW_VERSION)
		return fail(log, "%s: unsupported log version %" PRIu64, path, version);
	if (log->sectorsize < 512 || log->sectorsize > 65536 ||
	    (log->sectorsize & (log->sectorsize - 1)))
		return fail(log, "%s: bad sectorsize %u", path, log->sectorsize);
	lw_setpos(log, 0, log->sectorsize);
	return 0;
}

void lw_close(struct lw_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
}

void lw_setpos(struct lw_log *log, uint64_t idx, uint64_t off)
{
	log->next_idx = idx;
	log->next_off = off;
}

int lw_next(struct lw_log *log, struct lw_entry *e)
{
	uint8_t hdr[LW_ENTRY_HDR];
	uint64_t ss = log->sectorsize, next;

	if (log->next_idx >= log->nr_entries)
		return 0;
	if (log->next_off + ss > log->size ||
	    pread_all(log->fd, hdr, sizeof(hdr), log->next_off))
		return fail(log, "entry %" PRIu64 ": header at byte %" PRIu64
			    " is beyond the log (%" PRIu64 " bytes)",
			    log->next_idx, log->next_off, log->size);
	e->idx = log->next_idx;
	e->off = log->next_off;
	e->sector = le64(hdr);
	e->nr_sectors = le64(hdr + 8);
	e->flags = le64(hdr + 16);
	e->data_len = le64(hdr + 24);
	e->data_off = e->off + ss;
	e->mark[0] = 0;
	if (e->flags & ~LW_KNOWN_FLAGS)
		return fail(log, "entry %" PRIu64 ": unknown flags %#" PRIx64,
			    e->idx, e->flags);
	if (e->nr_sectors > (UINT64_MAX / 2) / ss ||
	    e->sector > (UINT64_MAX / 2) / ss - e->nr_sectors)
		return fail(log, "entry %" PRIu64 ": absurd range %" PRIu64 "+%" PRIu64,
			    e->idx, e->sector, e->nr_sectors);
	if (e->flags & LW_MARK) {
		if (e->data_len >= ss - LW_ENTRY_HDR || e->data_len >= LW_MARK_MAX)
			return fail(log, "entry %" PRIu64 ": mark of %" PRIu64
				    " bytes does not fit its block", e->idx, e->data_len);
		if (pread_all(log->fd, e->mark, e->data_len, e->off + LW_ENTRY_HDR))
			return fail(log, "entry %" PRIu64 ": cannot read mark", e->idx);
		e->mark[e->data_len] = 0;
	} else if (e->data_len) {
		/* The 6.1 kernel only fills data_len for marks. */
		return fail(log, "entry %" PRIu64 ": data_len %" PRIu64
			    " on a non-mark entry is not supported", e->idx, e->data_len);
	}
	next = e->data_off;
	if (!(e->flags & LW_DISCARD))
		next += e->nr_sectors * ss;
	if (next > log->size)
		return fail(log, "entry %" PRIu64 ": data runs past the end of the log",
			    e->idx);
	log->next_idx++;
	log->next_off = next;
	return 1;
}

int lw_seek(struct lw_log *log, uint64_t idx)
{
	struct lw_entry e;
	int r;

	if (idx < log->next_idx)
		lw_setpos(log, 0, log->sectorsize);
	while (log->next_idx < idx) {
		r = lw_next(log, &e);
		if (r < 0)
			return -1;
		if (r == 0)
			return fail(log, "entry %" PRIu64 " does not exist (log has %"
				    PRIu64 ")", idx, log->nr_entries);
	}
	return 0;
}

void lw_range(const struct lw_log *log, const struct lw_entry *e,
	      uint64_t *off, uint64_t *len)
{
	*off = e->sector * log->sectorsize;
	*len = (e->flags & LW_MARK) ? 0 : e->nr_sectors * log->sectorsize;
}

#define CHUNK (1U << 20)

int lw_apply_fd(struct lw_log *log, const struct lw_entry *e, int fd,
		enum lw_discard mode)
{
	uint64_t off, len, done;
	static uint8_t *buf;

	lw_range(log, e, &off, &len);
	if (!len)
		return 0;
	if (!buf) {
		buf = malloc(CHUNK);
		if (!buf)
			return fail(log, "out of memory");
	}
	if (e->flags & LW_DISCARD) {
		uint64_t range[2] = { off, len };
		struct stat st;

		if (mode == LW_DISCARD_SKIP)
			return 0;
		if (!fstat(fd, &st) && S_ISBLK(st.st_mode) &&
		    !ioctl(fd, BLKZEROOUT, range))
			return 0;
		memset(buf, 0, CHUNK);
		for (done = 0; done < len; done += CHUNK) {
			uint64_t n = len - done < CHUNK ? len - done : CHUNK;

			if (pwrite_all(fd, buf, n, off + done))
				return fail(log, "entry %" PRIu64 ": zeroing: %s",
					    e->idx, strerror(errno));
		}
		return 0;
	}
	for (done = 0; done < len; done += CHUNK) {
		uint64_t n = len - done < CHUNK ? len - done : CHUNK;

		if (pread_all(log->fd, buf, n, e->data_off + done))
			return fail(log, "entry %" PRIu64 ": reading data: %s",
				    e->idx, strerror(errno));
		if (pwrite_all(fd, buf, n, off + done))
			return fail(log, "entry %" PRIu64 ": writing %" PRIu64
				    " bytes at %" PRIu64 ": %s", e->idx, n, off + done,
				    errno ? strerror(errno) : "short write");
	}
	return 0;
}

int lw_apply_mem(struct lw_log *log, const struct lw_entry *e, uint8_t *img,
		 uint64_t img_size, enum lw_discard mode)
{
	uint64_t off, len;

	lw_range(log, e, &off, &len);
	if (!len)
		return 0;
	if (off > img_size || len > img_size - off)
		return fail(log, "entry %" PRIu64 ": range %" PRIu64 "+%" PRIu64
			    " is beyond the image (%" PRIu64 " bytes)",
			    e->idx, off, len, img_size);
	if (e->flags & LW_DISCARD) {
		if (mode == LW_DISCARD_ZERO)
			memset(img + off, 0, len);
		return 0;
	}
	if (pread_all(log->fd, img + off, len, e->data_off))
		return fail(log, "entry %" PRIu64 ": reading data: %s", e->idx,
			    strerror(errno));
	return 0;
}

const char *lw_flags_str(uint64_t flags, char *buf, size_t len)
{
	static const char *const names[] = { "FLUSH", "FUA", "DISCARD", "MARK",
					     "METADATA" };
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < 5; i++) {
		if (!(flags & (1ULL << i)))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? "|" : "", names[i]);
	}
	if (!n)
		snprintf(buf, len, "-");
	return buf;
}
