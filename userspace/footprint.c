// SPDX-License-Identifier: GPL-2.0
/* What a device maps, level by level (footprint.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "footprint.h"
#include "status.h"
#include "table.h"

#define MAX_DEPTH 8

static int parse_ref(const char *s, uint32_t *maj, uint32_t *min)
{
	unsigned int a, b;
	char c;

	if (sscanf(s, "%u:%u%c", &a, &b, &c) != 2)
		return -1;
	*maj = a;
	*min = b;
	return 0;
}

int lm_foot_id(const char *ref, char *out, size_t len)
{
	struct lm_dminfo i;
	uint32_t maj, min;

	if (parse_ref(ref, &maj, &min))
		return -1;
	if (!lmdm_info_devno(maj, min, &i) && i.exists && i.uuid[0])
		snprintf(out, len, "dm:%s", i.uuid);
	else
		snprintf(out, len, "dev:%u:%u", maj, min);
	return 0;
}

static void add(struct lm_footprint *f, const char *id, uint64_t start, uint64_t len)
{
	if (f->n == LM_FOOT_MAX)
		return;
	snprintf(f->e[f->n].id, sizeof(f->e[f->n].id), "%s", id);
	f->e[f->n].start = start;
	f->e[f->n].len = len;
	f->n++;
}

static uint64_t end_of(uint64_t start, uint64_t len)
{
	return len == LM_WHOLE || start + len < start ? LM_WHOLE : start + len;
}

static void walk(const char *ref, uint64_t start, uint64_t len, struct lm_footprint *f,
		 int depth);

/* The devices a non-linear target names, each taken whole. */
static void walk_words(const char *params, struct lm_footprint *f, int depth)
{
	char buf[1024], *save = NULL;
	uint32_t a, b;

	snprintf(buf, sizeof(buf), "%s", params);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!parse_ref(w, &a, &b))
			walk(w, 0, LM_WHOLE, f, depth + 1);
}

/*
 * A livemirror table's data is its authoritative leg's, sector for sector:
 * the source until the switch, then the destination.  The other leg (being
 * copied to, or left behind) and the metadata are not what it serves.
 */
static void walk_livemirror(const char *name, const struct lmdm_target *tg, uint64_t start,
			    uint64_t end, struct lm_footprint *f, int depth)
{
	struct lmdm_table st = { 0 };
	struct lm_status s;
	struct lm_table lt;
	char why[128];
	bool switched = false;
	uint64_t ts = tg->start, te = tg->start + tg->length;
	uint64_t a = start > ts ? start : ts, b = end < te ? end : te;

	if (lm_table_parse(tg->params, &lt, why, sizeof(why))) {
		walk_words(tg->params, f, depth);
		return;
	}
	if (!lmdm_get_table(name, true, &st) && st.n == 1 &&
	    !lm_status_parse(st.t[0].params, &s, why, sizeof(why)))
		switched = !strcmp(s.state, "switched");
	lmdm_table_free(&st);
	walk(switched ? lt.dest : lt.source, a - ts, b - a, f, depth + 1);
}

static void walk(const char *ref, uint64_t start, uint64_t len, struct lm_footprint *f,
		 int depth)
{
	struct lmdm_table t = { 0 };
	struct lm_dminfo i;
	uint32_t maj, min;
	char id[140];
	uint64_t end = end_of(start, len);

	if (lm_foot_id(ref, id, sizeof(id)))
		return;
	add(f, id, start, len);
	if (depth >= MAX_DEPTH || parse_ref(ref, &maj, &min) ||
	    lmdm_info_devno(maj, min, &i) || !i.exists || !i.live_table ||
	    lmdm_get_table(i.name, false, &t))
		return;
	for (int k = 0; k < t.n; k++) {
		const struct lmdm_target *tg = &t.t[k];
		uint64_t ts = tg->start, te = tg->start + tg->length, s, e, off;
		char dev[64];

		if (te <= start || ts >= end)
			continue;
		if (!strcmp(tg->type, LM_TARGET)) {
			walk_livemirror(i.name, tg, start, end, f, depth);
			continue;
		}
		if (strcmp(tg->type, "linear") ||
		    sscanf(tg->params, "%63s %" SCNu64, dev, &off) != 2) {
			walk_words(tg->params, f, depth);
			continue;
		}
		s = start > ts ? start : ts;
		e = end < te ? end : te;
		walk(dev, off + (s - ts), e - s, f, depth + 1);
	}
	lmdm_table_free(&t);
}

int lm_footprint_of(const char *ref, uint64_t len, struct lm_footprint *f)
{
	memset(f, 0, sizeof(*f));
	walk(ref, 0, len, f, 0);
	return f->n ? 0 : -1;
}

bool lm_foot_overlap(const struct lm_footprint *a, const struct lm_footprint *b)
{
	for (int i = 0; i < a->n; i++)
		for (int j = 0; j < b->n; j++) {
			const struct lm_extent *x = &a->e[i], *y = &b->e[j];

			if (!strcmp(x->id, y->id) && x->start < end_of(y->start, y->len) &&
			    y->start < end_of(x->start, x->len))
				return true;
		}
	return false;
}

bool lm_foot_has_id(const struct lm_footprint *f, const char *id)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->e[i].id, id))
			return true;
	return false;
}

void lm_foot_format(const struct lm_footprint *f, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < f->n && n < len; i++) {
		int k;

		if (f->e[i].len == LM_WHOLE)
			k = snprintf(buf + n, len - n, "%s%" PRIu64 "+*@%s", i ? " " : "",
				     f->e[i].start, f->e[i].id);
		else
			k = snprintf(buf + n, len - n, "%s%" PRIu64 "+%" PRIu64 "@%s", i ? " " : "",
				     f->e[i].start, f->e[i].len, f->e[i].id);
		if (k < 0 || (size_t)k >= len - n) {
			buf[n] = 0;	/* a cut entry would name a wrong range */
			return;
		}
		n += (size_t)k;
	}
}

int lm_foot_parse(const char *s, struct lm_footprint *f)
{
	char buf[4096], *save = NULL;

	memset(f, 0, sizeof(*f));
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *plus = strchr(w, '+'), *at = plus ? strchr(plus, '@') : NULL, *end;
		uint64_t start, len;

		if (!plus || !at || !at[1])
			return -1;
		*plus = *at = 0;
		start = strtoull(w, &end, 10);
		if (*end || end == w)
			return -1;
		if (!strcmp(plus + 1, "*")) {
			len = LM_WHOLE;
		} else {
			len = strtoull(plus + 1, &end, 10);
			if (*end || end == plus + 1)
				return -1;
		}
		add(f, at + 1, start, len);
	}
	return 0;
}
