// SPDX-License-Identifier: GPL-2.0
/*
 * crash-check: walk a dm-log-writes log of a livemirror stack forward and,
 * at every FLUSH and FUA entry, every mark and N random entries, check the
 * replayed ("power cut here") state:
 *
 *  1. the dirtylog metadata is readable: a valid superblock slot (or all
 *     zero = fresh), consistent with the legs' size;
 *  2. every region whose bit is 0 (clean) is byte-identical on source and
 *     destination;
 *  3. every source block holds the last write crash-writer saw acknowledged
 *     before the most recent flush whose "fsync-k" mark precedes this point
 *     (or a later write of the same block).
 *
 * Single log: meta, source and destination are dm-linear slices of one
 * log-writes device (total order; a flush of any slice counts for all).
 * Two logs (--log-dst): the destination has its own log-writes device, so
 * only the destination's own flushes make its writes durable.  Points are
 * then the "cut-N" marks, written to both logs while both log-writes
 * devices were suspended (a consistent cut), and --dst-lag K checks the
 * destination as of cut N-K (a destination that missed its flushes).
 *
 * usage: crash-check --log LOG --journal J --meta S:L --src S:L --dst S:L
 *        [--log-dst LOG2] [--region-sectors N] [--from-mark NAME]
 *        [--random N] [--seed S] [--dst-lag K] [--inject corrupt-dst|lose-write]
 *        [--discard zero|skip] [-v]
 *   S:L are start and length in 512-byte sectors on the logged device.
 *   --inject: self-test, damages the replayed image at each point; the run
 *   passes (exit 0) only if every injected fault was reported.
 * Exit: 0 no violation, 1 violations, 2 usage or log errors.
 */
#include "lwlog.h"
#include "stamp.h"
#include "crc32c.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirtylog-format.h"

#define NONE UINT64_MAX

struct slice {
	uint64_t off, len;	/* bytes */
};

struct side {
	struct lw_log log;
	uint8_t *img;
	uint64_t size;
	bool open;
};

static struct side A, B;		/* B unused in single-log mode */
static struct slice meta, src, dst;
static uint8_t *dimg;			/* image holding dst: A.img or B.img */
static uint64_t R;			/* region bytes */
static uint64_t nr_regions, nr_blocks;
static uint8_t *touched_region, *verified, *touched_block, *discarded;
static uint64_t *req;
static enum lw_discard dmode = LW_DISCARD_ZERO;
static int verbose;

/* Journal: W records and the record count before each "S k". */
struct jw {
	uint64_t seq, blk, n;
};
static struct jw *jw;
static uint64_t njw, *s_pos, ns, jcur;

static uint64_t points, violations, reported, compared, invalid_bitmap_points;
static uint64_t fresh_points, clean_min = NONE, clean_max, flush_points, fua_points;
static uint64_t random_points, mark_points, fsync_marks;
static const char *inject;
static uint64_t injected, detected;
/* Source blocks with a violation, traced through the whole log at the end. */
static uint64_t trace_blk[8], ntrace;
static char last_mark[LW_MARK_MAX] = "(none)", last_phase[LW_MARK_MAX] = "(none)";

