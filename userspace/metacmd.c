// SPDX-License-Identifier: GPL-2.0
/* livemirror metadata dump | check | repair | measure */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "dev.h"
#include "exitcodes.h"
#include "meta.h"
#include "result.h"
#include "table.h"
#include "util.h"

static const char slot_letter[] = "AB";

static int open_excl(const char *path, struct lm_meta *m, enum meta_mode mode)
{
	char err[512];
	int r = meta_open(m, path, mode, err, sizeof(err));

	if (r)
		lm_err("%s", err);
	return r;
}

/* --- dump ------------------------------------------------------------- */

struct range {
	uint64_t begin, end;	/* inclusive */
};

/*
 * A crafted or damaged superblock can name trillions of bitmap blocks and
 * a striped bitmap trillions of ranges: the scan stops at the end of the
 * device and keeps (and prints) at most this many of each; the totals are
 * still counted and reported.
 */
#define DUMP_MAX_RANGES 65536
#define DUMP_MAX_BAD 1024

struct bmscan {
	uint64_t dirty;
	uint64_t *bad;
	size_t nbad;
	uint64_t nbad_total;
	struct range *ranges;
	size_t nranges, cap;
	uint64_t nranges_total;
	uint64_t last_end;		/* of the last range counted */
	uint64_t missing_blocks;	/* bitmap blocks beyond the end of the device */
};

static int add_range(struct bmscan *s, uint64_t begin, uint64_t end)
{
	if (s->nranges_total && s->last_end + 1 == begin) {
		s->last_end = end;
		if (s->nranges == s->nranges_total)	/* the last range is kept */
			s->ranges[s->nranges - 1].end = end;
		return 0;
	}
	s->nranges_total++;
	s->last_end = end;
	if (s->nranges == DUMP_MAX_RANGES)
		return 0;
	if (s->nranges == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct range *n = realloc(s->ranges, cap * sizeof(*n));

		if (!n)
			return -1;
		s->ranges = n;
		s->cap = cap;
	}
	s->ranges[s->nranges].begin = begin;
	s->ranges[s->nranges].end = end;
	s->nranges++;
	return 0;
}

static int add_dirty(struct bmscan *s, uint64_t region)
{
	return add_range(s, region, region);
}

/* Bitmap blocks that exist on the device, at most sb->bitmap_blocks. */
static uint64_t blocks_on_device(const struct lm_meta *m, const struct lm_sbinfo *sb)
{
	uint64_t dev = m->size_bytes / LM_BLOCK_SIZE;
	uint64_t avail = dev > sb->bitmap_start ? dev - sb->bitmap_start : 0;

	return sb->bitmap_blocks < avail ? sb->bitmap_blocks : avail;
}

static int scan_bitmap(struct lm_meta *m, const struct lm_sbinfo *sb, struct bmscan *s)
{
	uint8_t blk[LM_BLOCK_SIZE];
	char why[160];

	uint64_t nb = blocks_on_device(m, sb);

	memset(s, 0, sizeof(*s));
	for (uint64_t b = 0; b < nb; b++) {
		uint64_t first = b * LM_BITS_PER_BLOCK;
		uint64_t n = sb->nr_regions - first < LM_BITS_PER_BLOCK ?
			     sb->nr_regions - first : LM_BITS_PER_BLOCK;
		bool unreadable = meta_read_block(m, sb->bitmap_start + b, blk);
		bool bad = unreadable || bm_validate(blk, b, sb->uuid, why, sizeof(why));
		/* blk is only this block's when it could be read */
		bool unwritten = bad && !unreadable && bm_unwritten(blk, sb);

		if (bad && !unwritten && s->nbad_total++ < DUMP_MAX_BAD) {
			uint64_t *nbad = realloc(s->bad, (s->nbad + 1) * sizeof(*nbad));

			if (!nbad)
				return -1;
			s->bad = nbad;
			s->bad[s->nbad++] = b;
		}
		if (bad) {
			s->dirty += n;
			if (add_range(s, first, first + n - 1))
				return -1;
			continue;
		}
		for (uint64_t i = 0; i < n; i++)
			if (bm_test(blk, (unsigned int)i)) {
				s->dirty++;
				if (add_dirty(s, first + i))
					return -1;
			}
	}
	/* Past the end of the device: unknown, hence dirty, in one range. */
	if (nb < sb->bitmap_blocks) {
		uint64_t first = nb * LM_BITS_PER_BLOCK;

		s->missing_blocks = sb->bitmap_blocks - nb;
		if (first < sb->nr_regions) {
			s->dirty += sb->nr_regions - first;
			if (add_range(s, first, sb->nr_regions - 1))
				return -1;
		}
	}
	return 0;
}