static uint64_t rd64(const uint8_t *p)
{
	return stamp_get64(p);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void violation(uint64_t idx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(uint64_t idx, const char *fmt, ...)
{
	va_list ap;

	violations++;
	if (reported++ >= 20)
		return;
	printf("VIOLATION at entry %" PRIu64 " (last mark %s, phase %s): ", idx, last_mark,
	       last_phase);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool parse_slice(const char *s, struct slice *sl)
{
	uint64_t a, b;
	char c;

	if (sscanf(s, "%" SCNu64 ":%" SCNu64 "%c", &a, &b, &c) != 2 || !b)
		return false;
	sl->off = a * 512;
	sl->len = b * 512;
	return true;
}

static int load_journal(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	uint64_t a, b, c, cap = 0, scap = 0;

	if (!f) {
		fprintf(stderr, "crash-check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "W %" SCNu64 " %" SCNu64 " %" SCNu64, &a, &b, &c) == 3) {
			if (njw == cap) {
				cap = cap ? cap * 2 : 4096;
				jw = realloc(jw, cap * sizeof(*jw));
			}
			jw[njw++] = (struct jw){ a, b, c };
		} else if (sscanf(line, "S %" SCNu64, &a) == 1) {
			if (a != ns) {
				fprintf(stderr, "crash-check: journal: flush %" PRIu64
					" out of order\n", a);
				fclose(f);
				return -1;
			}
			if (ns == scap) {
				scap = scap ? scap * 2 : 1024;
				s_pos = realloc(s_pos, scap * sizeof(*s_pos));
			}
			s_pos[ns++] = njw;
		}
	}
	fclose(f);
	return 0;
}

/* Mark fsync-k reached: writes acknowledged before flush k are required. */
static void fsync_reached(uint64_t k)
{
	if (k >= ns)
		return;
	fsync_marks++;
	for (; jcur < s_pos[k]; jcur++) {
		const struct jw *w = &jw[jcur];

		for (uint64_t b = w->blk; b < w->blk + w->n && b < nr_blocks; b++) {
			if (req[b] == NONE || w->seq >= req[b]) {
				req[b] = w->seq;
				touched_block[b] = 1;
			}
		}
	}
}

/* Record which regions/blocks an applied entry changed. */
static void touch(const struct side *s, const struct lw_entry *e)
{
	uint64_t off, len, a, b;

	lw_range(&s->log, e, &off, &len);
	if (!len)
		return;
	if (s == &A) {
		if (off < src.off + src.len && off + len > src.off) {
			a = (off > src.off ? off : src.off) - src.off;
			b = (off + len < src.off + src.len ? off + len : src.off + src.len) - src.off;
			for (uint64_t r = a / R; r <= (b - 1) / R; r++)
				touched_region[r] = 1;
			for (uint64_t k = a / STAMP_BLOCK; k <= (b - 1) / STAMP_BLOCK; k++) {
				touched_block[k] = 1;
				discarded[k] = (e->flags & LW_DISCARD) ? 1 : 0;
			}
		}
	}
	if ((s == &A && !B.open) || s == &B) {
		if (off < dst.off + dst.len && off + len > dst.off) {
			a = (off > dst.off ? off : dst.off) - dst.off;
			b = (off + len < dst.off + dst.len ? off + len : dst.off + dst.len) - dst.off;
			for (uint64_t r = a / R; r <= (b - 1) / R && r < nr_regions; r++)
				touched_region[r] = 1;
		}
	}
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Parse metadata; fill clean[] (1 = bit 0).  false: no regions clean. */
static bool read_bitmap(uint64_t idx, uint8_t *clean)
{
	const uint8_t *m = A.img + meta.off, *sb = NULL;
	uint64_t gen = 0, bstart, bblocks;
	int i;

	for (i = 0; i < LM_SB_SLOTS; i++) {
		const uint8_t *s = m + (uint64_t)i * LM_BLOCK_SIZE;
		const struct lm_superblock *x = (const void *)s;

		if (rd64((const uint8_t *)&x->magic) != LM_MAGIC ||
		    rd32(s) != lm_block_csum(s, LM_BLOCK_SIZE))
			continue;
		if (!sb || rd64((const uint8_t *)&x->generation) > gen) {
			sb = s;
			gen = rd64((const uint8_t *)&x->generation);
		}
	}
	if (!sb) {
		if (!all_zero(m, 2 * LM_BLOCK_SIZE))
			violation(idx, "no valid superblock slot, and the slots are not all zero");
		fresh_points++;
		return false;
	}
	{
		const struct lm_superblock *x = (const void *)sb;
		uint64_t rs = rd64((const uint8_t *)&x->region_sectors);
		uint64_t nr = rd64((const uint8_t *)&x->nr_regions);
		uint64_t ss = rd64((const uint8_t *)&x->source_sectors);
		uint32_t st = rd32((const uint8_t *)&x->state);

		bstart = rd64((const uint8_t *)&x->bitmap_start);
		bblocks = rd64((const uint8_t *)&x->bitmap_blocks);
		if (rs * 512 != R || nr != nr_regions || ss * 512 != src.len ||
		    rd32((const uint8_t *)&x->version) != LM_VERSION) {
			violation(idx, "superblock gen %" PRIu64 " disagrees with the stack: region_sectors %"
				  PRIu64 " nr_regions %" PRIu64 " source_sectors %" PRIu64,
				  gen, rs, nr, ss);
			return false;
		}
		if (bblocks != lm_bitmap_blocks(nr) ||
		    (bstart + bblocks) * LM_BLOCK_SIZE > meta.len) {
			violation(idx, "superblock: bitmap %" PRIu64 "+%" PRIu64 " does not fit", bstart, bblocks);
			return false;
		}
		if (st != LM_STATE_COPYING) {
			violation(idx, "unexpected superblock state %u", st);
			return false;
		}
	}
	for (uint64_t b = 0; b < bblocks; b++) {
		const uint8_t *blk = m + (bstart + b) * LM_BLOCK_SIZE;
		const struct lm_bitmap_header *h = (const void *)blk;
		bool ok = rd32(blk) == lm_block_csum(blk, LM_BLOCK_SIZE) &&
			  rd64((const uint8_t *)&h->blocknr) == b &&
			  !memcmp(h->uuid, ((const struct lm_superblock *)sb)->uuid, LM_UUID_LEN);

		if (!ok)
			invalid_bitmap_points++;
		for (uint64_t r = b * LM_BITS_PER_BLOCK;
		     r < (b + 1) * LM_BITS_PER_BLOCK && r < nr_regions; r++) {
			uint64_t bit = r - b * LM_BITS_PER_BLOCK;
			uint64_t w = rd64(blk + LM_BITMAP_HEADER_SIZE + (bit / 64) * 8);

			clean[r] = ok && !((w >> (bit % 64)) & 1);
		}
		if (ok && verbose > 1)
			printf("# entry %" PRIu64 ": bitmap block %" PRIu64 " valid\n", idx, b);
	}
	return true;
}

static void check(uint64_t idx)
{
	static uint8_t *clean;
	uint64_t nclean = 0, inj_region = NONE, inj_block = NONE, inj_off = 0;
	static uint8_t saved[STAMP_BLOCK];

	points++;
	if (!clean)
		clean = calloc(nr_regions, 1);
	memset(clean, 0, nr_regions);
	read_bitmap(idx, clean);
	for (uint64_t r = 0; r < nr_regions; r++)
		nclean += clean[r];
	if (nclean < clean_min)
		clean_min = nclean;
	if (nclean > clean_max)
		clean_max = nclean;

	if (inject && !strcmp(inject, "corrupt-dst") && nclean) {
		/* Damage one clean region of the destination, rotating. */
		uint64_t k = points % nclean, r;

		for (r = 0; r < nr_regions; r++)
			if (clean[r] && k-- == 0)
				break;
		inj_off = dst.off + r * R + (points * 4099) % (src.len - r * R < R ? src.len - r * R : R);
		dimg[inj_off] ^= 0x01;
		touched_region[r] = 1;
		inj_region = r;
		injected++;
	}
	if (inject && !strcmp(inject, "lose-write")) {
		/* Roll one required block back to an older (or no) version. */
		for (uint64_t k = 0, b = (points * 7919) % nr_blocks; k < nr_blocks;
		     k++, b = (b + 1) % nr_blocks) {
			if (req[b] == NONE || req[b] == 0 || discarded[b])
				continue;
			memcpy(saved, A.img + src.off + b * STAMP_BLOCK, STAMP_BLOCK);
			stamp_make(A.img + src.off + b * STAMP_BLOCK, b, req[b] - 1);
			if (verbose)
				printf("# inject: block %" PRIu64 " back to seq %" PRIu64 "\n", b, req[b] - 1);
			touched_block[b] = 1;
			inj_block = b;
			injected++;
			break;
		}
	}

	for (uint64_t r = 0; r < nr_regions; r++) {
		uint64_t len = src.len - r * R < R ? src.len - r * R : R;
		const uint8_t *s = A.img + src.off + r * R, *d = dimg + dst.off + r * R;

		if (!clean[r]) {
			verified[r] = 0;
			continue;
		}
		if (verified[r] && !touched_region[r])
			continue;
		compared++;
		if (memcmp(s, d, len)) {
			uint64_t i = 0;

			while (s[i] == d[i])
				i++;
			if (r == inj_region) {
				/* Detected: undo it, the region must compare equal again. */
				detected++;
				dimg[inj_off] ^= 0x01;
				inj_region = NONE;
				r--;
				continue;
			}
				violation(idx, "region %" PRIu64 " is clean in the log but the legs differ at byte %"
					  PRIu64 " of it", r, i);
			verified[r] = 0;
			continue;
		}
		verified[r] = 1;
		touched_region[r] = 0;
	}
	for (uint64_t b = 0; b < nr_blocks; b++) {
		uint64_t seq;
		const uint8_t *p = A.img + src.off + b * STAMP_BLOCK;

		if (!touched_block[b] || req[b] == NONE)
			continue;
		touched_block[b] = 0;
		if (discarded[b] && all_zero(p, STAMP_BLOCK))
			continue;
		if (stamp_check(p, b, &seq) == 0 && seq >= req[b])
			continue;
		if (b == inj_block) {
			detected++;
			memcpy(A.img + src.off + b * STAMP_BLOCK, saved, STAMP_BLOCK);
			inj_block = NONE;
			touched_block[b--] = 1;
			continue;
		}
		if (ntrace < 8)
			trace_blk[ntrace++] = b;
		if (stamp_check(p, b, &seq))
			violation(idx, "source block %" PRIu64 " holds no valid write (acknowledged write %"
				  PRIu64 " before a completed flush)", b, req[b]);
		else
			violation(idx, "source block %" PRIu64 " holds write %" PRIu64
				  ", older than write %" PRIu64 " acknowledged before a completed flush",
				  b, seq, req[b]);
	}
}

static int open_side(struct side *s, const char *path, const struct slice *a,
		     const struct slice *b)
{
	if (lw_open(&s->log, path)) {
		fprintf(stderr, "crash-check: %s\n", s->log.err);
		return -1;
	}
	s->size = 0;
	if (a && a->off + a->len > s->size)
		s->size = a->off + a->len;
	if (b && b->off + b->len > s->size)
		s->size = b->off + b->len;
	/* Entries may touch anything on the logged device: size from the log. */
	{
		struct lw_entry *e = malloc(sizeof(*e));
		uint64_t off, len;
		int r;

		while ((r = lw_next(&s->log, e)) > 0) {
			lw_range(&s->log, e, &off, &len);
			if (off + len > s->size)
				s->size = off + len;
		}
		free(e);
		if (r < 0) {
			fprintf(stderr, "crash-check: %s: %s\n", path, s->log.err);
			return -1;
		}
		lw_setpos(&s->log, 0, s->log.sectorsize);
	}
	s->img = calloc(1, s->size);
	if (!s->img) {
		fprintf(stderr, "crash-check: out of memory for a %" PRIu64 " byte image\n", s->size);
		return -1;
	}
	s->open = true;
	return 0;
}

/* Apply the next entry of a side; 1 applied, 0 end, -1 error. */
static int step(struct side *s, struct lw_entry *e)
{
	int r = lw_next(&s->log, e);

	if (r <= 0) {
		if (r < 0)
			fprintf(stderr, "crash-check: %s\n", s->log.err);
		return r;
	}
	if (lw_apply_mem(&s->log, e, s->img, s->size, dmode)) {
		fprintf(stderr, "crash-check: %s\n", s->log.err);
		return -1;
	}
	touch(s, e);
	return 1;
}

static int parse_mark_num(const char *mark, const char *prefix, uint64_t *k)
{
	size_t n = strlen(prefix);
	char *end;

	if (strncmp(mark, prefix, n) || !mark[n])
		return -1;
	*k = strtoull(mark + n, &end, 10);
	return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "log-dst", required_argument, NULL, 'L' },
		{ "journal", required_argument, NULL, 'j' },
		{ "meta", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "region-sectors", required_argument, NULL, 'r' },
		{ "from-mark", required_argument, NULL, 'f' },
		{ "random", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 'S' },
		{ "dst-lag", required_argument, NULL, 'g' },
		{ "inject", required_argument, NULL, 'i' },
		{ "discard", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *logp = NULL, *logd = NULL, *jp = NULL, *from = "start";
	uint64_t rs = 0, nrandom = 0, seed = 1, lag = 0, from_idx = NONE, k;
	uint8_t *rpoint = NULL;
	struct lw_entry *e = malloc(sizeof(*e)), *eb = malloc(sizeof(*eb));
	int c, r;

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'l': logp = optarg; break;
		case 'L': logd = optarg; break;
		case 'j': jp = optarg; break;
		case 'm': if (!parse_slice(optarg, &meta)) return 2; break;
		case 's': if (!parse_slice(optarg, &src)) return 2; break;
		case 'd': if (!parse_slice(optarg, &dst)) return 2; break;
		case 'r': rs = strtoull(optarg, NULL, 0); break;
		case 'f': from = optarg; break;
		case 'R': nrandom = strtoull(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0) | 1; break;
		case 'g': lag = strtoull(optarg, NULL, 0); break;
		case 'i': inject = optarg; break;
		case 'D': dmode = strcmp(optarg, "skip") ? LW_DISCARD_ZERO : LW_DISCARD_SKIP; break;
		case 'v': verbose++; break;
		default: return 2;
		}
	}
	if (!logp || !jp || !meta.len || !src.len || !dst.len || !rs || (rs & (rs - 1)) ||
	    dst.len < src.len || (lag && !logd) ||
	    (inject && strcmp(inject, "corrupt-dst") && strcmp(inject, "lose-write"))) {
		fprintf(stderr, "usage: crash-check --log LOG --journal J --meta S:L --src S:L --dst S:L "
			"--region-sectors N [--log-dst LOG2 [--dst-lag K]] [--from-mark NAME] "
			"[--random N] [--seed S] [--inject corrupt-dst|lose-write] [-v]\n");
		return 2;
	}
	R = rs * 512;
	nr_regions = (src.len + R - 1) / R;
	nr_blocks = src.len / STAMP_BLOCK;
	touched_region = calloc(nr_regions, 1);
	verified = calloc(nr_regions, 1);
	touched_block = calloc(nr_blocks, 1);
	discarded = calloc(nr_blocks, 1);
	req = malloc(nr_blocks * sizeof(*req));
	if (!touched_region || !verified || !touched_block || !discarded || !req || !e || !eb)
		return 2;
	for (k = 0; k < nr_blocks; k++)
		req[k] = NONE;
	if (load_journal(jp))
		return 2;
	if (open_side(&A, logp, &meta, logd ? &src : NULL))
		return 2;
	if (logd) {
		if (open_side(&B, logd, &dst, NULL))
			return 2;
		dimg = B.img;
	} else {
		if (dst.off + dst.len > A.size) {
			A.img = realloc(A.img, dst.off + dst.len);
			memset(A.img + A.size, 0, dst.off + dst.len - A.size);
			A.size = dst.off + dst.len;
		}
		dimg = A.img;
	}

	/* Where checking starts, and the random points after it. */
	while ((r = lw_next(&A.log, e)) > 0)
		if ((e->flags & LW_MARK) && !strcmp(e->mark, from)) {
			from_idx = e->idx;
			break;
		}
	if (from_idx == NONE) {
		fprintf(stderr, "crash-check: mark '%s' not in the log\n", from);
		return 2;
	}
	lw_setpos(&A.log, 0, A.log.sectorsize);
	if (nrandom && !logd) {
		uint64_t span = A.log.nr_entries - from_idx, x = seed;

		rpoint = calloc(A.log.nr_entries, 1);
		for (k = 0; k < nrandom && span; k++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			rpoint[from_idx + x % span] = 1;
		}
	}

	while ((r = step(&A, e)) > 0) {
		bool is_point = false;

		if (e->flags & LW_MARK) {
			snprintf(last_mark, sizeof(last_mark), "%s", e->mark);
			if (!strncmp(e->mark, "phase-", 6))
				snprintf(last_phase, sizeof(last_phase), "%s", e->mark);
			if (!parse_mark_num(e->mark, "fsync-", &k))
				fsync_reached(k);
		}
		if (e->idx < from_idx)
			continue;
		if (!logd) {
			if (e->flags & LW_FLUSH)
				flush_points++, is_point = true;
			else if (e->flags & LW_FUA)
				fua_points++, is_point = true;
			else if (e->flags & LW_MARK)
				mark_points++, is_point = true;
			else if (rpoint && rpoint[e->idx])
				random_points++, is_point = true;
		} else if ((e->flags & LW_MARK) && !parse_mark_num(e->mark, "cut-", &k)) {
			/* Bring the destination to cut k - lag. */
			char want[64];
			bool found = false;

			if (k < lag)
				continue;
			snprintf(want, sizeof(want), "cut-%" PRIu64, k - lag);
			while ((r = step(&B, eb)) > 0)
				if ((eb->flags & LW_MARK) && !strcmp(eb->mark, want)) {
					found = true;
					break;
				}
			if (!found) {
				fprintf(stderr, "crash-check: mark %s missing from the destination log\n", want);
				return 2;
			}
			mark_points++;
			is_point = true;
		}
		if (is_point)
			check(e->idx);
	}
	if (r < 0)
		return 2;

	/* Every write of a traced block, in log order, with its stamp. */
	lw_setpos(&A.log, 0, A.log.sectorsize);
	while (ntrace && lw_next(&A.log, e) > 0) {
		uint64_t off, len, seq = 0;
		uint8_t blk[STAMP_BLOCK];
		char fl[64];

		lw_range(&A.log, e, &off, &len);
		for (k = 0; k < ntrace; k++) {
			uint64_t at = src.off + trace_blk[k] * STAMP_BLOCK;

			if (!len || at < off || at + STAMP_BLOCK > off + len)
				continue;
			if (e->flags & LW_DISCARD) {
				printf("# trace: entry %" PRIu64 " discards source block %" PRIu64 "\n",
				       e->idx, trace_blk[k]);
				continue;
			}
			if (pread(A.log.fd, blk, STAMP_BLOCK, (off_t)(e->data_off + at - off)) != STAMP_BLOCK)
				continue;
			printf("# trace: entry %" PRIu64 " (%s) writes source block %" PRIu64 ": %s %" PRIu64 "\n",
			       e->idx, lw_flags_str(e->flags, fl, sizeof(fl)), trace_blk[k],
			       stamp_check(blk, trace_blk[k], &seq) ? "invalid stamp" : "write", seq);
		}
		if ((e->flags & LW_MARK) && strncmp(e->mark, "fsync-", 6))
			printf("# trace: entry %" PRIu64 " mark %s\n", e->idx, e->mark);
	}

	printf("entries %" PRIu64 " checked-from %" PRIu64 " points %" PRIu64 " (flush %" PRIu64
	       " fua %" PRIu64 " mark %" PRIu64 " random %" PRIu64 ") fsync-marks %" PRIu64
	       " fresh-metadata-points %" PRIu64 " invalid-bitmap-points %" PRIu64
	       " clean-regions %" PRIu64 "..%" PRIu64 " region-compares %" PRIu64
	       " violations %" PRIu64 "\n",
	       A.log.nr_entries, from_idx, points, flush_points, fua_points, mark_points,
	       random_points, fsync_marks, fresh_points, invalid_bitmap_points,
	       clean_min == NONE ? 0 : clean_min, clean_max, compared, violations);
	if (inject) {
		printf("injected %" PRIu64 " detected %" PRIu64 "\n", injected, detected);
		/* Every fault reported, each at the point it was made, and nothing else. */
		return injected && detected == injected && !violations ? 0 : 1;
	}
	return violations ? 1 : 0;
}