static void scan_free(struct bmscan *s)
{
	free(s->bad);
	free(s->ranges);
}

static void fmt_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What the attachment record says about the last table's detach. */
static const char *detach_state(const struct lm_sbinfo *sb)
{
	if (sb->flags & LM_SB_FLAG_ATTACHED)
		return "unclean";
	if (sb->detach_time)
		return "clean";
	return "never";	/* never attached since formatted (or upgraded) */
}

static void detach_text(const struct lm_sbinfo *sb, char *buf, size_t len)
{
	char t[32];

	if (sb->flags & LM_SB_FLAG_ATTACHED) {
		snprintf(buf, len, "not detached cleanly (crash?)");
	} else if (sb->detach_time) {
		fmt_time(sb->detach_time, t, sizeof(t));
		snprintf(buf, len, "clean at %s", t);
	} else {
		snprintf(buf, len, "never attached");
	}
}

static const char *id_or_unbound(const char *id)
{
	return id[0] ? id : "(unbound)";
}

static void xml_attr_str(const char *name, const char *v)
{
	printf(" %s=\"", name);
	for (; *v; v++) {
		switch (*v) {
		case '&': fputs("&amp;", stdout); break;
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default:
			if ((unsigned char)*v >= 0x20)
				putchar(*v);
		}
	}
	putchar('"');
}

static void dump_json(struct lm_meta *m, const struct lm_sbinfo *sb, struct bmscan *s)
{
	char u[33], g[33], c[33], t[32];

	printf("{\"path\":");
	lm_json_str(stdout, m->path);
	printf(",\"size\":%" PRIu64 ",\"slots\":[", m->size_bytes);
	for (int i = 0; i < LM_SB_SLOTS; i++) {
		printf("%s{\"slot\":\"%c\",\"status\":\"%s\",\"generation\":%" PRIu64 ",\"detail\":",
		       i ? "," : "", slot_letter[i], slot_status_name(m->status[i]),
		       m->sb[i].generation);
		lm_json_str(stdout, m->why[i]);
		printf("}");
	}
	printf("]");
	if (!sb) {
		printf(",\"active_slot\":null,\"fresh\":%s}\n", meta_fresh(m) ? "true" : "false");
		return;
	}
	hex_encode(sb->uuid, LM_UUID_LEN, u);
	hex_encode(sb->group_uuid, LM_UUID_LEN, g);
	hex_encode(sb->coordinator_uuid, LM_UUID_LEN, c);
	fmt_time(sb->state_time, t, sizeof(t));
	printf(",\"active_slot\":\"%c\",\"superblock\":{\"generation\":%" PRIu64
	       ",\"version\":%" PRIu32 ",\"flags\":%" PRIu32 ",\"state\":\"%s\",\"state_time\":%"
	       PRIu64 ",\"state_time_utc\":\"%s\",\"uuid\":\"%s\",\"label\":", slot_letter[m->best],
	       sb->generation, sb->version, sb->flags, lm_state_name(sb->state),
	       sb->state_time, t, u);
	lm_json_str(stdout, sb->label);
	printf(",\"region_sectors\":%" PRIu64 ",\"nr_regions\":%" PRIu64 ",\"source_sectors\":%"
	       PRIu64 ",\"dest_sectors\":%" PRIu64 ",\"bitmap_start\":%" PRIu64
	       ",\"bitmap_blocks\":%" PRIu64 ",\"group_uuid\":\"%s\",\"coordinator_uuid\":\"%s\""
	       ",\"group_members\":%" PRIu32 ",\"group_index\":%" PRIu32,
	       sb->region_sectors, sb->nr_regions, sb->source_sectors, sb->dest_sectors,
	       sb->bitmap_start, sb->bitmap_blocks, g, c, sb->group_members, sb->group_index);
	fmt_time(sb->attach_time, t, sizeof(t));
	printf(",\"attached\":%s,\"attach_time\":%" PRIu64 ",\"attach_time_utc\":\"%s\"",
	       (sb->flags & LM_SB_FLAG_ATTACHED) ? "true" : "false", sb->attach_time, t);
	fmt_time(sb->detach_time, t, sizeof(t));
	printf(",\"detach_time\":%" PRIu64 ",\"detach_time_utc\":\"%s\",\"last_detach\":\"%s\""
	       ",\"attach_count\":%" PRIu64 ",\"device_id\":", sb->detach_time, t,
	       detach_state(sb), sb->attach_count);
	lm_json_str(stdout, sb->device_id);
	printf(",\"source_id\":");
	lm_json_str(stdout, sb->source_id);
	printf(",\"dest_id\":");
	lm_json_str(stdout, sb->dest_id);
	printf("}");
	printf(",\"bitmap\":{\"dirty\":%" PRIu64 ",\"bad_blocks\":[", s->dirty);
	for (size_t i = 0; i < s->nbad; i++)
		printf("%s%" PRIu64, i ? "," : "", s->bad[i]);
	printf("],\"dirty_ranges\":[");
	for (size_t i = 0; i < s->nranges; i++)
		printf("%s[%" PRIu64 ",%" PRIu64 "]", i ? "," : "", s->ranges[i].begin,
		       s->ranges[i].end);
	printf("],\"bad_blocks_total\":%" PRIu64 ",\"dirty_ranges_total\":%" PRIu64
	       ",\"missing_blocks\":%" PRIu64 ",\"truncated\":%s}}\n", s->nbad_total,
	       s->nranges_total, s->missing_blocks,
	       s->nbad < s->nbad_total || s->nranges < s->nranges_total ? "true" : "false");
}

static void dump_xml(struct lm_meta *m, const struct lm_sbinfo *sb, struct bmscan *s)
{
	char u[33], g[33], c[33], t[32];

	printf("<livemirror_metadata");
	xml_attr_str("path", m->path);
	printf(" size=\"%" PRIu64 "\"", m->size_bytes);
	if (sb)
		printf(" active_slot=\"%c\"", slot_letter[m->best]);
	printf(">\n");
	for (int i = 0; i < LM_SB_SLOTS; i++) {
		printf("  <slot name=\"%c\" status=\"%s\" generation=\"%" PRIu64 "\"", slot_letter[i],
		       slot_status_name(m->status[i]), m->sb[i].generation);
		xml_attr_str("detail", m->why[i]);
		printf("/>\n");
	}
	if (sb) {
		hex_encode(sb->uuid, LM_UUID_LEN, u);
		hex_encode(sb->group_uuid, LM_UUID_LEN, g);
		hex_encode(sb->coordinator_uuid, LM_UUID_LEN, c);
		fmt_time(sb->state_time, t, sizeof(t));
		printf("  <superblock generation=\"%" PRIu64 "\" version=\"%" PRIu32 "\" flags=\"%"
		       PRIu32 "\" state=\"%s\" state_time=\"%s\" uuid=\"%s\"", sb->generation,
		       sb->version, sb->flags, lm_state_name(sb->state), t, u);
		xml_attr_str("label", sb->label);
		printf(" region_sectors=\"%" PRIu64 "\" nr_regions=\"%" PRIu64 "\" source_sectors=\"%"
		       PRIu64 "\" dest_sectors=\"%" PRIu64 "\" bitmap_start=\"%" PRIu64
		       "\" bitmap_blocks=\"%" PRIu64 "\" group_uuid=\"%s\" coordinator_uuid=\"%s\""
		       " group_members=\"%" PRIu32 "\" group_index=\"%" PRIu32 "\"/>\n",
		       sb->region_sectors, sb->nr_regions, sb->source_sectors, sb->dest_sectors,
		       sb->bitmap_start, sb->bitmap_blocks, g, c, sb->group_members,
		       sb->group_index);
		fmt_time(sb->attach_time, t, sizeof(t));
		printf("  <attachment attached=\"%d\" attach_time=\"%s\" attach_count=\"%" PRIu64
		       "\"", !!(sb->flags & LM_SB_FLAG_ATTACHED), t, sb->attach_count);
		fmt_time(sb->detach_time, t, sizeof(t));
		printf(" detach_time=\"%s\" last_detach=\"%s\"", t, detach_state(sb));
		xml_attr_str("device_id", sb->device_id);
		xml_attr_str("source_id", sb->source_id);
		xml_attr_str("dest_id", sb->dest_id);
		printf("/>\n");
		printf("  <bitmap dirty=\"%" PRIu64 "\">\n", s->dirty);
		for (size_t i = 0; i < s->nbad; i++)
			printf("    <bad_block index=\"%" PRIu64 "\"/>\n", s->bad[i]);
		for (size_t i = 0; i < s->nranges; i++)
			printf("    <dirty begin=\"%" PRIu64 "\" end=\"%" PRIu64 "\"/>\n",
			       s->ranges[i].begin, s->ranges[i].end);
		if (s->nbad < s->nbad_total || s->nranges < s->nranges_total)
			printf("    <truncated bad_blocks_total=\"%" PRIu64 "\" "
			       "dirty_ranges_total=\"%" PRIu64 "\"/>\n", s->nbad_total,
			       s->nranges_total);
		if (s->missing_blocks)
			printf("    <missing blocks=\"%" PRIu64 "\"/>\n", s->missing_blocks);
		printf("  </bitmap>\n");
	}
	printf("</livemirror_metadata>\n");
}

static void dump_plain(struct lm_meta *m, const struct lm_sbinfo *sb, struct bmscan *s)
{
	char u[33], g[33], c[33], t[32], sz[32], dt[64];

	fmt_size(m->size_bytes, sz, sizeof(sz));
	printf("metadata      %s (%" PRIu64 " bytes, %s)\n", m->path, m->size_bytes, sz);
	for (int i = 0; i < LM_SB_SLOTS; i++)
		printf("slot %c        %s, generation %" PRIu64 " (%s)\n", slot_letter[i],
		       slot_status_name(m->status[i]), m->sb[i].generation, m->why[i]);
	if (!sb) {
		if (meta_needs_upgrade(m))
			printf("format version 1: run 'livemirror metadata repair --upgrade %s' "
			       "(every region becomes dirty)\n", m->path);
		else
			printf("%s\n", meta_fresh(m) ? "fresh: all zero, formatted at first load" :
			       "no valid superblock");
		return;
	}
	hex_encode(sb->uuid, LM_UUID_LEN, u);
	fmt_time(sb->state_time, t, sizeof(t));
	fmt_size(sb->region_sectors << 9, sz, sizeof(sz));
	printf("active slot   %c\nuuid          %s\nlabel         %s\nstate         %s (since %s)\n"
	       "flags         0x%" PRIx32 "%s\nregion        %" PRIu64 " sectors (%s)\n"
	       "regions       %" PRIu64 "\nsource        %" PRIu64 " sectors\n"
	       "dest          %" PRIu64 " sectors\nbitmap        block %" PRIu64 ", %" PRIu64
	       " blocks\n", slot_letter[m->best], u, sb->label[0] ? sb->label : "(none)",
	       lm_state_name(sb->state), t, sb->flags,
	       (sb->flags & LM_SB_FLAG_ATTACHED) ? ((sb->flags & LM_SB_FLAG_REPAIRED) ?
	       " (repaired, attached)" : " (attached)") :
	       (sb->flags & LM_SB_FLAG_REPAIRED) ? " (repaired)" : "", sb->region_sectors, sz,
	       sb->nr_regions, sb->source_sectors, sb->dest_sectors, sb->bitmap_start,
	       sb->bitmap_blocks);
	detach_text(sb, dt, sizeof(dt));
	fmt_time(sb->attach_time, t, sizeof(t));
	printf("device id     %s\nsource id     %s\ndest id       %s\n"
	       "attached      %s, %" PRIu64 " time%s, last at %s\nlast detach   %s\n",
	       id_or_unbound(sb->device_id), id_or_unbound(sb->source_id),
	       id_or_unbound(sb->dest_id), (sb->flags & LM_SB_FLAG_ATTACHED) ? "yes" : "no",
	       sb->attach_count, sb->attach_count == 1 ? "" : "s", t, dt);
	if (sb->group_members) {
		hex_encode(sb->group_uuid, LM_UUID_LEN, g);
		hex_encode(sb->coordinator_uuid, LM_UUID_LEN, c);
		printf("group         %s, member %" PRIu32 " of %" PRIu32 ", coordinator log %s\n",
		       g, sb->group_index, sb->group_members, c);
	}
	printf("dirty         %" PRIu64 " regions (%.2f%%)\n", s->dirty,
	       sb->nr_regions ? 100.0 * (double)s->dirty / (double)sb->nr_regions : 0.0);
	printf("bad blocks    ");
	if (!s->nbad)
		printf("none");
	for (size_t i = 0; i < s->nbad && i < 32; i++)
		printf("%s%" PRIu64, i ? "," : "", s->bad[i]);
	if (s->nbad_total > 32)
		printf(",... (%" PRIu64 " bad blocks)", s->nbad_total);
	if (s->missing_blocks)
		printf("%s%" PRIu64 " blocks beyond the end of the device (counted dirty)",
		       s->nbad ? "; " : "", s->missing_blocks);
	printf("\ndirty ranges  ");
	if (!s->nranges)
		printf("none");
	for (size_t i = 0; i < s->nranges && i < 32; i++) {
		if (s->ranges[i].begin == s->ranges[i].end)
			printf("%s%" PRIu64, i ? "," : "", s->ranges[i].begin);
		else
			printf("%s%" PRIu64 "-%" PRIu64, i ? "," : "", s->ranges[i].begin,
			       s->ranges[i].end);
	}
	if (s->nranges_total > 32)
		printf(",... (%" PRIu64 " ranges)", s->nranges_total);
	printf("\n");
}

int cmd_meta_dump(struct lm_args *a)
{
	struct lm_meta m;
	struct bmscan s;
	const struct lm_sbinfo *sb = NULL;
	int r;

	r = open_excl(a->pos[0], &m, META_RO_EXCL);
	if (r)
		return r;
	memset(&s, 0, sizeof(s));
	if (meta_load(&m)) {
		lm_err("%s: cannot read the superblock: %s", a->pos[0], m.why[0]);
		meta_close(&m);
		return LM_EXIT_ERROR;
	}
	if (m.best >= 0) {
		sb = &m.sb[m.best];
		if (scan_bitmap(&m, sb, &s)) {
			lm_err("out of memory");
			r = LM_EXIT_ERROR;
			goto out;
		}
	}
	if (a->json)
		dump_json(&m, sb, &s);
	else if (a->xml)
		dump_xml(&m, sb, &s);
	else
		dump_plain(&m, sb, &s);
	if (!sb && !meta_fresh(&m))
		r = LM_EXIT_METADATA;
out:
	scan_free(&s);
	meta_close(&m);
	return r;
}

/* --- check ------------------------------------------------------------ */

static void print_problem(void *ctx, const char *msg)
{
	printf("%s: %s\n", (const char *)ctx, msg);
}

int cmd_meta_check(struct lm_args *a)
{
	struct lm_meta m;
	int r, n;

	r = open_excl(a->pos[0], &m, META_RO_EXCL);
	if (r)
		return r;
	n = meta_check(&m, print_problem, (void *)a->pos[0]);
	if (n)
		printf("%s: damaged: %d problem%s\n", a->pos[0], n, n == 1 ? "" : "s");
	else if (meta_fresh(&m))
		printf("%s: clean (never used: all zero)\n", a->pos[0]);
	else {
		const struct lm_sbinfo *sb = &m.sb[m.best];
		char dt[64];

		detach_text(sb, dt, sizeof(dt));
		printf("%s: clean (state %s, generation %" PRIu64 "; device %s, source %s, "
		       "dest %s; last detach: %s)\n", a->pos[0], lm_state_name(sb->state),
		       sb->generation, id_or_unbound(sb->device_id), id_or_unbound(sb->source_id),
		       id_or_unbound(sb->dest_id), dt);
	}
	meta_close(&m);
	/*
	 * Like thin_check and the other *_check tools: 1 means damaged.  Boot
	 * and activation scripts test for exactly that, so it never changes.
	 */
	return n ? LM_EXIT_ERROR : 0;
}

/* --- repair ----------------------------------------------------------- */

int cmd_meta_repair(struct lm_args *a)
{
	const char *path = a->pos[0];
	bool given = a->region_sectors || a->src_sectors || a->dst_sectors || a->label;
	struct lm_sbinfo sb;
	struct lm_meta m;
	char u[33];
	bool upgraded;
	int r, problems;

	r = open_excl(path, &m, META_RW_EXCL);
	if (r)
		return r;
	problems = meta_check(&m, NULL, NULL);
	memset(&sb, 0, sizeof(sb));
	if (meta_needs_upgrade(&m) && !a->upgrade) {
		lm_err("%s: metadata format version 1 is too old: run 'livemirror metadata "
		       "repair --upgrade %s' (every region becomes dirty)", path, path);
		r = LM_EXIT_METADATA;
		goto out;
	}
	upgraded = meta_needs_upgrade(&m);
	if (upgraded) {
		/*
		 * Version 1 knows no legs: the ids stay empty (unbound, the
		 * first table binds them), no attachment is recorded and every
		 * region becomes dirty.  The state (a switch decision) is kept.
		 */
		sb = m.sb[m.old];
		if ((a->region_sectors && a->region_sectors != sb.region_sectors) ||
		    (a->src_sectors && a->src_sectors != sb.source_sectors) ||
		    (a->dst_sectors && a->dst_sectors != sb.dest_sectors) ||
		    (a->label && strcmp(a->label, sb.label))) {
			lm_err("%s: the given identity does not match the version 1 superblock "
			       "(slot %c); upgrade keeps the metadata's identity", path,
			       slot_letter[m.old]);
			r = LM_EXIT_METADATA;
			goto out;
		}
		if (sb.state == LM_STATE_CANCELLED)
			sb.state = LM_STATE_COPYING;
		sb.attach_time = sb.detach_time = sb.attach_count = 0;
		memset(sb.device_id, 0, LM_ID_LEN);
		memset(sb.source_id, 0, LM_ID_LEN);
		memset(sb.dest_id, 0, LM_ID_LEN);
		sb.flags &= ~LM_SB_FLAG_ATTACHED;
		sb.nr_regions = nr_regions_for(sb.source_sectors, sb.region_sectors);
		sb.bitmap_start = LM_BITMAP_START;
		sb.bitmap_blocks = lm_bitmap_blocks(sb.nr_regions);
		sb.nr_bitmaps = 1;
		sb.active_bitmap = 0;
	} else if (m.best >= 0) {
		sb = m.sb[m.best];
		if ((a->region_sectors && a->region_sectors != sb.region_sectors) ||
		    (a->src_sectors && a->src_sectors != sb.source_sectors) ||
		    (a->dst_sectors && a->dst_sectors != sb.dest_sectors) ||
		    (a->label && strcmp(a->label, sb.label))) {
			lm_err("%s: the given identity does not match the valid superblock "
			       "(slot %c); repair keeps the metadata's identity", path,
			       slot_letter[m.best]);
			r = LM_EXIT_METADATA;
			goto out;
		}
		if (!problems && !a->force && sb.state != LM_STATE_CANCELLED) {
			printf("%s: clean; nothing to repair (--force resets it to all dirty)\n",
			       path);
			goto out;
		}
		if (sb.state == LM_STATE_CANCELLED)
			sb.state = LM_STATE_COPYING;
		/*
		 * Keep the slot's identity but never its layout: a slot can be
		 * intact and still name a bitmap position that is damage.
		 */
		sb.nr_regions = nr_regions_for(sb.source_sectors, sb.region_sectors);
		sb.bitmap_start = LM_BITMAP_START;
		sb.bitmap_blocks = lm_bitmap_blocks(sb.nr_regions);
		sb.nr_bitmaps = 1;
		sb.active_bitmap = 0;
	} else if (meta_fresh(&m) && !given) {
		printf("%s: never used (all zero); nothing to repair\n", path);
		goto out;
	} else {
		if (!a->region_sectors || !a->src_sectors || !a->dst_sectors) {
			lm_err("%s: no valid superblock slot (A: %s; B: %s); give the identity with "
			       "--region-size, --source-sectors, --dest-sectors (and --label if the "
			       "table has one)", path, m.why[0], m.why[1]);
			r = LM_EXIT_USAGE;
			goto out;
		}
		if (a->dst_sectors < a->src_sectors) {
			lm_err("--dest-sectors is smaller than --source-sectors");
			r = LM_EXIT_USAGE;
			goto out;
		}
		if (random_bytes(sb.uuid, LM_UUID_LEN)) {
			lm_err("cannot get random bytes");
			r = LM_EXIT_ERROR;
			goto out;
		}
		sb.state = LM_STATE_COPYING;
		sb.region_sectors = a->region_sectors;
		sb.source_sectors = a->src_sectors;
		sb.dest_sectors = a->dst_sectors;
		if (a->label)
			snprintf(sb.label, sizeof(sb.label), "%s", a->label);
		sb.nr_regions = nr_regions_for(sb.source_sectors, sb.region_sectors);
		sb.bitmap_start = LM_BITMAP_START;
		sb.bitmap_blocks = lm_bitmap_blocks(sb.nr_regions);
		sb.nr_bitmaps = 1;
		sb.active_bitmap = 0;
	}
	sb.flags |= LM_SB_FLAG_REPAIRED;
	/* no table holds it (opened exclusively) and every bit is rewritten */
	sb.flags &= ~LM_SB_FLAG_ATTACHED;
	sb.state_time = (uint64_t)time(NULL);
	if (m.size_bytes < meta_bytes_needed(sb.nr_regions)) {
		lm_err("%s is too small: %" PRIu64 " bytes, %" PRIu64 " needed", path,
		       m.size_bytes, meta_bytes_needed(sb.nr_regions));
		r = LM_EXIT_ERROR;
		goto out;
	}
	if (meta_format(&m, &sb)) {
		lm_err("%s: write failed: %s", path, strerror(errno));
		r = LM_EXIT_ERROR;
		goto out;
	}
	hex_encode(sb.uuid, LM_UUID_LEN, u);
	printf("%s: %s: all %" PRIu64 " regions dirty (full copy at next load), state %s, "
	       "uuid %s, generation %" PRIu64 "\n", path,
	       upgraded ? "upgraded" : "repaired", sb.nr_regions, lm_state_name(sb.state),
	       u, sb.generation);
out:
	meta_close(&m);
	return r;
}

/* --- measure ---------------------------------------------------------- */

int cmd_meta_measure(struct lm_args *a)
{
	uint64_t region = a->region_sectors ? a->region_sectors : LM_DEFAULT_REGION_SECTORS;
	uint64_t sectors, nr, bytes;
	int r;

	if (!!a->size_bytes == !!a->source) {
		lm_err("metadata measure needs exactly one of --size and --source");
		return LM_EXIT_USAGE;
	}
	if (a->source) {
		r = dev_size(a->source, &sectors, NULL);
		if (r)
			return r;
	} else {
		/* Rounded up without wrapping at the top of the range. */
		sectors = (a->size_bytes >> 9) + !!(a->size_bytes & 511);
	}
	nr = nr_regions_for(sectors, region);
	bytes = meta_bytes_needed(nr);
	if (a->json)
		printf("{\"source_sectors\":%" PRIu64 ",\"region_sectors\":%" PRIu64
		       ",\"regions\":%" PRIu64 ",\"bitmap_blocks\":%llu,\"bytes\":%" PRIu64
		       ",\"sectors\":%" PRIu64 "}\n", sectors, region, nr,
		       (unsigned long long)lm_bitmap_blocks(nr), bytes, bytes >> 9);
	else
		printf("source_sectors=%" PRIu64 "\nregion_sectors=%" PRIu64 "\nregions=%" PRIu64
		       "\nbitmap_blocks=%llu\nbytes=%" PRIu64 "\nsectors=%" PRIu64 "\n", sectors,
		       region, nr, (unsigned long long)lm_bitmap_blocks(nr), bytes, bytes >> 9);
	return 0;
}
